//! The Emporium storefront, compiled for the server (`ssr`) and the browser (`hydrate`).
//!
//! Islands architecture: every page is rendered on the server only; what is interactive
//! in the browser is an `#[island]` (the search box, the product's variant picker and
//! cart form, the cart's quantity forms, the checkout form, the category's sort menu,
//! the sign-in, registration and address forms), and only those are compiled into the
//! wasm and hydrated. Everything else is HTML: links
//! load pages, forms post to server functions and the server answers with a redirect.

// Leptos view types nest deeply (the header alone is a large type).
#![recursion_limit = "256"]

mod account;
mod admin;
mod checkout;
mod components;
pub mod error;
mod storefront;

#[cfg(feature = "hydrate")]
pub use components::client::after_hydration;
#[cfg(feature = "ssr")]
pub use components::parts::render_part;
#[cfg(feature = "ssr")]
pub use components::personal::{Personal, SharedRender, Slot};
#[cfg(feature = "ssr")]
pub use components::server::{personal, staff_actor, ClientIp};

use components::island_scripts::{IslandScripts, Stylesheet};
use components::layout::{get_layout, LayoutResource};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Title};
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
                <IslandScripts options=options.clone() />
                <Stylesheet options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-stone-50 text-stone-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// The storefront: layout, routes and the 404 fallback (rendered on the server).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let layout: LayoutResource = Resource::new(|| (), |_| get_layout());
    provide_context(layout);

    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "Emporium".to_owned() } else { format!("{title} · Emporium") }
        } />
        <Link rel="icon" href="/favicon.ico" />
        <Router>
            <Routes fallback=storefront::not_found::NotFound>
                <Route path=path!("/") view=storefront::home::HomePage ssr=SsrMode::Async />
                <Route path=path!("/c/:slug") view=storefront::category::CategoryPage ssr=SsrMode::Async />
                <Route path=path!("/p/:slug") view=storefront::product::ProductPage ssr=SsrMode::Async />
                <Route path=path!("/sign-in") view=account::sign_in::SignInPage ssr=SsrMode::Async />
                <Route path=path!("/register") view=account::sign_in::RegisterPage ssr=SsrMode::Async />
                <Route path=path!("/register/confirm") view=account::sign_in::ConfirmRegistrationPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=account::sign_in::ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=account::sign_in::ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/account") view=account::profile::AccountPage ssr=SsrMode::Async />
                <Route path=path!("/account/addresses") view=account::addresses::AddressesPage ssr=SsrMode::Async />
                <Route path=path!("/account/addresses/:id") view=account::addresses::AddressEditPage ssr=SsrMode::Async />
                <Route path=path!("/admin") view=admin::dashboard::AdminPage ssr=SsrMode::Async />
                <Route path=path!("/admin/orders") view=admin::orders::AdminOrdersPage ssr=SsrMode::Async />
                <Route path=path!("/admin/orders/:number") view=admin::orders::AdminOrderPage ssr=SsrMode::Async />
                <Route path=path!("/admin/products") view=admin::products::AdminProductsPage ssr=SsrMode::Async />
                <Route path=path!("/admin/products/new") view=admin::product_edit::AdminNewProductPage ssr=SsrMode::Async />
                <Route path=path!("/admin/products/import") view=admin::import::AdminImportPage ssr=SsrMode::Async />
                <Route path=path!("/admin/imports/:id") view=admin::import::AdminImportRunPage ssr=SsrMode::Async />
                <Route path=path!("/admin/products/:id") view=admin::product_edit::AdminProductPage ssr=SsrMode::Async />
                <Route path=path!("/admin/products/:id/stock") view=admin::stock::AdminProductStockPage ssr=SsrMode::Async />
                <Route path=path!("/admin/stock") view=admin::stock::AdminStockPage ssr=SsrMode::Async />
                <Route path=path!("/admin/categories") view=admin::categories::AdminCategoriesPage ssr=SsrMode::Async />
                <Route path=path!("/admin/staff") view=admin::staff::AdminStaffPage ssr=SsrMode::Async />
                <Route path=path!("/admin/customers") view=admin::customers::AdminCustomersPage ssr=SsrMode::Async />
                <Route path=path!("/admin/customers/:id") view=admin::customers::AdminCustomerPage ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=admin::audit::AdminAuditPage ssr=SsrMode::Async />
                <Route path=path!("/admin/two-factor") view=admin::two_factor::TwoFactorPage ssr=SsrMode::Async />
                <Route path=path!("/admin/two-factor/recovery-codes") view=admin::two_factor::RecoveryCodesPage ssr=SsrMode::Async />
                <Route path=path!("/staff-invite") view=admin::invite::StaffInvitePage ssr=SsrMode::Async />
                <Route path=path!("/cart") view=checkout::cart::CartPage ssr=SsrMode::Async />
                <Route path=path!("/search") view=storefront::search::SearchPage ssr=SsrMode::Async />
                <Route path=path!("/checkout") view=checkout::checkout_page::CheckoutPageView ssr=SsrMode::Async />
                <Route path=path!("/order/:number") view=checkout::order::OrderPage ssr=SsrMode::Async />
                <Route path=path!("/order-lookup") view=checkout::order::OrderLookupPage ssr=SsrMode::Async />
                <Route path=path!("/account/orders") view=account::orders::OrdersPage ssr=SsrMode::Async />
                <Route path=path!("/account/orders/:number") view=checkout::order::OrderPage ssr=SsrMode::Async />
                // Unknown pages under the gated areas are gated too: sign-in first (and
                // admin for /admin), then a 404.
                <Route path=path!("/account/*rest") view=account::profile::AccountNotFound ssr=SsrMode::Async />
                <Route path=path!("/admin/*rest") view=admin::dashboard::AdminNotFound ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
