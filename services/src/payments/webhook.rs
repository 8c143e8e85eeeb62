//! Stripe webhook signatures, checked as Stripe documents them: the `Stripe-Signature`
//! header carries a timestamp `t` and one or more `v1` signatures, each an HMAC-SHA256 of
//! `"{t}.{raw body}"` under an endpoint secret. Any `v1` under any configured secret
//! passes (Stripe sends several while a secret is being rolled), compared in constant
//! time, and only within 300 s of the timestamp (a replayed old event fails).

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far the signed timestamp may be from now.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("The Stripe-Signature header is missing.")]
    Missing,
    #[error("The Stripe-Signature header is malformed.")]
    Malformed,
    #[error("The signature's timestamp is more than 300 seconds away from now.")]
    Stale,
    #[error("No signature matches this endpoint's secret.")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `header` (the `Stripe-Signature` value) over the raw `body`.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "v1" => signatures.push(unhex(value).ok_or(SignatureError::Malformed)?),
            // v0 (test-mode legacy) and unknown schemes are ignored, as Stripe advises.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_unix.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = secrets.iter().any(|secret| {
        signatures
            .iter()
            .any(|sig| mac(secret, timestamp, body).verify_slice(sig).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A `Stripe-Signature` header for `body`, as Stripe makes it (for tests and the
/// benchmark, which sign the events localstripe cannot send).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let sig: String = mac(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={sig}")
}

/// The parts of a Stripe event the shop reads.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// Whether an event was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

/// Keeps a verified event once, by its id, and queues its work on the event log in the
/// same statement: a redelivery (Stripe retries, or sends one event twice) finds its id
/// taken and queues nothing.
pub async fn store(pool: &sqlx::PgPool, body: &[u8]) -> Result<Stored, StoreError> {
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| StoreError::Malformed)?;
    let event: StripeEvent =
        serde_json::from_value(payload.clone()).map_err(|_| StoreError::Malformed)?;
    if event.id.is_empty() || event.id.len() > 255 {
        return Err(StoreError::Malformed);
    }
    let queued = sqlx::query_scalar!(
        r#"WITH kept AS (
               INSERT INTO stripe_events (id, type, payload) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO NOTHING RETURNING id)
           INSERT INTO event_log (topic, payload)
           SELECT 'stripe.event', jsonb_build_object('stripe_event', id) FROM kept
           RETURNING id"#,
        event.id,
        event.kind,
        payload
    )
    .fetch_optional(pool)
    .await?;
    Ok(if queued.is_some() {
        Stored::New
    } else {
        Stored::Duplicate
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The body is not a Stripe event.")]
    Malformed,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// A stored event, for the worker.
pub async fn load(pool: &sqlx::PgPool, id: &str) -> Result<Option<StripeEvent>, sqlx::Error> {
    let payload = sqlx::query_scalar!("SELECT payload FROM stripe_events WHERE id = $1", id)
        .fetch_optional(pool)
        .await?;
    Ok(payload.and_then(|p| serde_json::from_value(p).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_signed_body_passes_and_anything_else_fails() {
        let secrets = vec!["whsec_new".to_owned()];
        let header = sign("whsec_new", 1_000, BODY);
        assert_eq!(verify(Some(&header), BODY, &secrets, 1_010), Ok(()));
        // Another body, another secret, a stale or future timestamp, no header, garbage.
        assert_eq!(
            verify(Some(&header), b"{}", &secrets, 1_010),
            Err(SignatureError::Mismatch)
        );
        let forged = sign("whsec_other", 1_000, BODY);
        assert_eq!(
            verify(Some(&forged), BODY, &secrets, 1_010),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), BODY, &secrets, 1_000 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), BODY, &secrets, 1_000 - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(None, BODY, &secrets, 1_000),
            Err(SignatureError::Missing)
        );
        // An extreme timestamp is stale, not an overflow.
        let extreme = format!("t={},v1=00", i64::MIN);
        assert_eq!(
            verify(Some(&extreme), BODY, &secrets, 1_000),
            Err(SignatureError::Stale)
        );
        for bad in [
            "",
            "t=abc,v1=00",
            "t=1000",
            "v1=00",
            "t=1000,v1=zz",
            "nonsense",
        ] {
            assert_eq!(
                verify(Some(bad), BODY, &secrets, 1_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn several_signatures_and_secrets_allow_rolling_a_secret() {
        let old = sign("whsec_old", 1_000, BODY);
        let new = sign("whsec_new", 1_000, BODY);
        let both = format!("{},v1={}", old, new.rsplit_once("v1=").expect("v1").1);
        // An endpoint that knows only the new secret accepts the header with both.
        assert_eq!(
            verify(Some(&both), BODY, &["whsec_new".into()], 1_000),
            Ok(())
        );
        // An endpoint configured with the old and the new secret accepts either.
        let secrets = vec!["whsec_old".to_owned(), "whsec_new".to_owned()];
        assert_eq!(verify(Some(&old), BODY, &secrets, 1_000), Ok(()));
        assert_eq!(verify(Some(&new), BODY, &secrets, 1_000), Ok(()));
        // v0 signatures are ignored, not trusted.
        let v0_only = format!("t=1000,v0={}", new.rsplit_once("v1=").expect("v1").1);
        assert_eq!(
            verify(Some(&v0_only), BODY, &secrets, 1_000),
            Err(SignatureError::Malformed)
        );
    }
}
