//! A category listing: subcategories, filters, sorting and pagination.
//!
//! Filters are a plain GET form and pages are plain links, so everything works without
//! the wasm; the sort menu (an island) loads the sorted page as soon as it changes.

use crate::components::cards::ProductGrid;
use crate::components::client::go_to;
use crate::components::error_view::ErrorView;
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
use crate::components::seo::Seo;
#[cfg(feature = "ssr")]
use crate::components::server::{services, with_status};
use crate::error::AppError;
use domain::{CategoryRef, ListingPage, ListingQuery, Money, Sort};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn CategoryPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let params = use_params_map();
    let query = use_query_map();
    let listing = Resource::new(
        move || {
            let q = query.read();
            (
                params.read().get("slug").unwrap_or_default(),
                q.get("page"),
                q.get("sort"),
                q.get("min_price"),
                q.get("max_price"),
                q.get("in_stock"),
            )
        },
        |(slug, page, sort, min, max, stock)| get_listing(slug, page, sort, min, max, stock),
    );
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, listing) = (await_layout(layout).await, listing.await);
                let base = layout.public_url.clone();
                let body = match listing {
                    Ok(l) => view! { <Listing listing=l base /> }.into_any(),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

/// Breadcrumb trail from Home to the current page.
#[component]
pub fn Breadcrumbs(trail: Vec<CategoryRef>, current: String) -> impl IntoView {
    view! {
        <nav aria-label="Breadcrumb" class="pt-6 text-sm text-stone-500">
            <ol class="flex flex-wrap items-center gap-2">
                <li><a href="/" class="hover:text-stone-900">"Home"</a></li>
                {trail.into_iter().map(|c| view! {
                    <li aria-hidden="true">"/"</li>
                    <li><a href=format!("/c/{}", c.slug) class="hover:text-stone-900">{c.name}</a></li>
                }).collect_view()}
                <li aria-hidden="true">"/"</li>
                <li aria-current="page" class="font-medium text-stone-900">{current}</li>
            </ol>
        </nav>
    }
    .into_any()
}

fn listing_href(slug: &str, query: &ListingQuery, currency: domain::Currency) -> String {
    let qs = query.to_query_string(currency);
    if qs.is_empty() {
        format!("/c/{slug}")
    } else {
        format!("/c/{slug}?{qs}")
    }
}

#[component]
fn Listing(listing: ListingPage, base: String) -> impl IntoView {
    let ListingPage {
        slug,
        name,
        description,
        ancestors,
        children,
        products,
        total,
        page_count,
        query,
        clamped_from,
        currency,
    } = listing;
    let path = if query.page > 1 {
        format!("/c/{slug}?page={}", query.page)
    } else {
        format!("/c/{slug}")
    };
    let title = if query.page > 1 {
        format!("{name} – page {}", query.page)
    } else {
        name.clone()
    };
    let major = move |m: Option<i64>| {
        m.map(|v| Money::new(v, currency).to_major_string())
            .unwrap_or_default()
    };
    // Each order's first page, with the other filters kept.
    let sorts: Vec<SortChoice> = Sort::ALL
        .into_iter()
        .map(|sort| SortChoice {
            value: sort.as_param().to_owned(),
            label: sort.label().to_owned(),
            href: listing_href(
                &slug,
                &ListingQuery {
                    sort,
                    page: 1,
                    ..query.clone()
                },
                currency,
            ),
            selected: sort == query.sort,
        })
        .collect();
    let clear_href = format!("/c/{slug}");
    let empty = products.is_empty();
    let pagination = (page_count > 1).then(
        || view! { <Pagination slug=slug.clone() query=query.clone() page_count currency /> },
    );
    view! {
        <Seo base title description=description.clone() path />
        <Breadcrumbs trail=ancestors current=name.clone() />
        <header class="mt-4 border-b border-stone-200 pb-6">
            <h1 class="text-3xl font-semibold tracking-tight sm:text-4xl">{name}</h1>
            <p class="mt-2 max-w-2xl text-stone-600">{description}</p>
            {(!children.is_empty()).then(|| view! {
                <ul class="mt-4 flex flex-wrap gap-2" aria-label="Subcategories">
                    {children.into_iter().map(|c| view! {
                        <li><a href=format!("/c/{}", c.slug) class="chip">{c.name}</a></li>
                    }).collect_view()}
                </ul>
            })}
        </header>

        <div class="mt-8 grid gap-8 lg:grid-cols-[16rem_1fr]">
            <aside aria-label="Filters">
                <form method="get" action=format!("/c/{slug}") class="space-y-6 rounded-xl border border-stone-200 bg-white p-5" data-testid="filters">
                    <div>
                        <label for="sort" class="text-sm font-semibold">"Sort by"</label>
                        <SortSelect sorts />
                    </div>
                    <fieldset>
                        <legend class="text-sm font-semibold">"Price"</legend>
                        <div class="mt-2 flex items-center gap-2">
                            <label class="sr-only" for="min_price">"Minimum price"</label>
                            <input id="min_price" name="min_price" inputmode="decimal" placeholder="Min" value=major(query.min_price) class="field" />
                            <span aria-hidden="true" class="text-stone-400">"–"</span>
                            <label class="sr-only" for="max_price">"Maximum price"</label>
                            <input id="max_price" name="max_price" inputmode="decimal" placeholder="Max" value=major(query.max_price) class="field" />
                        </div>
                    </fieldset>
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" name="in_stock" value="1" checked=query.in_stock class="h-4 w-4 rounded border-stone-300 accent-amber-600" />
                        "In stock only"
                    </label>
                    <div class="flex gap-2">
                        <button type="submit" class="btn-primary flex-1">"Apply"</button>
                        {query.is_filtered().then(|| view! { <a href=clear_href.clone() class="btn-secondary">"Clear"</a> })}
                    </div>
                </form>
            </aside>

            <section aria-label="Products">
                <p class="mb-4 text-sm text-stone-600" data-testid="result-count">
                    {format!("{total} product{}", if total == 1 { "" } else { "s" })}
                </p>
                {clamped_from.map(|asked| view! {
                    <p role="status" class="mb-4 rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900">
                        {format!("There is no page {asked}; showing the last page, {}.", query.page)}
                    </p>
                })}
                {if empty {
                    view! {
                        <div class="rounded-xl border border-dashed border-stone-300 p-12 text-center">
                            <p class="font-medium">"No products match these filters."</p>
                            <a href=clear_href class="btn-secondary mt-4 inline-flex">"Clear filters"</a>
                        </div>
                    }.into_any()
                } else {
                    view! { <ProductGrid products /> }.into_any()
                }}
                {pagination}
            </section>
        </div>
    }
    .into_any()
}

#[component]
fn Pagination(
    slug: String,
    query: ListingQuery,
    page_count: u32,
    currency: domain::Currency,
) -> impl IntoView {
    let current = query.page;
    let href = move |p: u32| listing_href(&slug, &query.with_page(p), currency);
    // First, last, and two either side of the current page.
    let mut pages: Vec<u32> = (1..=page_count)
        .filter(|p| *p == 1 || *p == page_count || p.abs_diff(current) <= 2)
        .collect();
    pages.dedup();
    let mut items = Vec::new();
    let mut last = 0;
    for p in pages {
        if p > last + 1 {
            items.push(
                view! { <li class="px-2 text-stone-400" aria-hidden="true">"…"</li> }.into_any(),
            );
        }
        let is_current = p == current;
        items.push(view! {
            <li>
                <a href=href(p) class=if is_current { "page-link page-link-current" } else { "page-link" }
                   aria-current=is_current.then_some("page") aria-label=format!("Page {p}")>{p}</a>
            </li>
        }.into_any());
        last = p;
    }
    let prev = (current > 1).then(|| href(current - 1));
    let next = (current < page_count).then(|| href(current + 1));
    view! {
        <nav aria-label="Pagination" class="mt-10 flex items-center justify-center gap-2" data-testid="pagination">
            {prev.map(|h| view! { <a href=h class="page-link" rel="prev">"← Previous"</a> })}
            <ul class="flex items-center gap-1">{items}</ul>
            {next.map(|h| view! { <a href=h class="page-link" rel="next">"Next →"</a> })}
        </nav>
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "listing")]
pub async fn get_listing(
    slug: String,
    page: Option<String>,
    sort: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    in_stock: Option<String>,
) -> Result<ListingPage, AppError> {
    with_status(
        async move {
            let s = services()?;
            let not_found = || AppError::NotFound("We could not find that category.".into());
            domain::Slug::parse(&slug).map_err(|_| not_found())?;
            let pairs = [
                ("page", &page),
                ("sort", &sort),
                ("min_price", &min_price),
                ("max_price", &max_price),
                ("in_stock", &in_stock),
            ];
            let query = domain::ListingQuery::parse(
                pairs
                    .iter()
                    .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
                s.catalog.currency(),
            )
            .map_err(|e| AppError::BadRequest(e.message))?;
            let listing = s
                .catalog
                .listing(&slug, &query)
                .await
                .map_err(|e| match e {
                    services::catalog::CatalogError::NotFound(_) => not_found(),
                    other => other.into(),
                })?;
            Ok((*listing).clone())
        }
        .await,
    )
}

/// One entry of the sort menu: its form value, label and the page it leads to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SortChoice {
    value: String,
    label: String,
    href: String,
    selected: bool,
}

/// The sort menu: part of the filter form (sent with "Apply" before hydration); after it
/// (an island), choosing an order loads that order's first page.
#[island]
fn SortSelect(sorts: Vec<SortChoice>) -> impl IntoView {
    let hrefs: Vec<(String, String)> = sorts
        .iter()
        .map(|s| (s.value.clone(), s.href.clone()))
        .collect();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if let Some((_, href)) = hrefs.iter().find(|(v, _)| *v == value) {
            go_to(href);
        }
    };
    view! {
        <select id="sort" name="sort" class="field mt-2" on:change=on_change data-testid="sort">
            {sorts.into_iter().map(|s| view! {
                <option value=s.value selected=s.selected>{s.label}</option>
            }).collect_view()}
        </select>
    }
}
