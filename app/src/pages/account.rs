//! The signed-in shopper's pages: profile and password, and the address book.
//! Signed out, each of them redirects to sign-in and comes back afterwards.

use crate::api::account::{
    get_account, get_address, list_addresses, urlencode, ChangePassword, DeleteAddress,
    SaveAddress, SetDefaultAddress, UpdateProfile,
};
use crate::components::error_view::ErrorView;
use crate::components::forms::{action_error, Field, FormAlert, FormError, Notice};
use crate::components::layout::{await_layout, loading, Frame};
use crate::error::AppError;
use crate::pages::auth::refresh_layout_on_success;
use crate::LayoutResource;
use domain::account::{COUNTRIES, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PASSWORD_RULES};
use domain::Address;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

/// What a protected page shows for an error: signed out goes to sign-in (302 on the
/// server) and comes back; anything else is an error page.
pub fn protected_error(error: AppError) -> AnyView {
    match error {
        AppError::Unauthorized(_) => {
            let location = use_location();
            let path = location.pathname.get_untracked();
            let search = location.search.get_untracked();
            let search = search.trim_start_matches('?');
            let here = if search.is_empty() {
                path
            } else {
                format!("{path}?{search}")
            };
            view! { <Redirect path=format!("/sign-in?next={}", urlencode(&here)) /> }.into_any()
        }
        other => view! { <ErrorView error=other /> }.into_any(),
    }
}

/// A page of a gated area: the layout and `data` are awaited in the page's one Suspense;
/// signed out goes to sign-in and back, any other error shows an error page.
pub fn gated_page<T>(
    data: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let layout = expect_context::<LayoutResource>();
    view! {
        <Suspense fallback=loading>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    let (layout, data) = (await_layout(layout).await, data.await);
                    let body = match data {
                        Err(e) => protected_error(e),
                        Ok(data) => render(data),
                    };
                    view! { <Frame layout>{body}</Frame> }
                })
            }}
        </Suspense>
    }
}

/// A page under `/account/` that does not exist: signed out goes to sign-in first.
#[component]
pub fn AccountNotFound() -> impl IntoView {
    let account = Resource::new(|| (), |_| get_account());
    gated_page(account, move |_| {
        view! {
            <ErrorView error=AppError::NotFound("There is no such page in your account.".into()) />
        }
        .into_any()
    })
}

/// The side menu of the account pages.
#[component]
fn AccountNav(current: &'static str) -> impl IntoView {
    let item = move |href: &'static str, label: &'static str| {
        let active = href == current;
        view! {
            <li>
                <a
                    href=href
                    aria-current=active.then_some("page")
                    class=if active { "block rounded-lg bg-stone-900 px-3 py-2 text-sm font-medium text-white" } else { "block rounded-lg px-3 py-2 text-sm font-medium text-stone-700 hover:bg-stone-100" }
                >
                    {label}
                </a>
            </li>
        }
    };
    view! {
        <nav aria-label="Account" class="lg:w-56">
            <ul class="flex gap-2 lg:flex-col">
                {item("/account", "Profile and password")}
                {item("/account/addresses", "Address book")}
                {item("/account/orders", "Orders")}
            </ul>
        </nav>
    }
    .into_any()
}

/// Title, side menu and content of an account page.
#[component]
fn AccountShell(title: &'static str, current: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title />
        <Meta name="robots" content="noindex" />
        <div class="py-10">
            <h1 class="text-3xl font-semibold tracking-tight text-stone-900">{title}</h1>
            <div class="mt-8 flex flex-col gap-8 lg:flex-row">
                <AccountNav current />
                <div class="min-w-0 flex-1 space-y-8">{children()}</div>
            </div>
        </div>
    }
    .into_any()
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let profile = ServerAction::<UpdateProfile>::new();
    // Read again after a save, so the form shows what was stored.
    let account = Resource::new(move || profile.version().get(), |_| get_account());
    let password = ServerAction::<ChangePassword>::new();
    refresh_layout_on_success(profile.value());
    let profile_error = action_error(profile.value());
    let password_error = action_error(password.value());
    let query = use_query_map();
    let changed_before = query.read_untracked().get("password").is_some();
    let password_changed = move || changed_before || matches!(password.value().get(), Some(Ok(())));
    gated_page(account, move |user| {
        view! {
                        <AccountShell title="Your account" current="/account">
                            <section class="card space-y-4" aria-labelledby="profile-heading">
                                <h2 id="profile-heading" class="text-lg font-semibold">"Profile"</h2>
                                {move || matches!(profile.value().get(), Some(Ok(_))).then(|| view! { <Notice>"Your profile was saved."</Notice> })}
                                <ActionForm action=profile attr:class="space-y-4" attr:data-testid="profile-form">
                                    <FormAlert error=profile_error fields=&["name", "email", "current_password"] />
                                    <Field name="name" label="Name" value=user.name.clone() autocomplete="name" maxlength=100 error=profile_error />
                                    <Field name="email" label="E-mail" kind="email" value=user.email.clone() autocomplete="email" required=true error=profile_error />
                                    <Field
                                        name="current_password"
                                        label="Current password"
                                        kind="password"
                                        autocomplete="current-password"
                                        hint="Needed only to change your e-mail address."
                                        error=profile_error
                                    />
                                    <button type="submit" class="btn-primary" disabled=move || profile.pending().get()>"Save profile"</button>
                                </ActionForm>
                            </section>
                            <section class="card space-y-4" aria-labelledby="password-heading">
                                <h2 id="password-heading" class="text-lg font-semibold">"Change password"</h2>
                                {move || password_changed().then(|| view! {
                                    <Notice>"Your password was changed. Other devices signed in to your account were signed out."</Notice>
                                })}
                                <ActionForm action=password attr:class="space-y-4" attr:data-testid="password-form">
                                    <FormAlert error=password_error fields=&["current_password", "new_password"] />
                                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" required=true error=password_error />
                                    <Field
                                        name="new_password"
                                        label="New password"
                                        kind="password"
                                        autocomplete="new-password"
                                        hint=PASSWORD_RULES
                                        required=true
                                        minlength=PASSWORD_MIN_CHARS
                                        maxlength=PASSWORD_MAX_CHARS
                                        error=password_error
                                    />
                                    <button type="submit" class="btn-primary" disabled=move || password.pending().get()>"Change password"</button>
                                </ActionForm>
                            </section>
                        </AccountShell>
                    }.into_any()
    })
}

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
    let save = ServerAction::<SaveAddress>::new();
    let error = action_error(save.value());
    gated_page(address, move |existing| {
        let title = if existing.is_some() {
            "Edit address"
        } else {
            "Add an address"
        };
        view! {
            <AccountShell title current="/account/addresses">
                <section class="card">
                    <AddressForm existing save error />
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

#[component]
fn AddressForm(
    existing: Option<Address>,
    save: ServerAction<SaveAddress>,
    error: FormError,
) -> impl IntoView {
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
