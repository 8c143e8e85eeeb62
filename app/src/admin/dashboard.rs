//! `/admin`: the dashboard.

use crate::components::error_view::ErrorView;
use crate::components::gate::gated_page;
#[cfg(feature = "ssr")]
use crate::components::server::{require_admin, services, with_status};
use crate::error::AppError;
use domain::account::AdminOverview;
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

#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn get_admin_overview() -> Result<AdminOverview, AppError> {
    with_status(
        async move {
            require_admin().await?;
            Ok(services()?.auth.admin_overview().await?)
        }
        .await,
    )
}
