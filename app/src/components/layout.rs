//! Header and footer around every page.
//!
//! Pages render the frame themselves from data they awaited in their one `<Suspense>`:
//! reading a resource in several suspense boundaries, or creating one inside a
//! suspense, can stall server rendering (leptos-rs/leptos#4851, #4866).

use crate::api::LayoutData;
use domain::CategoryCard;
use leptos::prelude::*;

/// The layout once loaded, or a frame without a menu when it could not be.
pub async fn await_layout(layout: crate::LayoutResource) -> LayoutData {
    layout.await.unwrap_or_else(|_| LayoutData::fallback())
}

/// The layout of the last page shown, kept so the loading state of the next page can show
/// the same menu. Plain stored data: reading the resource outside a suspense boundary
/// would risk a hydration mismatch.
#[derive(Clone, Copy)]
pub struct LastLayout(pub StoredValue<Option<LayoutData>>);

/// Shown while a page's data loads after a client-side navigation.
pub fn loading() -> impl IntoView {
    let layout = use_context::<LastLayout>()
        .and_then(|last| last.0.get_value())
        .unwrap_or_else(LayoutData::fallback);
    view! {
        <Frame layout>
            <p class="py-24 text-center text-stone-500" role="status">"Loading…"</p>
        </Frame>
    }
}

/// Header, the page's content and footer.
#[component]
pub fn Frame(layout: LayoutData, children: Children) -> impl IntoView {
    if let Some(last) = use_context::<LastLayout>() {
        last.0.set_value(Some(layout.clone()));
    }
    view! {
        <a
            href="#main"
            class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded focus:bg-white focus:px-4 focus:py-2 focus:shadow"
        >
            "Skip to content"
        </a>
        <Header categories=layout.categories.clone() />
        <main id="main" class="mx-auto w-full max-w-7xl px-4 pb-16 sm:px-6 lg:px-8">{children()}</main>
        <Footer categories=layout.categories />
    }
}

/// The site header: logo and the category menu.
#[component]
fn Header(categories: Vec<CategoryCard>) -> impl IntoView {
    let mobile = categories.clone();
    view! {
        <header class="sticky top-0 z-30 border-b border-stone-200 bg-white/95 backdrop-blur">
            <div class="bg-stone-900 px-4 py-2 text-center text-xs font-medium text-stone-100">
                "Free shipping on orders over $75 · 30-day free returns"
            </div>
            <div class="mx-auto flex max-w-7xl items-center gap-6 px-4 py-4 sm:px-6 lg:px-8">
                <a href="/" class="flex items-center gap-2 text-xl font-bold tracking-tight text-stone-900" aria-label="Emporium home">
                    <span class="inline-flex h-9 w-9 items-center justify-center rounded-lg bg-amber-600 text-lg font-black text-white">"E"</span>
                    <span>"Emporium"</span>
                </a>
                <nav aria-label="Categories" class="hidden flex-1 lg:block">
                    <ul class="flex flex-wrap gap-x-6 gap-y-2 text-sm font-medium text-stone-700">
                        {categories.into_iter().map(|c| view! {
                            <li><a href=format!("/c/{}", c.slug) class="nav-link">{c.name}</a></li>
                        }).collect_view()}
                    </ul>
                </nav>
                <details class="relative ml-auto lg:hidden">
                    <summary class="btn-secondary cursor-pointer list-none">"Menu"</summary>
                    <ul class="absolute right-0 mt-2 w-56 rounded-lg border border-stone-200 bg-white p-2 shadow-lg">
                        {mobile.into_iter().map(|c| view! {
                            <li><a href=format!("/c/{}", c.slug) class="block rounded px-3 py-2 text-sm hover:bg-stone-100">{c.name}</a></li>
                        }).collect_view()}
                    </ul>
                </details>
            </div>
        </header>
    }
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
}
