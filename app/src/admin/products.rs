//! `/admin/products`: the product list (search by name or SKU, filters by category, state
//! and stock, sortable, 50 a page) with bulk actions on the ticked rows: publish,
//! unpublish, move to a category, change prices by a percentage.

use super::shell::{admin_page, href_with, Pager, SortHeader};
use crate::components::forms::{action_error, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::product_admin::{ProductList, ProductQuery, SortColumn, StatusFilter, StockFilter};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn query_from(map: &leptos_router::params::ParamsMap) -> ProductQuery {
    ProductQuery {
        q: map.get("q").unwrap_or_default(),
        category: map.get("category").and_then(|c| c.parse().ok()),
        status: map
            .get("status")
            .and_then(|s| StatusFilter::parse(&s))
            .unwrap_or_default(),
        stock: map
            .get("stock")
            .and_then(|s| StockFilter::parse(&s))
            .unwrap_or_default(),
        sort: map
            .get("sort")
            .and_then(|s| SortColumn::parse(&s))
            .unwrap_or_default(),
        reverse: map.get("reverse").is_some_and(|r| r == "1"),
        page: map.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
    }
}

/// The list's address for a query (defaults left out).
pub fn href_of(q: &ProductQuery) -> String {
    let or_empty = |s: &str, default: &str| {
        if s == default {
            String::new()
        } else {
            s.to_owned()
        }
    };
    href_with(
        "/admin/products",
        &[
            ("q", q.q.clone()),
            (
                "category",
                q.category.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("status", or_empty(q.status.as_str(), "active")),
            ("stock", or_empty(q.stock.as_str(), "any")),
            ("sort", or_empty(q.sort.as_str(), "updated")),
            (
                "reverse",
                if q.reverse { "1".into() } else { String::new() },
            ),
            (
                "page",
                if q.page > 1 {
                    q.page.to_string()
                } else {
                    String::new()
                },
            ),
        ],
    )
}

#[component]
pub fn AdminProductsPage() -> impl IntoView {
    let map = use_query_map();
    let query = Memo::new(move |_| query_from(&map.read()));
    let list = Resource::new(move || query.get(), admin_products);
    let bulk = ServerAction::<BulkProducts>::new();
    let bulk_error = action_error(bulk.value());
    admin_page(
        "Products",
        "/admin/products",
        vec![("/admin/products", "Products")],
        list,
        move |l: ProductList| {
            let q = query.get_untracked();
            let sort_link = {
                let q = q.clone();
                Callback::new(move |(column, descending): (String, bool)| {
                    href_of(&q.sorted_by(&column, descending))
                })
            };
            let page_link = {
                let q = q.clone();
                Callback::new(move |page: u32| href_of(&ProductQuery { page, ..q.clone() }))
            };
            let current = (q.sort.as_str().to_owned(), q.descending());
            let back = href_of(&q);
            let category_options = move |selected: Option<i64>| {
                l.categories
                    .iter()
                    .map(|c| view! { <option value=c.id.to_string() selected=selected == Some(c.id)>{c.path.clone()}</option> })
                    .collect_view()
            };
            let categories_for_filter = category_options.clone();
            view! {
            <div class="flex flex-wrap items-center justify-between gap-2">
                <p class="text-sm text-stone-600">"Products the shop sells, with their variants. Archived products are hidden from the shop and kept for the orders that refer to them."</p>
                <div class="flex gap-2">
                    <a href="/admin/categories" class="btn-secondary">"Categories"</a>
                    <a href="/admin/products/import" class="btn-secondary" data-testid="import-products">"Import or export CSV"</a>
                    <a href="/admin/products/new" class="btn-primary" data-testid="new-product">"New product"</a>
                </div>
            </div>
            <form method="get" action="/admin/products" role="search" class="card flex flex-wrap items-end gap-4" data-testid="product-search">
                <div class="min-w-56 flex-1 space-y-1">
                    <label for="product-q" class="block text-sm font-medium">"Name or SKU"</label>
                    <input id="product-q" name="q" type="search" class="field" value=q.q.clone() maxlength="100" />
                </div>
                <div class="space-y-1">
                    <label for="product-category" class="block text-sm font-medium">"Category"</label>
                    <select id="product-category" name="category" class="field">
                        <option value="">"Any"</option>
                        {categories_for_filter(q.category)}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="product-status" class="block text-sm font-medium">"State"</label>
                    <select id="product-status" name="status" class="field">
                        {StatusFilter::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == q.status>{s.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="product-stock" class="block text-sm font-medium">"Stock"</label>
                    <select id="product-stock" name="stock" class="field">
                        {StockFilter::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == q.stock>{s.label()}</option> }).collect_view()}
                    </select>
                </div>
                <input type="hidden" name="sort" value=q.sort.as_str() />
                {q.reverse.then(|| view! { <input type="hidden" name="reverse" value="1" /> })}
                <button type="submit" class="btn-primary">"Show"</button>
            </form>
            {if l.rows.is_empty() {
                view! { <p class="text-stone-600" data-testid="products-empty">"No product matches."</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=bulk attr:class="space-y-4" attr:data-testid="bulk-form">
                        <input type="hidden" name="back" value=back.clone() />
                        <FormAlert error=bulk_error fields=&[] />
                        <div class="overflow-x-auto rounded-xl border border-stone-200 bg-white">
                            <table class="w-full text-sm" data-testid="products-table">
                                <thead class="border-b border-stone-200 text-stone-600">
                                    <tr>
                                        <th scope="col" class="px-3 py-2"><span class="sr-only">"Select"</span></th>
                                        <SortHeader label="Name" key="name" current=current.clone() link=sort_link />
                                        <th scope="col" class="px-3 py-2 text-left font-medium">"Category"</th>
                                        <th scope="col" class="px-3 py-2 text-left font-medium">"Variants"</th>
                                        <th scope="col" class="px-3 py-2 text-left font-medium">"Price from"</th>
                                        <th scope="col" class="px-3 py-2 text-left font-medium">"Stock"</th>
                                        <th scope="col" class="px-3 py-2 text-left font-medium">"State"</th>
                                        <SortHeader label="Updated" key="updated" current=current.clone() link=sort_link />
                                        <SortHeader label="Created" key="created" current=current.clone() link=sort_link />
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-stone-100">
                                    {l.rows.into_iter().enumerate().map(|(i, r)| {
                                        let state = if r.archived { "Archived" } else if r.published { "Published" } else { "Draft" };
                                        let check_id = format!("select-{}", r.id);
                                        view! {
                                            <tr data-testid="product-row">
                                                <td class="px-3 py-2">
                                                    <label for=check_id.clone() class="sr-only">{format!("Select {}", r.name)}</label>
                                                    <input id=check_id type="checkbox" name=format!("ids[{i}]") value=r.id.to_string() />
                                                </td>
                                                <td class="px-3 py-2"><a href=format!("/admin/products/{}", r.id) class="font-medium hover:underline" data-testid="product-name">{r.name}</a></td>
                                                <td class="px-3 py-2 text-stone-600">{r.category}</td>
                                                <td class="px-3 py-2">{r.variants}</td>
                                                <td class="px-3 py-2" data-testid="product-price">{r.price_from.map(|m| m.to_string()).unwrap_or_else(|| "—".into())}</td>
                                                <td class="px-3 py-2">{r.stock}</td>
                                                <td class="px-3 py-2" data-testid="product-state">{state}</td>
                                                <td class="px-3 py-2 text-stone-600">{r.updated}</td>
                                                <td class="px-3 py-2 text-stone-600">{r.created}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <fieldset class="card flex flex-wrap items-end gap-4">
                            <legend class="sr-only">"With the ticked products"</legend>
                            <div class="space-y-1">
                                <label for="bulk-action" class="block text-sm font-medium">"With the ticked products"</label>
                                <select id="bulk-action" name="action" class="field">
                                    <option value="publish">"Publish"</option>
                                    <option value="unpublish">"Unpublish"</option>
                                    <option value="move">"Move to the category"</option>
                                    <option value="prices">"Change prices by the percentage"</option>
                                </select>
                            </div>
                            <div class="space-y-1">
                                <label for="bulk-category" class="block text-sm font-medium">"Category"</label>
                                <select id="bulk-category" name="category_id" class="field">
                                    <option value="">"—"</option>
                                    {category_options(None)}
                                </select>
                            </div>
                            <div class="space-y-1">
                                <label for="bulk-percent" class="block text-sm font-medium">"Percentage"</label>
                                <input id="bulk-percent" name="percent" class="field w-28" inputmode="decimal" placeholder="-10" aria-describedby="bulk-percent-hint" />
                                <p id="bulk-percent-hint" class="text-xs text-stone-500">"-10 is 10 % off; to the nearest cent, halves up."</p>
                            </div>
                            <button type="submit" class="btn-primary">"Apply"</button>
                        </fieldset>
                    </ActionForm>
                }.into_any()
            }}
            <Pager page=l.page has_next=l.has_next link=page_link />
        }
        .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_products")]
pub async fn admin_products(query: ProductQuery) -> Result<ProductList, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.admin_products(&actor, &query).await?)
        }
        .await,
    )
}

/// Back to the list the form was sent from (only a list address), with a flash code.
#[cfg(feature = "ssr")]
fn back_to_list(back: &str, done: &str) {
    // Only a list address, and only characters a header can carry.
    let back = if back.starts_with("/admin/products")
        && back.len() <= 1000
        && back.bytes().all(|b| b.is_ascii_graphic())
    {
        back
    } else {
        "/admin/products"
    };
    let sep = if back.contains('?') { '&' } else { '?' };
    leptos_axum::redirect(&format!("{back}{sep}done={done}"));
}

#[server(prefix = "/api", endpoint = "admin_products_bulk")]
pub async fn bulk_products(
    ids: Option<Vec<i64>>,
    action: String,
    category_id: Option<String>,
    percent: Option<String>,
    back: String,
) -> Result<(), AppError> {
    use domain::product_admin::{parse_percent, BulkAction};
    with_status(
        async move {
            let actor = require_staff().await?;
            let action = match action.as_str() {
                "publish" => BulkAction::Publish,
                "unpublish" => BulkAction::Unpublish,
                "move" => BulkAction::MoveTo(category_id.and_then(|c| c.parse().ok()).ok_or_else(
                    || AppError::field("category_id", "Choose the category to move them to."),
                )?),
                "prices" => BulkAction::ChangePrices(
                    parse_percent(&percent.unwrap_or_default())
                        .map_err(|m| AppError::field("percent", m))?,
                ),
                _ => {
                    return Err(AppError::BadRequest(
                        "Choose what to do with the ticked products.".into(),
                    ))
                }
            };
            services()?
                .catalog
                .bulk_edit(&actor, &ids.unwrap_or_default(), &action)
                .await?;
            back_to_list(&back, "bulk");
            Ok(())
        }
        .await,
    )
}
