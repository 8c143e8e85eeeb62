//! What a signed-in session carries, and when it is trusted.
//!
//! A session names a user and the user's `auth_epoch` at sign-in. It is trusted while the
//! account exists, the epoch still matches (a password change or reset bumps it, which
//! signs out every other device) and the sign-in is younger than the absolute limit.
//! Idle expiry is tower-sessions' own; activity is recorded at most every few minutes so
//! browsing does not write to Redis on every request.

use super::{AuthError, AuthService, AuthenticatedUser};
use domain::UserSummary;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const KEY: &str = "auth";
/// How often activity extends the idle expiry.
const TOUCH_EVERY_SECS: i64 = 5 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionAuth {
    user_id: i64,
    epoch: i32,
    /// Unix seconds of the sign-in.
    signed_in_at: i64,
    /// Unix seconds of the last recorded activity.
    seen_at: i64,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn unavailable(e: tower_sessions::session::Error) -> AuthError {
    tracing::warn!(error = %e, "session store unavailable");
    AuthError::Unavailable
}

/// Marks the session as signed in as `user` under a new session id (the old id, which
/// someone else might know, stops working). Anything else in the session is kept.
pub async fn establish(session: &Session, user: &AuthenticatedUser) -> Result<(), AuthError> {
    session.cycle_id().await.map_err(unavailable)?;
    let t = now();
    session
        .insert(
            KEY,
            SessionAuth {
                user_id: user.user.id,
                epoch: user.auth_epoch,
                signed_in_at: t,
                seen_at: t,
            },
        )
        .await
        .map_err(unavailable)
}

/// Signs out: the session's data is deleted from Redis and its cookie removed.
pub async fn end(session: &Session) -> Result<(), AuthError> {
    session.flush().await.map_err(unavailable)
}

/// The signed-in user, or `None`. A session that is no longer trusted is ended here.
pub async fn current_user(
    session: &Session,
    auth: &AuthService,
) -> Result<Option<UserSummary>, AuthError> {
    let state = match session.get::<SessionAuth>(KEY).await {
        Ok(state) => state,
        // Written by an older version: not a sign-in this version can trust.
        Err(tower_sessions::session::Error::SerdeJson(e)) => {
            tracing::warn!(error = %e, "discarding an unreadable sign-in");
            end(session).await?;
            return Ok(None);
        }
        Err(e) => return Err(unavailable(e)),
    };
    let Some(mut state) = state else {
        return Ok(None);
    };
    let t = now();
    let absolute = i64::try_from(auth.settings().session_absolute.as_secs()).unwrap_or(i64::MAX);
    if t.saturating_sub(state.signed_in_at) > absolute {
        tracing::info!(
            user_id = state.user_id,
            "sign-in reached its absolute lifetime"
        );
        end(session).await?;
        return Ok(None);
    }
    let user = match auth.user(state.user_id).await? {
        Some(u) if u.auth_epoch == state.epoch => u.user,
        _ => {
            end(session).await?;
            return Ok(None);
        }
    };
    if t - state.seen_at >= TOUCH_EVERY_SECS {
        state.seen_at = t;
        session.insert(KEY, state).await.map_err(unavailable)?;
    }
    Ok(Some(user))
}

/// After the user changed their own password: this session keeps working (under a new
/// id) while every other one has been signed out by the new epoch.
pub async fn refresh_epoch(session: &Session, epoch: i32) -> Result<(), AuthError> {
    let Some(mut state) = session.get::<SessionAuth>(KEY).await.map_err(unavailable)? else {
        return Ok(());
    };
    state.epoch = epoch;
    session.cycle_id().await.map_err(unavailable)?;
    session.insert(KEY, state).await.map_err(unavailable)
}
