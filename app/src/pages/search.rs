//! `/search?q=`: results with a facet sidebar (a plain GET form, so it works without
//! JavaScript), sorting, pagination and a helpful page when nothing matches; and the
//! header's search box with suggestions while typing (after hydration).

use crate::api::search::{search_products, search_suggestions, Suggestion};
use crate::components::cards::ProductGrid;
use crate::components::error_view::ErrorView;
use crate::components::layout::{await_layout, loading, Frame};
use crate::LayoutResource;
use domain::search::{FacetValue, SearchQuery, SearchResults, SearchSort, SEARCH_PER_PAGE};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_navigate, use_query_map};

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

/// The header's search box: a GET form to `/search` before hydration; after it, product
/// suggestions appear while typing (150 ms after the last key), navigable with the arrow
/// keys, Enter and Escape.
#[component]
pub fn SearchBox() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let suggestions = RwSignal::new(Vec::<Suggestion>::new());
    let active = RwSignal::new(None::<usize>);
    let fetch = Action::new(|q: &String| search_suggestions(q.clone()));
    Effect::new(move |_| {
        if let Some(Ok(list)) = fetch.value().get() {
            // A late answer for text that has since been cleared is dropped.
            if text.get_untracked().trim().chars().count() >= 2 {
                suggestions.set(list);
                active.set(None);
            }
        }
    });
    let pending_timer = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        if let Some(handle) = pending_timer.get_value() {
            handle.clear();
        }
        if value.trim().chars().count() < 2 {
            suggestions.set(Vec::new());
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                fetch.dispatch(value);
            },
            std::time::Duration::from_millis(150),
        )
        .ok();
        pending_timer.set_value(handle);
    };
    let navigate = use_navigate();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let n = suggestions.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Enter" => {
                if let Some(slug) = active
                    .get()
                    .and_then(|i| suggestions.with(|s| s.get(i).map(|s| s.slug.clone())))
                {
                    ev.prevent_default();
                    suggestions.set(Vec::new());
                    navigate(&format!("/p/{slug}"), Default::default());
                }
            }
            "Escape" => {
                suggestions.set(Vec::new());
                active.set(None);
            }
            _ => {}
        }
    };
    view! {
        <form method="get" action="/search" role="search" class="relative w-full max-w-xs" data-testid="search-box">
            <label for="site-search" class="sr-only">"Search products"</label>
            <input
                id="site-search"
                name="q"
                type="search"
                placeholder="Search products"
                autocomplete="off"
                maxlength="256"
                class="field py-1.5"
                on:blur=move |_| {
                    // Let a click on a suggestion land first.
                    set_timeout(move || suggestions.set(Vec::new()), std::time::Duration::from_millis(200));
                }
                role="combobox"
                aria-autocomplete="list"
                aria-controls="search-suggestions"
                aria-expanded=move || (!suggestions.with(Vec::is_empty)).to_string()
                aria-activedescendant=move || active.get().map(|i| format!("suggestion-{i}"))
                prop:value=move || text.get()
                on:input=on_input
                on:keydown=on_keydown
            />
            <Show when=move || !suggestions.with(Vec::is_empty)>
                <ul id="search-suggestions" role="listbox" class="absolute left-0 right-0 z-40 mt-1 overflow-hidden rounded-lg border border-stone-200 bg-white shadow-lg" data-testid="suggestions">
                    <For
                        each=move || suggestions.get().into_iter().enumerate()
                        key=|(i, s)| (*i, s.slug.clone())
                        children=move |(i, s)| view! {
                            <li role="option" id=format!("suggestion-{i}") aria-selected=move || (active.get() == Some(i)).to_string()>
                                <a href=format!("/p/{}", s.slug)
                                   class=move || if active.get() == Some(i) { "block bg-stone-100 px-3 py-2 text-sm" } else { "block px-3 py-2 text-sm hover:bg-stone-50" }
                                   on:click=move |_| suggestions.set(Vec::new())
                                   data-testid="suggestion"
                                   inner_html=s.name_html.clone()></a>
                            </li>
                        }
                    />
                </ul>
            </Show>
        </form>
    }
    .into_any()
}
