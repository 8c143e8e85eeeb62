//! The home page: a welcome, the categories, featured products and new arrivals.

use crate::components::cards::ProductGrid;
use crate::components::error_view::ErrorView;
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
use crate::components::seo::Seo;
#[cfg(feature = "ssr")]
use crate::components::server::{services, with_status};
use crate::error::AppError;
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let home = Resource::new(|| (), |_| get_home());
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, home) = (await_layout(layout).await, home.await);
                let base = layout.public_url.clone();
                let body = match home {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(home) => {
                        let first = home.categories.first().map(|c| format!("/c/{}", c.slug)).unwrap_or_else(|| "/".into());
                        view! {
                            <Seo
                                base
                                title="Well-made things for everyday life".into()
                                description="Shop clothing, shoes, home goods, electronics, outdoor gear and stationery at Emporium. Free shipping over $75 and free returns.".into()
                                path="/".into()
                            />
                            <section class="relative mt-6 overflow-hidden rounded-3xl bg-gradient-to-br from-amber-100 via-orange-50 to-stone-100 px-6 py-16 sm:px-12 sm:py-24">
                                <div class="max-w-xl">
                                    <p class="text-sm font-semibold uppercase tracking-widest text-amber-700">"New season"</p>
                                    <h1 class="mt-3 text-4xl font-semibold tracking-tight text-stone-900 sm:text-5xl">"Well-made things for everyday life"</h1>
                                    <p class="mt-4 text-lg text-stone-700">"Clothing, shoes and goods for home and the outdoors, chosen to last for years."</p>
                                    <div class="mt-8 flex flex-wrap gap-3">
                                        <a href=first class="btn-primary">"Shop the collection"</a>
                                        <a href="#new" class="btn-secondary">"New arrivals"</a>
                                    </div>
                                </div>
                                <img src="/media/generated/backpack-ochre-3.svg" alt="" aria-hidden="true" class="pointer-events-none absolute -right-10 bottom-0 hidden h-80 w-80 rounded-3xl opacity-90 md:block" />
                            </section>

                            <section class="mt-16" aria-labelledby="cat-heading">
                                <h2 id="cat-heading" class="text-2xl font-semibold tracking-tight">"Shop by category"</h2>
                                <ul class="mt-6 grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-6">
                                    {home.categories.into_iter().map(|c| view! {
                                        <li>
                                            <a href=format!("/c/{}", c.slug) class="group block rounded-xl focus-visible:outline focus-visible:outline-2 focus-visible:outline-amber-600" data-testid="category-card">
                                                <div class="aspect-square overflow-hidden rounded-xl bg-stone-100">
                                                    <img src=c.image_url alt="" width="300" height="300" class="h-full w-full object-cover transition group-hover:scale-105" />
                                                </div>
                                                <p class="mt-2 text-sm font-semibold text-stone-900">{c.name}</p>
                                                <p class="text-xs text-stone-500">{format!("{} products", c.product_count)}</p>
                                            </a>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </section>

                            <section class="mt-16" aria-labelledby="featured-heading">
                                <h2 id="featured-heading" class="text-2xl font-semibold tracking-tight">"Featured"</h2>
                                <div class="mt-6"><ProductGrid products=home.featured /></div>
                            </section>

                            <section id="new" class="mt-16" aria-labelledby="new-heading">
                                <h2 id="new-heading" class="text-2xl font-semibold tracking-tight">"New arrivals"</h2>
                                <div class="mt-6"><ProductGrid products=home.new_arrivals /></div>
                            </section>
                        }.into_any()
                    }
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "home")]
pub async fn get_home() -> Result<domain::HomePage, AppError> {
    with_status(
        async move {
            let home = services()?.catalog.home().await?;
            Ok((*home).clone())
        }
        .await,
    )
}
