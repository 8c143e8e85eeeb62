//! The product page: gallery, variant picker, price, stock and details.
//!
//! The selected variant and image live in the URL (`?variant=SKU&image=N`), so every
//! choice is a plain link before hydration; afterwards a click updates the URL in place
//! and price, stock and SKU change without a reload.

use super::category::Breadcrumbs;
use crate::components::client::{provide_form_error, replace_url};
use crate::components::error_view::ErrorView;
use crate::components::forms::{action_error, FormAlert};
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
use crate::components::seo::{json_ld, Seo};
#[cfg(feature = "ssr")]
use crate::components::server::{cart_owner, services, with_status};
use crate::error::AppError;
use domain::ProductDetail;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let layout = expect_context::<LayoutResource>();
    let product = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        get_product,
    );
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, product) = (await_layout(layout).await, product.await);
                let base = layout.public_url.clone();
                let body = match product {
                    Ok(p) => view! { <ProductView product=p base /> }.into_any(),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

fn structured_data(p: &ProductDetail, base: &str) -> String {
    let offers: Vec<serde_json::Value> = p
        .variants
        .iter()
        .map(|v| {
            serde_json::json!({
                "@type": "Offer",
                "sku": v.sku,
                "price": v.price.to_major_string(),
                "priceCurrency": v.price.currency().code(),
                "availability": if v.in_stock() { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
                "url": format!("{base}/p/{}?variant={}", p.slug, v.sku),
            })
        })
        .collect();
    json_ld(&serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "description": p.meta_description,
        "sku": p.variants.first().map(|v| v.sku.clone()),
        "brand": { "@type": "Brand", "name": p.brand },
        "category": p.category.name,
        "image": p.images.iter().map(|i| format!("{base}{}", i.url)).collect::<Vec<_>>(),
        "offers": offers,
    }))
}

/// The page around the product: SEO tags, structured data and breadcrumbs (server only),
/// and the product itself, an island.
#[component]
fn ProductView(product: ProductDetail, base: String) -> impl IntoView {
    let query = use_query_map();
    let (variant, image) = query.with_untracked(|q| {
        (
            q.get("variant"),
            q.get("image").and_then(|i| i.parse::<usize>().ok()),
        )
    });
    let ld = structured_data(&product, &base);
    let slug = product.slug.clone();
    let name = product.name.clone();
    let title = product.meta_title.clone();
    let description = product.meta_description.clone();
    let first_image = product.images.first().map(|i| i.url.clone());
    let mut trail = product.ancestors.clone();
    trail.push(product.category.clone());
    view! {
        <Seo
            base
            title
            description
            path=format!("/p/{slug}")
            image=first_image.unwrap_or_default()
            og_type="product"
        />
        <script type="application/ld+json" inner_html=ld></script>
        <Breadcrumbs trail current=name />
        <ProductShowcase product variant image />
    }
    .into_any()
}

/// Gallery, variant picker, price, stock, "Add to cart" and details. The chosen variant
/// and image are in the URL (`?variant=SKU&image=N`), so each choice is a plain link
/// before hydration; after it, a click changes them in place and rewrites the URL.
#[island]
fn ProductShowcase(
    product: ProductDetail,
    variant: Option<String>,
    image: Option<usize>,
) -> impl IntoView {
    provide_form_error();
    let slug = product.slug.clone();
    let product = StoredValue::new(product);
    // (variant SKU, image index) as the URL names them.
    let chosen = RwSignal::new((variant, image));

    let variant = Memo::new(move |_| {
        let sku = chosen.with(|c| c.0.clone());
        product.with_value(|p| p.selected_variant(sku.as_deref()).cloned())
    });
    let image = Memo::new(move |_| {
        let asked = chosen.with(|c| c.1);
        product.with_value(|p| p.image_index(asked, variant.get().as_ref()))
    });

    // A choice changes the page in place: no reload, no scroll, no new history entry.
    let go = move |href: String| {
        move |ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            let query = href.split_once('?').map_or("", |(_, q)| q);
            let param = |key: &str| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                    .map(str::to_owned)
            };
            chosen.set((
                param("variant"),
                param("image").and_then(|i| i.parse().ok()),
            ));
            replace_url(&href);
        }
    };

    let (name, description, brand, option_names, images, attributes) = product.with_value(|p| {
        (
            p.name.clone(),
            p.description.clone(),
            p.brand.clone(),
            p.option_names.clone(),
            p.images.clone(),
            p.attributes.clone(),
        )
    });
    let image_count = images.len();
    let images = StoredValue::new(images);
    let price = move || {
        variant
            .get()
            .map(|v| v.price.to_string())
            .unwrap_or_default()
    };
    let sku = move || variant.get().map(|v| v.sku).unwrap_or_default();
    let stock_label = move || variant.get().map(|v| v.stock_label()).unwrap_or_default();
    let in_stock = move || variant.get().is_some_and(|v| v.in_stock());
    let max_qty = move || variant.get().map(|v| v.stock.clamp(1, 99)).unwrap_or(1);

    let option_slug = slug.clone();
    let pickers = option_names
        .into_iter()
        .enumerate()
        .map(|(index, option_name)| {
            let slug = option_slug.clone();

            let label = option_name.clone();
            view! {
                <fieldset class="mt-6">
                    <legend class="text-sm font-semibold text-stone-900">
                        {label} ": "
                        <span class="font-normal text-stone-600">
                            {move || variant.get().and_then(|v| v.options.get(index).cloned()).unwrap_or_default()}
                        </span>
                    </legend>
                    <div class="mt-2 flex flex-wrap gap-2" role="group" aria-label=option_name data-testid=format!("option-{index}")>
                        {move || {
                            let Some(current) = variant.get() else { return Vec::new() };
                            product.with_value(|p| p.option_choices(index, &current)).into_iter().map(|choice| {
                                let href = format!("/p/{}?variant={}", slug, choice.sku);
                                let class = match (choice.selected, choice.available) {
                                    (true, _) => "option option-selected",
                                    (false, true) => "option",
                                    (false, false) => "option option-unavailable",
                                };
                                view! {
                                    <a href=href.clone() class=class on:click=go(href.clone())
                                       aria-current=choice.selected.then_some("true")
                                       title=(!choice.available).then_some("Out of stock in this combination")>
                                        {choice.value}
                                    </a>
                                }
                            }).collect_view().into_iter().collect::<Vec<_>>()
                        }}
                    </div>
                </fieldset>
            }
        })
        .collect_view();

    let thumb_slug = slug.clone();
    view! {
        <div class="mt-6 grid gap-10 lg:grid-cols-2">
            <section aria-label="Images">
                <div class="aspect-square overflow-hidden rounded-2xl bg-stone-100">
                    {move || images.with_value(|imgs| imgs.get(image.get()).cloned()).map(|img| view! {
                        <img src=img.url alt=img.alt srcset=(!img.srcset.is_empty()).then_some(img.srcset) sizes="(min-width: 1024px) 50vw, 100vw" width="800" height="800" class="h-full w-full object-cover" fetchpriority="high" data-testid="main-image" />
                    })}
                </div>
                {(image_count > 1).then(|| view! {
                    <ul class="mt-4 grid grid-cols-4 gap-3" aria-label="More images">
                        {images.get_value().into_iter().enumerate().map(|(i, img)| {
                            let slug = thumb_slug.clone();
                            let href = move || format!("/p/{}?variant={}&image={i}", slug, sku());
                            view! {
                                <li>
                                    <a href=href.clone() on:click=move |ev| go(href())(ev)
                                       class=move || if image.get() == i { "thumb thumb-selected" } else { "thumb" }
                                       aria-label=format!("Show image {}: {}", i + 1, img.alt)>
                                        <img src=img.url.clone() alt="" width="160" height="160" class="h-full w-full object-cover" />
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
            </section>

            <section aria-label="Product details">
                <p class="text-sm font-medium uppercase tracking-wide text-amber-700">{brand}</p>
                <h1 class="mt-1 text-3xl font-semibold tracking-tight sm:text-4xl" data-testid="product-name">{name}</h1>
                <p class="mt-4 text-2xl font-semibold" data-testid="price">{price}</p>
                <p class="mt-1 text-sm text-stone-500">"Shipping and tax are worked out at checkout. Free standard shipping over $75."</p>
                {pickers}
                <div class="mt-6 flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
                    <span data-testid="stock" class=move || if in_stock() { "font-medium text-emerald-700" } else { "font-medium text-red-700" }>
                        {stock_label}
                    </span>
                    <span class="text-stone-500">"SKU: " <span data-testid="sku" class="font-mono">{sku}</span></span>
                </div>
                <AddToCartForm
                    sku=Signal::derive(sku)
                    in_stock=Signal::derive(in_stock)
                    max_qty=Signal::derive(move || max_qty().to_string())
                />
                <div class="prose mt-8 max-w-none text-stone-700">
                    <h2 class="text-base font-semibold text-stone-900">"Description"</h2>
                    <div class="mt-2 space-y-2 leading-relaxed" inner_html=description data-testid="description"></div>
                </div>
                {(!attributes.is_empty()).then(|| view! {
                    <dl class="mt-8 divide-y divide-stone-200 border-y border-stone-200 text-sm" data-testid="attributes">
                        {attributes.into_iter().map(|(k, v)| view! {
                            <div class="flex justify-between py-3"><dt class="text-stone-500">{k}</dt><dd class="font-medium">{v}</dd></div>
                        }).collect_view()}
                    </dl>
                })}
            </section>
        </div>
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "product")]
pub async fn get_product(slug: String) -> Result<ProductDetail, AppError> {
    with_status(
        async move {
            let not_found = || {
                AppError::NotFound(
                    "We could not find that product. It may have been removed.".into(),
                )
            };
            domain::Slug::parse(&slug).map_err(|_| not_found())?;
            let product = services()?.catalog.product(&slug).await?;
            product.as_ref().clone().ok_or_else(not_found)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "cart_add")]
pub async fn add_to_cart(sku: String, quantity: String) -> Result<(), AppError> {
    with_status(
        async move {
            let quantity = services::cart::parse_quantity(&quantity)?;
            let owner = cart_owner(true).await?.ok_or(AppError::Internal)?;
            services()?.cart.add(&owner, &sku, quantity).await?;
            leptos_axum::redirect("/cart");
            Ok(())
        }
        .await,
    )
}

/// The "Add to cart" form of a product page.
#[component]
pub fn AddToCartForm(
    #[prop(into)] sku: Signal<String>,
    #[prop(into)] in_stock: Signal<bool>,
    #[prop(into)] max_qty: Signal<String>,
) -> impl IntoView {
    let action = ServerAction::<AddToCart>::new();
    let error = action_error(action.value());
    view! {
        <ActionForm action attr:class="mt-6" attr:data-testid="add-to-cart">
            <input type="hidden" name="sku" value=move || sku.get() />
            <div class="flex items-end gap-3">
                <div>
                    <label for="quantity" class="block text-sm font-semibold">"Quantity"</label>
                    <input id="quantity" name="quantity" type="number" min="1" max=move || max_qty.get() value="1" inputmode="numeric" class="field mt-2 w-24" />
                </div>
                <button type="submit" class="btn-primary flex-1 py-3" disabled=move || !in_stock.get() || action.pending().get()>
                    {move || if !in_stock.get() { "Sold out" } else if action.pending().get() { "Adding…" } else { "Add to cart" }}
                </button>
            </div>
            <div class="mt-2"><FormAlert error fields=&[] /></div>
            {move || error.get().and_then(|e| e.field_message("quantity")).map(|m| view! {
                <p role="alert" class="mt-2 text-sm text-red-700" data-testid="error-quantity">{m}</p>
            })}
        </ActionForm>
    }
    .into_any()
}
