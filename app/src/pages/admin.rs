//! The admin dashboard: for administrators only (others get 403, signed-out visitors
//! are sent to sign in). The catalog, stock and order screens come with later issues.

use crate::api::account::get_admin_overview;
use crate::components::error_view::ErrorView;
use crate::error::AppError;
use crate::pages::account::gated_page;
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
                <p class="mt-2 text-sm text-stone-600">"An overview of the shop. Catalog, stock and order management arrive here next."</p>
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
