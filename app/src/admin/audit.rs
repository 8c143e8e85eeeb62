//! `/admin/audit`: the audit log, filterable by person, entity and days; newest first or
//! oldest first; 50 rows a page. Each entity's admin page links here with its filter.
//! Owners and admins only (the service refuses everyone else).

use super::shell::{admin_page, href_with, Pager, SortHeader};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::staff::{AuditPage, AuditQuery};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The audit query in a page's address.
fn query_from(map: &leptos_router::params::ParamsMap) -> AuditQuery {
    let text = |k: &str| map.get(k).filter(|v| !v.trim().is_empty());
    AuditQuery {
        actor: text("actor").and_then(|v| v.parse().ok()),
        entity: text("entity"),
        entity_id: text("entity_id"),
        from: text("from"),
        to: text("to"),
        oldest_first: map.get("order").as_deref() == Some("oldest"),
        page: map.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
    }
}

/// The address of `q` (the filters kept, as links change one thing at a time).
fn href_of(q: &AuditQuery) -> String {
    href_with(
        "/admin/audit",
        &[
            ("actor", q.actor.map(|a| a.to_string()).unwrap_or_default()),
            ("entity", q.entity.clone().unwrap_or_default()),
            ("entity_id", q.entity_id.clone().unwrap_or_default()),
            ("from", q.from.clone().unwrap_or_default()),
            ("to", q.to.clone().unwrap_or_default()),
            (
                "order",
                if q.oldest_first {
                    "oldest".into()
                } else {
                    String::new()
                },
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
pub fn AdminAuditPage() -> impl IntoView {
    let map = use_query_map();
    let query = Memo::new(move |_| query_from(&map.read()));
    let page = Resource::new(move || query.get(), audit_log);
    admin_page(
        "Audit log",
        "/admin/audit",
        vec![("/admin/audit", "Audit log")],
        page,
        move |p: AuditPage| {
            let q = query.get_untracked();
            let entity = q.entity.clone().unwrap_or_default();
            let entity_id = q.entity_id.clone().unwrap_or_default();
            let sort_link = {
                let q = q.clone();
                Callback::new(move |(_, descending): (String, bool)| {
                    href_of(&AuditQuery {
                        oldest_first: !descending,
                        page: 1,
                        ..q.clone()
                    })
                })
            };
            let page_link = {
                let q = q.clone();
                Callback::new(move |page: u32| href_of(&AuditQuery { page, ..q.clone() }))
            };
            view! {
            <form method="get" action="/admin/audit" class="card grid gap-4 sm:grid-cols-3 lg:grid-cols-6 lg:items-end" data-testid="audit-filters">
                <div class="space-y-1 lg:col-span-2">
                    <label for="audit-actor" class="block text-sm font-medium">"Person"</label>
                    <select id="audit-actor" name="actor" class="field">
                        <option value="">"Everyone"</option>
                        {p.people.iter().map(|(id, label)| view! {
                            <option value=id.to_string() selected=q.actor == Some(*id)>{label.clone()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="audit-entity" class="block text-sm font-medium">"Entity"</label>
                    <select id="audit-entity" name="entity" class="field">
                        {[("", "Any"), ("staff", "Staff"), ("staff_invite", "Invitation"), ("order", "Order"), ("customer", "Customer"), ("customer_group", "Customer group")].into_iter().map(|(v, l)| view! {
                            <option value=v selected=entity == v>{l}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="audit-entity-id" class="block text-sm font-medium">"Its id or number"</label>
                    <input id="audit-entity-id" name="entity_id" class="field" value=entity_id />
                </div>
                <div class="space-y-1">
                    <label for="audit-from" class="block text-sm font-medium">"From"</label>
                    <input id="audit-from" name="from" type="date" class="field" value=q.from.clone().unwrap_or_default() />
                </div>
                <div class="space-y-1">
                    <label for="audit-to" class="block text-sm font-medium">"To"</label>
                    <input id="audit-to" name="to" type="date" class="field" value=q.to.clone().unwrap_or_default() />
                </div>
                <div class="flex gap-2 lg:col-span-6">
                    <button type="submit" class="btn-primary">"Filter"</button>
                    <a href="/admin/audit" class="btn-secondary">"Clear"</a>
                </div>
            </form>
            {if p.entries.is_empty() {
                view! { <p class="text-stone-600" data-testid="audit-empty">"Nothing recorded matches."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto rounded-xl border border-stone-200 bg-white">
                        <table class="w-full text-sm" data-testid="audit-table">
                            <thead class="border-b border-stone-200 text-stone-600">
                                <tr>
                                    <SortHeader label="When (UTC)" key="at" current=("at".to_owned(), !q.oldest_first) link=sort_link />
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Who"</th>
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"What"</th>
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Changes"</th>
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"From"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-stone-100 align-top">
                                {p.entries.into_iter().map(|e| {
                                    let entity_link = href_with("/admin/audit", &[("entity", e.entity.clone()), ("entity_id", e.entity_id.clone())]);
                                    view! {
                                        <tr data-testid="audit-row">
                                            <td class="whitespace-nowrap px-3 py-2">{e.at.clone()}</td>
                                            <td class="px-3 py-2" data-testid="audit-actor">{e.actor.clone()}</td>
                                            <td class="px-3 py-2">
                                                <span class="font-medium" data-testid="audit-action">{e.action.replace('_', " ")}</span>" "
                                                <a href=entity_link class="link" data-testid="audit-entity">{format!("{} {}", e.entity.replace('_', " "), e.entity_id)}</a>
                                            </td>
                                            <td class="px-3 py-2">
                                                <ul>
                                                    {e.changes.into_iter().map(|c| view! {
                                                        <li>
                                                            <span class="text-stone-600">{c.field}": "</span>
                                                            {(!c.before.is_empty()).then(|| view! { <del class="text-stone-500">{c.before}</del>" → " })}
                                                            <ins class="no-underline">{c.after}</ins>
                                                        </li>
                                                    }).collect_view()}
                                                </ul>
                                            </td>
                                            <td class="px-3 py-2 text-stone-600">{e.ip.clone()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <Pager page=p.page has_next=p.has_next link=page_link />
        }
        .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_audit")]
pub async fn audit_log(query: AuditQuery) -> Result<AuditPage, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.audit.list(&actor, &query).await?)
        }
        .await,
    )
}
