//! Two-factor sign-in for staff: TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, one step
//! of clock drift either way, as authenticator apps expect) and ten one-time recovery
//! codes. A code works once: the time step of the last one used is stored and a code of
//! that step or an earlier one is refused. Attempts are throttled like passwords.

use super::{AuthError, AuthService};
use crate::audit::{self, Actor, Changes};
use crate::limits::network_of;
use domain::staff::{Enrolment, TwoFactorStep};
use domain::FieldError;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

const STEP_SECS: u64 = 30;
const RECOVERY_CODES: usize = 10;

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<TOTP, AuthError> {
    // The otpauth label may not hold a colon.
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECS,
        secret,
        Some(clean(issuer)),
        clean(account),
    )
    .map_err(|e| AuthError::Internal(format!("TOTP set-up: {e}")))
}

fn code_hash(code: &str) -> Vec<u8> {
    Sha256::digest(normalise_recovery(code).as_bytes()).to_vec()
}

/// Recovery codes are read without dashes, spaces or case.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A new recovery code: ten characters of a 32-letter alphabet without look-alikes (no
/// i, l, o or 1), so 50 bits, shown in two groups of five.
fn recovery_code() -> Result<String, AuthError> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Internal(e.to_string()))?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % 32] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

fn now_secs() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// The time step (within one of now) at which `code` is right, if any.
fn matching_step(totp: &TOTP, code: &str, now: u64) -> Option<i64> {
    let step = now / STEP_SECS;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| totp.check(code, s * STEP_SECS))
        .and_then(|s| i64::try_from(s).ok())
}

fn wrong_code() -> AuthError {
    FieldError::new(
        "code",
        "That code is not right. Enter the 6 digits your authenticator app shows now, or one of your recovery codes.",
    )
    .into()
}

impl AuthService {
    /// Whether the member of staff has finished setting up two-factor sign-in.
    pub async fn two_factor_enabled(&self, user_id: i64) -> Result<bool, AuthError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM staff_two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL) AS "enabled!""#,
            user_id
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// What the two-factor page shows: a code to enter, or (not set up yet) the secret
    /// to scan. The secret is made once and kept until the set-up is finished.
    pub async fn two_factor_step(
        &self,
        user_id: i64,
        email: &str,
    ) -> Result<TwoFactorStep, AuthError> {
        if self.two_factor_enabled(user_id).await? {
            return Ok(TwoFactorStep::Verify);
        }
        let mut fresh = vec![0u8; 20];
        getrandom::fill(&mut fresh).map_err(|e| AuthError::Internal(e.to_string()))?;
        let secret = sqlx::query_scalar!(
            "INSERT INTO staff_two_factor (user_id, secret) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET secret = staff_two_factor.secret
             RETURNING secret",
            user_id,
            fresh
        )
        .fetch_one(&self.pool)
        .await?;
        let totp = totp(secret, &self.shop_name, email)?;
        let qr = qrcode::QrCode::new(totp.get_url().as_bytes())
            .map_err(|e| AuthError::Internal(format!("QR code: {e}")))?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build();
        Ok(TwoFactorStep::Enrol(Enrolment {
            qr_svg: qr,
            secret: totp.get_secret_base32(),
        }))
    }

    /// Throttles second-factor attempts: per account and per network, as sign-in does.
    async fn throttle_second_factor(
        &self,
        client_ip: &str,
        user_id: i64,
    ) -> Result<String, AuthError> {
        self.limiter
            .hit(
                &format!("2fa:net:{}", network_of(client_ip)),
                self.rate(self.settings.sign_in_per_ip),
            )
            .await?;
        let key = format!("2fa:user:{user_id}");
        self.limiter
            .hit(&key, self.rate(self.settings.sign_in_per_account))
            .await?;
        Ok(key)
    }

    /// Finishes the set-up with the first code from the app; returns the ten recovery
    /// codes (shown once; only their hashes are kept).
    pub async fn finish_two_factor(
        &self,
        actor: &Actor,
        client_ip: &str,
        code: &str,
    ) -> Result<Vec<String>, AuthError> {
        let user_id = actor.user_id.ok_or(AuthError::NotFound)?;
        let key = self.throttle_second_factor(client_ip, user_id).await?;
        let mut tx = self.pool.begin().await?;
        let secret = sqlx::query_scalar!(
            "SELECT secret FROM staff_two_factor WHERE user_id = $1 AND enabled_at IS NULL FOR UPDATE",
            user_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            AuthError::Field(FieldError::new(
                "code",
                "Two-factor sign-in is already set up for you (or was never started): reload the page.",
            ))
        })?;
        let totp = totp(secret, &self.shop_name, &actor.label)?;
        let step = matching_step(&totp, code.trim(), now_secs()).ok_or_else(wrong_code)?;
        sqlx::query!(
            "UPDATE staff_two_factor SET enabled_at = now(), last_step = $2 WHERE user_id = $1",
            user_id,
            step
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "DELETE FROM staff_recovery_codes WHERE user_id = $1",
            user_id
        )
        .execute(&mut *tx)
        .await?;
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let code = recovery_code()?;
            sqlx::query!(
                "INSERT INTO staff_recovery_codes (user_id, code_hash) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                user_id,
                code_hash(&code)
            )
            .execute(&mut *tx)
            .await?;
            codes.push(code);
        }
        audit::record(
            &mut tx,
            actor,
            "staff",
            &user_id.to_string(),
            "two_factor_enabled",
            Changes::new().field("two_factor", false, true),
        )
        .await?;
        tx.commit().await?;
        self.limiter.reset(&key).await;
        Ok(codes)
    }

    /// Checks a second factor at sign-in: the app's current code (each works once), or a
    /// recovery code (each works once; returns how many are left then).
    pub async fn verify_second_factor(
        &self,
        client_ip: &str,
        user_id: i64,
        email: &str,
        code: &str,
    ) -> Result<Option<i64>, AuthError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(
                FieldError::new("code", "Enter the code from your authenticator app.").into(),
            );
        }
        let key = self.throttle_second_factor(client_ip, user_id).await?;
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        // Six digits are the app's code; anything else is read as a recovery code.
        let left = if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            let secret = sqlx::query_scalar!(
                "SELECT secret FROM staff_two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL",
                user_id
            )
            .fetch_optional(&self.pool)
            .await?
            .ok_or(AuthError::NotFound)?;
            let totp = totp(secret, &self.shop_name, email)?;
            let step = matching_step(&totp, &digits, now_secs()).ok_or_else(wrong_code)?;
            // Only a later step than the last one used: a code seen once is spent.
            let fresh = sqlx::query_scalar!(
                "UPDATE staff_two_factor SET last_step = $2 WHERE user_id = $1 AND last_step < $2
                 RETURNING user_id",
                user_id,
                step
            )
            .fetch_optional(&self.pool)
            .await?;
            if fresh.is_none() {
                return Err(FieldError::new(
                    "code",
                    "This code was used already. Wait for the next one your app shows.",
                )
                .into());
            }
            None
        } else {
            let used = sqlx::query_scalar!(
                r#"WITH used AS (
                       UPDATE staff_recovery_codes SET used_at = now()
                       WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
                       RETURNING user_id)
                   SELECT (SELECT count(*) FROM staff_recovery_codes
                           WHERE user_id = $1 AND used_at IS NULL) - 1 AS "left!"
                   FROM used"#,
                user_id,
                code_hash(code)
            )
            .fetch_optional(&self.pool)
            .await?;
            Some(used.ok_or_else(wrong_code)?)
        };
        self.limiter.reset(&key).await;
        Ok(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_own_step_and_its_neighbours_only() {
        // RFC 6238's SHA-1 test secret, at its published time 59 s: 94287082 (8 digits).
        let rfc = TOTP::new(
            Algorithm::SHA1,
            8,
            0,
            30,
            b"12345678901234567890".to_vec(),
            None,
            "t".into(),
        )
        .expect("totp");
        assert_eq!(rfc.generate(59), "94287082");
        let t = totp(b"12345678901234567890".to_vec(), "Shop: test", "a@b.c").expect("totp");
        let now = 1_000_000_000;
        let code = t.generate(now);
        assert_eq!(matching_step(&t, &code, now), Some((now / 30) as i64));
        assert_eq!(matching_step(&t, &code, now + 30), Some((now / 30) as i64));
        assert_eq!(matching_step(&t, &code, now + 90), None);
        assert_eq!(matching_step(&t, "000000x", now), None);
    }

    #[test]
    fn recovery_codes_are_read_loosely_and_differ() {
        let a = recovery_code().expect("code");
        let b = recovery_code().expect("code");
        assert_ne!(a, b);
        assert_eq!(a.len(), 11);
        assert_eq!(
            code_hash(&a),
            code_hash(&a.to_uppercase().replace('-', " "))
        );
    }
}
