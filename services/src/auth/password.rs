//! Password hashing (argon2id with OWASP's parameters) and the new-password policy.
//!
//! Hashing costs tens of milliseconds of CPU by design, so it runs on the blocking pool,
//! never on the async workers that serve pages.

use super::AuthError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use domain::FieldError;
use std::collections::HashSet;
use std::sync::LazyLock;

/// 19 MiB of memory, 2 passes, 1 lane: OWASP's recommended minimum for argon2id.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits; `Params::new` cannot fail.
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC-format argon2id hash. Deliberately neither `Debug`-printable nor serialisable.
pub struct PasswordHashString(String);

impl PasswordHashString {
    pub(crate) fn from_db(s: String) -> Self {
        Self(s)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString(***)")
    }
}

/// Checks a new password against the rules; the message names the rule it broke.
pub fn check_new_password(password: &str, email: &str) -> Result<(), FieldError> {
    domain::account::check_password_length(password)?;
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if COMMON.contains(lower.as_str()) {
        return Err(FieldError::new(
            "password",
            "That password is on the list of commonly used passwords. Choose one that is harder to guess.",
        ));
    }
    if lower == email || (local.len() >= 4 && lower == local) {
        return Err(FieldError::new(
            "password",
            "Your password must not be your e-mail address.",
        ));
    }
    if password.chars().collect::<HashSet<_>>().len() < 3 {
        return Err(FieldError::new(
            "password",
            "Use at least three different characters in your password.",
        ));
    }
    Ok(())
}

/// At most this many hashes run at once (each holds 19 MiB): a flood of sign-ins queues
/// here instead of exhausting memory through the blocking pool.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

async fn hashing_slot() -> Result<tokio::sync::SemaphorePermit<'static>, AuthError> {
    HASHING
        .acquire()
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))
}

/// Hashes a password with a fresh random salt, off the async runtime.
pub async fn hash(password: String) -> Result<PasswordHashString, AuthError> {
    let _slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| AuthError::Internal(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Internal(e.to_string()))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHashString(h.to_string()))
            .map_err(|e| AuthError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

/// True when `password` matches `hash`, off the async runtime. A malformed hash is a
/// mismatch, logged, never a panic.
pub async fn verify(password: String, hash: PasswordHashString) -> Result<bool, AuthError> {
    let _slot = hashing_slot().await?;
    tokio::task::spawn_blocking(move || match PasswordHash::new(hash.as_str()) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is malformed");
            false
        }
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))
}

/// A hash of a random password, verified against when the e-mail is unknown so that a
/// wrong e-mail takes as long as a wrong password.
pub(crate) async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            let password = crate::random::hex(24).unwrap_or_else(|_| "x".repeat(48));
            hash(password)
                .await
                .map(|h| h.0)
                .unwrap_or_else(|_| "$argon2id$v=19$m=19456,t=2,p=1$invalid".to_owned())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_and_uses_owasp_parameters() {
        let h = hash("correct horse battery".into()).await.expect("hash");
        assert!(h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(
            "correct horse battery".into(),
            PasswordHashString(h.0.clone())
        )
        .await
        .expect("verify"));
        assert!(!verify(
            "wrong horse battery".into(),
            PasswordHashString(h.0.clone())
        )
        .await
        .expect("verify"));
        // Same password, new salt, different hash.
        let h2 = hash("correct horse battery".into()).await.expect("hash");
        assert_ne!(h.0, h2.0);
        assert_eq!(format!("{h:?}"), "PasswordHashString(***)");
    }

    #[tokio::test]
    async fn malformed_hash_is_a_mismatch() {
        assert!(!verify("x".into(), PasswordHashString("nonsense".into()))
            .await
            .expect("verify"));
    }

    #[test]
    fn policy_refuses_common_short_and_email_passwords() {
        let email = "ann.lee@example.com";
        let msg = |p: &str| check_new_password(p, email).expect_err(p).message;
        assert!(msg("short").contains("at least 8"));
        assert!(msg("Password123").contains("commonly used"));
        assert!(msg("qwertyuiop").contains("commonly used"));
        assert!(msg("12345678").contains("commonly used"));
        assert!(msg("ann.lee@example.com").contains("e-mail"));
        assert!(msg("abababababab").contains("three different"));
        assert!(check_new_password("violet-harbour-19", email).is_ok());
    }
}
