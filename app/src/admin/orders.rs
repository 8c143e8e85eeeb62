//! `/admin/orders`: the latest orders and the next step each allows.

use crate::components::gate::gated_page;
#[cfg(feature = "ssr")]
use crate::components::server::{require_admin, services, with_status};
use crate::error::AppError;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// `/admin/orders`: the latest orders, with the next steps each one allows (an offline
/// payment is confirmed here: "Mark paid").
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let act = ServerAction::<AdminOrderAction>::new();
    let orders = Resource::new(move || act.version().get(), |_| admin_orders());
    let error = crate::components::forms::action_error(act.value());
    gated_page(orders, move |rows| {
        view! {
            <Title text="Orders · Admin" />
            <Meta name="robots" content="noindex" />
            <div class="py-10">
                <p class="text-sm"><a href="/admin" class="link">"Admin"</a></p>
                <h1 class="mt-2 text-3xl font-semibold tracking-tight">"Orders"</h1>
                <div class="mt-4"><crate::components::forms::FormAlert error fields=&[] /></div>
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
    })
}

/// The latest orders, for admins.
#[server(prefix = "/api", endpoint = "admin_orders")]
pub async fn admin_orders() -> Result<Vec<domain::order::AdminOrderRow>, AppError> {
    with_status(
        async move {
            require_admin().await?;
            Ok(services()?.orders.recent(50).await?)
        }
        .await,
    )
}

/// An admin moves an order along (mark paid, shipped, delivered, or cancel).
#[server(prefix = "/api", endpoint = "admin_order_action")]
pub async fn admin_order_action(number: String, action: String) -> Result<(), AppError> {
    with_status(
        async move {
            let admin = require_admin().await?;
            let action = domain::order::OrderAction::parse(&action)
                .ok_or_else(|| AppError::BadRequest("Unknown order action.".into()))?;
            let state = services()?.orders.transition(&number, action).await?;
            tracing::info!(admin = admin.id, order = %number, action = action.as_str(), status = state.label(), "order changed by an admin");
            leptos_axum::redirect("/admin/orders");
            Ok(())
        }
        .await,
    )
}
