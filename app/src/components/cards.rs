//! Product cards and grids.

#[cfg(feature = "ssr")]
use crate::components::memo::Memo;
use domain::ProductCard;
use leptos::prelude::*;

/// One product in a grid (on the server, each card is rendered once per product state).
#[component]
pub fn ProductCardView(product: ProductCard) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        static CARDS: Memo<ProductCard> = Memo::new();
        CARDS.view(product, card)
    }
    #[cfg(not(feature = "ssr"))]
    {
        card(product)
    }
}

fn card(product: ProductCard) -> AnyView {
    let href = format!("/p/{}", product.slug);
    let price = if product.price_varies {
        format!("From {}", product.price_from)
    } else {
        product.price_from.to_string()
    };
    view! {
        <li class="group relative flex flex-col" data-testid="product-card">
            <div class="aspect-square overflow-hidden rounded-xl bg-stone-100">
                <img
                    src=product.image_url
                    alt=product.image_alt
                    width="400"
                    height="400"
                    loading="lazy"
                    class="h-full w-full object-cover transition duration-300 group-hover:scale-105"
                />
                {(!product.in_stock).then(|| view! {
                    <span class="absolute left-3 top-3 rounded-full bg-stone-900/85 px-2.5 py-1 text-xs font-semibold text-white">"Sold out"</span>
                })}
            </div>
            <div class="mt-3 flex flex-1 flex-col">
                <p class="text-xs uppercase tracking-wide text-stone-500">{product.category}</p>
                <h3 class="mt-1 text-sm font-medium text-stone-900">
                    <a href=href class="rounded focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-600">
                        <span class="absolute inset-0 rounded-xl " aria-hidden="true"></span>
                        {product.name}
                    </a>
                </h3>
                <p class="mt-1 text-sm font-semibold text-stone-900" data-testid="card-price">{price}</p>
            </div>
        </li>
    }
    .into_any()
}

/// A responsive grid of product cards.
#[component]
pub fn ProductGrid(products: Vec<ProductCard>) -> impl IntoView {
    view! {
        <ul class="grid grid-cols-2 gap-x-4 gap-y-8 sm:grid-cols-3 lg:grid-cols-4 lg:gap-x-6">
            {products.into_iter().map(|p| view! { <ProductCardView product=p /> }).collect_view()}
        </ul>
    }
    .into_any()
}
