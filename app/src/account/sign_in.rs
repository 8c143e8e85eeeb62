//! Sign-in, registration, forgotten password and the reset link.
//!
//! Every form is a plain POST to its server function, so it works before the wasm loads
//! (the server redirects, with any error in the URL). The sign-in and registration forms
//! are islands: after hydration they submit in place, keeping what was typed.

use super::safe_next;
use crate::components::client::provide_form_error;
use crate::components::error_view::set_status;
use crate::components::forms::{action_error, Field, FormAlert, Notice};
use crate::components::gate::urlencode;
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
#[cfg(feature = "ssr")]
use crate::components::server::{
    client_ip, end_session, merge_guest_cart, services, session, start_sign_in, with_status,
};
use crate::error::AppError;
use domain::account::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PASSWORD_RULES};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

/// A narrow centred card with a heading, for the account forms.
#[component]
fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title />
        <Meta name="robots" content="noindex" />
        <div class="mx-auto max-w-md py-12">
            <h1 class="text-2xl font-semibold tracking-tight text-stone-900">{title}</h1>
            <div class="card mt-6 space-y-5">{children()}</div>
        </div>
    }
    .into_any()
}

/// Shown on the sign-in and registration pages to someone already signed in.
#[component]
fn AlreadySignedIn(email: String) -> impl IntoView {
    view! {
        <Notice>
            "You are signed in as " <strong>{email}</strong> ". "
            <a href="/account" class="link">"Go to your account"</a>
        </Notice>
    }
    .into_any()
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let query = use_query_map();
    let next = safe_next(query.read_untracked().get("next").as_deref());
    let reset_done = query.read_untracked().get("reset").is_some();
    view! {
        <Suspense fallback=loading>
            {move || {
                let next = next.clone();
                Suspend::new(async move {
                    let layout = await_layout(layout).await;
                    let signed_in = layout.personal.user.clone();
                    let register = format!("/register?next={}", urlencode(&next));
                    view! {
                        <Frame layout>
                            <AuthCard title="Sign in">
                                {signed_in.map(|u| view! { <AlreadySignedIn email=u.email /> })}
                                {reset_done.then(|| view! {
                                    <Notice>"Your password was changed. Sign in with your new password."</Notice>
                                })}
                                <SignInForm next />
                                <div class="flex justify-between text-sm">
                                    <a href="/forgot-password" class="link">"Forgot your password?"</a>
                                    <a href=register class="link">"Create an account"</a>
                                </div>
                            </AuthCard>
                        </Frame>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let query = use_query_map();
    let next = safe_next(query.read_untracked().get("next").as_deref());
    let sent = query.read_untracked().get("sent").is_some();
    view! {
        <Suspense fallback=loading>
            {move || {
                let next = next.clone();
                Suspend::new(async move {
                    let layout = await_layout(layout).await;
                    let signed_in = layout.personal.user.clone();
                    view! {
                        <Frame layout>
                            <AuthCard title="Create an account">
                                {signed_in.map(|u| view! { <AlreadySignedIn email=u.email /> })}
                                {sent.then(|| view! {
                                    <Notice>
                                        "Check your inbox: we have sent a link to finish creating your account. It works once, for 24 hours. If the address already has an account, the e-mail tells you how to sign in instead."
                                    </Notice>
                                })}
                                <RegisterForm next />
                                <p class="text-sm text-stone-600">
                                    "Already have an account? " <a href="/sign-in" class="link">"Sign in"</a>
                                </p>
                            </AuthCard>
                        </Frame>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The sign-in form: it posts (an error comes back in the URL); after hydration (an
/// island) it signs in without a reload, so a mistyped password keeps the e-mail typed.
#[island]
fn SignInForm(next: String) -> impl IntoView {
    provide_form_error();
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action.value());
    view! {
        <ActionForm action attr:class="space-y-4" attr:data-testid="sign-in-form">
            <input type="hidden" name="next" value=next />
            <FormAlert error fields=&["email", "password"] />
            <Field name="email" label="E-mail" kind="email" autocomplete="username" required=true error />
            <Field name="password" label="Password" kind="password" autocomplete="current-password" required=true error />
            <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}

/// The registration form; an island for the same reason as [`SignInForm`].
#[island]
fn RegisterForm(next: String) -> impl IntoView {
    provide_form_error();
    let action = ServerAction::<Register>::new();
    let error = action_error(action.value());
    view! {
        <ActionForm action attr:class="space-y-4" attr:data-testid="register-form">
            <input type="hidden" name="next" value=next />
            <FormAlert error fields=&["email", "password", "name"] />
            <Field name="name" label="Name (optional)" autocomplete="name" maxlength=100 error />
            <Field name="email" label="E-mail" kind="email" autocomplete="email" required=true error />
            <Field
                name="password"
                label="Password"
                kind="password"
                autocomplete="new-password"
                hint=PASSWORD_RULES
                required=true
                minlength=PASSWORD_MIN_CHARS
                maxlength=PASSWORD_MAX_CHARS
                error
            />
            <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Creating your account…" } else { "Create account" }}
            </button>
        </ActionForm>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let action = ServerAction::<ForgotPassword>::new();
    let error = action_error(action.value());
    let query = use_query_map();
    let sent_before = query.read_untracked().get("sent").is_some();
    let sent = move || sent_before || matches!(action.value().get(), Some(Ok(())));
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let layout = await_layout(layout).await;
                view! {
                    <Frame layout>
                        <AuthCard title="Reset your password">
                            {move || sent().then(|| view! {
                                <Notice>
                                    "If an account exists for that address, we have sent it a link to choose a new password. The link works once and expires in 60 minutes."
                                </Notice>
                            })}
                            <p class="text-sm text-stone-600">"Enter the e-mail address of your account and we will send you a link to choose a new password."</p>
                            <ActionForm action attr:class="space-y-4" attr:data-testid="forgot-form">
                                <FormAlert error fields=&["email"] />
                                <Field name="email" label="E-mail" kind="email" autocomplete="email" required=true error />
                                <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>"Send reset link"</button>
                            </ActionForm>
                            <a href="/sign-in" class="link text-sm">"Back to sign in"</a>
                        </AuthCard>
                    </Frame>
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let link = Resource::new(move || token.clone(), check_reset_link);
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action.value());
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (layout, link) = (await_layout(layout).await, link.await);
                let token = query.read_untracked().get("token").unwrap_or_default();
                let body = match link {
                    Ok(email) => view! {
                        <p class="text-sm text-stone-600">"Choose a new password for " <strong>{email}</strong> "."</p>
                        <ActionForm action attr:class="space-y-4" attr:data-testid="reset-form">
                            <input type="hidden" name="token" value=token />
                            <FormAlert error fields=&["password"] />
                            <Field
                                name="password"
                                label="New password"
                                kind="password"
                                autocomplete="new-password"
                                required=true
                                minlength=PASSWORD_MIN_CHARS
                                maxlength=PASSWORD_MAX_CHARS
                                error
                            />
                            <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>"Set new password"</button>
                        </ActionForm>
                    }.into_any(),
                    Err(e) => {
                        set_status(e.status());
                        view! {
                            <div role="alert" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="reset-link-problem">
                                {e.to_string()}
                            </div>
                            <a href="/forgot-password" class="btn-primary w-full">"Ask for a new link"</a>
                        }.into_any()
                    }
                };
                view! {
                    <Frame layout>
                        <AuthCard title="Choose a new password">{body}</AuthCard>
                    </Frame>
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// Asks for an account. The answer is the same whether the address has one or not: an
/// e-mail goes to it either way (the link that finishes the account, or a reminder to
/// sign in), so the form tells nobody which addresses have accounts.
#[server(prefix = "/api", endpoint = "register")]
pub async fn register(
    email: String,
    password: String,
    name: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let ip = client_ip().await;
            s.auth
                .register(&ip, &email, &password, name.as_deref().unwrap_or_default())
                .await?;
            // The account starts from the e-mail's link; `next` is not carried there.
            let _ = next;
            leptos_axum::redirect("/register?sent=1");
            Ok(())
        }
        .await,
    )
}

/// Finishes a registration with the link from its e-mail and signs the new account in.
#[server(prefix = "/api", endpoint = "confirm_registration")]
pub async fn confirm_registration(token: String, password: String) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let ip = client_ip().await;
            let user = s.auth.confirm_registration(&ip, &token, &password).await?;
            tracing::info!(user_id = user.user.id, "account registered");
            let session = session().await?;
            // The account exists now whatever happens next: say so if the sign-in fails.
            start_sign_in(&session, &s.auth, &user)
                .await
                .map_err(|_| {
                    AppError::Unavailable(
                        "Your account was created, but we could not sign you in just now. Please sign in in a moment."
                            .into(),
                    )
                })?;
            merge_guest_cart(&session, user.user.id).await;
            leptos_axum::redirect("/account");
            Ok(())
        }
        .await,
    )
}

/// `/register/confirm?token=…`: the link from the registration e-mail. Following it only
/// shows a form (mail scanners fetch links); the password chosen at registration creates
/// the account.
#[component]
pub fn ConfirmRegistrationPage() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let action = ServerAction::<ConfirmRegistration>::new();
    let error = action_error(action.value());
    view! {
        <Suspense fallback=loading>
            {move || {
                let token = token.clone();
                Suspend::new(async move {
                    let layout = await_layout(layout).await;
                    view! {
                        <Frame layout>
                            <AuthCard title="Finish creating your account">
                                <p class="text-sm text-stone-600">"Enter the password you chose when you registered: then your account is created and you are signed in."</p>
                                <ActionForm action attr:class="space-y-4" attr:data-testid="confirm-registration-form">
                                    <input type="hidden" name="token" value=token />
                                    <FormAlert error fields=&["password"] />
                                    <Field name="password" label="Password" kind="password" autocomplete="current-password" required=true error />
                                    <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>"Create my account"</button>
                                </ActionForm>
                            </AuthCard>
                        </Frame>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let ip = client_ip().await;
            let user = s.auth.sign_in(&ip, &email, &password).await?;
            let session = session().await?;
            start_sign_in(&session, &s.auth, &user).await?;
            merge_guest_cart(&session, user.user.id).await;
            tracing::info!(user_id = user.user.id, "signed in");
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let ip = client_ip().await;
            s.auth.request_password_reset(&ip, &email).await?;
            leptos_axum::redirect("/forgot-password?sent=1");
            Ok(())
        }
        .await,
    )
}

/// The address a reset link is for, or why it cannot be used.
#[server(prefix = "/api", endpoint = "reset_link")]
pub async fn check_reset_link(token: String) -> Result<String, AppError> {
    with_status(
        async move {
            let s = services()?;
            Ok(s.auth.check_reset_link(&token).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let ip = client_ip().await;
            let user = s.auth.reset_password(&ip, &token, &password).await?;
            tracing::info!(user_id = user.id, "password reset with a link");
            // A reset also signs this browser out of whatever account it had. The password
            // is already changed (and every session of the account ended by the new epoch),
            // so a failure here is only logged.
            if let Err(e) = end_session(&session().await?).await {
                tracing::warn!(error = %e, "could not end the session after a reset");
            }
            leptos_axum::redirect("/sign-in?reset=1");
            Ok(())
        }
        .await,
    )
}
