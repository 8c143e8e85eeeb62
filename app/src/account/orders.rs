//! `/account/orders`: the signed-in shopper's orders.

use crate::components::gate::gated_page;
#[cfg(feature = "ssr")]
use crate::components::server::{require_user, services, with_status};
use crate::error::AppError;
use domain::OrderSummary;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// `/account/orders`: the signed-in shopper's orders.
#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| order_history());
    gated_page(orders, move |orders| {
        view! {
            <Title text="Your orders" />
            <Meta name="robots" content="noindex" />
            <div class="py-10">
                <h1 class="text-3xl font-semibold tracking-tight">"Your orders"</h1>
                {if orders.is_empty() {
                    view! { <p class="mt-6 text-stone-600" data-testid="no-orders">"You have not placed any orders yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-8 divide-y divide-stone-200 rounded-xl border border-stone-200 bg-white" data-testid="order-history">
                            {orders.into_iter().map(|o| view! {
                                <li class="flex flex-wrap items-center justify-between gap-3 p-4" data-testid="order-row">
                                    <a href=format!("/account/orders/{}", o.number) class="font-medium hover:underline">{o.number.clone()}</a>
                                    <span class="text-sm text-stone-600">{o.placed_at.clone()}</span>
                                    <span class="text-sm">{format!("{} item{}", o.item_count, if o.item_count == 1 { "" } else { "s" })}</span>
                                    <span class="text-sm font-medium">{o.state.label()}</span>
                                    <span class="font-semibold">{o.total.to_string()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        }
        .into_any()
    })
}

#[server(prefix = "/api", endpoint = "orders")]
pub async fn order_history() -> Result<Vec<OrderSummary>, AppError> {
    with_status(
        async move {
            let user = require_user().await?;
            Ok(services()?.orders.history(user.id).await?)
        }
        .await,
    )
}
