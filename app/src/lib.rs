//! The Emporium storefront, compiled for the server (`ssr`) and the browser (`hydrate`).

// Leptos view types nest deeply (the header alone is a large type).
#![recursion_limit = "256"]

pub mod api;
mod components;
pub mod error;
mod pages;

use api::{get_layout, LayoutData};
use error::AppError;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#1c1917" />
                <AutoReload options=options.clone() />
                <HydrationScripts options=options.clone() />
                <HashedStylesheet options id="leptos" />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-stone-50 text-stone-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// The layout resource (menu, public URL). Created once here; each page reads it inside its
/// own single `<Suspense>` together with its data.
pub(crate) type LayoutResource = Resource<Result<LayoutData, AppError>>;

/// Bumped when the shopper signs in or out or edits their profile, so the layout (and
/// the header's account menu) is loaded again without a full page load.
#[derive(Clone, Copy)]
pub(crate) struct AuthVersion(pub RwSignal<u32>);

/// The storefront: layout, routes and the 404 fallback.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let auth_version = AuthVersion(RwSignal::new(0));
    provide_context(auth_version);
    let layout: LayoutResource = Resource::new(move || auth_version.0.get(), |_| get_layout());
    provide_context(layout);
    provide_context(components::layout::LastLayout(StoredValue::new(None)));

    // Marks the page once the wasm has taken over, so tests and styles can tell.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "Emporium".to_owned() } else { format!("{title} · Emporium") }
        } />
        <Link rel="icon" href="/favicon.ico" />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/") view=pages::home::HomePage ssr=SsrMode::Async />
                <Route path=path!("/c/:slug") view=pages::category::CategoryPage ssr=SsrMode::Async />
                <Route path=path!("/p/:slug") view=pages::product::ProductPage ssr=SsrMode::Async />
                <Route path=path!("/sign-in") view=pages::auth::SignInPage ssr=SsrMode::Async />
                <Route path=path!("/register") view=pages::auth::RegisterPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=pages::auth::ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=pages::auth::ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/account") view=pages::account::AccountPage ssr=SsrMode::Async />
                <Route path=path!("/account/addresses") view=pages::account::AddressesPage ssr=SsrMode::Async />
                <Route path=path!("/account/addresses/:id") view=pages::account::AddressEditPage ssr=SsrMode::Async />
                <Route path=path!("/admin") view=pages::admin::AdminPage ssr=SsrMode::Async />
                <Route path=path!("/admin/orders") view=pages::admin::AdminOrdersPage ssr=SsrMode::Async />
                <Route path=path!("/cart") view=pages::shop::CartPage ssr=SsrMode::Async />
                <Route path=path!("/search") view=pages::search::SearchPage ssr=SsrMode::Async />
                <Route path=path!("/checkout") view=pages::shop::CheckoutPageView ssr=SsrMode::Async />
                <Route path=path!("/order/:number") view=pages::shop::OrderPage ssr=SsrMode::Async />
                <Route path=path!("/order-lookup") view=pages::shop::OrderLookupPage ssr=SsrMode::Async />
                <Route path=path!("/account/orders") view=pages::shop::OrdersPage ssr=SsrMode::Async />
                <Route path=path!("/account/orders/:number") view=pages::shop::OrderPage ssr=SsrMode::Async />
                // Unknown pages under the gated areas are gated too: sign-in first (and
                // admin for /admin), then a 404.
                <Route path=path!("/account/*rest") view=pages::account::AccountNotFound ssr=SsrMode::Async />
                <Route path=path!("/admin/*rest") view=pages::admin::AdminNotFound ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
