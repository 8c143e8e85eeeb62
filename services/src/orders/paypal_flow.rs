//! What PayPal payments do to orders: the shopper's return from approving, the webhook's
//! reports, and reconciliation. Every report ends in `record_payment`, as Stripe's do, so
//! a return, a webhook and the reconciliation job racing each other pay the order once.
//!
//! A PayPal order is captured by the shop once the shopper has approved it: when their
//! browser comes back, when PayPal's `CHECKOUT.ORDER.APPROVED` webhook arrives first, or
//! when reconciliation finds it approved. The capture carries a `PayPal-Request-Id` made
//! from the PayPal order, so those three capturing at once take the money once.

use super::paying::{Cause, Observation, PaymentOutcome};
use super::{OrderError, OrderService, Viewer, WebhookError};
use crate::payments::paypal::{Capture, PayPalClient, PayPalOrder, Transmission};
use crate::payments::webhook::{StoreError, Stored};
use crate::payments::PaymentError;
use domain::{OrderState, PaymentStatus};
use std::time::Duration;

/// The provider code of PayPal payments in `payments`.
pub(super) const PAYPAL: &str = "paypal";

impl Observation {
    /// A PayPal order as PayPal reports it (amounts in the shop's minor units).
    pub fn from_paypal(order: &PayPalOrder, event: Option<&str>) -> Self {
        let unit = order.purchase_units.first();
        let ordered = unit.and_then(|u| u.amount.as_ref());
        let capture = order.capture();
        let target = match (order.status.as_str(), capture.map(|c| c.status.as_str())) {
            (_, Some("COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED")) => Some(PaymentStatus::Paid),
            (_, Some("DECLINED" | "FAILED")) => Some(PaymentStatus::Failed),
            _ => None,
        };
        let amount = ordered.and_then(|a| a.money());
        Self {
            provider: PAYPAL,
            reference: order.id.clone(),
            provider_status: order.status.clone(),
            target,
            amount: amount.map_or(-1, |m| m.amount_minor()),
            currency: ordered.map(|a| a.currency_code.clone()).unwrap_or_default(),
            received: capture
                .and_then(|c| c.amount.money())
                .map(|m| m.amount_minor()),
            error: (target == Some(PaymentStatus::Failed))
                .then(|| "PayPal declined the payment.".to_owned()),
            event: event.map(str::to_owned),
        }
    }

    /// A capture as PayPal's `PAYMENT.CAPTURE.*` webhooks carry it, for its order.
    pub fn from_paypal_capture(order_id: &str, capture: &Capture, event: Option<&str>) -> Self {
        let amount = capture.amount.money();
        Self {
            provider: PAYPAL,
            reference: order_id.to_owned(),
            provider_status: "COMPLETED".into(),
            target: match capture.status.as_str() {
                "COMPLETED" => Some(PaymentStatus::Paid),
                "DECLINED" | "FAILED" => Some(PaymentStatus::Failed),
                _ => None,
            },
            amount: amount.map_or(-1, |m| m.amount_minor()),
            currency: capture.amount.currency_code.clone(),
            received: amount.map(|m| m.amount_minor()),
            error: None,
            event: event.map(str::to_owned),
        }
    }
}

impl OrderService {
    fn paypal(&self) -> Result<&PayPalClient, OrderError> {
        self.payments
            .paypal()
            .ok_or(OrderError::NotPayable("PayPal is not available."))
    }

    /// The shopper came back from approving on PayPal (`token` is PayPal's order id): the
    /// order is captured and recorded. Coming back twice captures once.
    pub async fn paypal_return(&self, number: &str, token: &str) -> Result<OrderState, OrderError> {
        let number = number.trim().to_uppercase();
        let reference = sqlx::query_scalar!(
            "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE o.number = $1 AND p.provider = $2",
            number,
            PAYPAL
        )
        .fetch_optional(&self.pool)
        .await?
        .filter(|r| r == token.trim())
        .ok_or(OrderError::NotFound)?;
        self.capture_paypal(&reference, Cause::Shopper).await?;
        Ok(self.view(&number, &Viewer::System).await?.state)
    }

    /// Captures an approved PayPal order (only while the shop's order awaits payment) and
    /// records what PayPal says; an order captured already is only recorded.
    pub(super) async fn capture_paypal(
        &self,
        reference: &str,
        cause: Cause,
    ) -> Result<PaymentOutcome, OrderError> {
        let client = self.paypal()?;
        let Some(payable) = sqlx::query_scalar!(
            r#"SELECT o.order_status = 'open' AND o.payment_status IN ('pending', 'failed') AS "payable!"
               FROM payments p JOIN orders o ON o.id = p.order_id
               WHERE p.provider = $1 AND p.reference = $2"#,
            PAYPAL,
            reference
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(PaymentOutcome::Unknown);
        };
        let mut order = client.get_order(reference).await?;
        if order.status == "APPROVED" && payable {
            order = match client.capture_order(reference).await {
                Ok(order) => order,
                Err(PaymentError::Rejected(m)) if m == "ORDER_ALREADY_CAPTURED" => {
                    client.get_order(reference).await?
                }
                Err(e) => return Err(e.into()),
            };
        }
        if let Some(capture) = order.capture() {
            self.keep_capture(reference, &capture.id).await?;
        }
        self.record_payment(&Observation::from_paypal(&order, None), cause)
            .await
    }

    /// The capture's id, which refunds go to.
    async fn keep_capture(&self, reference: &str, capture_id: &str) -> Result<(), OrderError> {
        sqlx::query!(
            "UPDATE payments SET capture_reference = $3 WHERE provider = $1 AND reference = $2",
            PAYPAL,
            reference,
            capture_id
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A webhook delivery from PayPal: verified by PayPal (its documented
    /// verify-webhook-signature call), then stored once by its id with its work queued on
    /// the event log in the same statement; the endpoint answers at once.
    pub async fn accept_paypal_event(
        &self,
        transmission: &Transmission,
        body: &[u8],
    ) -> Result<Stored, WebhookError> {
        let client = self.payments.paypal().ok_or(WebhookError::NotConfigured)?;
        let event: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| StoreError::Malformed)?;
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["event_type"].as_str().unwrap_or_default().to_owned();
        if id.is_empty() || id.len() > 255 || kind.is_empty() || kind.len() > 255 {
            return Err(StoreError::Malformed.into());
        }
        let complete = [
            &transmission.auth_algo,
            &transmission.cert_url,
            &transmission.transmission_id,
            &transmission.transmission_sig,
            &transmission.transmission_time,
        ]
        .iter()
        .all(|h| !h.is_empty() && h.len() <= 2048);
        if !complete {
            return Err(WebhookError::Unverified(
                "The PayPal transmission headers are missing.",
            ));
        }
        match client.verify_webhook(transmission, &event).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(WebhookError::Unverified(
                    "PayPal did not confirm this delivery's signature.",
                ))
            }
            Err(e) => return Err(WebhookError::Provider(e)),
        }
        let queued = sqlx::query_scalar!(
            r#"WITH kept AS (
                   INSERT INTO paypal_events (id, type, payload) VALUES ($1, $2, $3)
                   ON CONFLICT (id) DO NOTHING RETURNING id)
               INSERT INTO event_log (topic, payload)
               SELECT 'paypal.event', jsonb_build_object('paypal_event', id) FROM kept
               RETURNING id"#,
            id,
            kind,
            event
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::Database)?;
        Ok(if queued.is_some() {
            Stored::New
        } else {
            Stored::Duplicate
        })
    }

    /// Applies a stored PayPal event (the event worker calls this; safe to run twice).
    pub async fn apply_paypal_event(&self, id: &str) -> Result<(), OrderError> {
        let Some(event) =
            sqlx::query_scalar!("SELECT payload FROM paypal_events WHERE id = $1", id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(());
        };
        let resource = &event["resource"];
        match event["event_type"].as_str().unwrap_or_default() {
            // Approved but perhaps never returned to the shop: capture it now.
            "CHECKOUT.ORDER.APPROVED" => {
                if let Some(order_id) = resource["id"].as_str() {
                    self.capture_paypal(order_id, Cause::Webhook).await?;
                }
            }
            "PAYMENT.CAPTURE.COMPLETED" | "PAYMENT.CAPTURE.DENIED" => {
                let order_id = resource["supplementary_data"]["related_ids"]["order_id"].as_str();
                let capture: Option<Capture> = serde_json::from_value(resource.clone()).ok();
                if let (Some(order_id), Some(capture)) = (order_id, capture) {
                    self.keep_capture(order_id, &capture.id).await?;
                    self.record_payment(
                        &Observation::from_paypal_capture(order_id, &capture, Some(id)),
                        Cause::Webhook,
                    )
                    .await?;
                }
            }
            // Refunds are recorded by the order desk that makes them.
            _ => {}
        }
        Ok(())
    }

    /// Asks PayPal about PayPal payments still open after `older_than` (captures the
    /// approved ones), so a lost webhook and a shopper who never came back leave no paid
    /// order unpaid. Returns (asked, changed).
    pub async fn reconcile_paypal(
        &self,
        older_than: Duration,
        limit: i64,
    ) -> Result<(usize, usize), OrderError> {
        if self.payments.paypal().is_none() {
            return Ok((0, 0));
        }
        let open = sqlx::query_scalar!(
            "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE p.provider = $1 AND p.provider_status <> 'COMPLETED'
               AND o.order_status = 'open' AND o.payment_status IN ('pending', 'failed')
               AND o.review_reason IS NULL
               AND p.created_at < now() - make_interval(secs => $2)
             ORDER BY p.created_at LIMIT $3",
            PAYPAL,
            older_than.as_secs_f64(),
            limit
        )
        .fetch_all(&self.pool)
        .await?;
        let mut changed = 0;
        for reference in &open {
            match self.capture_paypal(reference, Cause::Reconciliation).await {
                Ok(PaymentOutcome::Changed(_) | PaymentOutcome::Flagged(_)) => changed += 1,
                Ok(_) => {}
                Err(e @ OrderError::Payment(PaymentError::Unavailable(_))) => return Err(e),
                Err(e) => {
                    tracing::warn!(payment = %reference, error = %e, "could not read a payment from PayPal; left for later");
                }
            }
        }
        Ok((open.len(), changed))
    }
}
