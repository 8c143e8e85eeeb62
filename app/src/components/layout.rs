//! Header and footer around every page.

use crate::LayoutResource;
use leptos::prelude::*;

/// The site header: logo and the category menu.
#[component]
pub fn Header() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let categories = move || layout.get().and_then(|r| r.ok()).map(|l| l.categories).unwrap_or_default();
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
                        <Transition fallback=|| ()>
                            {move || categories().into_iter().map(|c| view! {
                                <li><a href=format!("/c/{}", c.slug) class="nav-link">{c.name}</a></li>
                            }).collect_view()}
                        </Transition>
                    </ul>
                </nav>
                <details class="relative ml-auto lg:hidden">
                    <summary class="btn-secondary cursor-pointer list-none">"Menu"</summary>
                    <ul class="absolute right-0 mt-2 w-56 rounded-lg border border-stone-200 bg-white p-2 shadow-lg">
                        <Transition fallback=|| ()>
                            {move || categories().into_iter().map(|c| view! {
                                <li><a href=format!("/c/{}", c.slug) class="block rounded px-3 py-2 text-sm hover:bg-stone-100">{c.name}</a></li>
                            }).collect_view()}
                        </Transition>
                    </ul>
                </details>
            </div>
        </header>
    }
}

/// The site footer.
#[component]
pub fn Footer() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let categories = move || layout.get().and_then(|r| r.ok()).map(|l| l.categories).unwrap_or_default();
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
                        <Transition fallback=|| ()>
                            {move || categories().into_iter().map(|c| view! {
                                <li><a href=format!("/c/{}", c.slug) class="hover:text-stone-900">{c.name}</a></li>
                            }).collect_view()}
                        </Transition>
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
