//! `/account`: profile and password.

use super::shell::AccountShell;
use crate::components::error_view::ErrorView;
use crate::components::forms::{action_error, Field, FormAlert, Notice};
use crate::components::gate::gated_page;
#[cfg(feature = "ssr")]
use crate::components::server::{refresh_sign_in, require_user, services, session, with_status};
use crate::error::AppError;
use domain::account::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PASSWORD_RULES};
use domain::UserSummary;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

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

#[component]
pub fn AccountPage() -> impl IntoView {
    let profile = ServerAction::<UpdateProfile>::new();
    let account = Resource::new(|| (), |_| get_account());
    let password = ServerAction::<ChangePassword>::new();
    let profile_error = action_error(profile.value());
    let password_error = action_error(password.value());
    let query = use_query_map();
    // Both forms post, and the server comes back here saying which one succeeded.
    // A later failed post comes back to the same address plus the error: no notice then.
    let failed = query.read_untracked().get("__err").is_some();
    let password_changed = !failed && query.read_untracked().get("password").is_some();
    let profile_saved = !failed && query.read_untracked().get("profile").is_some();
    gated_page(account, move |user| {
        view! {
                        <AccountShell title="Your account" current="/account">
                            <section class="card space-y-4" aria-labelledby="profile-heading">
                                <h2 id="profile-heading" class="text-lg font-semibold">"Profile"</h2>
                                {profile_saved.then(|| view! { <Notice>"Your profile was saved."</Notice> })}
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
                                {password_changed.then(|| view! {
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

#[server(prefix = "/api", endpoint = "account")]
pub async fn get_account() -> Result<UserSummary, AppError> {
    with_status(require_user().await)
}

#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(
    name: String,
    email: String,
    current_password: Option<String>,
) -> Result<UserSummary, AppError> {
    with_status(
        async move {
            let user = require_user().await?;
            let s = services()?;
            let saved = s
                .auth
                .update_profile(
                    user.id,
                    &name,
                    &email,
                    current_password.as_deref().unwrap_or_default(),
                )
                .await?;
            leptos_axum::redirect("/account?profile=saved");
            Ok(saved)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    with_status(
        async move {
            let user = require_user().await?;
            let s = services()?;
            let epoch = s
                .auth
                .change_password(user.id, &current_password, &new_password)
                .await
                .map_err(|e| match e {
                    // The policy names the field "password"; this form calls it new_password.
                    services::auth::AuthError::Field(mut f) if f.field == "password" => {
                        f.field = "new_password".into();
                        services::auth::AuthError::Field(f)
                    }
                    other => other,
                })?;
            refresh_sign_in(&session().await?, epoch)
                .await
                .map_err(|_| {
                    AppError::Unavailable(
                        "Your password was changed, but we could not keep you signed in. Please sign in again with the new password."
                            .into(),
                    )
                })?;
            leptos_axum::redirect("/account?password=changed");
            Ok(())
        }
        .await,
    )
}
