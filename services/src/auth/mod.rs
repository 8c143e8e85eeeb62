//! Authentication: accounts, passwords, password reset, roles and saved addresses.
//!
//! [`session`] holds what a signed-in session carries and the rules for trusting it, as
//! plain values; the session itself (a cookie and its Redis record) is the web layer's.

mod addresses;
pub mod password;
pub mod session;
mod staff;
mod two_factor;

use crate::limits::{network_of, LimitError, Rate, RateLimiter};
use crate::notifications::{templates, Mailer};
use domain::account::AdminOverview;
use domain::{Email, FieldError, Role, UserSummary};
use password::PasswordHashString;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// The longest a Redis call of the accounts service (and the session store) may take before it counts as down.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Why an account call failed. Every variant maps to a message a shopper can act on.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A form field broke a rule (malformed e-mail, weak password, e-mail taken …).
    #[error("{0}")]
    Field(FieldError),
    /// Several fields of one form broke rules (an address).
    #[error("Some fields need attention.")]
    Fields(Vec<FieldError>),
    /// Wrong password or unknown e-mail: deliberately the same answer.
    #[error("The e-mail or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many attempts. Please try again in {}.", crate::limits::wait_words(*retry_after_secs))]
    Throttled { retry_after_secs: u64 },
    #[error("{0}")]
    ResetLink(ResetLinkProblem),
    /// Staff disabled the account.
    #[error("This account is disabled. If you think this is a mistake, contact the shop.")]
    Disabled,
    /// The link that finishes a registration is unknown, used or expired.
    #[error("This link to finish creating your account does not work any more: it was used, it expired, or it was not copied whole. Register again to get a new one.")]
    RegistrationLink,
    /// The link of a staff invitation is unknown, used, withdrawn or expired.
    #[error("This invitation does not work any more: it was used, withdrawn or expired, or the link was not copied whole. Ask the owner who invited you for a new one.")]
    InviteLink,
    /// The actor's role does not allow this.
    #[error("{0}")]
    Refused(#[from] domain::staff::Refused),
    #[error("not found")]
    NotFound,
    /// Redis (sessions, counters) cannot be reached.
    #[error("Signing in is temporarily unavailable. Please try again in a few minutes.")]
    Unavailable,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<LimitError> for AuthError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited { retry_after_secs } => AuthError::Throttled { retry_after_secs },
            LimitError::Unavailable => AuthError::Unavailable,
        }
    }
}

impl From<FieldError> for AuthError {
    fn from(e: FieldError) -> Self {
        AuthError::Field(e)
    }
}

/// Why a password reset link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetLinkProblem {
    Unknown,
    Expired,
    Used,
}

impl std::fmt::Display for ResetLinkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResetLinkProblem::Unknown => {
                "This password reset link is not valid. Check that you copied the whole link, or ask for a new one."
            }
            ResetLinkProblem::Expired => {
                "This password reset link has expired. Ask for a new one below."
            }
            ResetLinkProblem::Used => {
                "This password reset link has already been used. If you still need to reset your password, ask for a new link."
            }
        })
    }
}

/// Limits and lifetimes, from configuration.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Failed sign-ins per (account, client network) pair per window; then that pair
    /// alone is refused until the window allows another.
    pub sign_in_per_account: u32,
    /// Sign-in attempts per client network (an IPv4 address or an IPv6 /64) per window.
    pub sign_in_per_ip: u32,
    /// Failures per account from all sources after which every sign-in to it is slowed
    /// down (never refused, so strangers cannot lock the owner out).
    pub slow_down_after: u32,
    /// The longest that slow-down gets.
    pub slow_down_max: Duration,
    /// Registrations and reset requests per IP address per window.
    pub register_per_ip: u32,
    /// Reset e-mails per address per window.
    pub reset_per_account: u32,
    pub throttle_window: Duration,
    pub reset_link_ttl: Duration,
    /// How long the link that finishes a registration works.
    pub registration_link_ttl: Duration,
    /// A sign-in lasts at most this long, however active the session.
    pub session_absolute: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            sign_in_per_account: 5,
            sign_in_per_ip: 30,
            slow_down_after: 5,
            slow_down_max: Duration::from_secs(3),
            register_per_ip: 10,
            reset_per_account: 3,
            throttle_window: Duration::from_secs(15 * 60),
            reset_link_ttl: Duration::from_secs(60 * 60),
            registration_link_ttl: Duration::from_secs(24 * 3600),
            session_absolute: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Handle to the accounts service; cheap to clone.
#[derive(Clone)]
pub struct AuthService {
    pool: PgPool,
    limiter: RateLimiter,
    /// Makes the e-mailed tokens from their event, so a resent e-mail carries the same link.
    signer: crate::signing::Signer,
    mailer: Mailer,
    settings: Arc<AuthSettings>,
    shop_name: Arc<str>,
    public_url: Arc<str>,
}

struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    auth_epoch: i32,
}

impl UserRow {
    fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: Role::parse(&self.role).unwrap_or(Role::Customer),
        }
    }
}

/// A user as the session layer checks it.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser {
    pub user: UserSummary,
    pub auth_epoch: i32,
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The event that e-mails the old address when an account's e-mail changes.
pub(crate) async fn email_changed_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user_id: i64,
    old_email: &str,
    new_email: &str,
) -> Result<(), AuthError> {
    // A reset link sent to the old address must not take over the account.
    AuthService::spend_reset_links(tx, user_id).await?;
    security_event(
        tx,
        "account.email_changed",
        serde_json::json!({ "user_id": user_id, "old_email": old_email, "new_email": new_email }),
    )
    .await
}

/// The event whose consumer makes and e-mails a password reset link (`None`: no account
/// behind the address asked for; the same write, so the answer takes the same time).
pub(crate) async fn reset_requested_event(
    conn: &mut sqlx::PgConnection,
    user_id: Option<i64>,
) -> Result<(), AuthError> {
    sqlx::query!(
        "INSERT INTO event_log (topic, payload) VALUES ('account.reset_requested', $1)",
        serde_json::json!({ "user_id": user_id })
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a security e-mail's event in the transaction of the change it tells of.
async fn security_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    topic: &str,
    payload: serde_json::Value,
) -> Result<(), AuthError> {
    sqlx::query!(
        "INSERT INTO event_log (topic, payload) VALUES ($1, $2)",
        topic,
        payload
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A write that hit the unique e-mail index means the address is taken.
pub(crate) fn email_taken_or(e: sqlx::Error) -> AuthError {
    if matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505")) {
        AuthError::Field(FieldError::new(
            "email",
            "An account with this e-mail address already exists. Sign in, or reset your password if you forgot it.",
        ))
    } else {
        e.into()
    }
}

impl AuthService {
    pub fn new(
        pool: PgPool,
        limiter: RateLimiter,
        signer: crate::signing::Signer,
        mailer: Mailer,
        settings: AuthSettings,
        shop_name: &str,
        public_url: &str,
    ) -> Self {
        Self {
            pool,
            limiter,
            signer,
            mailer,
            settings: Arc::new(settings),
            shop_name: shop_name.into(),
            public_url: public_url.into(),
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    fn rate(&self, count: u32) -> Rate {
        Rate::new(count, self.settings.throttle_window)
    }

    /// The growing wait before checking a password once an account has seen `failures`
    /// failed sign-ins from anywhere: 250 ms doubling per failure past the threshold, capped.
    fn slow_down(&self, failures: u32) -> Option<Duration> {
        let past = failures.checked_sub(self.settings.slow_down_after)?;
        let wait = Duration::from_millis(250).saturating_mul(2u32.saturating_pow(past.min(16)));
        Some(wait.min(self.settings.slow_down_max))
    }

    /// Asks for a customer account. Throttled per client network. The answer is the same
    /// whether the address already has an account or not: a new address is sent a link
    /// that finishes creating the account ([`AuthService::confirm_registration`]), the
    /// holder of an existing one a notice instead; both through the event log.
    pub async fn register(
        &self,
        client_ip: &str,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        let name = domain::account::parse_name(name)?;
        password::check_new_password(password, email.as_str())?;
        self.limiter
            .hit(
                &format!("register:net:{}", network_of(client_ip)),
                self.rate(self.settings.register_per_ip),
            )
            .await?;
        // Each registration e-mails the address: limited per address too, so nobody can
        // flood an inbox from many networks.
        self.limiter
            .hit(
                &format!("register:account:{}", email.as_str()),
                self.rate(self.settings.reset_per_account),
            )
            .await?;
        // Hashed either way, so both answers take the same time.
        let hash = password::hash(password.to_owned()).await?;
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        match existing {
            Some(user_id) => {
                security_event(
                    &mut tx,
                    "account.registration_existing",
                    serde_json::json!({ "user_id": user_id }),
                )
                .await?;
            }
            None => {
                let expires_at = chrono::Utc::now()
                    + chrono::Duration::from_std(self.settings.registration_link_ttl)
                        .map_err(|e| AuthError::Internal(e.to_string()))?;
                let registration_id = sqlx::query_scalar!(
                    "INSERT INTO registrations (email, name, password_hash, expires_at)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    email.as_str(),
                    name,
                    hash.as_str(),
                    expires_at
                )
                .fetch_one(&mut *tx)
                .await?;
                security_event(
                    &mut tx,
                    "account.registration",
                    serde_json::json!({ "registration_id": registration_id }),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The e-mail for a registration event: the link that finishes a new account (made
    /// now; a redelivery replaces it), or the notice to an existing account's holder.
    /// `None` when there is nothing to send (the registration was finished or expired).
    pub async fn registration_email(
        &self,
        topic: &str,
        payload: &serde_json::Value,
    ) -> Result<Option<crate::notifications::OutgoingEmail>, AuthError> {
        let id = |name: &str| payload.get(name).and_then(serde_json::Value::as_i64);
        if topic == "account.registration_existing" {
            let Some(user_id) = id("user_id") else {
                return Ok(None);
            };
            let to = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user_id)
                .fetch_optional(&self.pool)
                .await?;
            return Ok(to.map(|to| {
                templates::registration_attempt(
                    &self.shop_name,
                    &to,
                    &format!("{}/sign-in", self.public_url),
                    &format!("{}/forgot-password", self.public_url),
                )
            }));
        }
        let Some(registration_id) = id("registration_id") else {
            return Ok(None);
        };
        let token = self
            .signer
            .sign("registration-link", &registration_id.to_string());
        let to = sqlx::query_scalar!(
            "UPDATE registrations SET token_hash = $2
             WHERE id = $1 AND used_at IS NULL AND expires_at > now() RETURNING email",
            registration_id,
            token_hash(&token)
        )
        .fetch_optional(&self.pool)
        .await?;
        let link = format!("{}/register/confirm?token={token}", self.public_url);
        let hours = self.settings.registration_link_ttl.as_secs() / 3600;
        Ok(to.map(|to| templates::confirm_registration(&self.shop_name, &to, &link, hours)))
    }

    /// Finishes a registration with the link from its e-mail and the password chosen for
    /// it, once: the account is created as asked for, and returned to be signed in. The
    /// password is asked again so that a registration someone else made for this address
    /// (with a password they know) cannot become the address owner's account.
    pub async fn confirm_registration(
        &self,
        client_ip: &str,
        token: &str,
        password: &str,
    ) -> Result<AuthenticatedUser, AuthError> {
        if password.is_empty() {
            return Err(FieldError::new(
                "password",
                "Enter the password you chose when you registered.",
            )
            .into());
        }
        self.limiter
            .hit(
                &format!("register-confirm:net:{}", network_of(client_ip)),
                self.rate(self.settings.sign_in_per_ip),
            )
            .await?;
        let pending = sqlx::query_scalar!(
            "SELECT password_hash FROM registrations
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
            token_hash(token.trim())
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AuthError::RegistrationLink)?;
        if !password::verify(password.to_owned(), PasswordHashString::from_db(pending)).await? {
            return Err(FieldError::new(
                "password",
                "That is not the password chosen for this registration. If you did not register, ignore the e-mail; otherwise register again.",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query!(
            "UPDATE registrations SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
             RETURNING email, name, password_hash",
            token_hash(token.trim())
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = claimed else {
            return Err(AuthError::RegistrationLink);
        };
        let row = sqlx::query_as!(
            UserRow,
            "INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, 'customer')
             RETURNING id, email, name, role, auth_epoch",
            r.email,
            r.name,
            r.password_hash
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken_or)?;
        tx.commit().await?;
        Ok(AuthenticatedUser {
            user: row.summary(),
            auth_epoch: row.auth_epoch,
        })
    }

    /// Creates a customer account straight away, without the e-mailed link: for accounts
    /// the shop itself makes (imports, admin tools, tests whose e-mail cannot arrive).
    pub async fn create_customer(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<AuthenticatedUser, AuthError> {
        let email = Email::parse(email)?;
        let name = domain::account::parse_name(name)?;
        password::check_new_password(password, email.as_str())?;
        self.insert_user(&email, password, &name, Role::Customer)
            .await
    }

    async fn insert_user(
        &self,
        email: &Email,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<AuthenticatedUser, AuthError> {
        let hash = password::hash(password.to_owned()).await?;
        let row = sqlx::query_as!(
            UserRow,
            "INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4)
             RETURNING id, email, name, role, auth_epoch",
            email.as_str(),
            name,
            hash.as_str(),
            role.as_str()
        )
        .fetch_one(&self.pool)
        .await
        .map_err(email_taken_or)?;
        Ok(AuthenticatedUser {
            user: row.summary(),
            auth_epoch: row.auth_epoch,
        })
    }

    /// Checks an e-mail and password.
    ///
    /// Limits: attempts per client network; failures per (account, network) pair, which
    /// refuse that pair only; failures per account from anywhere, which slow every
    /// sign-in to it down (capped) instead of refusing, so nobody can lock an owner out
    /// by failing on purpose. A success clears its pair. An unknown address costs the
    /// same hashing work and gets the same answer as a wrong password, and is counted
    /// the same way, so the limits reveal nothing either.
    pub async fn sign_in(
        &self,
        client_ip: &str,
        email: &str,
        password: &str,
    ) -> Result<AuthenticatedUser, AuthError> {
        let email = Email::parse(email)?;
        if password.is_empty() {
            return Err(FieldError::new("password", "Enter your password.").into());
        }
        let network = network_of(client_ip);
        self.limiter
            .hit(
                &format!("signin:net:{network}"),
                self.rate(self.settings.sign_in_per_ip),
            )
            .await?;
        // Counted before the password is checked, so parallel guesses cannot slip past the
        // limit; a success clears it again.
        let pair_key = format!("signin:fail:{}:{network}", email.as_str());
        let pair_rate = self.rate(self.settings.sign_in_per_account);
        self.limiter.hit(&pair_key, pair_rate).await?;
        let account_key = format!("signin:fail:{}", email.as_str());
        // Counts far past the slow-down threshold, so the delay can keep growing.
        let account_rate = self.rate(self.settings.slow_down_after.saturating_add(20));
        let failures = self.limiter.level(&account_key, account_rate).await?.recent;
        if let Some(wait) = self.slow_down(failures) {
            tokio::time::sleep(wait).await;
        }
        let row = sqlx::query!(
            r#"SELECT id, email, name, role, auth_epoch, password_hash,
                      disabled_at IS NOT NULL AS "disabled!" FROM users WHERE email = $1"#,
            email.as_str()
        )
        .fetch_optional(&self.pool)
        .await?;
        let (hash, found) = match &row {
            Some(r) => (r.password_hash.clone(), true),
            None => (password::dummy_hash().await.to_owned(), false),
        };
        let matches =
            password::verify(password.to_owned(), PasswordHashString::from_db(hash)).await?;
        match row {
            // Told only to someone who knows the password.
            Some(r) if found && matches && r.disabled => Err(AuthError::Disabled),
            Some(r) if found && matches => {
                self.limiter.reset(&pair_key).await;
                let row = UserRow {
                    id: r.id,
                    email: r.email,
                    name: r.name,
                    role: r.role,
                    auth_epoch: r.auth_epoch,
                };
                Ok(AuthenticatedUser {
                    user: row.summary(),
                    auth_epoch: row.auth_epoch,
                })
            }
            _ => {
                // The account count is a measure (the slow-down), never a refusal.
                let _ = self.limiter.hit(&account_key, account_rate).await;
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    /// The user behind a session, if the account still exists.
    pub async fn user(&self, id: i64) -> Result<Option<AuthenticatedUser>, AuthError> {
        let row = sqlx::query_as!(
            UserRow,
            "SELECT id, email, name, role, auth_epoch FROM users WHERE id = $1 AND disabled_at IS NULL",
            id
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| AuthenticatedUser {
            user: r.summary(),
            auth_epoch: r.auth_epoch,
        }))
    }

    /// Checks the signed-in user's own password; throttled like sign-in, so a borrowed
    /// session cannot be used to guess it.
    async fn check_current_password(&self, user_id: i64, current: &str) -> Result<(), AuthError> {
        self.limiter
            .hit(
                &format!("pwcheck:user:{user_id}"),
                self.rate(self.settings.sign_in_per_account),
            )
            .await?;
        let hash = sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", user_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(AuthError::NotFound)?;
        if password::verify(current.to_owned(), PasswordHashString::from_db(hash)).await? {
            Ok(())
        } else {
            Err(FieldError::new("current_password", "Your current password is not correct.").into())
        }
    }

    /// Changes name and e-mail. A new e-mail needs the current password.
    pub async fn update_profile(
        &self,
        user_id: i64,
        name: &str,
        email: &str,
        current_password: &str,
    ) -> Result<UserSummary, AuthError> {
        let name = domain::account::parse_name(name)?;
        let email = Email::parse(email)?;
        let existing = self.user(user_id).await?.ok_or(AuthError::NotFound)?;
        if existing.user.email != email.as_str() {
            if current_password.is_empty() {
                return Err(FieldError::new(
                    "current_password",
                    "Enter your current password to change your e-mail address.",
                )
                .into());
            }
            self.check_current_password(user_id, current_password)
                .await?;
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query_as!(
            UserRow,
            "UPDATE users SET name = $2, email = $3, updated_at = now() WHERE id = $1
             RETURNING id, email, name, role, auth_epoch",
            user_id,
            name,
            email.as_str()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken_or)?;
        let old_email = existing.user.email;
        if old_email != row.email {
            // The old address hears of it, through the event log: sent once, retried.
            email_changed_event(&mut tx, user_id, &old_email, &row.email).await?;
        }
        tx.commit().await?;
        Ok(row.summary())
    }

    /// Changes the password after checking the current one. Every other session of the
    /// user stops working; returns the new epoch for the session that made the change.
    pub async fn change_password(
        &self,
        user_id: i64,
        current: &str,
        new: &str,
    ) -> Result<i32, AuthError> {
        let user = self.user(user_id).await?.ok_or(AuthError::NotFound)?;
        if current.is_empty() {
            return Err(FieldError::new("current_password", "Enter your current password.").into());
        }
        self.check_current_password(user_id, current).await?;
        password::check_new_password(new, &user.user.email)?;
        let hash = password::hash(new.to_owned()).await?;
        let mut tx = self.pool.begin().await?;
        let epoch = sqlx::query_scalar!(
            "UPDATE users SET password_hash = $2, auth_epoch = auth_epoch + 1, updated_at = now()
             WHERE id = $1 RETURNING auth_epoch",
            user_id,
            hash.as_str()
        )
        .fetch_one(&mut *tx)
        .await?;
        Self::spend_reset_links(&mut tx, user_id).await?;
        security_event(
            &mut tx,
            "account.password_changed",
            serde_json::json!({ "email": user.user.email }),
        )
        .await?;
        tx.commit().await?;
        Ok(epoch)
    }

    /// Sends a one-time reset link if the address has an account. The answer, and the
    /// time it takes, are the same either way: the e-mail goes out in the background.
    pub async fn request_password_reset(
        &self,
        client_ip: &str,
        email: &str,
    ) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        self.limiter
            .hit(
                &format!("reset:net:{}", network_of(client_ip)),
                self.rate(self.settings.register_per_ip),
            )
            .await?;
        self.limiter
            .hit(
                &format!("reset:account:{}", email.as_str()),
                self.rate(self.settings.reset_per_account),
            )
            .await?;
        let user_id = sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        if user_id.is_none() {
            tracing::info!("password reset asked for an address without an account");
        }
        // Known or not, the same write and the same answer. The event worker makes the
        // link and sends it, retried until sent, so a restart or a mail server that is
        // down loses nothing.
        let mut conn = self.pool.acquire().await?;
        reset_requested_event(&mut conn, user_id).await
    }

    /// The reset e-mail for a `account.reset_requested` event: a fresh link stored for
    /// the event (a redelivery replaces it, so only the e-mail sent last carries a working
    /// link), or `None` when there is nothing to send (no account, or the link was used).
    pub async fn reset_email(
        &self,
        event_id: i64,
        user_id: i64,
    ) -> Result<Option<crate::notifications::OutgoingEmail>, AuthError> {
        // The same token for the same event: a redelivered e-mail (same Message-ID, which
        // receivers may drop as a duplicate) carries the link that works.
        let token = self.signer.sign("reset-link", &event_id.to_string());
        let ttl = self.settings.reset_link_ttl;
        let expires_at = chrono::Utc::now()
            + chrono::Duration::from_std(ttl).map_err(|e| AuthError::Internal(e.to_string()))?;
        let email = sqlx::query_scalar!(
            "INSERT INTO password_resets (token_hash, user_id, expires_at, event_id)
             SELECT $1, u.id, $3, $4 FROM users u WHERE u.id = $2
             ON CONFLICT (event_id) DO UPDATE SET token_hash = EXCLUDED.token_hash,
                 expires_at = EXCLUDED.expires_at
               WHERE password_resets.used_at IS NULL
             RETURNING (SELECT email FROM users WHERE id = $2) AS \"email!\"",
            token_hash(&token),
            user_id,
            expires_at,
            event_id
        )
        .fetch_optional(&self.pool)
        .await?;
        let link = format!("{}/reset-password?token={token}", self.public_url);
        Ok(email
            .map(|to| templates::password_reset(&self.shop_name, &to, &link, ttl.as_secs() / 60)))
    }

    /// The notice for a security event of the account (`account.password_changed`,
    /// `account.email_changed`), from its payload.
    pub fn security_notice(
        &self,
        topic: &str,
        payload: &serde_json::Value,
    ) -> Option<crate::notifications::OutgoingEmail> {
        let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
        match topic {
            "account.password_changed" => Some(templates::password_changed(
                &self.shop_name,
                field("email")?,
                &format!("{}/forgot-password", self.public_url),
            )),
            "account.email_changed" => Some(templates::email_changed(
                &self.shop_name,
                field("old_email")?,
                field("new_email")?,
            )),
            _ => None,
        }
    }

    /// Makes every outstanding reset link of the user unusable.
    async fn spend_reset_links(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        user_id: i64,
    ) -> Result<(), AuthError> {
        sqlx::query!(
            "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
            user_id
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Whether a reset link can still be used, and for which address.
    pub async fn check_reset_link(&self, token: &str) -> Result<String, AuthError> {
        let row = sqlx::query!(
            "SELECT u.email, r.expires_at, r.used_at FROM password_resets r
             JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1",
            token_hash(token.trim())
        )
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Err(AuthError::ResetLink(ResetLinkProblem::Unknown)),
            Some(r) if r.used_at.is_some() => Err(AuthError::ResetLink(ResetLinkProblem::Used)),
            Some(r) if r.expires_at <= chrono::Utc::now() => {
                Err(AuthError::ResetLink(ResetLinkProblem::Expired))
            }
            Some(r) => Ok(r.email),
        }
    }

    /// Sets a new password with a reset link, once. Every session of the user ends and
    /// every other outstanding link of theirs stops working.
    pub async fn reset_password(
        &self,
        client_ip: &str,
        token: &str,
        new_password: &str,
    ) -> Result<UserSummary, AuthError> {
        self.limiter
            .hit(
                &format!("reset-use:net:{}", network_of(client_ip)),
                self.rate(self.settings.sign_in_per_ip),
            )
            .await?;
        let email = self.check_reset_link(token).await?;
        password::check_new_password(new_password, &email)?;
        let hash = password::hash(new_password.to_owned()).await?;
        let mut tx = self.pool.begin().await?;
        // The row lock makes a link usable once even when two requests race.
        let claimed = sqlx::query_scalar!(
            "UPDATE password_resets SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
             RETURNING user_id",
            token_hash(token.trim())
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = claimed else {
            return Err(AuthError::ResetLink(ResetLinkProblem::Used));
        };
        let row = sqlx::query_as!(
            UserRow,
            "UPDATE users SET password_hash = $2, auth_epoch = auth_epoch + 1, updated_at = now()
             WHERE id = $1 RETURNING id, email, name, role, auth_epoch",
            user_id,
            hash.as_str()
        )
        .fetch_one(&mut *tx)
        .await?;
        Self::spend_reset_links(&mut tx, user_id).await?;
        security_event(
            &mut tx,
            "account.password_changed",
            serde_json::json!({ "email": row.email }),
        )
        .await?;
        tx.commit().await?;
        Ok(row.summary())
    }

    /// Figures for the admin dashboard.
    pub async fn admin_overview(&self) -> Result<AdminOverview, AuthError> {
        let r = sqlx::query!(
            r#"SELECT
                (SELECT count(*) FROM users) AS "users!",
                (SELECT count(*) FROM users WHERE role <> 'customer') AS "admins!",
                (SELECT count(*) FROM users WHERE created_at > now() - interval '7 days') AS "new_users!",
                (SELECT count(*) FROM products WHERE published) AS "published_products!",
                (SELECT count(*) FROM variants WHERE stock_on_hand = 0) AS "sold_out_variants!""#
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(AdminOverview {
            users: r.users,
            admins: r.admins,
            new_users_7d: r.new_users,
            published_products: r.published_products,
            sold_out_variants: r.sold_out_variants,
        })
    }
}
