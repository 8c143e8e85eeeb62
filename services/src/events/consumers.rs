//! Consumers of the event log.

use super::{Consumer, Event};
use crate::notifications::{templates, Mailer};
use crate::orders::{OrderService, Viewer};
use async_trait::async_trait;

/// The id named `field` in the event's payload.
fn id_in(event: &Event, field: &str) -> Result<i64, String> {
    event
        .payload
        .get(field)
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| format!("the event has no {field}"))
}

/// E-mails the order confirmation when an order is placed. Idempotent: the message has a
/// fixed id per order (the outbox file name, the SMTP Message-ID), so a redelivery
/// rewrites the same file rather than adding a second one.
pub struct OrderConfirmationEmail {
    pub orders: OrderService,
    pub mailer: Mailer,
    pub shop_name: String,
    pub public_url: String,
}

#[async_trait]
impl Consumer for OrderConfirmationEmail {
    fn name(&self) -> &'static str {
        "order-confirmation-email"
    }

    fn wants(&self, topic: &str) -> bool {
        topic == "order.placed"
    }

    async fn handle(&self, event: &Event) -> Result<(), String> {
        let order_id = id_in(event, "order_id")?;
        let (number, email) = self
            .orders
            .contact(order_id)
            .await
            .map_err(|e| e.to_string())?;
        let order = self
            .orders
            .view(
                &number,
                &Viewer::Guest {
                    email: email.clone(),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let link = format!("{}{}", self.public_url, self.orders.link(&number));
        let message = templates::order_confirmation(&self.shop_name, &link, &order);
        let id = format!("order-{number}-confirmation");
        self.mailer
            .send_as(&message, &id)
            .await
            .map_err(|e| e.to_string())?;
        self.orders
            .record_email(order_id, &id, &message.subject)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Keeps the search index in step with the catalog: every `product.changed` event
/// refreshes that product's document (or removes it when it is gone or unpublished).
/// Idempotent: refreshing twice writes the same document.
pub struct SearchIndexer {
    pub search: crate::search::SearchService,
}

#[async_trait]
impl Consumer for SearchIndexer {
    fn name(&self) -> &'static str {
        "search-indexer"
    }

    fn wants(&self, topic: &str) -> bool {
        topic == "product.changed"
    }

    async fn handle(&self, event: &Event) -> Result<(), String> {
        let product_id = id_in(event, "product_id")?;
        self.search
            .refresh(&[product_id])
            .await
            .map_err(|e| e.to_string())
    }
}

/// Sends the accounts' security e-mails from the event log: reset links, "password
/// changed" and "e-mail changed" notices. Idempotent: each message has a fixed id per
/// event, and a redelivered reset event replaces its link rather than adding one.
pub struct SecurityEmails {
    pub auth: crate::auth::AuthService,
    pub mailer: Mailer,
}

#[async_trait]
impl Consumer for SecurityEmails {
    fn name(&self) -> &'static str {
        "security-emails"
    }

    fn wants(&self, topic: &str) -> bool {
        matches!(
            topic,
            "account.reset_requested"
                | "account.password_changed"
                | "account.email_changed"
                | "account.registration"
                | "account.registration_existing"
                | "staff.invited"
        )
    }

    async fn handle(&self, event: &Event) -> Result<(), String> {
        let message = if event.topic == "account.reset_requested" {
            // No account behind the address: nothing to send.
            let Some(user_id) = event
                .payload
                .get("user_id")
                .and_then(serde_json::Value::as_i64)
            else {
                return Ok(());
            };
            self.auth
                .reset_email(event.id, user_id)
                .await
                .map_err(|e| e.to_string())?
        } else if event.topic == "staff.invited" {
            self.auth
                .invite_email(&event.payload)
                .await
                .map_err(|e| e.to_string())?
        } else if event.topic.starts_with("account.registration") {
            self.auth
                .registration_email(&event.topic, &event.payload)
                .await
                .map_err(|e| e.to_string())?
        } else {
            self.auth.security_notice(&event.topic, &event.payload)
        };
        let Some(message) = message else {
            return Ok(());
        };
        self.mailer
            .send_as(&message, &format!("security-{}", event.id))
            .await
            .map_err(|e| e.to_string())
    }
}

/// The e-mails an order's payment life sends: "payment received" when it becomes paid
/// (once, whichever report came first: only that transition writes `order.paid`),
/// "cancelled" when an unpaid order expired or staff cancelled it, and "refunded" for
/// each refund. Idempotent: fixed message ids per order (and refund).
pub struct OrderPaymentEmails {
    pub orders: OrderService,
    pub mailer: Mailer,
    pub shop_name: String,
    pub public_url: String,
}

#[async_trait]
impl Consumer for OrderPaymentEmails {
    fn name(&self) -> &'static str {
        "order-payment-emails"
    }

    fn wants(&self, topic: &str) -> bool {
        matches!(topic, "order.paid" | "order.cancelled" | "order.refunded")
    }

    async fn handle(&self, event: &Event) -> Result<(), String> {
        let text = |field: &str| event.payload.get(field).and_then(serde_json::Value::as_str);
        let expired = text("reason") == Some("expired");
        let by_staff = text("cause") == Some("admin");
        // A shopper who cancelled their own unpaid order saw it happen.
        if event.topic == "order.cancelled" && !expired && !by_staff {
            return Ok(());
        }
        let order_id = id_in(event, "order_id")?;
        let (number, _) = self
            .orders
            .contact(order_id)
            .await
            .map_err(|e| e.to_string())?;
        let order = self
            .orders
            .view(&number, &Viewer::System)
            .await
            .map_err(|e| e.to_string())?;
        let link = format!("{}{}", self.public_url, self.orders.link(&number));
        let (message, id) = if event.topic == "order.refunded" {
            let refund_id = id_in(event, "refund_id")?;
            let (amount, to) = self
                .orders
                .refund_amount(refund_id)
                .await
                .map_err(|e| e.to_string())?;
            (
                templates::refund_issued(&self.shop_name, &link, &order, amount, to),
                format!("order-{number}-refund-{refund_id}"),
            )
        } else if event.topic == "order.cancelled" && !expired {
            (
                templates::order_cancelled(&self.shop_name, &link, &order),
                format!("order-{number}-cancelled"),
            )
        } else if expired {
            (
                templates::order_expired(&self.shop_name, &link, &order),
                format!("order-{number}-expired"),
            )
        } else {
            (
                templates::payment_received(&self.shop_name, &link, &order),
                format!("order-{number}-paid"),
            )
        };
        self.mailer
            .send_as(&message, &id)
            .await
            .map_err(|e| e.to_string())?;
        self.orders
            .record_email(order_id, &id, &message.subject)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Applies Stripe's events (stored once each by the webhook endpoint) to the orders they
/// are about. Safe to run twice: `record_payment` only moves a payment forward.
pub struct StripeEvents {
    pub orders: OrderService,
    pub pool: sqlx::PgPool,
}

#[async_trait]
impl Consumer for StripeEvents {
    fn name(&self) -> &'static str {
        "stripe-events"
    }

    fn wants(&self, topic: &str) -> bool {
        topic == "stripe.event"
    }

    async fn handle(&self, event: &Event) -> Result<(), String> {
        let id = event
            .payload
            .get("stripe_event")
            .and_then(serde_json::Value::as_str)
            .ok_or("the event has no stripe_event")?;
        let Some(stripe_event) = crate::payments::webhook::load(&self.pool, id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        if !stripe_event.kind.starts_with("payment_intent.") {
            // Refund events and the rest: the order desk issue reads them.
            return Ok(());
        }
        let intent: crate::payments::stripe::StripeIntent = match serde_json::from_value(
            stripe_event.data.object,
        ) {
            Ok(intent) => intent,
            Err(e) => {
                tracing::warn!(event = id, error = %e, "a Stripe event without a readable PaymentIntent");
                return Ok(());
            }
        };
        let seen = crate::orders::Observation::from_intent(&intent, Some(id));
        let outcome = self
            .orders
            .record_payment(&seen, crate::orders::Cause::Webhook)
            .await
            .map_err(|e| e.to_string())?;
        tracing::debug!(event = id, kind = %stripe_event.kind, ?outcome, "Stripe event applied");
        Ok(())
    }
}

/// Applies PayPal's events (stored once each by the webhook endpoint) to the orders they
/// are about. Safe to run twice: `record_payment` only moves a payment forward, and a
/// capture carries PayPal's request id.
pub struct PayPalEvents {
    pub orders: OrderService,
}

#[async_trait]
impl Consumer for PayPalEvents {
    fn name(&self) -> &'static str {
        "paypal-events"
    }

    fn wants(&self, topic: &str) -> bool {
        topic == "paypal.event"
    }

    async fn handle(&self, event: &Event) -> Result<(), String> {
        let id = event
            .payload
            .get("paypal_event")
            .and_then(serde_json::Value::as_str)
            .ok_or("the event has no paypal_event")?;
        match self.orders.apply_paypal_event(id).await {
            Ok(()) => Ok(()),
            // PayPal or the database is down: the worker tries again later.
            Err(
                e @ (crate::orders::OrderError::Payment(
                    crate::payments::PaymentError::Unavailable(_),
                )
                | crate::orders::OrderError::Database(_)),
            ) => Err(e.to_string()),
            Err(e) => {
                tracing::warn!(event = id, error = %e, "a PayPal event could not be applied; left as it is");
                Ok(())
            }
        }
    }
}
