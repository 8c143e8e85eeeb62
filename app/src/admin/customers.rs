//! `/admin/customers`: the customer list (search by e-mail or name, a group, sortable,
//! paginated) and `/admin/customers/:id`: one customer's orders, addresses, total spent,
//! groups and notes, with what the role allows: edit, disable, send a password reset,
//! export their data as JSON, erase them. The services check each action's role.

use super::shell::{admin_page, href_with, Pager, SortHeader};
use crate::components::forms::{action_error, Field, FormAlert};
#[cfg(feature = "ssr")]
use crate::components::server::{require_staff, services, with_status};
use crate::error::AppError;
use domain::customer::{CustomerDetail, CustomerList, CustomerQuery, CustomerSort};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

fn query_from(map: &leptos_router::params::ParamsMap) -> CustomerQuery {
    CustomerQuery {
        q: map.get("q").unwrap_or_default(),
        group: map.get("group").and_then(|g| g.parse().ok()),
        sort: CustomerSort::parse(&map.get("sort").unwrap_or_default()),
        page: map.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
    }
}

fn href_of(q: &CustomerQuery) -> String {
    href_with(
        "/admin/customers",
        &[
            ("q", q.q.clone()),
            ("group", q.group.map(|g| g.to_string()).unwrap_or_default()),
            (
                "sort",
                if q.sort == CustomerSort::Newest {
                    String::new()
                } else {
                    q.sort.as_str().into()
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
pub fn AdminCustomersPage() -> impl IntoView {
    let map = use_query_map();
    let query = Memo::new(move |_| query_from(&map.read()));
    let list = Resource::new(move || query.get(), admin_customers);
    admin_page(
        "Customers",
        "/admin/customers",
        vec![("/admin/customers", "Customers")],
        list,
        move |l: CustomerList| {
            let q = query.get_untracked();
            let sort_link = {
                let q = q.clone();
                Callback::new(move |(column, descending): (String, bool)| {
                    href_of(&CustomerQuery {
                        sort: CustomerSort::of_column(&column, descending),
                        page: 1,
                        ..q.clone()
                    })
                })
            };
            let page_link = {
                let q = q.clone();
                Callback::new(move |page: u32| href_of(&CustomerQuery { page, ..q.clone() }))
            };
            let (column, descending) = q.sort.column();
            let current = (column.to_owned(), descending);
            view! {
            <form method="get" action="/admin/customers" role="search" class="card flex flex-wrap items-end gap-4" data-testid="customer-search">
                <div class="min-w-56 flex-1 space-y-1">
                    <label for="customer-q" class="block text-sm font-medium">"E-mail or name"</label>
                    <input id="customer-q" name="q" type="search" class="field" value=q.q.clone() />
                </div>
                <div class="space-y-1">
                    <label for="customer-group" class="block text-sm font-medium">"Group"</label>
                    <select id="customer-group" name="group" class="field">
                        <option value="">"Any"</option>
                        {l.groups.iter().map(|g| view! {
                            <option value=g.id.to_string() selected=q.group == Some(g.id)>{g.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="btn-primary">"Search"</button>
            </form>
            {if l.rows.is_empty() {
                view! { <p class="text-stone-600" data-testid="customers-empty">"No customer matches."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto rounded-xl border border-stone-200 bg-white">
                        <table class="w-full text-sm" data-testid="customers-table">
                            <thead class="border-b border-stone-200 text-stone-600">
                                <tr>
                                    <SortHeader label="E-mail" key="email" current=current.clone() link=sort_link />
                                    <SortHeader label="Name" key="name" current=current.clone() link=sort_link />
                                    <SortHeader label="Joined" key="joined" current=current.clone() link=sort_link />
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Orders"</th>
                                    <th scope="col" class="px-3 py-2 text-left font-medium">"Status"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-stone-100">
                                {l.rows.into_iter().map(|r| view! {
                                    <tr data-testid="customer-row">
                                        <td class="px-3 py-2"><a href=format!("/admin/customers/{}", r.id) class="font-medium hover:underline" data-testid="customer-email">{r.email}</a></td>
                                        <td class="px-3 py-2">{r.name}</td>
                                        <td class="px-3 py-2 text-stone-600">{r.joined}</td>
                                        <td class="px-3 py-2">{r.orders}</td>
                                        <td class="px-3 py-2">{if r.disabled { "Disabled" } else { "Active" }}</td>
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

/// The customer's id in each of the page's forms.
fn id_field(id: i64) -> impl IntoView {
    view! { <input type="hidden" name="id" value=id.to_string() /> }
}

#[component]
pub fn AdminCustomerPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let edit = ServerAction::<UpdateCustomer>::new();
    let status = ServerAction::<SetCustomerDisabled>::new();
    let reset = ServerAction::<SendCustomerReset>::new();
    let note = ServerAction::<AddCustomerNote>::new();
    let group = ServerAction::<SetCustomerGroup>::new();
    let new_group = ServerAction::<CreateCustomerGroup>::new();
    let erase = ServerAction::<EraseCustomer>::new();
    let customer = Resource::new(id, admin_customer);
    let edit_error = action_error(edit.value());
    let note_error = action_error(note.value());
    let group_error = action_error(new_group.value());
    let erase_error = action_error(erase.value());
    let other_error = Signal::derive(move || {
        status
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| reset.value().get().and_then(Result::err))
            .or_else(|| group.value().get().and_then(Result::err))
    });
    admin_page(
        "Customer",
        "/admin/customers",
        vec![("/admin/customers", "Customers"), ("", "Customer")],
        customer,
        move |c: CustomerDetail| {
            let cid = c.id;
            let hidden = move || id_field(cid);
            view! {
            <FormAlert error=other_error fields=&[] />
            <section class="card grid gap-2 sm:grid-cols-2" aria-label="Account" data-testid="customer-account">
                <div>
                    <p class="text-lg font-semibold" data-testid="customer-email">{c.email.clone()}</p>
                    <p class="text-stone-600">{c.name.clone()}</p>
                    <p class="text-sm text-stone-600">{format!("Customer since {}", c.joined)}</p>
                    {c.disabled.then(|| view! { <p class="mt-1 inline-block rounded bg-red-50 px-2 py-0.5 text-sm font-medium text-red-800" data-testid="customer-disabled">"Disabled: cannot sign in"</p> })}
                </div>
                <div class="sm:text-right">
                    <p class="text-sm text-stone-600">"Total spent"</p>
                    <p class="text-2xl font-semibold" data-testid="customer-spent">{c.total_spent.to_string()}</p>
                    <a href=format!("/admin/audit?entity=customer&entity_id={}", c.id) class="link text-sm">"History"</a>
                </div>
            </section>

            {c.may_edit.then(|| view! {
                <section class="card" aria-labelledby="edit-heading">
                    <h2 id="edit-heading" class="text-lg font-semibold">"Details"</h2>
                    <ActionForm action=edit attr:class="mt-4 grid gap-4 sm:grid-cols-[1fr_1fr_auto] sm:items-end" attr:data-testid="customer-edit">
                        {hidden()}
                        <FormAlert error=edit_error fields=&["name", "email"] />
                        <Field name="name" label="Name" value=c.name.clone() maxlength=100 error=edit_error />
                        <Field name="email" label="E-mail" kind="email" value=c.email.clone() required=true error=edit_error />
                        <button type="submit" class="btn-primary">"Save"</button>
                    </ActionForm>
                    <div class="mt-4 flex flex-wrap gap-2">
                        <ActionForm action=reset>
                            {hidden()}
                            <button type="submit" class="btn-secondary">"Send a password reset e-mail"</button>
                        </ActionForm>
                        <ActionForm action=status>
                            {hidden()}
                            <input type="hidden" name="disabled" value=if c.disabled { "false" } else { "true" } />
                            <button type="submit" class="btn-secondary">{if c.disabled { "Enable the account" } else { "Disable the account" }}</button>
                        </ActionForm>
                        <a href=format!("/admin/customers/{}/export.json", c.id) class="btn-secondary" download=format!("customer-{}.json", c.id) data-testid="customer-export">"Export data (JSON)"</a>
                    </div>
                </section>
            })}

            <section class="card" aria-labelledby="orders-heading">
                <h2 id="orders-heading" class="text-lg font-semibold">"Orders"</h2>
                {if c.orders.is_empty() {
                    view! { <p class="mt-2 text-sm text-stone-600">"No orders yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-2 divide-y divide-stone-100 text-sm" data-testid="customer-orders">
                            {c.orders.into_iter().map(|o| view! {
                                <li class="flex flex-wrap gap-4 py-2">
                                    <a href=format!("/admin/orders/{}", o.number) class="font-medium hover:underline">{o.number.clone()}</a>
                                    <span class="text-stone-600">{o.placed_at}</span>
                                    <span>{o.total.to_string()}</span>
                                    <span>{o.state.label()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>

            <section class="card" aria-labelledby="addresses-heading">
                <h2 id="addresses-heading" class="text-lg font-semibold">"Addresses"</h2>
                {if c.addresses.is_empty() {
                    view! { <p class="mt-2 text-sm text-stone-600">"None saved."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-2 grid gap-4 text-sm sm:grid-cols-2" data-testid="customer-addresses">
                            {c.addresses.into_iter().map(|a| view! {
                                <li>
                                    <p class="font-medium">{a.full_name}{a.is_default.then_some(" (default)")}</p>
                                    <p>{a.line1}" "{a.line2}</p>
                                    <p>{a.postal_code}" "{a.city}" "{a.region}" "{a.country}</p>
                                    <p class="text-stone-600">{a.phone}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>

            <section class="card" aria-labelledby="groups-heading">
                <h2 id="groups-heading" class="text-lg font-semibold">"Groups"</h2>
                <ul class="mt-2 flex flex-wrap gap-2 text-sm" data-testid="customer-groups">
                    {c.groups.into_iter().map(|(g, member)| {
                        let label = if member { format!("{} ✓", g.name) } else { g.name.clone() };
                        view! {
                            <li>
                                {if c.may_edit {
                                    view! {
                                        <ActionForm action=group>
                                            {hidden()}
                                            <input type="hidden" name="group_id" value=g.id.to_string() />
                                            <input type="hidden" name="member" value=if member { "false" } else { "true" } />
                                            <button type="submit" class=if member { "btn-primary py-1" } else { "btn-secondary py-1" } aria-pressed=if member { "true" } else { "false" } data-testid="group-toggle">{label}</button>
                                        </ActionForm>
                                    }.into_any()
                                } else {
                                    view! { <span class="rounded border px-2 py-1">{label}</span> }.into_any()
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {c.may_edit.then(|| view! {
                    <ActionForm action=new_group attr:class="mt-4 flex flex-wrap items-end gap-2">
                        <input type="hidden" name="back_to" value=c.id.to_string() />
                        <FormAlert error=group_error fields=&["name"] />
                        <Field name="name" label="New group" maxlength=60 required=true error=group_error />
                        <button type="submit" class="btn-secondary">"Create"</button>
                    </ActionForm>
                })}
            </section>

            <section class="card" aria-labelledby="notes-heading">
                <h2 id="notes-heading" class="text-lg font-semibold">"Notes"</h2>
                {c.may_edit.then(|| view! {
                    <ActionForm action=note attr:class="mt-2 space-y-2" attr:data-testid="note-form">
                        {hidden()}
                        <FormAlert error=note_error fields=&["body"] />
                        <label for="note-body" class="block text-sm font-medium">"Add a note"</label>
                        <textarea id="note-body" name="body" rows="3" maxlength="2000" class="field" required></textarea>
                        <button type="submit" class="btn-secondary">"Add note"</button>
                    </ActionForm>
                })}
                <ul class="mt-4 space-y-3 text-sm" data-testid="customer-notes">
                    {c.notes.into_iter().map(|n| view! {
                        <li>
                            <p class="whitespace-pre-line" data-testid="customer-note">{n.body}</p>
                            <p class="text-xs text-stone-500">{format!("{} · {} UTC", n.author, n.at)}</p>
                        </li>
                    }).collect_view()}
                </ul>
            </section>

            {c.may_erase.then(|| view! {
                <section class="card border-red-200" aria-labelledby="erase-heading">
                    <h2 id="erase-heading" class="text-lg font-semibold text-red-800">"Erase this customer"</h2>
                    <p class="mt-1 text-sm text-stone-700">"Removes their personal data everywhere the shop keeps it: the account, addresses, notes, the contact and delivery details of their orders (the orders stay, for the accounts), e-mails in the outbox. They are signed out and cannot sign in. This cannot be undone."</p>
                    <ActionForm action=erase attr:class="mt-4 flex flex-wrap items-end gap-2" attr:data-testid="erase-form">
                        {hidden()}
                        <FormAlert error=erase_error fields=&["confirm"] />
                        <Field name="confirm" label="Type their e-mail address to confirm" autocomplete="off" required=true error=erase_error />
                        <button type="submit" class="btn-primary bg-red-700 hover:bg-red-800">"Erase"</button>
                    </ActionForm>
                </section>
            })}
        }
        .into_any()
        },
    )
}

#[server(prefix = "/api", endpoint = "admin_customers")]
pub async fn admin_customers(query: CustomerQuery) -> Result<CustomerList, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.customers.list(&actor, &query).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer")]
pub async fn admin_customer(id: i64) -> Result<CustomerDetail, AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            Ok(services()?.customers.detail(&actor, id).await?)
        }
        .await,
    )
}

/// Back to the customer's page with a flash code.
#[cfg(feature = "ssr")]
fn back(id: i64, done: &str) {
    leptos_axum::redirect(&format!("/admin/customers/{id}?done={done}"));
}

#[server(prefix = "/api", endpoint = "admin_customer_update")]
pub async fn update_customer(id: i64, name: String, email: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .customers
                .update(&actor, id, &name, &email)
                .await?;
            back(id, "saved");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer_disable")]
pub async fn set_customer_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .customers
                .set_disabled(&actor, id, disabled)
                .await?;
            back(id, if disabled { "disabled" } else { "enabled" });
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer_reset")]
pub async fn send_customer_reset(id: i64) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .customers
                .send_password_reset(&actor, id)
                .await?;
            back(id, "reset-sent");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer_note")]
pub async fn add_customer_note(id: i64, body: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.customers.add_note(&actor, id, &body).await?;
            back(id, "note");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer_group")]
pub async fn set_customer_group(id: i64, group_id: i64, member: bool) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?
                .customers
                .set_group_membership(&actor, id, group_id, member)
                .await?;
            back(id, "groups");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer_group_create")]
pub async fn create_customer_group(name: String, back_to: Option<i64>) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            services()?.customers.create_group(&actor, &name).await?;
            match back_to {
                Some(id) => back(id, "group-created"),
                None => leptos_axum::redirect("/admin/customers?done=group-created"),
            }
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "admin_customer_erase")]
pub async fn erase_customer(id: i64, confirm: String) -> Result<(), AppError> {
    with_status(
        async move {
            let actor = require_staff().await?;
            let erased = services()?.customers.erase(&actor, id, &confirm).await?;
            tracing::info!(
                customer = id,
                staff = actor.user_id,
                ?erased,
                "customer erased"
            );
            leptos_axum::redirect("/admin/customers?done=erased");
            Ok(())
        }
        .await,
    )
}
