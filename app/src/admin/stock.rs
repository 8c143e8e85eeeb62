//! `/admin/stock` (the low-stock list) and `/admin/products/:id/stock` (a product's stock):
//! each variant's stock on hand, an adjustment entered as a delta with its reason or as a
//! counted quantity, its low-stock threshold, and the movements that made the figure.
//! A count carries the figure the form showed, so what orders took meanwhile stays taken.

#![allow(clippy::too_many_arguments)]

use super::shell::admin_page;
use crate::components::forms::{action_error, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::stock::{LowStockRow, StockReason, StockScreen};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn AdminStockPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| admin_low_stock());
    admin_page(
        "Low stock",
        "/admin/stock",
        vec![("/admin/products", "Products"), ("", "Low stock")],
        rows,
        move |rows: Vec<LowStockRow>| {
            view! {
                <section class="card space-y-3" aria-labelledby="low-heading">
                    <h2 id="low-heading" class="text-lg font-semibold">"At or below their threshold"</h2>
                    <p class="text-sm text-stone-600">"Variants with a low-stock threshold whose stock on hand is at or below it, the emptiest first. Set a threshold on a product's stock page."</p>
                    {if rows.is_empty() {
                        view! { <p data-testid="low-stock-empty">"Nothing is low on stock."</p> }.into_any()
                    } else {
                        view! {
                            <table class="w-full text-sm" data-testid="low-stock">
                                <thead><tr class="text-left text-stone-600"><th class="py-1">"Product"</th><th>"SKU"</th><th>"Variant"</th><th class="text-right">"On hand"</th><th class="text-right">"Threshold"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr class="border-t border-stone-100" data-testid="low-stock-row">
                                            <td class="py-1"><a class="underline" href=format!("/admin/products/{}/stock", r.product_id)>{r.product_name}</a></td>
                                            <td class="font-mono">{r.sku}</td>
                                            <td>{r.label}</td>
                                            <td class="text-right tabular-nums">{r.on_hand}</td>
                                            <td class="text-right tabular-nums">{r.threshold}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                </section>
            }
            .into_any()
        },
    )
}

#[component]
pub fn AdminProductStockPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        (
            params
                .read()
                .get("id")
                .and_then(|i| i.parse::<i64>().ok())
                .unwrap_or(0),
            query.read().get("sku"),
        )
    };
    let adjust = ServerAction::<AdjustStock>::new();
    let threshold = ServerAction::<SetLowStock>::new();
    let adjust_error = action_error(adjust.value());
    let threshold_error = action_error(threshold.value());
    let screen = Resource::new(key, |(id, sku)| admin_stock(id, sku));
    admin_page(
        "Stock",
        "/admin/products",
        vec![("/admin/products", "Products"), ("", "Stock")],
        screen,
        move |s: StockScreen| {
            let pid = s.product_id;
            view! {
                <section class="card flex flex-wrap items-center justify-between gap-3" aria-label="Product">
                    <p class="text-lg font-semibold" data-testid="stock-product">{s.product_name.clone()}</p>
                    <a class="btn-secondary text-sm" href=format!("/admin/products/{pid}")>"Edit the product"</a>
                </section>
                <section class="card space-y-3" aria-labelledby="variants-heading">
                    <h2 id="variants-heading" class="text-lg font-semibold">"Variants"</h2>
                    <FormAlert error=adjust_error fields=&["quantity", "reason", "note"] />
                    <FormAlert error=threshold_error fields=&["threshold"] />
                    <p class="text-sm text-stone-600">"A change adds to or takes from the stock (“+12” received, “-2” damaged). A count is what you counted: what orders took while you counted stays taken."</p>
                    <ul class="divide-y divide-stone-100">
                    {s.variants.into_iter().map(|v| {
                        let (sku_attr, sku_adjust, sku_threshold) = (v.sku.clone(), v.sku.clone(), v.sku.clone());
                        let title = if v.label.is_empty() { v.sku.clone() } else { format!("{} · {}", v.label, v.sku) };
                        let low = v.is_low();
                        let qid = format!("quantity-{}", v.id);
                        let tid = format!("threshold-{}", v.id);
                        view! {
                            <li class="space-y-2 py-3" data-testid="stock-variant" data-sku=sku_attr>
                                <div class="flex flex-wrap items-baseline gap-3">
                                    <span class="font-medium">{title}</span>
                                    <span class="text-sm">"On hand: "<strong class="tabular-nums" data-testid="on-hand">{v.on_hand}</strong></span>
                                    {low.then(|| view! { <span class="rounded bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900">"Low stock"</span> })}
                                    {v.archived.then(|| view! { <span class="rounded bg-stone-100 px-2 py-0.5 text-xs">"Archived variant"</span> })}
                                    <a class="text-sm underline" href=format!("/admin/products/{pid}/stock?sku={}", v.sku)>"History"</a>
                                </div>
                                <ActionForm action=adjust attr:class="flex flex-wrap items-end gap-2" attr:data-testid="stock-adjust">
                                    <input type="hidden" name="product_id" value=pid.to_string() />
                                    <input type="hidden" name="sku" value=sku_adjust />
                                    <input type="hidden" name="shown" value=v.on_hand.to_string() />
                                    <div class="space-y-1">
                                        <label for=format!("mode-{}", v.id) class="block text-xs font-medium">"Kind"</label>
                                        <select id=format!("mode-{}", v.id) name="mode" class="field">
                                            <option value="delta">"Change by"</option>
                                            <option value="count">"Counted"</option>
                                        </select>
                                    </div>
                                    <div class="space-y-1">
                                        <label for=qid.clone() class="block text-xs font-medium">"Quantity"</label>
                                        <input id=qid name="quantity" class="field w-28" required inputmode="numeric" placeholder="+12" />
                                    </div>
                                    <div class="space-y-1">
                                        <label for=format!("reason-{}", v.id) class="block text-xs font-medium">"Reason (for a change)"</label>
                                        <select id=format!("reason-{}", v.id) name="reason" class="field">
                                            {StockReason::BY_HAND.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="space-y-1">
                                        <label for=format!("note-{}", v.id) class="block text-xs font-medium">"Note"</label>
                                        <input id=format!("note-{}", v.id) name="note" class="field" maxlength="500" />
                                    </div>
                                    <button type="submit" class="btn-primary">"Record"</button>
                                </ActionForm>
                                <ActionForm action=threshold attr:class="flex flex-wrap items-end gap-2" attr:data-testid="stock-threshold">
                                    <input type="hidden" name="product_id" value=pid.to_string() />
                                    <input type="hidden" name="sku" value=sku_threshold />
                                    <div class="space-y-1">
                                        <label for=tid.clone() class="block text-xs font-medium">"Low-stock threshold"</label>
                                        <input id=tid name="threshold" class="field w-28" inputmode="numeric" value=v.low_stock_threshold.map(|t| t.to_string()).unwrap_or_default() />
                                    </div>
                                    <button type="submit" class="btn-secondary">"Save threshold"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view()}
                    </ul>
                </section>
                <section class="card space-y-3" aria-labelledby="history-heading">
                    <h2 id="history-heading" class="text-lg font-semibold">
                        {match &s.history_sku { Some(sku) => format!("Movements of {sku}"), None => "Movements".to_owned() }}
                    </h2>
                    {s.history_sku.is_some().then(|| view! { <a class="text-sm underline" href=format!("/admin/products/{pid}/stock")>"All variants"</a> })}
                    <table class="w-full text-sm" data-testid="stock-history">
                        <thead><tr class="text-left text-stone-600"><th class="py-1">"When"</th><th>"SKU"</th><th class="text-right">"Change"</th><th class="text-right">"After"</th><th>"Reason"</th><th>"By"</th><th>"Note"</th></tr></thead>
                        <tbody>
                            {s.history.into_iter().map(|m| view! {
                                <tr class="border-t border-stone-100" data-testid="movement">
                                    <td class="py-1 whitespace-nowrap">{m.at}</td>
                                    <td class="font-mono">{m.sku}</td>
                                    <td class="text-right tabular-nums" data-testid="movement-delta">{format!("{:+}", m.delta)}</td>
                                    <td class="text-right tabular-nums">{m.on_hand_after}</td>
                                    <td data-testid="movement-reason">{m.reason}{m.order_number.map(|n| format!(" {n}"))}</td>
                                    <td>{m.by}</td>
                                    <td>{m.note}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }
            .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_low_stock")]
pub async fn admin_low_stock() -> Result<Vec<LowStockRow>, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.catalog.low_stock(&actor).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_stock")]
pub async fn admin_stock(id: i64, sku: Option<String>) -> Result<StockScreen, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?
                .catalog
                .stock_screen(&actor, id, sku.as_deref())
                .await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_stock_adjust")]
pub async fn adjust_stock(
    product_id: i64,
    sku: String,
    mode: String,
    quantity: String,
    shown: i32,
    reason: String,
    note: String,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let adjustment = domain::stock::Adjustment::parse(&mode, &quantity, shown)
                .map_err(|m| AppError::field("quantity", m))?;
            let reason = StockReason::parse(&reason)
                .ok_or_else(|| AppError::field("reason", "Choose why the stock changed."))?;
            services()?
                .catalog
                .adjust_stock(&actor, &sku, adjustment, reason, &note)
                .await?;
            leptos_axum::redirect(&format!("/admin/products/{product_id}/stock?done=stock"));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_stock_threshold")]
pub async fn set_low_stock(
    product_id: i64,
    sku: String,
    threshold: String,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let threshold = match threshold.trim() {
                "" => None,
                t => Some(t.parse::<i32>().map_err(|_| {
                    AppError::field(
                        "threshold",
                        "Give the threshold as a whole number, or leave it empty.",
                    )
                })?),
            };
            services()?
                .catalog
                .set_low_stock_threshold(&actor, &sku, threshold)
                .await?;
            leptos_axum::redirect(&format!("/admin/products/{product_id}/stock?done=saved"));
            Ok(())
        }
        .await,
    )
}
