//! The admin dashboard: for administrators only (others get 403, signed-out visitors
//! are sent to sign in). The catalog, stock and order screens come with later issues.

use crate::api::account::get_admin_overview;
use crate::components::error_view::ErrorView;
use crate::error::AppError;
use crate::pages::account::gated_page;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// A page under `/admin/` that does not exist: only an admin learns that.
#[component]
pub fn AdminNotFound() -> impl IntoView {
    let gate = Resource::new(|| (), |_| get_admin_overview());
    gated_page(gate, move |_| {
        view! {
            <ErrorView error=AppError::NotFound("There is no such admin page yet.".into()) />
        }
        .into_any()
    })
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_admin_overview());
    gated_page(overview, move |o| {
        let tiles = [
            ("Customers and staff", o.users, "accounts"),
            ("New in the last 7 days", o.new_users_7d, "new-accounts"),
            ("Administrators", o.admins, "admins"),
            ("Published products", o.published_products, "published"),
            ("Sold-out variants", o.sold_out_variants, "sold-out"),
        ];
        view! {
            <Title text="Admin" />
            <Meta name="robots" content="noindex" />
            <div class="py-10">
                <h1 class="text-3xl font-semibold tracking-tight">"Admin dashboard"</h1>
                <p class="mt-2 text-sm text-stone-600">"An overview of the shop. " <a href="/admin/orders" class="link">"Orders"</a> "; catalog and stock management arrive here next."</p>
                <dl class="mt-8 grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
                    {tiles.into_iter().map(|(label, n, id)| view! {
                        <div class="card">
                            <dt class="text-sm text-stone-600">{label}</dt>
                            <dd class="mt-2 text-3xl font-semibold" data-testid=format!("admin-{id}")>{n}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </div>
        }
        .into_any()
    })
}

/// `/admin/orders`: the latest orders, with the next steps each one allows (an offline
/// payment is confirmed here: "Mark paid").
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let act = ServerAction::<crate::api::shop::AdminOrderAction>::new();
    let orders = Resource::new(
        move || act.version().get(),
        |_| crate::api::shop::admin_orders(),
    );
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
                                        <span class="font-medium" data-testid="admin-order-status">{r.summary.status.label()}</span>
                                        <span class="ml-auto flex gap-2">
                                            {r.summary.status.allowed_actions().into_iter().map(|a| {
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
