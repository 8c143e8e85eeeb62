//! `/account/addresses`: the address book.

// A server function takes one argument per form field; the address form has ten.
#![allow(clippy::too_many_arguments)]

use super::profile::get_account;
use super::shell::AccountShell;
use crate::components::client::provide_form_error;
use crate::components::forms::{action_error, Field, FormAlert};
use crate::components::gate::gated_page;
#[cfg(feature = "ssr")]
use crate::components::server::{require_user, services, with_status};
use crate::error::AppError;
use domain::account::COUNTRIES;
use domain::Address;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn AddressesPage() -> impl IntoView {
    let delete = ServerAction::<DeleteAddress>::new();
    let make_default = ServerAction::<SetDefaultAddress>::new();
    let addresses = Resource::new(
        move || (delete.version().get(), make_default.version().get()),
        |_| list_addresses(),
    );
    let delete_error = action_error(delete.value());
    let default_error = action_error(make_default.value());
    gated_page(addresses, move |list| {
        view! {
                        <AccountShell title="Address book" current="/account/addresses">
                            <FormAlert error=delete_error fields=&[] />
                            <FormAlert error=default_error fields=&[] />
                            <div class="flex items-center justify-between">
                                <p class="text-sm text-stone-600">
                                    {if list.is_empty() { "You have no saved addresses yet.".to_owned() } else { format!("{} saved address{}", list.len(), if list.len() == 1 { "" } else { "es" }) }}
                                </p>
                                <a href="/account/addresses/new" class="btn-primary">"Add an address"</a>
                            </div>
                            <ul class="grid gap-4 sm:grid-cols-2" data-testid="address-list">
                                {list.into_iter().map(|a| view! { <AddressCard address=a delete make_default /> }).collect_view()}
                            </ul>
                        </AccountShell>
                    }.into_any()
    })
}

#[component]
fn AddressCard(
    address: Address,
    delete: ServerAction<DeleteAddress>,
    make_default: ServerAction<SetDefaultAddress>,
) -> impl IntoView {
    let id = address.id;
    let lines = address.lines();
    view! {
        <li class="card flex flex-col justify-between gap-4" data-testid="address-card">
            <div>
                {address.is_default.then(|| view! {
                    <p class="mb-2 inline-flex rounded-full bg-amber-100 px-2.5 py-0.5 text-xs font-semibold text-amber-900" data-testid="default-badge">"Default shipping address"</p>
                })}
                <address class="text-sm not-italic leading-6 text-stone-700">
                    {lines.into_iter().map(|l| view! { <span class="block">{l}</span> }).collect_view()}
                </address>
            </div>
            <div class="flex flex-wrap items-center gap-2">
                <a href=format!("/account/addresses/{id}") class="btn-secondary">"Edit"</a>
                {(!address.is_default).then(|| view! {
                    <ActionForm action=make_default>
                        <input type="hidden" name="id" value=id.to_string() />
                        <button type="submit" class="btn-secondary">"Make default"</button>
                    </ActionForm>
                })}
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=id.to_string() />
                    <button type="submit" class="btn-secondary text-red-700" aria-label=format!("Delete address of {}", address.full_name)>"Delete"</button>
                </ActionForm>
            </div>
        </li>
    }
    .into_any()
}

/// Adding (`/account/addresses/new`) or editing (`/account/addresses/:id`) an address.
#[component]
pub fn AddressEditPage() -> impl IntoView {
    let params = use_params_map();
    let address = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        |id| async move {
            if id == "new" {
                // Still only for a signed-in shopper.
                get_account().await?;
                return Ok(None);
            }
            let id: i64 = id.parse().map_err(|_| {
                AppError::NotFound("We could not find that address in your address book.".into())
            })?;
            get_address(id).await.map(Some)
        },
    );
    gated_page(address, move |existing| {
        let title = if existing.is_some() {
            "Edit address"
        } else {
            "Add an address"
        };
        view! {
            <AccountShell title current="/account/addresses">
                <section class="card">
                    <AddressForm existing />
                </section>
            </AccountShell>
        }
        .into_any()
    })
}

const ADDRESS_FIELDS: &[&str] = &[
    "full_name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
];

/// The address form: it posts (an error comes back in the URL); after hydration (an
/// island) a mistake is shown in place, keeping everything typed.
#[island]
fn AddressForm(existing: Option<Address>) -> impl IntoView {
    provide_form_error();
    let save = ServerAction::<SaveAddress>::new();
    let error = action_error(save.value());
    let a = existing.clone().unwrap_or(Address {
        id: 0,
        full_name: String::new(),
        line1: String::new(),
        line2: String::new(),
        city: String::new(),
        region: String::new(),
        postal_code: String::new(),
        country: "US".into(),
        phone: String::new(),
        is_default: false,
    });
    let country_message = move || error.get().and_then(|e| e.field_message("country"));
    view! {
        <ActionForm action=save attr:class="grid gap-4 sm:grid-cols-2" attr:data-testid="address-form">
            {existing.as_ref().map(|e| view! { <input type="hidden" name="id" value=e.id.to_string() /> })}
            <div class="sm:col-span-2"><FormAlert error fields=ADDRESS_FIELDS /></div>
            <div class="sm:col-span-2"><Field name="full_name" label="Full name" value=a.full_name autocomplete="name" required=true maxlength=100 error /></div>
            <div class="sm:col-span-2"><Field name="line1" label="Street address" value=a.line1 autocomplete="address-line1" required=true maxlength=120 error /></div>
            <div class="sm:col-span-2"><Field name="line2" label="Apartment, suite, etc. (optional)" value=a.line2 autocomplete="address-line2" maxlength=120 error /></div>
            <Field name="city" label="Town or city" value=a.city autocomplete="address-level2" required=true maxlength=80 error />
            <Field name="region" label="State or region (optional)" value=a.region autocomplete="address-level1" maxlength=80 error />
            <Field name="postal_code" label="Postal code" value=a.postal_code autocomplete="postal-code" required=true maxlength=16 error />
            <div class="space-y-1">
                <label for="field-country" class="block text-sm font-medium text-stone-800">"Country"</label>
                <select id="field-country" name="country" autocomplete="country" class="field" aria-invalid=move || country_message().is_some().then_some("true")>
                    {COUNTRIES.iter().map(|(code, name)| view! {
                        <option value=*code selected=*code == a.country>{*name}</option>
                    }).collect_view()}
                </select>
                {move || country_message().map(|m| view! { <p class="text-sm text-red-700" data-testid="error-country">{m}</p> })}
            </div>
            <div class="sm:col-span-2"><Field name="phone" label="Phone (optional)" kind="tel" value=a.phone autocomplete="tel" maxlength=32 error /></div>
            <label class="flex items-center gap-2 text-sm sm:col-span-2">
                <input type="checkbox" name="make_default" value="on" checked=a.is_default class="h-4 w-4 rounded border-stone-300" />
                "Use as my default shipping address"
            </label>
            <div class="flex gap-3 sm:col-span-2">
                <button type="submit" class="btn-primary" disabled=move || save.pending().get()>"Save address"</button>
                <a href="/account/addresses" class="btn-secondary">"Cancel"</a>
            </div>
        </ActionForm>
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "addresses")]
pub async fn list_addresses() -> Result<Vec<Address>, AppError> {
    with_status(
        async move {
            let user = require_user().await?;
            Ok(services()?.auth.addresses(user.id).await?)
        }
        .await,
    )
}

/// One address of the signed-in user; another person's address is "not found".
#[server(prefix = "/api", endpoint = "address")]
pub async fn get_address(id: i64) -> Result<Address, AppError> {
    with_status(
        async move {
            let user = require_user().await?;
            services()?
                .auth
                .address(user.id, id)
                .await
                .map_err(address_not_found)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn address_not_found(e: services::auth::AuthError) -> AppError {
    match e {
        services::auth::AuthError::NotFound => {
            AppError::NotFound("We could not find that address in your address book.".into())
        }
        other => other.into(),
    }
}

/// Runs one change to the signed-in user's address book, then goes back to the list.
#[cfg(feature = "ssr")]
async fn change_address_book<F, Fut>(change: F) -> Result<(), AppError>
where
    F: FnOnce(services::AuthService, i64) -> Fut,
    Fut: std::future::Future<Output = Result<(), services::auth::AuthError>>,
{
    let user = require_user().await?;
    change(services()?.auth.clone(), user.id)
        .await
        .map_err(address_not_found)?;
    leptos_axum::redirect("/account/addresses");
    Ok(())
}

/// Adds (without `id`) or updates an address.
#[server(prefix = "/api", endpoint = "save_address")]
pub async fn save_address(
    id: Option<i64>,
    full_name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
    make_default: Option<String>,
) -> Result<(), AppError> {
    let input = domain::AddressInput {
        full_name,
        line1,
        line2: line2.unwrap_or_default(),
        city,
        region: region.unwrap_or_default(),
        postal_code,
        country,
        phone: phone.unwrap_or_default(),
    };
    let make_default = make_default.is_some_and(|v| v != "false");
    with_status(
        change_address_book(|auth, user| async move {
            match id {
                Some(id) => auth.update_address(user, id, &input, make_default).await,
                None => auth.add_address(user, &input, make_default).await,
            }
            .map(|_| ())
        })
        .await,
    )
}

#[server(prefix = "/api", endpoint = "delete_address")]
pub async fn delete_address(id: i64) -> Result<(), AppError> {
    with_status(
        change_address_book(|auth, user| async move { auth.delete_address(user, id).await }).await,
    )
}

#[server(prefix = "/api", endpoint = "default_address")]
pub async fn set_default_address(id: i64) -> Result<(), AppError> {
    with_status(
        change_address_book(|auth, user| async move { auth.set_default_address(user, id).await })
            .await,
    )
}
