//! `/admin/orders`: the order list (search by number, e-mail or name; filters by status,
//! date, method and review; sortable; 50 a page; CSV export of the filtered list), and
//! `/admin/orders/EMP-…`: an order's page with its timeline, notes and the actions its
//! state allows (capture, refund, cancel, mark paid, ship, deliver, clear review).

use super::shell::{admin_page, href_with, Pager, SortHeader};
use crate::components::forms::{action_error, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::order_desk::{AdminOrder, OrderList, OrderQuery};
use domain::{FulfilmentStatus, OrderStatus, PaymentStatus};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The list's address for a query (defaults left out).
pub fn href_of(q: &OrderQuery) -> String {
    href_with("/admin/orders", &q.params())
}

#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let map = use_query_map();
    let query = Memo::new(move |_| {
        let m = map.read();
        OrderQuery::from_params(|k| m.get(k))
    });
    let list = Resource::new(move || query.get(), admin_orders);
    admin_page(
        "Orders",
        "/admin/orders",
        vec![("/admin/orders", "Orders")],
        list,
        move |l: OrderList| {
            let q = query.get_untracked();
            let sort_link = {
                let q = q.clone();
                Callback::new(move |(column, descending): (String, bool)| {
                    href_of(&q.sorted_by(&column, descending))
                })
            };
            let page_link = {
                let q = q.clone();
                Callback::new(move |page: u32| href_of(&OrderQuery { page, ..q.clone() }))
            };
            let current = (q.sort.as_str().to_owned(), !q.reverse);
            let export = href_with(
                "/admin/orders/export.csv",
                &OrderQuery {
                    page: 1,
                    ..q.clone()
                }
                .params(),
            );
            view! {
            <form method="get" action="/admin/orders" role="search" class="card flex flex-wrap items-end gap-4" data-testid="order-search">
                <div class="min-w-56 flex-1 space-y-1">
                    <label for="order-q" class="block text-sm font-medium">"Number, e-mail or name"</label>
                    <input id="order-q" name="q" type="search" class="field" value=q.q.clone() maxlength="100" />
                </div>
                <div class="space-y-1">
                    <label for="order-status" class="block text-sm font-medium">"Order"</label>
                    <select id="order-status" name="order" class="field">
                        <option value="">"Any"</option>
                        {OrderStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=Some(*s) == q.order>{s.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="order-payment" class="block text-sm font-medium">"Payment"</label>
                    <select id="order-payment" name="payment" class="field">
                        <option value="">"Any"</option>
                        {PaymentStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=Some(*s) == q.payment>{s.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="order-fulfilment" class="block text-sm font-medium">"Shipping"</label>
                    <select id="order-fulfilment" name="fulfilment" class="field">
                        <option value="">"Any"</option>
                        {FulfilmentStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=Some(*s) == q.fulfilment>{s.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="order-method" class="block text-sm font-medium">"Method"</label>
                    <select id="order-method" name="method" class="field">
                        <option value="">"Any"</option>
                        {l.methods.iter().map(|m| view! { <option value=m.code.clone() selected=m.code == q.method>{m.name.clone()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="order-from" class="block text-sm font-medium">"Placed from"</label>
                    <input id="order-from" name="from" type="date" class="field" value=q.from.clone() />
                </div>
                <div class="space-y-1">
                    <label for="order-to" class="block text-sm font-medium">"to"</label>
                    <input id="order-to" name="to" type="date" class="field" value=q.to.clone() />
                </div>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="review" value="1" checked=q.review />
                    "Needs review"
                </label>
                <input type="hidden" name="sort" value=q.sort.as_str() />
                {q.reverse.then(|| view! { <input type="hidden" name="reverse" value="1" /> })}
                <button type="submit" class="btn-primary">"Show"</button>
                <a href=export class="btn-secondary" data-testid="orders-export" download="orders.csv">"Export CSV"</a>
            </form>
            {if l.rows.is_empty() {
                view! { <p class="text-stone-600" data-testid="orders-empty">"No order matches."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto rounded-xl border border-stone-200 bg-white">
                        <table class="w-full text-sm" data-testid="orders-table">
                            <thead class="border-b border-stone-200 text-stone-600">
                                <tr>
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Order"</th>
                                    <SortHeader label="Placed" key="placed" current=current.clone() link=sort_link />
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Customer"</th>
                                    <SortHeader label="Total" key="total" current=current.clone() link=sort_link />
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Status"</th>
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Method"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-stone-100">
                                {l.rows.into_iter().map(|r| view! {
                                    <tr data-testid="admin-order-row">
                                        <td class="px-3 py-2"><a href=format!("/admin/orders/{}", r.number) class="font-medium hover:underline" data-testid="admin-order-number">{r.number.clone()}</a></td>
                                        <td class="px-3 py-2 text-stone-600">{r.placed}</td>
                                        <td class="px-3 py-2"><span class="block">{r.name}</span><span class="block text-stone-600">{r.email}</span></td>
                                        <td class="px-3 py-2">
                                            {r.total.to_string()}
                                            {(r.refunded.amount_minor() > 0).then(|| view! { <span class="block text-xs text-stone-600">{format!("{} refunded", r.refunded)}</span> })}
                                        </td>
                                        <td class="px-3 py-2" data-testid="admin-order-statuses">
                                            {format!("{} · {} · {}", r.state.order.label(), r.state.payment.label(), r.state.fulfilment.label())}
                                            {r.state.review.clone().map(|reason| view! {
                                                <span class="mt-1 block w-fit rounded bg-red-50 px-2 py-0.5 font-medium text-red-800" data-testid="admin-order-review" title=reason>"Needs review"</span>
                                            })}
                                        </td>
                                        <td class="px-3 py-2 text-stone-600">{r.method}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <Pager page=l.page has_next=l.has_next link=page_link />
        }
        .into_any()
        },
    )
}

/// The hidden field naming the order, for each of the page's forms.
fn number_field(number: &str) -> AnyView {
    view! { <input type="hidden" name="number" value=number.to_owned() /> }.into_any()
}

/// A labelled one-line input of a form that has siblings with the same field names.
fn input(
    form: &'static str,
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    maxlength: usize,
) -> impl IntoView {
    let id = format!("{form}-{name}");
    let hint_id = format!("{id}-hint");
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium">{label}</label>
            <input id=id name=name class="field" maxlength=maxlength.to_string() aria-describedby=(!hint.is_empty()).then(|| hint_id.clone()) />
            {(!hint.is_empty()).then(|| view! { <p id=hint_id class="text-xs text-stone-500">{hint}</p> })}
        </div>
    }
}

#[component]
pub fn AdminOrderPage() -> impl IntoView {
    let params = use_params_map();
    let number = move || params.read().get("number").unwrap_or_default();
    let refund = ServerAction::<AdminOrderRefund>::new();
    let capture = ServerAction::<AdminOrderCapture>::new();
    let cancel = ServerAction::<AdminOrderCancel>::new();
    let paid = ServerAction::<AdminOrderMarkPaid>::new();
    let review = ServerAction::<AdminOrderClearReview>::new();
    let note = ServerAction::<AdminOrderNote>::new();
    let moved = ServerAction::<AdminOrderAction>::new();
    // Reloaded after every action, so the page's figures and its form key are fresh
    // (a second refund from the same page gets a key of its own).
    let order = Resource::new(
        move || {
            (
                number(),
                [
                    refund.version().get(),
                    capture.version().get(),
                    cancel.version().get(),
                    paid.version().get(),
                    review.version().get(),
                    note.version().get(),
                    moved.version().get(),
                ],
            )
        },
        |(n, _)| load_admin_order(n),
    );
    let refund_error = action_error(refund.value());
    let capture_error = action_error(capture.value());
    let cancel_error = action_error(cancel.value());
    let paid_error = action_error(paid.value());
    let review_error = action_error(review.value());
    let note_error = action_error(note.value());
    let moved_error = action_error(moved.value());
    admin_page(
        "Order",
        "/admin/orders",
        vec![("/admin/orders", "Orders"), ("", "Order")],
        order,
        move |o: AdminOrder| {
            // A form's children are a closure of their own: each gets its own copy.
            let num = o.number.clone();
            let field = || number_field(&num);
            let key = o.idempotency_key.clone();
            let cancel_key = format!("{key}-cancel");
            let manual = o.manual_payment;
            let refund_lines = o.lines.iter().enumerate().map(|(i, l)| {
                let id = format!("refund-units-{}", l.line_no);
                view! {
                    <div class="flex items-center gap-3">
                        <input id=id.clone() name=format!("units[{i}]") type="number" min="0" max=l.quantity.to_string() class="field w-20" inputmode="numeric" />
                        <label for=id>{format!("{} ({}) × {} at {}", l.product_name, l.variant_label, l.quantity, l.unit_price)}</label>
                    </div>
                }
            }).collect_view();
            let note_field = field();
            let refundable = o.refundable();
            let currency = o.total.currency();
            let manage = o.may_manage;
            let a = o.actions.clone();
            view! {
            <section class="card flex flex-wrap items-start justify-between gap-4" aria-label="Order" data-testid="admin-order">
                <div>
                    <p class="text-2xl font-semibold" data-testid="admin-order-number">{o.number.clone()}</p>
                    <p class="text-sm text-stone-600">{format!("Placed {}", o.placed_at)}</p>
                    <p class="mt-2 font-medium" data-testid="admin-order-statuses">
                        {format!("{} · {} · {}", o.state.order.label(), o.state.payment.label(), o.state.fulfilment.label())}
                    </p>
                    {o.state.review.clone().map(|reason| view! {
                        <p class="mt-2 rounded bg-red-50 px-2 py-1 text-sm font-medium text-red-800" data-testid="admin-order-review">{format!("Needs review: {reason}")}</p>
                    })}
                </div>
                <dl class="grid grid-cols-2 gap-x-6 gap-y-1 text-sm" data-testid="admin-order-money">
                    <dt class="text-stone-600">"Total"</dt><dd data-testid="admin-order-total">{o.total.to_string()}</dd>
                    <dt class="text-stone-600">"Captured"</dt><dd data-testid="admin-order-captured">{o.captured.to_string()}</dd>
                    <dt class="text-stone-600">"Refunded"</dt><dd data-testid="admin-order-refunded">{o.refunded.to_string()}</dd>
                    {(o.capturable.amount_minor() > 0).then(|| view! {
                        <dt class="text-stone-600">"Authorised"</dt><dd>{o.capturable.to_string()}</dd>
                    })}
                    <dt class="text-stone-600">"Method"</dt><dd>{o.payment_method.clone()}</dd>
                </dl>
            </section>

            <div class="grid gap-6 xl:grid-cols-[2fr_1fr]">
                <section class="card" aria-labelledby="lines-heading">
                    <h2 id="lines-heading" class="text-lg font-semibold">"Items"</h2>
                    <table class="mt-2 w-full text-sm" data-testid="admin-order-lines">
                        <thead class="text-stone-600"><tr>
                            <th scope="col" class="py-1 text-left font-medium">"Item"</th>
                            <th scope="col" class="py-1 text-right font-medium">"Price"</th>
                            <th scope="col" class="py-1 text-right font-medium">"Qty"</th>
                            <th scope="col" class="py-1 text-right font-medium">"Total"</th>
                        </tr></thead>
                        <tbody class="divide-y divide-stone-100">
                            {o.lines.iter().map(|l| view! {
                                <tr data-testid="admin-order-line">
                                    <td class="py-2">
                                        <span class="block font-medium">{l.product_name.clone()}</span>
                                        <span class="block text-stone-600">{format!("{} · {}", l.variant_label, l.sku)}</span>
                                        {(l.restocked > 0).then(|| view! { <span class="block text-xs text-stone-600">{format!("{} back in stock", l.restocked)}</span> })}
                                    </td>
                                    <td class="py-2 text-right">{l.unit_price.to_string()}</td>
                                    <td class="py-2 text-right">{l.quantity}</td>
                                    <td class="py-2 text-right">{l.line_total.to_string()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <dl class="mt-3 space-y-1 border-t border-stone-200 pt-3 text-sm">
                        <div class="flex justify-between"><dt>"Subtotal"</dt><dd>{o.subtotal.to_string()}</dd></div>
                        <div class="flex justify-between"><dt>{format!("Shipping ({})", o.shipping_method)}</dt><dd>{o.shipping.to_string()}</dd></div>
                        <div class="flex justify-between"><dt>{format!("Tax ({}%)", f64::from(o.tax_rate_bps) / 100.0)}</dt><dd>{o.tax.to_string()}</dd></div>
                        <div class="flex justify-between font-semibold"><dt>"Total"</dt><dd>{o.total.to_string()}</dd></div>
                    </dl>
                </section>
                <section class="card space-y-3 text-sm" aria-labelledby="customer-heading">
                    <h2 id="customer-heading" class="text-lg font-semibold">"Customer"</h2>
                    {match o.customer.clone() {
                        Some((id, name)) => view! { <a href=format!("/admin/customers/{id}") class="link" data-testid="admin-order-customer">{name}</a> }.into_any(),
                        None => view! { <p class="text-stone-600">"Guest checkout"</p> }.into_any(),
                    }}
                    <p>{o.email.clone()}</p>
                    <h3 class="font-medium">"Ships to"</h3>
                    <address class="not-italic">{o.ship_to.iter().map(|l| view! { <span class="block">{l.clone()}</span> }).collect_view()}</address>
                </section>
            </div>

            {manage.then(|| view! {
                <section class="card space-y-4" aria-labelledby="actions-heading" data-testid="admin-order-actions">
                    <h2 id="actions-heading" class="text-lg font-semibold">"Actions"</h2>
                    <FormAlert error=moved_error fields=&[] />
                    {(!a.moves.is_empty()).then(|| view! {
                        <div class="flex flex-wrap gap-2">
                            {a.moves.iter().map(|m| {
                                let (m, f) = (*m, field());
                                view! {
                                    <ActionForm action=moved>
                                        {f}
                                        <input type="hidden" name="action" value=m.as_str() />
                                        <button type="submit" class="btn-secondary">{m.label()}</button>
                                    </ActionForm>
                                }
                            }).collect_view()}
                        </div>
                    })}
                    {a.capture.then(|| { let f = field(); view! {
                        <ActionForm action=capture attr:class="flex flex-wrap items-end gap-3" attr:data-testid="capture-form">
                            {f}
                            <FormAlert error=capture_error fields=&["amount"] />
                            {input("capture", "amount", "Amount to capture", "Empty: all of it. Less releases the rest.", 20)}
                            <button type="submit" class="btn-primary">"Capture payment"</button>
                        </ActionForm>
                    }})}
                    {a.mark_paid.then(|| { let f = field(); view! {
                        <ActionForm action=paid attr:class="flex flex-wrap items-end gap-3" attr:data-testid="mark-paid-form">
                            {f}
                            <FormAlert error=paid_error fields=&["reference"] />
                            {input("paid", "reference", "Payment reference", "The bank transfer's reference, or the courier's receipt.", 200)}
                            <button type="submit" class="btn-primary">"Mark paid"</button>
                        </ActionForm>
                    }})}
                    {a.refund.then(|| { let (f, key) = (field(), key.clone()); view! {
                        <ActionForm action=refund attr:class="space-y-3 border-t border-stone-200 pt-4" attr:data-testid="refund-form">
                            {f}
                            <input type="hidden" name="idempotency_key" value=key />
                            <h3 class="font-medium">{format!("Refund (up to {refundable})")}</h3>
                            <FormAlert error=refund_error fields=&["amount", "reference", "reason", "lines"] />
                            <fieldset class="space-y-2">
                                <legend class="text-sm font-medium">"Units refunded, by line (their price with tax is the amount when it is left empty)"</legend>
                                {refund_lines}
                            </fieldset>
                            <label class="flex items-center gap-2 text-sm">
                                <input type="checkbox" name="restock" value="on" />
                                "Put those units back in stock"
                            </label>
                            <div class="flex flex-wrap items-end gap-3">
                                <div class="space-y-1">
                                    <label for="refund-amount" class="block text-sm font-medium">{format!("Amount ({})", currency.code())}</label>
                                    <input id="refund-amount" name="amount" class="field w-32" inputmode="decimal" maxlength="20" placeholder=refundable.to_major_string() />
                                </div>
                                {input("refund", "reason", "Reason", "", 500)}
                                {manual.then(|| input("refund", "reference", "Bank transfer reference", "Pay it back first, then record it here.", 200))}
                                <button type="submit" class="btn-primary" data-testid="refund-submit">"Refund"</button>
                            </div>
                        </ActionForm>
                    }})}
                    {a.cancel.then(|| { let f = field(); view! {
                        <ActionForm action=cancel attr:class="flex flex-wrap items-end gap-3 border-t border-stone-200 pt-4" attr:data-testid="cancel-form">
                            {f}
                            <input type="hidden" name="idempotency_key" value=cancel_key />
                            <FormAlert error=cancel_error fields=&["reason", "reference"] />
                            {input("cancel", "reason", "Reason for cancelling", "The customer is e-mailed; the items go back to stock.", 500)}
                            {(manual && refundable.amount_minor() > 0).then(|| input("cancel", "reference", "Refund's bank transfer reference", "", 200))}
                            <button type="submit" class="btn-secondary">{if refundable.amount_minor() > 0 { format!("Refund {refundable} and cancel") } else { "Cancel the order".to_owned() }}</button>
                        </ActionForm>
                    }})}
                    {a.clear_review.then(|| { let f = field(); view! {
                        <ActionForm action=review attr:class="flex flex-wrap items-end gap-3 border-t border-stone-200 pt-4" attr:data-testid="clear-review-form">
                            {f}
                            <FormAlert error=review_error fields=&["reason"] />
                            {input("review", "reason", "What was checked or done", "", 500)}
                            <button type="submit" class="btn-secondary">"Clear the review flag"</button>
                        </ActionForm>
                    }})}
                </section>
            })}

            {(!o.refunds.is_empty()).then(|| view! {
                <section class="card text-sm" aria-labelledby="refunds-heading">
                    <h2 id="refunds-heading" class="text-lg font-semibold">"Refunds"</h2>
                    <ul class="mt-2 space-y-1" data-testid="admin-order-refunds">
                        {o.refunds.iter().map(|r| view! { <li>{format!("{} on {}, {}", r.amount, r.on, r.to)}</li> }).collect_view()}
                    </ul>
                </section>
            })}

            <section class="card space-y-4" aria-labelledby="timeline-heading">
                <h2 id="timeline-heading" class="text-lg font-semibold">"Timeline"</h2>
                <ActionForm action=note attr:class="space-y-2" attr:data-testid="order-note-form">
                    {note_field}
                    <FormAlert error=note_error fields=&["body"] />
                    <label for="order-note" class="block text-sm font-medium">"Add a note (staff only)"</label>
                    <textarea id="order-note" name="body" rows="2" maxlength="2000" class="field"></textarea>
                    <button type="submit" class="btn-secondary">"Add note"</button>
                </ActionForm>
                <ol class="divide-y divide-stone-100 text-sm" data-testid="admin-order-timeline">
                    {o.timeline.into_iter().map(|t| view! {
                        <li class="flex flex-wrap gap-x-4 py-2" data-testid="timeline-entry" data-kind=t.kind.clone()>
                            <span class="w-40 shrink-0 text-stone-600">{t.at}</span>
                            <span class="flex-1">{t.text}</span>
                            <span class="text-stone-600">{t.by}</span>
                        </li>
                    }).collect_view()}
                </ol>
            </section>
        }
        .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_orders")]
pub async fn admin_orders(query: OrderQuery) -> Result<OrderList, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.orders.desk_list(&actor, &query).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order")]
pub async fn load_admin_order(number: String) -> Result<AdminOrder, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.orders.desk_order(&actor, &number).await?)
        }
        .await,
    )
}

/// Back to the order's page with a flash code (only an order number's characters).
#[cfg(feature = "ssr")]
fn back_to(number: &str, done: &str) {
    let number: String = number
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    leptos_axum::redirect(&format!("/admin/orders/{number}?done={done}"));
}

/// An admin moves an order along (ship, deliver; and mark paid or cancel without the
/// order page's details).
#[server(prefix = "/api", endpoint = "admin_order_action")]
pub async fn admin_order_action(number: String, action: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let action = domain::order::OrderAction::parse(&action)
                .ok_or_else(|| AppError::BadRequest("Unknown order action.".into()))?;
            let state = services()?.orders.transition(&actor, &number, action).await?;
            tracing::info!(staff = actor.user_id, order = %number, action = action.as_str(), status = state.label(), "order changed by staff");
            back_to(&number, "order");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order_refund")]
pub async fn admin_order_refund(
    number: String,
    idempotency_key: String,
    amount: Option<String>,
    // Units refunded of each line, in line order (`units[0]` is line 1).
    units: Option<Vec<String>>,
    restock: Option<String>,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<(), AppError> {
    use domain::order_desk::{RefundRequest, Restock};
    with_status(
        async move {
            let actor = require_staff().await?;
            let units = units.unwrap_or_default();
            let mut lines = Vec::new();
            for (line_no, u) in (1u32..).zip(units.iter()) {
                let u = u.trim();
                if u.is_empty() {
                    continue;
                }
                let quantity = u.parse::<u32>().map_err(|_| {
                    AppError::field("lines", format!("Line {line_no}: enter a whole number of units."))
                })?;
                lines.push(Restock { line_no, quantity });
            }
            let done = services()?
                .orders
                .refund(
                    &actor,
                    &number,
                    &RefundRequest {
                        idempotency_key,
                        amount: amount.unwrap_or_default(),
                        lines,
                        restock: restock.is_some_and(|r| !r.is_empty()),
                        reason: reason.unwrap_or_default(),
                        reference: reference.unwrap_or_default(),
                    },
                )
                .await?;
            tracing::info!(staff = actor.user_id, order = %number, amount = %done.amount, repeated = done.repeated, "refund by staff");
            back_to(&number, "refunded");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order_capture")]
pub async fn admin_order_capture(number: String, amount: Option<String>) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .orders
                .capture(&actor, &number, &amount.unwrap_or_default())
                .await?;
            back_to(&number, "captured");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order_cancel")]
pub async fn admin_order_cancel(
    number: String,
    idempotency_key: String,
    reason: Option<String>,
    reference: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .orders
                .cancel(
                    &actor,
                    &number,
                    &idempotency_key,
                    &reason.unwrap_or_default(),
                    &reference.unwrap_or_default(),
                )
                .await?;
            back_to(&number, "cancelled");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order_mark_paid")]
pub async fn admin_order_mark_paid(
    number: String,
    reference: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .orders
                .mark_paid(&actor, &number, &reference.unwrap_or_default())
                .await?;
            back_to(&number, "paid");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order_clear_review")]
pub async fn admin_order_clear_review(number: String, reason: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .orders
                .clear_review(&actor, &number, &reason)
                .await?;
            back_to(&number, "review");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_order_note")]
pub async fn admin_order_note(number: String, body: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.orders.add_note(&actor, &number, &body).await?;
            back_to(&number, "note");
            Ok(())
        }
        .await,
    )
}
