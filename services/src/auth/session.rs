//! What a signed-in session carries, and when it is trusted.
//!
//! A sign-in names a user and the user's `auth_epoch` at sign-in. It is trusted while the
//! account exists, the epoch still matches (a password change or reset bumps it, which
//! signs out every other device) and the sign-in is younger than the absolute limit.
//!
//! Plain values only: the web layer keeps a [`SessionAuth`] in its session (tower-sessions
//! in `app`) and asks [`AuthService::check_sign_in`] whether to trust it, so the REST API
//! or a worker can use the same rules with any other carrier (a token, a test).

use super::{AuthError, AuthService, AuthenticatedUser};
use domain::UserSummary;
use serde::{Deserialize, Serialize};

/// How often activity is recorded (extending the idle expiry), so browsing does not
/// write the session on every request.
const TOUCH_EVERY_SECS: i64 = 5 * 60;

/// A sign-in as a session stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    pub epoch: i32,
    /// Unix seconds of the sign-in.
    pub signed_in_at: i64,
    /// Unix seconds of the last recorded activity.
    pub seen_at: i64,
    /// Unix seconds of the staff member's second factor in this session; the admin area
    /// opens only with one. (Missing in sessions made before staff had one: none.)
    #[serde(default)]
    pub second_factor_at: Option<i64>,
}

/// What to do with a stored sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInCheck {
    /// Trusted. `touched` is the sign-in to store back when activity should be recorded.
    Trusted {
        user: UserSummary,
        touched: Option<SessionAuth>,
    },
    /// No longer trusted (too old, password changed, account gone): end the session.
    Ended,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SessionAuth {
    /// The same sign-in under the user's new epoch (after they changed their password).
    pub fn with_epoch(self, epoch: i32) -> Self {
        Self { epoch, ..self }
    }

    /// The same sign-in, its second factor given now.
    pub fn with_second_factor(self) -> Self {
        Self {
            second_factor_at: Some(now()),
            ..self
        }
    }
}

impl AuthService {
    /// A new sign-in of `user`, starting now.
    pub fn new_sign_in(&self, user: &AuthenticatedUser) -> SessionAuth {
        let t = now();
        SessionAuth {
            user_id: user.user.id,
            epoch: user.auth_epoch,
            signed_in_at: t,
            seen_at: t,
            second_factor_at: None,
        }
    }

    /// Whether a stored sign-in is still trusted, and the user it stands for.
    pub async fn check_sign_in(&self, state: &SessionAuth) -> Result<SignInCheck, AuthError> {
        let t = now();
        let absolute =
            i64::try_from(self.settings().session_absolute.as_secs()).unwrap_or(i64::MAX);
        if t.saturating_sub(state.signed_in_at) > absolute {
            tracing::info!(
                user_id = state.user_id,
                "sign-in reached its absolute lifetime"
            );
            return Ok(SignInCheck::Ended);
        }
        let user = match self.user(state.user_id).await? {
            Some(u) if u.auth_epoch == state.epoch => u.user,
            _ => return Ok(SignInCheck::Ended),
        };
        let touched = (t - state.seen_at >= TOUCH_EVERY_SECS).then(|| SessionAuth {
            seen_at: t,
            ..state.clone()
        });
        Ok(SignInCheck::Trusted { user, touched })
    }
}
