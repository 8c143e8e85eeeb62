//! What the server functions of every area share (server only): the services, the HTTP
//! status of an error, the visitor's IP address and the web session: who is signed in
//! and whose cart this is. Services take plain values (a user id, a cart owner, an IP);
//! here a request's session becomes those values.

use crate::components::personal::{is_shared_render, Personal};
use crate::error::AppError;
use domain::UserSummary;
use leptos::prelude::*;
use services::audit::Actor;
use services::auth::session::{SessionAuth, SignInCheck};
use services::auth::{AuthError, AuthenticatedUser};
use services::cart::{CartError, CartOwner};
use services::AuthService;
use tower_sessions::Session;

/// The client's IP address as the gateway determined it (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

/// Session keys: the sign-in, the guest cart's id, and the orders this browser placed or
/// looked up.
const AUTH_KEY: &str = "auth";
const CART_KEY: &str = "cart";
const ORDERS_KEY: &str = "orders";
/// Guest carts this session merged into its account at sign-in (their checkouts still
/// open their orders for it).
const MERGED_KEY: &str = "merged_carts";

/// Gives a server function's error its HTTP status (server_fn answers every error with
/// 500 otherwise), so `/api/*` callers see 400/404/503 like page visitors do.
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    // A plain HTML form post (no wasm yet) is answered with a redirect back to the form,
    // the error in its URL; a status here would turn that redirect into an error page.
    let plain_form = use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.uri.path().starts_with("/api/")
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    });
    if plain_form {
        return result;
    }
    if let Err(e) = &result {
        if let (Some(response), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(e.status()),
        ) {
            response.set_status(status);
        }
    }
    result
}

/// The services, from the context the server provides (one `Arc`: cheap to clone).
pub fn services() -> Result<std::sync::Arc<services::Services>, AppError> {
    use_context::<std::sync::Arc<services::Services>>().ok_or_else(|| {
        tracing::error!("Services missing from the Leptos context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    if is_shared_render() {
        // The gateway gives a shared render no session, so no shopper's data can end up in
        // a page kept for everyone; a page that needs one must not be cached.
        tracing::error!("a page rendered for every shopper asked for the session");
        return Err(AppError::Internal);
    }
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

fn unavailable(e: tower_sessions::session::Error) -> AuthError {
    tracing::warn!(error = %e, "session store unavailable");
    AuthError::Unavailable
}

/// Marks the session as signed in as `user` under a new session id (the old id, which
/// someone else might know, stops working). Anything else in the session is kept.
pub async fn start_sign_in(
    session: &Session,
    auth: &AuthService,
    user: &AuthenticatedUser,
) -> Result<(), AuthError> {
    session.cycle_id().await.map_err(unavailable)?;
    session
        .insert(AUTH_KEY, auth.new_sign_in(user))
        .await
        .map_err(unavailable)
}

/// Signs out: the session's data is deleted from Redis and its cookie removed.
pub async fn end_session(session: &Session) -> Result<(), AuthError> {
    session.flush().await.map_err(unavailable)
}

/// The signed-in user, or `None`. A sign-in that is no longer trusted ends the session.
pub async fn current_user(
    session: &Session,
    auth: &AuthService,
) -> Result<Option<UserSummary>, AuthError> {
    let state = match session.get::<SessionAuth>(AUTH_KEY).await {
        Ok(state) => state,
        // Written by an older version: not a sign-in this version can trust.
        Err(tower_sessions::session::Error::SerdeJson(e)) => {
            tracing::warn!(error = %e, "discarding an unreadable sign-in");
            end_session(session).await?;
            return Ok(None);
        }
        Err(e) => return Err(unavailable(e)),
    };
    let Some(state) = state else {
        return Ok(None);
    };
    match auth.check_sign_in(&state).await? {
        SignInCheck::Ended => {
            end_session(session).await?;
            Ok(None)
        }
        SignInCheck::Trusted { user, touched } => {
            if let Some(touched) = touched {
                session
                    .insert(AUTH_KEY, touched)
                    .await
                    .map_err(unavailable)?;
            }
            Ok(Some(user))
        }
    }
}

/// After the user changed their own password: this session keeps working (under a new
/// id) while every other one has been signed out by the new epoch.
pub async fn refresh_sign_in(session: &Session, epoch: i32) -> Result<(), AuthError> {
    let Some(state) = session
        .get::<SessionAuth>(AUTH_KEY)
        .await
        .map_err(unavailable)?
    else {
        return Ok(());
    };
    session.cycle_id().await.map_err(unavailable)?;
    session
        .insert(AUTH_KEY, state.with_epoch(epoch))
        .await
        .map_err(unavailable)
}

/// The signed-in user, or 401.
pub async fn require_user() -> Result<UserSummary, AppError> {
    let s = services()?;
    current_user(&session().await?, &s.auth)
        .await?
        .ok_or_else(|| AppError::Unauthorized("Please sign in to see your account.".into()))
}

/// The signed-in member of staff as the services' [`Actor`]: 401 when signed out, 403
/// for customers, and [`AppError::SecondFactor`] until this session has had its second
/// factor (the admin area's gate sends them to give it). What the actor may do is the
/// services' to check.
pub async fn require_staff() -> Result<Actor, AppError> {
    let s = services()?;
    staff_actor(&session().await?, &s.auth, &client_ip().await).await
}

/// [`require_staff`] for any caller holding the session (an axum route, too).
pub async fn staff_actor(
    session: &Session,
    auth: &AuthService,
    ip: &str,
) -> Result<Actor, AppError> {
    let user = current_user(session, auth)
        .await?
        .ok_or_else(|| AppError::Unauthorized("Please sign in to open the admin area.".into()))?;
    if !user.is_staff() {
        return Err(AppError::Forbidden(
            "This part of the shop is for staff only.".into(),
        ));
    }
    if !second_factor_given(session).await {
        return Err(AppError::SecondFactor(
            "Confirm it is you with your authenticator app to open the admin area.".into(),
        ));
    }
    Ok(Actor::staff(user.id, &user.email, user.role, ip))
}

/// Whether this session's sign-in has had its second factor.
pub async fn second_factor_given(session: &Session) -> bool {
    matches!(
        session.get::<SessionAuth>(AUTH_KEY).await,
        Ok(Some(SessionAuth {
            second_factor_at: Some(_),
            ..
        }))
    )
}

/// After a right second factor: the sign-in is marked with it, under a new session id.
pub async fn mark_second_factor(session: &Session) -> Result<(), AuthError> {
    let Some(state) = session
        .get::<SessionAuth>(AUTH_KEY)
        .await
        .map_err(unavailable)?
    else {
        return Err(AuthError::NotFound);
    };
    session.cycle_id().await.map_err(unavailable)?;
    session
        .insert(AUTH_KEY, state.with_second_factor())
        .await
        .map_err(unavailable)
}

/// What the header shows of this shopper: who is signed in and how many items are in
/// their cart. Never fails: when Redis or the database is down the shop is shown signed
/// out, with an empty cart.
pub async fn personal(session: &Session, services: &services::Services) -> Personal {
    let user = match current_user(session, &services.auth).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session for the header");
            return Personal::default();
        }
    };
    let owner = existing_cart(session, user.as_ref()).await.ok().flatten();
    let cart_count = match &owner {
        Some(owner) => services.cart.count(owner).await.unwrap_or(0),
        None => 0,
    };
    Personal { user, cart_count }
}

/// [`personal`] for the page being rendered; the signed-out state in a render shared by
/// every shopper, which has no session.
pub async fn personal_for_layout() -> Personal {
    if is_shared_render() {
        return Personal::default();
    }
    match (services(), session().await) {
        (Ok(services), Ok(session)) => personal(&session, &services).await,
        _ => Personal::default(),
    }
}

/// The cart of this visitor: the signed-in user's, or the one tied to the session.
/// With `create`, a visitor without a cart gets one (and so a session cookie).
pub async fn cart_owner(create: bool) -> Result<Option<CartOwner>, AppError> {
    let s = services()?;
    let session = session().await?;
    fn cart_unavailable<E>(_: E) -> AppError {
        AppError::Unavailable(CartError::Unavailable.to_string())
    }
    // Sessions and carts share Redis: if it is down, say so about the cart.
    let user = current_user(&session, &s.auth)
        .await
        .map_err(cart_unavailable)?;
    if let Some(owner) = existing_cart(&session, user.as_ref())
        .await
        .map_err(cart_unavailable)?
    {
        return Ok(Some(owner));
    }
    if !create {
        return Ok(None);
    }
    let id = services::random::hex(16).map_err(|_| AppError::Internal)?;
    session
        .insert(CART_KEY, &id)
        .await
        .map_err(cart_unavailable)?;
    Ok(Some(CartOwner::Guest(id)))
}

/// The cart this visitor already has: the signed-in `user`'s, or the guest cart tied to
/// the session.
async fn existing_cart(
    session: &Session,
    user: Option<&UserSummary>,
) -> Result<Option<CartOwner>, tower_sessions::session::Error> {
    if let Some(user) = user {
        return Ok(Some(CartOwner::User(user.id)));
    }
    Ok(session.get::<String>(CART_KEY).await?.map(CartOwner::Guest))
}

/// At sign-in: the visitor's cart moves into the user's.
pub async fn merge_guest_cart(session: &Session, user_id: i64) {
    let Ok(Some(id)) = session.get::<String>(CART_KEY).await else {
        return;
    };
    let Ok(s) = services() else { return };
    // Lines a guest checkout already ordered must not move into the account's cart.
    if let Err(e) = settle_checkout(&s, &CartOwner::Guest(id.clone())).await {
        tracing::warn!(error = %e, "could not settle the guest cart before merging it");
    }
    match s
        .cart
        .merge(&CartOwner::Guest(id.clone()), &CartOwner::User(user_id))
        .await
    {
        Ok(()) => {
            let mut merged = merged_carts(session).await;
            merged.push(CartOwner::Guest(id).key());
            let skip = merged.len().saturating_sub(5);
            merged.drain(..skip);
            if let Err(e) = session.insert(MERGED_KEY, merged).await {
                tracing::warn!(error = %e, "could not remember the merged cart");
            }
            let _ = session.remove::<String>(CART_KEY).await;
        }
        // The guest cart stays in the session and is merged at the next sign-in.
        Err(e) => tracing::warn!(error = %e, "could not merge the guest cart"),
    }
}

/// The owner keys of guest carts this session merged into its account.
pub async fn merged_carts(session: &Session) -> Vec<String> {
    session
        .get::<Vec<String>>(MERGED_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A cart that still holds the lines of an order its checkout placed (the step after
/// placing failed) gives them up now; returns that order's number.
pub async fn settle_checkout(
    s: &services::Services,
    owner: &CartOwner,
) -> Result<Option<String>, AppError> {
    let Some(key) = s.cart.pending_checkout(owner).await? else {
        return Ok(None);
    };
    let Some((number, skus)) = s.orders.placed_with(&key, &owner.key()).await? else {
        return Ok(None);
    };
    s.cart.finish_checkout(owner, &skus).await?;
    tracing::info!(order = %number, "a cart kept the lines of a placed order; settled");
    Ok(Some(number))
}

/// Orders this browser placed or looked up, so their pages open without signing in.
pub async fn session_orders(session: &Session) -> Vec<String> {
    session
        .get::<Vec<String>>(ORDERS_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub async fn remember_order(session: &Session, number: &str) {
    let mut numbers = session_orders(session).await;
    if !numbers.iter().any(|n| n == number) {
        numbers.push(number.to_owned());
        // Keep the list short: the last 20.
        let skip = numbers.len().saturating_sub(20);
        numbers.drain(..skip);
        if let Err(e) = session.insert(ORDERS_KEY, numbers).await {
            tracing::warn!(error = %e, "could not remember the order in the session");
        }
    }
}
