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
