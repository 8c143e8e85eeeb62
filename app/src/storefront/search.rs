//! `/search?q=`: results with a facet sidebar (a plain GET form, so it works without
//! JavaScript), sorting, pagination and a helpful page when nothing matches. The header's
//! search box is in `components::search_box`.

use crate::components::cards::ProductGrid;
use crate::components::error_view::ErrorView;
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
#[cfg(feature = "ssr")]
use crate::components::server::{services, with_status};
use crate::error::AppError;
use domain::search::{FacetValue, SearchQuery, SearchResults, SearchSort, SEARCH_PER_PAGE};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

const KEYS: &[&str] = &[
    "q", "category", "colour", "size", "price", "in_stock", "sort", "page",
];

#[component]
pub fn SearchPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let map = params.read();
        let pairs: Vec<(String, String)> = KEYS
            .iter()
            .flat_map(|k| {
                map.get_all(k)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |v| ((*k).to_owned(), v))
            })
            .collect();
        SearchQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    });
    let results = Resource::new(move || query.get(), search_products);
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, results) = (await_layout(layout).await, results.await);
                let q = query.get_untracked();
                let categories = layout.categories.clone();
                let body = match results {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(r) => view! { <Results q r categories /> }.into_any(),
                };
                view! { <Frame layout>{body}</Frame> }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn Results(
    q: SearchQuery,
    r: SearchResults,
    categories: Vec<domain::CategoryCard>,
) -> impl IntoView {
    let title = if q.text.is_empty() {
        "All products".to_owned()
    } else {
        format!("Results for “{}”", q.text)
    };
    let pages = usize::try_from(r.total)
        .unwrap_or(0)
        .div_ceil(SEARCH_PER_PAGE)
        .max(1);
    let page = r.page.min(pages);
    let sort_url = {
        let q = q.clone();
        move |sort: SearchSort| SearchQuery { sort, ..q.clone() }.url(1)
    };
    let sort_links = [
        (SearchSort::Relevance, "Best match"),
        (SearchSort::PriceAsc, "Price: low to high"),
        (SearchSort::PriceDesc, "Price: high to low"),
        (SearchSort::Newest, "Newest"),
    ];
    view! {
        <Title text=title.clone() />
        <Meta name="robots" content="noindex" />
        <div class="py-10">
            <h1 class="text-3xl font-semibold tracking-tight" data-testid="search-title">{title}</h1>
            <p class="mt-1 text-sm text-stone-600" data-testid="search-total">
                {format!("{} product{}", r.total, if r.total == 1 { "" } else { "s" })}
            </p>
            <div class="mt-8 grid gap-8 lg:grid-cols-4">
                <FacetForm q=q.clone() r=r.clone() />
                <div class="lg:col-span-3">
                    <nav aria-label="Sort" class="mb-4 flex flex-wrap gap-2 text-sm">
                        {sort_links.into_iter().map(|(s, label)| {
                            let current = s == q.sort;
                            view! {
                                <a href=sort_url(s) class=if current { "chip border-stone-900 bg-stone-900 text-white" } else { "chip" } aria-current=current.then_some("true")>{label}</a>
                            }
                        }).collect_view()}
                    </nav>
                    {if r.hits.is_empty() {
                        view! { <NoResults q=q.clone() suggestion=r.suggestion.clone() popular=r.popular.clone() categories /> }.into_any()
                    } else {
                        view! {
                            <ul class="grid grid-cols-2 gap-6 md:grid-cols-3" data-testid="search-results">
                                {r.hits.into_iter().map(|h| view! {
                                    <li class="group" data-testid="search-hit">
                                        <a href=format!("/p/{}", h.slug) class="block">
                                            <img src=h.image_url.clone() alt="" width="300" height="300" loading="lazy" class="aspect-square w-full rounded-xl bg-stone-100 object-cover" />
                                            <p class="mt-3 text-sm text-stone-500">{h.brand.clone()}</p>
                                            <p class="font-medium group-hover:underline" data-testid="search-hit-name" inner_html=h.name_html.clone()></p>
                                            <p class="mt-1 text-sm font-semibold">{format!("From {}", h.min_price)}</p>
                                            {(!h.in_stock).then(|| view! { <p class="text-xs text-red-700">"Sold out"</p> })}
                                        </a>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <nav aria-label="Pages" class="mt-8 flex items-center justify-between text-sm">
                                {(page > 1).then(|| view! { <a class="page-link" href=q.url(page - 1) rel="prev">"Previous"</a> })}
                                <span class="text-stone-600">{format!("Page {page} of {pages}")}</span>
                                {(page < pages).then(|| view! { <a class="page-link" href=q.url(page + 1) rel="next" data-testid="next-page">"Next"</a> })}
                            </nav>
                        }.into_any()
                    }}
                </div>
            </div>
        </div>
    }
    .into_any()
}

/// The facet sidebar: a GET form, so filters work before hydration.
#[component]
fn FacetForm(q: SearchQuery, r: SearchResults) -> impl IntoView {
    let group = |title: &'static str,
                 name: &'static str,
                 values: Vec<FacetValue>,
                 chosen: Vec<String>| {
        (!values.is_empty()).then(|| view! {
            <fieldset class="space-y-1" data-testid=format!("facet-{name}")>
                <legend class="mb-2 text-sm font-semibold">{title}</legend>
                {values.into_iter().take(12).map(|v| {
                    let checked = chosen.contains(&v.value);
                    view! {
                        <label class="flex items-center justify-between gap-2 text-sm">
                            <span class="flex items-center gap-2">
                                <input type="checkbox" name=name value=v.value.clone() checked=checked class="h-4 w-4 rounded border-stone-300" />
                                <span>{v.label.clone()}</span>
                            </span>
                            <span class="text-stone-500" data-testid="facet-count">{v.count}</span>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        })
    };
    view! {
        <form method="get" action="/search" class="card h-fit space-y-6" data-testid="facet-form">
            <input type="hidden" name="q" value=q.text.clone() />
            {(q.sort != SearchSort::Relevance).then(|| view! {
                <input type="hidden" name="sort" value=match q.sort { SearchSort::PriceAsc => "price-asc", SearchSort::PriceDesc => "price-desc", SearchSort::Newest => "newest", SearchSort::Relevance => "" } />
            })}
            {group("Category", "category", r.facets.categories.clone(), q.categories.clone())}
            {group("Price", "price", r.facets.prices.clone(), q.prices.clone())}
            {group("Colour", "colour", r.facets.colours.clone(), q.colours.clone())}
            {group("Size", "size", r.facets.sizes.clone(), q.sizes.clone())}
            <label class="flex items-center justify-between gap-2 text-sm">
                <span class="flex items-center gap-2">
                    <input type="checkbox" name="in_stock" value="1" checked=q.in_stock_only class="h-4 w-4 rounded border-stone-300" />
                    "In stock only"
                </span>
                <span class="text-stone-500">{r.facets.in_stock}</span>
            </label>
            <button type="submit" class="btn-primary w-full">"Apply filters"</button>
            <a href=SearchQuery { text: q.text.clone(), page: 1, ..Default::default() }.url(1) class="link block text-center text-sm">"Clear filters"</a>
        </form>
    }
    .into_any()
}

/// Nothing matched: a spelling suggestion when the corrected words find something, ways
/// to browse, and popular products.
#[component]
fn NoResults(
    q: SearchQuery,
    suggestion: Option<String>,
    popular: Vec<domain::ProductCard>,
    categories: Vec<domain::CategoryCard>,
) -> impl IntoView {
    let headline = if q.text.is_empty() {
        "No products match these filters.".to_owned()
    } else {
        format!("Nothing matches “{}”.", q.text)
    };
    let suggestion = suggestion.map(|text| {
        let href = SearchQuery {
            text: text.clone(),
            page: 1,
            ..q.clone()
        }
        .url(1);
        view! {
            <p class="text-lg">
                "Did you mean "
                <a href=href class="link font-semibold" data-testid="did-you-mean">{text}</a>
                "?"
            </p>
        }
    });
    view! {
        <div class="card space-y-4 py-10 text-center" data-testid="no-results">
            <p class="text-lg font-medium">{headline}</p>
            {suggestion}
            <p class="text-sm text-stone-600">"Check the spelling, use fewer words or remove a filter. Or browse a category:"</p>
            <ul class="flex flex-wrap justify-center gap-2">
                {categories.into_iter().map(|c| view! {
                    <li><a href=format!("/c/{}", c.slug) class="chip">{c.name}</a></li>
                }).collect_view()}
            </ul>
            <a href="/search?q=" class="btn-secondary">"See all products"</a>
        </div>
        {(!popular.is_empty()).then(|| view! {
            <section class="mt-10" data-testid="popular">
                <h2 class="mb-4 text-xl font-semibold">"Popular right now"</h2>
                <ProductGrid products=popular />
            </section>
        })}
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "search")]
pub async fn search_products(query: SearchQuery) -> Result<SearchResults, AppError> {
    with_status(
        async move {
            services()?
                .search
                .search(&query.cleaned())
                .await
                .map_err(AppError::from)
        }
        .await,
    )
}
