//! Signed, unguessable links (an order's page from its confirmation e-mail): an
//! HMAC-SHA256 of what the link opens, under the shop's secret key.
//!
//! The key is `SECRET_KEY` when configured; otherwise one is made at first start and kept
//! in PostgreSQL (`shop_secrets`), so every instance signs and checks with the same key.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use std::sync::Arc;

/// Bytes of a signature in a link (128 bits: not guessable, short enough for an e-mail).
const SIGNATURE_BYTES: usize = 16;

/// Signs and checks links; cheap to clone. The key never leaves it (no `Debug`).
#[derive(Clone)]
pub struct Signer {
    key: Arc<Vec<u8>>,
}

impl Signer {
    /// The configured key, or the shop's stored one (made now if there is none yet).
    pub async fn load(pool: &PgPool, configured: Option<&str>) -> Result<Self, sqlx::Error> {
        if let Some(key) = configured.filter(|k| !k.trim().is_empty()) {
            return Ok(Self::from_key(key.trim().as_bytes()));
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query!(
            "INSERT INTO shop_secrets (name, value) VALUES ('link-signing', $1) ON CONFLICT (name) DO NOTHING",
            &fresh[..]
        )
        .execute(pool)
        .await?;
        let stored =
            sqlx::query_scalar!("SELECT value FROM shop_secrets WHERE name = 'link-signing'")
                .fetch_one(pool)
                .await?;
        Ok(Self::from_key(&stored))
    }

    pub fn from_key(key: &[u8]) -> Self {
        Self {
            key: Arc::new(key.to_vec()),
        }
    }

    fn mac(&self, purpose: &str, subject: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_bytes());
        mac
    }

    /// The signature (hex) that opens `subject` for `purpose`.
    pub fn sign(&self, purpose: &str, subject: &str) -> String {
        self.mac(purpose, subject).finalize().into_bytes()[..SIGNATURE_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` was made by [`Signer::sign`] for this purpose and subject
    /// (compared in constant time).
    pub fn verify(&self, purpose: &str, subject: &str, signature: &str) -> bool {
        let signature = signature.trim();
        if signature.len() != SIGNATURE_BYTES * 2 || !signature.is_ascii() {
            return false;
        }
        let bytes: Option<Vec<u8>> = (0..signature.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&signature[i..i + 2], 16).ok())
            .collect();
        match bytes {
            Some(bytes) => self
                .mac(purpose, subject)
                .verify_truncated_left(&bytes)
                .is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_opens_only_its_own_subject_and_purpose() {
        let signer = Signer::from_key(b"test key");
        let sig = signer.sign("order", "EMP-1001");
        assert_eq!(sig.len(), 32);
        assert!(signer.verify("order", "EMP-1001", &sig));
        assert!(!signer.verify("order", "EMP-1002", &sig));
        assert!(!signer.verify("other", "EMP-1001", &sig));
        assert!(!Signer::from_key(b"another key").verify("order", "EMP-1001", &sig));
        assert!(!signer.verify("order", "EMP-1001", &sig[..30]));
        assert!(!signer.verify("order", "EMP-1001", "zz"));
        assert!(!signer.verify("order", "EMP-1001", &"é".repeat(16)));
    }
}
