//! Two-factor sign-in for staff, required before any admin screen opens:
//! `/admin/two-factor` sets it up (a QR code drawn by the shop, the same secret as text,
//! the first code from the app) or asks for a code (or a recovery code);
//! `/admin/two-factor/recovery-codes` shows the ten recovery codes once, right after the
//! set-up. Plain forms: all of it works before the wasm loads.

use crate::components::forms::{action_error, Field, FormAlert};
use crate::components::gate::{gated_page, safe_next_or};
#[cfg(feature = "ssr")]
use crate::components::server::{
    client_ip, current_user, mark_second_factor, second_factor_given, services, session,
    with_status,
};
use crate::error::AppError;
use domain::staff::TwoFactorStep;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

/// Session key of the recovery codes between the set-up and the page that shows them.
#[cfg(feature = "ssr")]
const CODES_KEY: &str = "recovery_codes";

/// The signed-in member of staff (second factor or not): 401 signed out, 403 customers.
#[cfg(feature = "ssr")]
async fn signed_in_staff() -> Result<(domain::UserSummary, tower_sessions::Session), AppError> {
    let s = services()?;
    let session = session().await?;
    let user = current_user(&session, &s.auth)
        .await?
        .ok_or_else(|| AppError::Unauthorized("Please sign in to open the admin area.".into()))?;
    if !user.is_staff() {
        return Err(AppError::Forbidden(
            "This part of the shop is for staff only.".into(),
        ));
    }
    Ok((user, session))
}

/// Which step the page shows; `None` when this session has had its second factor.
#[server(prefix = "/api", endpoint = "admin_two_factor")]
pub async fn get_two_factor_step() -> Result<Option<TwoFactorStep>, AppError> {
    with_status(
        async move {
            let (user, session) = signed_in_staff().await?;
            if second_factor_given(&session).await {
                return Ok(None);
            }
            Ok(Some(
                services()?
                    .auth
                    .two_factor_step(user.id, &user.email)
                    .await?,
            ))
        }
        .await,
    )
}

/// Finishes the set-up with the app's first code; the recovery codes are shown next.
#[server(prefix = "/api", endpoint = "admin_two_factor_enrol")]
pub async fn enrol_two_factor(code: String, next: Option<String>) -> Result<(), AppError> {
    with_status(
        async move {
            let (user, session) = signed_in_staff().await?;
            let ip = client_ip().await;
            let actor = services::audit::Actor::staff(user.id, &user.email, user.role, &ip);
            let codes = services()?
                .auth
                .finish_two_factor(&actor, &ip, &code)
                .await?;
            mark_second_factor(&session).await?;
            session
                .insert(CODES_KEY, codes)
                .await
                .map_err(|_| AppError::Unavailable("Sessions are unavailable just now.".into()))?;
            let next = safe_next_or(next.as_deref(), "/admin");
            leptos_axum::redirect(&format!(
                "/admin/two-factor/recovery-codes?next={}",
                crate::components::gate::urlencode(&next)
            ));
            Ok(())
        }
        .await,
    )
}

/// Checks a code (or a recovery code) and opens the admin area for this session.
#[server(prefix = "/api", endpoint = "admin_two_factor_verify")]
pub async fn verify_two_factor(code: String, next: Option<String>) -> Result<(), AppError> {
    with_status(
        async move {
            let (user, session) = signed_in_staff().await?;
            let ip = client_ip().await;
            let left = services()?
                .auth
                .verify_second_factor(&ip, user.id, &user.email, &code)
                .await?;
            mark_second_factor(&session).await?;
            if let Some(left) = left {
                tracing::info!(user_id = user.id, left, "a recovery code was used");
            }
            leptos_axum::redirect(&safe_next_or(next.as_deref(), "/admin"));
            Ok(())
        }
        .await,
    )
}

/// The recovery codes of the set-up just finished, once (they leave the session here).
#[server(prefix = "/api", endpoint = "admin_recovery_codes")]
pub async fn take_recovery_codes() -> Result<Vec<String>, AppError> {
    with_status(
        async move {
            let (_, session) = signed_in_staff().await?;
            Ok(session
                .remove::<Vec<String>>(CODES_KEY)
                .await
                .ok()
                .flatten()
                .unwrap_or_default())
        }
        .await,
    )
}

fn next_of_query() -> String {
    let query = use_query_map();
    let next = query.read_untracked().get("next");
    safe_next_or(next.as_deref(), "/admin")
}

#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let step = Resource::new(|| (), |_| get_two_factor_step());
    let enrol = ServerAction::<EnrolTwoFactor>::new();
    let verify = ServerAction::<VerifyTwoFactor>::new();
    let enrol_error = action_error(enrol.value());
    let verify_error = action_error(verify.value());
    let next = next_of_query();
    gated_page(step, move |step| {
        let next = next.clone();
        let body = match step {
            None => view! {
                <p>"This session has already confirmed it is you. " <a href=next class="link">"Continue"</a></p>
            }
            .into_any(),
            Some(TwoFactorStep::Enrol(e)) => view! {
                <p class="text-sm text-stone-700">
                    "The admin area needs a second step at sign-in. Scan this code with an authenticator app (for example Aegis, Google Authenticator or 1Password), then enter the 6-digit code it shows."
                </p>
                <div class="mx-auto w-56" role="img" aria-label="QR code of your two-factor secret" data-testid="totp-qr" inner_html=e.qr_svg></div>
                <p class="text-sm text-stone-700">
                    "Cannot scan? Enter this key in the app: "
                    <code class="break-all rounded bg-stone-100 px-1 font-mono" data-testid="totp-secret">{e.secret}</code>
                </p>
                <ActionForm action=enrol attr:class="space-y-4" attr:data-testid="enrol-form">
                    <input type="hidden" name="next" value=next />
                    <FormAlert error=enrol_error fields=&["code"] />
                    <Field name="code" label="Code from the app" autocomplete="one-time-code" required=true maxlength=6 error=enrol_error />
                    <button type="submit" class="btn-primary w-full">"Turn on two-factor sign-in"</button>
                </ActionForm>
            }
            .into_any(),
            Some(TwoFactorStep::Verify) => view! {
                <p class="text-sm text-stone-700">"Enter the 6-digit code your authenticator app shows, or one of your recovery codes."</p>
                <ActionForm action=verify attr:class="space-y-4" attr:data-testid="verify-form">
                    <input type="hidden" name="next" value=next />
                    <FormAlert error=verify_error fields=&["code"] />
                    <Field name="code" label="Code" autocomplete="one-time-code" required=true maxlength=20 error=verify_error />
                    <button type="submit" class="btn-primary w-full">"Confirm"</button>
                </ActionForm>
            }
            .into_any(),
        };
        view! {
            <Title text="Two-factor sign-in" />
            <Meta name="robots" content="noindex" />
            <div class="mx-auto max-w-md py-12">
                <h1 class="text-2xl font-semibold tracking-tight">"Two-factor sign-in"</h1>
                <div class="card mt-6 space-y-5">{body}</div>
            </div>
        }
        .into_any()
    })
}

#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let codes = Resource::new(|| (), |_| take_recovery_codes());
    let next = next_of_query();
    gated_page(codes, move |codes: Vec<String>| {
        let next = next.clone();
        view! {
            <Title text="Recovery codes" />
            <Meta name="robots" content="noindex" />
            <div class="mx-auto max-w-md py-12">
                <h1 class="text-2xl font-semibold tracking-tight">"Your recovery codes"</h1>
                <div class="card mt-6 space-y-5">
                    {if codes.is_empty() {
                        view! { <p class="text-sm">"Recovery codes are shown once, right after two-factor sign-in is set up, and that was earlier."</p> }.into_any()
                    } else {
                        view! {
                            <p class="text-sm text-stone-700">"Keep these somewhere safe, away from your phone. Each one signs you in once if you lose your authenticator app. They are not shown again."</p>
                            <ul class="grid grid-cols-2 gap-2 font-mono" data-testid="recovery-codes">
                                {codes.into_iter().map(|c| view! { <li data-testid="recovery-code">{c}</li> }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                    <a href=next class="btn-primary w-full" data-testid="continue">"I have saved them: continue"</a>
                </div>
            </div>
        }
        .into_any()
    })
}
