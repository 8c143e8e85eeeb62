//! `/admin`: the dashboard.

use super::shell::admin_page;
use crate::components::error_view::ErrorView;
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::account::AdminOverview;
use leptos::prelude::*;

/// A page under `/admin/` that does not exist: only staff learn that.
#[component]
pub fn AdminNotFound() -> impl IntoView {
    let gate = Resource::new(|| (), |_| get_admin_overview());
    admin_page("Not found", "", vec![], gate, move |_| {
        view! {
            <ErrorView error=AppError::NotFound("There is no such admin page yet.".into()) />
        }
        .into_any()
    })
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_admin_overview());
    admin_page("Dashboard", "/admin", vec![], overview, move |o| {
        let tiles = [
            ("Customers and staff", o.users, "accounts"),
            ("New in the last 7 days", o.new_users_7d, "new-accounts"),
            ("Staff", o.admins, "admins"),
            ("Published products", o.published_products, "published"),
            ("Sold-out variants", o.sold_out_variants, "sold-out"),
        ];
        view! {
            <p class="text-sm text-stone-600">"An overview of the shop; the sections you may open are on the left."</p>
            <dl class="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
                {tiles.into_iter().map(|(label, n, id)| view! {
                    <div class="card">
                        <dt class="text-sm text-stone-600">{label}</dt>
                        <dd class="mt-2 text-3xl font-semibold" data-testid=format!("admin-{id}")>{n}</dd>
                    </div>
                }).collect_view()}
            </dl>
        }
        .into_any()
    })
}

#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn get_admin_overview() -> Result<AdminOverview, AppError> {
    with_status(
        async move {
            require_staff().await?;
            Ok(services()?.auth.admin_overview().await?)
        }
        .await,
    )
}
