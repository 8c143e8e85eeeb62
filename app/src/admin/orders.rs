//! `/admin/orders`: the latest orders and the next step each allows.

use super::shell::admin_page;
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// `/admin/orders`: the latest orders, with the next steps each one allows (an offline
/// payment is confirmed here: "Mark paid").
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let act = ServerAction::<AdminOrderAction>::new();
    let orders = Resource::new(move || act.version().get(), |_| admin_orders());
    let error = crate::components::forms::action_error(act.value());
    admin_page(
        "Orders",
        "/admin/orders",
        vec![("/admin/orders", "Orders")],
        orders,
        move |rows| {
            view! {
            <div>
                <div><crate::components::forms::FormAlert error fields=&[] /></div>
                {if rows.is_empty() {
                    view! { <p class="mt-6 text-stone-600">"No orders yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-6 divide-y divide-stone-200 rounded-xl border border-stone-200 bg-white" data-testid="admin-orders">
                            {rows.into_iter().map(|r| {
                                let number = r.summary.number.clone();
                                view! {
                                    <li class="flex flex-wrap items-center gap-x-6 gap-y-2 p-4 text-sm" data-testid="admin-order-row">
                                        <a href=format!("/order/{number}") class="font-medium hover:underline">{number.clone()}</a>
                                        <span class="text-stone-600">{r.summary.placed_at.clone()}</span>
                                        <span>{r.email.clone()}</span>
                                        <span>{r.summary.total.to_string()}</span>
                                        <span class="font-medium" data-testid="admin-order-status">{r.summary.state.label()}</span>
                                        <span class="text-stone-600" data-testid="admin-order-statuses">
                                            {format!("{} · {} · {}", r.summary.state.order.label(), r.summary.state.payment.label(), r.summary.state.fulfilment.label())}
                                        </span>
                                        {r.summary.state.review.clone().map(|reason| view! {
                                            <span class="rounded bg-red-50 px-2 py-0.5 font-medium text-red-800" data-testid="admin-order-review" title=reason.clone()>
                                                {format!("Needs review: {reason}")}
                                            </span>
                                        })}
                                        <a href=format!("/admin/audit?entity=order&entity_id={number}") class="link">"History"</a>
                                        <span class="ml-auto flex gap-2">
                                            {r.summary.state.allowed_actions().into_iter().map(|a| {
                                                let number = number.clone();
                                                view! {
                                                <ActionForm action=act>
                                                    <input type="hidden" name="number" value=number />
                                                    <input type="hidden" name="action" value=a.as_str() />
                                                    <button type="submit" class="btn-secondary py-1.5">{a.label()}</button>
                                                </ActionForm>
                                                }
                                            }).collect_view()}
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        }
        .into_any()
        },
    )
}

/// The latest orders, for admins.
#[server(prefix = "/api", endpoint = "admin_orders")]
pub async fn admin_orders() -> Result<Vec<domain::order::AdminOrderRow>, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.orders.recent(&actor, 50).await?)
        }
        .await,
    )
}

/// An admin moves an order along (mark paid, shipped, delivered, or cancel).
#[server(prefix = "/api", endpoint = "admin_order_action")]
pub async fn admin_order_action(number: String, action: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let action = domain::order::OrderAction::parse(&action)
                .ok_or_else(|| AppError::BadRequest("Unknown order action.".into()))?;
            let state = services()?.orders.transition(&actor, &number, action).await?;
            tracing::info!(staff = actor.user_id, order = %number, action = action.as_str(), status = state.label(), "order changed by staff");
            leptos_axum::redirect("/admin/orders?done=order");
            Ok(())
        }
        .await,
    )
}
