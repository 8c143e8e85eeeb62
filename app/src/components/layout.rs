//! The frame of every page: header, footer and the layout data they show (shop name,
//! category menu, who is signed in, cart count), with its server function and the
//! header's sign-out.
//!
//! Pages render the frame themselves from data they awaited in their one `<Suspense>`:
//! reading a resource in several suspense boundaries, or creating one inside a
//! suspense, can stall server rendering (leptos-rs/leptos#4851, #4866).

use crate::components::client::cart_label;
use crate::components::search_box::SearchBox;
#[cfg(feature = "ssr")]
use crate::components::server::{
    cart_count_for_layout, current_user_for_layout, end_session, services, session, with_status,
};
use crate::error::AppError;
use domain::{CategoryCard, UserSummary};
use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What every page needs: the shop's name, its public URL and the category menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutData {
    pub shop_name: String,
    pub public_url: String,
    pub categories: Vec<CategoryCard>,
    /// The signed-in shopper, for the header.
    pub user: Option<UserSummary>,
    /// Items in the cart, for the header.
    pub cart_count: u32,
}

impl LayoutData {
    /// Used when the layout cannot be loaded, so an error page still has a frame.
    pub fn fallback() -> Self {
        Self {
            shop_name: "Emporium".into(),
            public_url: String::new(),
            categories: Vec::new(),
            user: None,
            cart_count: 0,
        }
    }
}

/// The layout resource (menu, public URL). Created once, in `App`; each page reads it inside
/// its own single `<Suspense>` together with its data.
pub type LayoutResource = Resource<Result<LayoutData, AppError>>;

#[server(prefix = "/api", endpoint = "layout")]
pub async fn get_layout() -> Result<LayoutData, AppError> {
    with_status(
        async move {
            let s = services()?;
            Ok(LayoutData {
                shop_name: s.settings.shop_name.clone(),
                public_url: s.settings.public_url.clone(),
                categories: s.catalog.top_categories().await?,
                user: current_user_for_layout().await,
                cart_count: cart_count_for_layout().await,
            })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    with_status(
        async move {
            end_session(&session().await?).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// The layout once loaded, or a frame without a menu when it could not be.
pub async fn await_layout(layout: LayoutResource) -> LayoutData {
    layout.await.unwrap_or_else(|_| LayoutData::fallback())
}

/// The Suspense fallback of every page. Pages render on the server, which waits for their
/// data (`SsrMode::Async`), so no shopper sees it; it only has to be a valid view.
pub fn loading() -> impl IntoView {
    view! { <p class="py-24 text-center text-stone-500" role="status">"Loading…"</p> }
}

/// Header, the page's content and footer.
#[component]
pub fn Frame(layout: LayoutData, children: Children) -> impl IntoView {
    view! {
        <a
            href="#main"
            class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded focus:bg-white focus:px-4 focus:py-2 focus:shadow"
        >
            "Skip to content"
        </a>
        <Header categories=layout.categories.clone() user=layout.user.clone() cart_count=layout.cart_count />
        <main id="main" class="mx-auto w-full max-w-7xl px-4 pb-16 sm:px-6 lg:px-8">{children()}</main>
        <Footer categories=layout.categories />
    }
    .into_any()
}

/// Sign in / register, or the signed-in shopper's links and a sign-out button (a form:
/// signing out changes state, so it is a POST, never a link).
#[component]
fn AccountMenu(user: Option<UserSummary>) -> impl IntoView {
    match user {
        None => view! {
            <div class="flex items-center gap-3 text-sm font-medium" data-testid="account-menu">
                <a href="/sign-in" class="nav-link">"Sign in"</a>
                <a href="/register" class="btn-secondary hidden py-1.5 sm:inline-flex">"Register"</a>
            </div>
        }
        .into_any(),
        Some(user) => {
            let sign_out = ServerAction::<SignOut>::new();
            view! {
                <div class="flex items-center gap-3 text-sm font-medium" data-testid="account-menu">
                    {user.is_admin().then(|| view! { <a href="/admin" class="nav-link">"Admin"</a> })}
                    <a href="/account" class="nav-link" data-testid="account-link">{format!("Hi, {}", user.greeting_name())}</a>
                    <ActionForm action=sign_out>
                        <button type="submit" class="nav-link text-stone-600" data-testid="sign-out">"Sign out"</button>
                    </ActionForm>
                </div>
            }
            .into_any()
        }
    }
}

/// The site header: logo, the category menu and the account menu.
#[component]
fn Header(
    categories: Vec<CategoryCard>,
    user: Option<UserSummary>,
    cart_count: u32,
) -> impl IntoView {
    let mobile = categories.clone();
    view! {
        <header class="sticky top-0 z-30 border-b border-stone-200 bg-white/95 backdrop-blur">
            <div class="bg-stone-900 px-4 py-2 text-center text-xs font-medium text-stone-100">
                "Free shipping on orders over $75 · 30-day free returns"
            </div>
            <div class="mx-auto flex max-w-7xl items-center gap-6 px-4 py-4 sm:px-6 lg:px-8">
                <a href="/" class="flex items-center gap-2 text-xl font-bold tracking-tight text-stone-900">
                    <span class="inline-flex h-9 w-9 items-center justify-center rounded-lg bg-amber-600 text-lg font-black text-white" aria-hidden="true">"E"</span>
                    <span>"Emporium"</span>
                </a>
                <nav aria-label="Categories" class="hidden flex-1 lg:block">
                    <ul class="flex flex-wrap gap-x-6 gap-y-2 text-sm font-medium text-stone-700">
                        {categories.into_iter().map(|c| view! {
                            <li><a href=format!("/c/{}", c.slug) class="nav-link">{c.name}</a></li>
                        }).collect_view()}
                    </ul>
                </nav>
                <div class="ml-auto hidden md:block"><SearchBox /></div>
                <div class="flex items-center gap-4">
                    <AccountMenu user />
                    <a href="/cart" class="nav-link text-sm font-medium" data-testid="mini-cart" aria-label=cart_label(cart_count)>
                        "Cart "
                        <span class="inline-flex min-w-6 items-center justify-center rounded-full bg-stone-900 px-1.5 text-xs font-semibold text-white" data-testid="cart-count">{cart_count}</span>
                    </a>
                </div>
                <details class="relative lg:hidden">
                    <summary class="btn-secondary cursor-pointer list-none">"Menu"</summary>
                    <ul class="absolute right-0 mt-2 w-56 rounded-lg border border-stone-200 bg-white p-2 shadow-lg">
                        <li class="p-1 md:hidden">
                            <form method="get" action="/search" role="search">
                                <label for="menu-search" class="sr-only">"Search products"</label>
                                <input id="menu-search" name="q" type="search" placeholder="Search products" maxlength="256" class="field py-1.5" />
                            </form>
                        </li>
                        {mobile.into_iter().map(|c| view! {
                            <li><a href=format!("/c/{}", c.slug) class="block rounded px-3 py-2 text-sm hover:bg-stone-100">{c.name}</a></li>
                        }).collect_view()}
                    </ul>
                </details>
            </div>
        </header>
    }
    .into_any()
}

/// The site footer.
#[component]
fn Footer(categories: Vec<CategoryCard>) -> impl IntoView {
    view! {
        <footer class="border-t border-stone-200 bg-white">
            <div class="mx-auto grid max-w-7xl gap-8 px-4 py-12 sm:grid-cols-2 sm:px-6 lg:grid-cols-4 lg:px-8">
                <div>
                    <p class="text-lg font-bold">"Emporium"</p>
                    <p class="mt-2 text-sm text-stone-600">"Well-made things for everyday life, shipped from our warehouse with care."</p>
                </div>
                <div>
                    <p class="text-sm font-semibold text-stone-900">"Shop"</p>
                    <ul class="mt-3 space-y-2 text-sm text-stone-600">
                        {categories.into_iter().map(|c| view! {
                            <li><a href=format!("/c/{}", c.slug) class="hover:text-stone-900">{c.name}</a></li>
                        }).collect_view()}
                    </ul>
                </div>
                <div>
                    <p class="text-sm font-semibold text-stone-900">"Help"</p>
                    <ul class="mt-3 space-y-2 text-sm text-stone-600">
                        <li>"Shipping: 2–4 working days"</li>
                        <li>"Returns: free within 30 days"</li>
                        <li>"Secure checkout"</li>
                        <li><a href="/order-lookup" class="hover:text-stone-900">"Find your order"</a></li>
                    </ul>
                </div>
                <div>
                    <p class="text-sm font-semibold text-stone-900">"About"</p>
                    <p class="mt-3 text-sm text-stone-600">"An open-source shop built in Rust."</p>
                </div>
            </div>
            <p class="border-t border-stone-100 py-6 text-center text-xs text-stone-500">"© 2026 Emporium"</p>
        </footer>
    }
    .into_any()
}
