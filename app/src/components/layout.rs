//! The frame of every page: header, footer and the layout data they show (shop name,
//! category menu, and the shopper's own parts: who is signed in, cart count), with its
//! server function.
//!
//! Pages render the frame themselves from data they awaited in their one `<Suspense>`:
//! reading a resource in several suspense boundaries, or creating one inside a
//! suspense, can stall server rendering (leptos-rs/leptos#4851, #4866).

#[cfg(feature = "ssr")]
use crate::components::memo::Memo;
use crate::components::parts::PersonalPart;
use crate::components::personal::{Personal, Slot};
use crate::components::search_box::SearchBox;
#[cfg(feature = "ssr")]
use crate::components::server::{personal_for_layout, services, with_status};
use crate::error::AppError;
use domain::CategoryCard;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What every page needs: the shop's name, its public URL and the category menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutData {
    pub shop_name: String,
    pub public_url: String,
    pub categories: Vec<CategoryCard>,
    /// The shopper's own parts of the header (left empty in a render shared by everyone).
    pub personal: Personal,
}

impl LayoutData {
    /// Used when the layout cannot be loaded, so an error page still has a frame.
    pub fn fallback() -> Self {
        Self {
            shop_name: "Emporium".into(),
            public_url: String::new(),
            categories: Vec::new(),
            personal: Personal::default(),
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
                personal: personal_for_layout().await,
            })
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
        <Header categories=layout.categories.clone() personal=layout.personal />
        <main id="main" class="mx-auto w-full max-w-7xl px-4 pb-16 sm:px-6 lg:px-8">{children()}</main>
        <Footer categories=layout.categories />
    }
    .into_any()
}

/// The site header: logo, the category menu and the account menu.
#[component]
fn Header(categories: Vec<CategoryCard>, personal: Personal) -> impl IntoView {
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
                        {category_items(categories, "nav-link")}
                    </ul>
                </nav>
                <div class="ml-auto hidden md:block"><SearchBox /></div>
                <div class="flex items-center gap-4">
                    <PersonalPart place=Slot::AccountMenu personal=personal.clone() />
                    <PersonalPart place=Slot::MiniCart personal />
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
                        {category_items(mobile, "block rounded px-3 py-2 text-sm hover:bg-stone-100")}
                    </ul>
                </details>
            </div>
        </header>
    }
    .into_any()
}

/// Each category as a list item with a link to it (on the server, rendered once per
/// category menu).
fn category_items(categories: Vec<CategoryCard>, link_class: &'static str) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        static ITEMS: Memo<(Vec<CategoryCard>, &'static str)> = Memo::new();
        ITEMS.view((categories, link_class), |(categories, link_class)| {
            category_items_view(categories, link_class)
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        category_items_view(categories, link_class)
    }
}

fn category_items_view(categories: Vec<CategoryCard>, link_class: &'static str) -> AnyView {
    categories
        .into_iter()
        .map(|c| view! { <li><a href=format!("/c/{}", c.slug) class=link_class>{c.name}</a></li> })
        .collect_view()
        .into_any()
}

/// The site footer (on the server, rendered once per category menu).
#[component]
fn Footer(categories: Vec<CategoryCard>) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        static FOOTERS: Memo<Vec<CategoryCard>> = Memo::new();
        FOOTERS.view(categories, footer)
    }
    #[cfg(not(feature = "ssr"))]
    {
        footer(categories)
    }
}

fn footer(categories: Vec<CategoryCard>) -> AnyView {
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
                        {category_items_view(categories, "hover:text-stone-900")}
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
