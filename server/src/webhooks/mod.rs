//! Webhooks from outside systems. Each checks its sender's signature over the raw body,
//! keeps the event and answers at once; the work runs later through the event log.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use services::orders::WebhookError;
use services::payments::webhook::{StoreError, Stored};

/// `POST /webhooks/stripe`: 200 once the event is safely stored (or was already), 400 for
/// a signature or body that does not check out (nothing is stored), 503 when the database
/// cannot take it (Stripe delivers it again later).
pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match state
        .services
        .orders
        .accept_stripe_event(signature, &body)
        .await
    {
        Ok(Stored::New) => (StatusCode::OK, "stored").into_response(),
        Ok(Stored::Duplicate) => (StatusCode::OK, "already stored").into_response(),
        Err(WebhookError::NotConfigured) => (
            StatusCode::NOT_FOUND,
            "Card payments are not configured here.",
        )
            .into_response(),
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(reason = %e, "Stripe webhook refused");
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Err(WebhookError::Store(StoreError::Malformed)) => {
            (StatusCode::BAD_REQUEST, "The body is not a Stripe event.").into_response()
        }
        Err(WebhookError::Unverified(reason)) => (StatusCode::BAD_REQUEST, reason).into_response(),
        Err(WebhookError::Provider(e)) => {
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
        Err(WebhookError::Store(StoreError::Database(e))) => {
            tracing::error!(error = %e, "could not store a Stripe event");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The event could not be stored; please deliver it again.",
            )
                .into_response()
        }
    }
}

/// `POST /webhooks/paypal`: verified by PayPal (its verify-webhook-signature call with the
/// delivery's transmission headers), then stored once: 200 once stored (or already), 400
/// for a delivery PayPal does not confirm or a body that is not an event (nothing is
/// stored), 503 when PayPal or the database cannot answer (PayPal delivers it again).
pub async fn paypal(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let transmission = services::payments::paypal::Transmission {
        auth_algo: header("paypal-auth-algo"),
        cert_url: header("paypal-cert-url"),
        transmission_id: header("paypal-transmission-id"),
        transmission_sig: header("paypal-transmission-sig"),
        transmission_time: header("paypal-transmission-time"),
    };
    match state
        .services
        .orders
        .accept_paypal_event(&transmission, &body)
        .await
    {
        Ok(Stored::New) => (StatusCode::OK, "stored").into_response(),
        Ok(Stored::Duplicate) => (StatusCode::OK, "already stored").into_response(),
        Err(WebhookError::NotConfigured) => {
            (StatusCode::NOT_FOUND, "PayPal is not configured here.").into_response()
        }
        Err(WebhookError::Unverified(reason)) => {
            tracing::warn!(%reason, "PayPal webhook refused");
            (StatusCode::BAD_REQUEST, reason).into_response()
        }
        Err(WebhookError::Store(StoreError::Malformed)) => {
            (StatusCode::BAD_REQUEST, "The body is not a PayPal event.").into_response()
        }
        Err(e @ (WebhookError::Provider(_) | WebhookError::Store(StoreError::Database(_)))) => {
            tracing::error!(error = %e, "could not verify or store a PayPal event");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The event could not be verified or stored; please deliver it again.",
            )
                .into_response()
        }
        Err(WebhookError::Signature(e)) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
