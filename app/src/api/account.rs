//! Server functions of accounts: sign-up, sign-in, sign-out, password reset, profile,
//! password change, address book and the admin gate.
//!
//! Forms post here directly (they work before hydration: the server answers with a
//! redirect) or through `ActionForm` after it.

// A server function takes one argument per form field; the address form has ten.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use super::{services, with_status};
use crate::error::AppError;
use domain::account::AdminOverview;
use domain::{Address, UserSummary};
use leptos::prelude::*;

/// A local path to go to after signing in; anything else (another site, `//host`,
/// odd characters) falls back to the account page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/api/")
                && n.len() <= 512
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

/// Percent-encodes a value for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(feature = "ssr")]
pub(crate) use server::{client_ip, require_admin, require_user, session};

#[cfg(feature = "ssr")]
mod server {
    use crate::error::AppError;
    use domain::UserSummary;
    use services::auth::{session, ClientIp};
    use tower_sessions::Session;

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|e| {
            tracing::error!(error = %e, "no session layer on this request");
            AppError::Internal
        })
    }

    pub async fn client_ip() -> String {
        leptos_axum::extract::<axum::Extension<ClientIp>>()
            .await
            .map(|ip| ip.0 .0)
            .unwrap_or_else(|_| "unknown".to_owned())
    }

    /// The signed-in user, or 401.
    pub async fn require_user() -> Result<UserSummary, AppError> {
        let s = super::services()?;
        session::current_user(&session().await?, &s.auth)
            .await?
            .ok_or_else(|| AppError::Unauthorized("Please sign in to see your account.".into()))
    }

    /// The signed-in admin, 401 when signed out, 403 for everyone else.
    pub async fn require_admin() -> Result<UserSummary, AppError> {
        let user = require_user().await?;
        if user.is_admin() {
            Ok(user)
        } else {
            Err(AppError::Forbidden(
                "This part of the shop is for administrators only.".into(),
            ))
        }
    }
}

/// The signed-in user for the header, or `None`. Never fails: when Redis is down the
/// shop is shown signed out.
#[cfg(feature = "ssr")]
pub async fn current_user_for_layout() -> Option<UserSummary> {
    let s = services().ok()?;
    let session = server::session().await.ok()?;
    match services::auth::session::current_user(&session, &s.auth).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session for the header");
            None
        }
    }
}

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
            let ip = server::client_ip().await;
            let user = s
                .auth
                .register(&ip, &email, &password, name.as_deref().unwrap_or_default())
                .await?;
            tracing::info!(user_id = user.user.id, "account registered");
            let session = server::session().await?;
            // The account exists now whatever happens next: say so if the sign-in fails.
            services::auth::session::establish(&session, &user)
                .await
                .map_err(|_| {
                    AppError::Unavailable(
                        "Your account was created, but we could not sign you in just now. Please sign in in a moment."
                            .into(),
                    )
                })?;
            crate::api::shop::server::merge_guest_cart(&session, user.user.id).await;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
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
            let ip = server::client_ip().await;
            let user = s.auth.sign_in(&ip, &email, &password).await?;
            let session = server::session().await?;
            services::auth::session::establish(&session, &user).await?;
            crate::api::shop::server::merge_guest_cart(&session, user.user.id).await;
            tracing::info!(user_id = user.user.id, "signed in");
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    with_status(
        async move {
            services::auth::session::end(&server::session().await?).await?;
            leptos_axum::redirect("/");
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
            let ip = server::client_ip().await;
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
            let ip = server::client_ip().await;
            let user = s.auth.reset_password(&ip, &token, &password).await?;
            tracing::info!(user_id = user.id, "password reset with a link");
            // A reset also signs this browser out of whatever account it had. The password
            // is already changed (and every session of the account ended by the new epoch),
            // so a failure here is only logged.
            if let Err(e) = services::auth::session::end(&server::session().await?).await {
                tracing::warn!(error = %e, "could not end the session after a reset");
            }
            leptos_axum::redirect("/sign-in?reset=1");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "account")]
pub async fn get_account() -> Result<UserSummary, AppError> {
    with_status(server::require_user().await)
}

#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(
    name: String,
    email: String,
    current_password: Option<String>,
) -> Result<UserSummary, AppError> {
    with_status(
        async move {
            let user = server::require_user().await?;
            let s = services()?;
            Ok(s.auth
                .update_profile(
                    user.id,
                    &name,
                    &email,
                    current_password.as_deref().unwrap_or_default(),
                )
                .await?)
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
            let user = server::require_user().await?;
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
            services::auth::session::refresh_epoch(&server::session().await?, epoch)
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

#[server(prefix = "/api", endpoint = "addresses")]
pub async fn list_addresses() -> Result<Vec<Address>, AppError> {
    with_status(
        async move {
            let user = server::require_user().await?;
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
            let user = server::require_user().await?;
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
    let user = server::require_user().await?;
    change(services()?.auth, user.id)
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

#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn get_admin_overview() -> Result<AdminOverview, AppError> {
    with_status(
        async move {
            server::require_admin().await?;
            Ok(services()?.auth.admin_overview().await?)
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/account/addresses")), "/account/addresses");
        assert_eq!(safe_next(Some("/c/shoes?page=2")), "/c/shoes?page=2");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "/api/sign_out",
            "/a b",
            "",
            "account",
        ] {
            assert_eq!(safe_next(Some(bad)), "/account", "{bad}");
        }
        assert_eq!(safe_next(None), "/account");
    }
}
