//! What payments do to orders: intents asked once, provider reports applied once, and the
//! jobs that reconcile and expire.
//!
//! Every report about a payment (a webhook, the shopper's browser coming back, the
//! reconciliation job asking Stripe) goes through `record_payment`, which locks the
//! order, moves its payment status only forward (`PaymentStatus::advance`), checks the
//! amount and currency against the order, and writes the change, its payment record and
//! (when it became paid) one `order.paid` event in one transaction. Two reports racing
//! each other therefore serialise on the order's lock: the first moves the status, the
//! second finds nothing to change. One order, paid once, one e-mail.

use super::{OrderError, OrderService, Viewer};
use crate::limits::network_of;
use crate::payments::stripe::{from_stripe, stripe_amount, StripeClient, StripeIntent};
use crate::payments::{PaymentError, PaymentNext, PaymentRequest};
use domain::order::{CardOutcome, OrderAction};
use domain::{Currency, Money, OrderState, OrderStatus, PaymentStatus};
use sqlx::{Postgres, Transaction};
use std::time::Duration;

/// The provider code of Stripe payments in `payments`.
pub(super) const STRIPE: &str = "stripe";

/// Who or what caused a change to an order's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Webhook,
    Shopper,
    Admin,
    Reconciliation,
    System,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Webhook => "webhook",
            Cause::Shopper => "shopper",
            Cause::Admin => "admin",
            Cause::Reconciliation => "reconciliation",
            Cause::System => "system",
        }
    }
}

/// What a provider says about one of its payments.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Whose payment: `stripe` or `paypal`.
    pub provider: &'static str,
    /// The provider's id for the payment (a PaymentIntent id, a PayPal order id).
    pub reference: String,
    /// The provider's own word for the state.
    pub provider_status: String,
    /// The payment status that state means, if it means one (`processing` does not).
    pub target: Option<PaymentStatus>,
    /// In the provider's units (Stripe's table for Stripe; the shop's minor units for
    /// PayPal, read from its decimals; -1 when PayPal's amount could not be read).
    pub amount: i64,
    pub currency: String,
    /// What was actually taken, when the provider says.
    pub received: Option<i64>,
    pub error: Option<String>,
    /// The event it came in (a webhook's event id).
    pub event: Option<String>,
}

impl Observation {
    /// A PaymentIntent as Stripe reports it.
    pub fn from_intent(intent: &StripeIntent, event: Option<&str>) -> Self {
        let error = intent
            .last_payment_error
            .as_ref()
            .and_then(|e| e.message.clone());
        let target = match intent.status.as_str() {
            "succeeded" => Some(PaymentStatus::Paid),
            "requires_capture" => Some(PaymentStatus::Authorised),
            // A cancelled intent voids nothing by itself: the shop voids a payment only by
            // cancelling its order (which cancels the intent first), so an open order is
            // never left voided but open.
            "requires_payment_method" if error.is_some() => Some(PaymentStatus::Failed),
            _ => None,
        };
        Self {
            provider: STRIPE,
            reference: intent.id.clone(),
            provider_status: intent.status.clone(),
            target,
            amount: intent.amount,
            currency: intent.currency.clone(),
            received: intent.amount_received,
            error,
            event: event.map(str::to_owned),
        }
    }
}

/// What `record_payment` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// No order has this payment (another shop's, or a deleted order).
    Unknown,
    /// Nothing to change (a duplicate, or a report older than what is known).
    Unchanged(OrderState),
    Changed(OrderState),
    /// Flagged for review and not applied: the amount or currency does not match the
    /// order, or money was taken on a cancelled order.
    Flagged(String),
}

/// Appends a row to the order's payment records.
#[allow(clippy::too_many_arguments)]
pub(super) async fn record(
    tx: &mut Transaction<'_, Postgres>,
    order_id: i64,
    payment_id: Option<i64>,
    kind: &str,
    amount_minor: i64,
    currency: &str,
    provider_reference: Option<&str>,
    cause: Cause,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payment_records (order_id, payment_id, kind, amount_minor, currency,
             provider_reference, caused_by, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        order_id,
        payment_id,
        kind,
        amount_minor,
        currency.trim(),
        provider_reference,
        cause.as_str(),
        note
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn currency_of(code: &str) -> Currency {
    Currency::parse(code.trim()).unwrap_or(Currency::Usd)
}

impl OrderService {
    fn stripe(&self) -> Result<&StripeClient, OrderError> {
        self.payments
            .stripe()
            .ok_or(OrderError::NotPayable("Card payments are not available."))
    }

    /// Asks the order's provider for its payment, once: an intent already made is
    /// returned as it is. Two calls at once (a double click, a retry while the first is
    /// still waiting for Stripe) wait for each other on the order's lock, so Stripe is
    /// asked once even if it ignored idempotency keys.
    pub(super) async fn start_payment(&self, order_id: i64) -> Result<PaymentNext, OrderError> {
        let (request, provider) = self.payment_request(order_id).await?;
        let Some(processor) = provider.processor() else {
            return Ok(provider.create_intent(&request).await?.next);
        };
        let (_, approve) = self.ensure_intent(&request, provider.as_ref()).await?;
        Ok(match (processor, approve) {
            ("paypal", Some(url)) => PaymentNext::Redirect { url },
            _ => PaymentNext::Card,
        })
    }

    /// What the order's provider is asked for, and the provider.
    async fn payment_request(
        &self,
        order_id: i64,
    ) -> Result<
        (
            PaymentRequest,
            std::sync::Arc<dyn crate::payments::PaymentProvider>,
        ),
        OrderError,
    > {
        let order = sqlx::query!(
            "SELECT number, email, total_minor, currency, payment_method, idempotency_key
             FROM orders WHERE id = $1",
            order_id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(OrderError::NotFound)?;
        let provider = self
            .payments
            .get(&order.payment_method)
            .ok_or(OrderError::NotPayable(
                "This payment method is no longer offered.",
            ))?;
        Ok((
            PaymentRequest {
                order_id,
                order_number: order.number,
                idempotency_key: order.idempotency_key,
                email: order.email,
                total: Money::new(order.total_minor, currency_of(&order.currency)),
            },
            provider,
        ))
    }

    /// The order's payment at its provider (a Stripe PaymentIntent, a PayPal order): its id
    /// and what the shopper's browser needs (Stripe's client secret, PayPal's approval
    /// link), made now if there is none yet (and only while the order is open and unpaid:
    /// checked under the same lock a cancellation takes).
    async fn ensure_intent(
        &self,
        request: &PaymentRequest,
        provider: &dyn crate::payments::PaymentProvider,
    ) -> Result<(String, Option<String>), OrderError> {
        let processor = provider
            .processor()
            .ok_or(OrderError::NotPayable("This order is paid by hand."))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('payment-intent:' || $1::bigint, 0))",
            request.order_id
        )
        .execute(&mut *tx)
        .await?;
        let existing = sqlx::query!(
            "SELECT id, reference, client_secret, provider_status FROM payments WHERE order_id = $1 AND provider = $2",
            request.order_id,
            processor
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = &existing {
            if existing.provider_status != "canceled" {
                return Ok((existing.reference.clone(), existing.client_secret.clone()));
            }
        }
        let payable = sqlx::query_scalar!(
            r#"SELECT order_status = 'open' AND payment_status IN ('pending', 'failed') AS "payable!"
               FROM orders WHERE id = $1"#,
            request.order_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if !payable {
            return Err(OrderError::NotPayable(
                "This order is not awaiting a card payment.",
            ));
        }
        // A cancelled intent (its cancellation went through at Stripe but not here) is
        // replaced by a new one, under a key of its own.
        let mut request = request.clone();
        if existing.is_some() {
            let asked = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM payment_records WHERE order_id = $1 AND kind = 'requested'"#,
                request.order_id
            )
            .fetch_one(&mut *tx)
            .await?;
            request.idempotency_key = format!("{}-{}", request.idempotency_key, asked + 1);
        }
        let request = &request;
        // The one outside call made while holding a lock: bounded by the guard's timeout,
        // and the lock is this order's alone.
        let intent = provider.create_intent(request).await?;
        let reference = intent.reference.ok_or(OrderError::NotPayable(
            "The card payment could not be started.",
        ))?;
        let amount = request.total.amount_minor();
        let currency = request.total.currency().code();
        let payment_id = sqlx::query_scalar!(
            "INSERT INTO payments (order_id, provider, reference, client_secret, currency, amount_minor, provider_status)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (order_id, provider) DO UPDATE SET reference = EXCLUDED.reference,
                 client_secret = EXCLUDED.client_secret, amount_minor = EXCLUDED.amount_minor,
                 provider_status = EXCLUDED.provider_status, authorised_minor = 0, captured_minor = 0,
                 last_error = NULL, updated_at = now()
             RETURNING id",
            request.order_id,
            processor,
            reference,
            intent.client_secret,
            currency,
            amount,
            intent.provider_status
        )
        .fetch_one(&mut *tx)
        .await?;
        record(
            &mut tx,
            request.order_id,
            Some(payment_id),
            "requested",
            amount,
            currency,
            Some(&reference),
            Cause::System,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok((reference, intent.client_secret))
    }

    /// Applies what the provider says about a payment (see the module notes).
    pub async fn record_payment(
        &self,
        seen: &Observation,
        cause: Cause,
    ) -> Result<PaymentOutcome, OrderError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query!(
            "SELECT p.id AS payment_id, p.provider_status, p.captured_minor, o.id, o.number, o.total_minor, o.currency,
                    o.order_status, o.payment_status, o.fulfilment_status, o.payment_method,
                    o.review_reason
             FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE p.provider = $1 AND p.reference = $2
             FOR UPDATE OF o, p",
            seen.provider,
            seen.reference
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(PaymentOutcome::Unknown);
        };
        let state = self.state_of(
            &row.order_status,
            &row.payment_status,
            &row.fulfilment_status,
            &row.payment_method,
            row.review_reason.clone(),
        );
        // The shop cancelled this intent itself: Stripe cannot take money on it any more,
        // so a report saying otherwise is an old one arriving late.
        if row.provider_status == "canceled" && seen.provider_status != "canceled" {
            tx.commit().await?;
            return Ok(PaymentOutcome::Unchanged(state));
        }
        sqlx::query!(
            "UPDATE payments SET provider_status = $2, last_error = COALESCE($3, last_error), updated_at = now()
             WHERE id = $1",
            row.payment_id,
            seen.provider_status,
            seen.error
        )
        .execute(&mut *tx)
        .await?;
        let lapsed = seen.provider_status == "canceled"
            && state.order == OrderStatus::Open
            && state.payment == PaymentStatus::Authorised;
        let Some(target) = seen.target.or(lapsed.then_some(PaymentStatus::Voided)) else {
            tx.commit().await?;
            return Ok(PaymentOutcome::Unchanged(state));
        };
        let currency = currency_of(&row.currency);
        let total = Money::new(row.total_minor, currency);
        // Amounts in the provider's units: Stripe's table, or the shop's own for PayPal.
        let units = |m: Money| {
            if seen.provider == STRIPE {
                stripe_amount(m)
            } else {
                Some(m.amount_minor())
            }
        };
        let system = if seen.provider == STRIPE {
            "Stripe"
        } else {
            "PayPal"
        };
        let expected = units(total);
        let takes_money = matches!(target, PaymentStatus::Paid | PaymentStatus::Authorised);
        let reported_units = seen.received.filter(|r| *r > 0).unwrap_or(seen.amount);
        let reported = if seen.provider == STRIPE {
            from_stripe(reported_units, &seen.currency)
        } else {
            Currency::parse(seen.currency.trim())
                .ok()
                .map(|c| Money::new(reported_units, c))
        };
        // What the shop itself captured of it (a partial capture from the order desk):
        // the provider then reports that much received, which is no mismatch.
        let captured_here = (row.captured_minor > 0)
            .then(|| units(Money::new(row.captured_minor, currency)))
            .flatten();
        let problem = if lapsed {
            Some(
                "Stripe cancelled this order's card authorisation (it may have expired): contact the customer, or cancel the order."
                    .to_owned(),
            )
        } else if !takes_money {
            None
        } else if !seen.currency.eq_ignore_ascii_case(currency.code())
            || Some(seen.amount) != expected
            || (target == PaymentStatus::Paid
                && seen
                    .received
                    .is_some_and(|r| r > 0 && Some(r) != expected && Some(r) != captured_here))
        {
            Some(match reported.filter(|_| seen.provider != STRIPE) {
                Some(m) => format!("{system} reported a payment of {m} for an order of {total}."),
                None => format!(
                    "{system} reported a payment of {} {} for an order of {total}.",
                    reported_units,
                    seen.currency.to_uppercase()
                ),
            })
        } else if state.order == OrderStatus::Cancelled {
            Some(format!(
                "{system} took {total} for this order after it was cancelled: refund it."
            ))
        } else {
            None
        };
        if let Some(reason) = problem {
            if row.review_reason.as_deref() != Some(reason.as_str()) {
                sqlx::query!(
                    "UPDATE orders SET review_reason = $2, review_flagged_at = now(), updated_at = now()
                     WHERE id = $1",
                    row.id,
                    reason
                )
                .execute(&mut *tx)
                .await?;
                record(
                    &mut tx,
                    row.id,
                    Some(row.payment_id),
                    "flagged",
                    reported.map_or(seen.amount, Money::amount_minor),
                    &seen.currency.to_uppercase(),
                    Some(seen.event.as_deref().unwrap_or(&seen.reference)),
                    cause,
                    &reason,
                )
                .await?;
                sqlx::query!(
                    "INSERT INTO event_log (topic, payload) VALUES ('order.flagged', $1)",
                    serde_json::json!({ "order_id": row.id, "number": row.number, "reason": reason })
                )
                .execute(&mut *tx)
                .await?;
                tracing::warn!(order = %row.number, %reason, "order flagged for review");
            }
            tx.commit().await?;
            return Ok(PaymentOutcome::Flagged(reason));
        }
        let Some(next) = state.with_payment(target) else {
            tx.commit().await?;
            return Ok(PaymentOutcome::Unchanged(state));
        };
        sqlx::query!(
            "UPDATE orders SET payment_status = $2, order_status = $3,
                 captured_minor = CASE WHEN $4 THEN total_minor ELSE captured_minor END,
                 updated_at = now()
             WHERE id = $1",
            row.id,
            next.payment.as_str(),
            next.order.as_str(),
            next.payment == PaymentStatus::Paid
        )
        .execute(&mut *tx)
        .await?;
        let (kind, authorised, captured) = match next.payment {
            PaymentStatus::Authorised => ("authorised", row.total_minor, 0),
            PaymentStatus::Paid => ("captured", row.total_minor, row.total_minor),
            PaymentStatus::Voided => ("voided", 0, 0),
            _ => ("failed", 0, 0),
        };
        sqlx::query!(
            "UPDATE payments SET authorised_minor = GREATEST(authorised_minor, $2),
                 captured_minor = GREATEST(captured_minor, $3)
             WHERE id = $1",
            row.payment_id,
            authorised,
            captured
        )
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            row.id,
            Some(row.payment_id),
            kind,
            if kind == "failed" || kind == "voided" {
                0
            } else {
                row.total_minor
            },
            &row.currency,
            Some(seen.event.as_deref().unwrap_or(&seen.reference)),
            cause,
            seen.error.as_deref().unwrap_or(""),
        )
        .await?;
        if next.payment == PaymentStatus::Paid || next.payment == PaymentStatus::Authorised {
            let topic = if next.payment == PaymentStatus::Paid {
                "order.paid"
            } else {
                "order.authorised"
            };
            sqlx::query!(
                "INSERT INTO event_log (topic, payload) VALUES ($1, $2)",
                topic,
                serde_json::json!({ "order_id": row.id, "number": row.number, "cause": cause.as_str() })
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PaymentOutcome::Changed(next))
    }

    /// The order's Stripe payment: its PaymentIntent id and client secret.
    async fn card_payment(
        &self,
        number: &str,
    ) -> Result<Option<(String, Option<String>)>, OrderError> {
        Ok(sqlx::query!(
            "SELECT p.reference, p.client_secret FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE o.number = $1 AND p.provider = $2",
            number,
            STRIPE
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|r| (r.reference, r.client_secret)))
    }

    /// While a card order is being cancelled (under its lock): its PaymentIntent is
    /// cancelled at Stripe (an authorisation is released), so the shopper can no longer
    /// pay it. Returns what Stripe says if the money moved after all (to be recorded; the
    /// order is then refunded, not cancelled).
    pub(super) async fn void_card_payment(
        &self,
        reference: &str,
    ) -> Result<Option<Observation>, OrderError> {
        let stripe = self.stripe()?;
        let intent = match stripe.cancel_intent(reference).await {
            Ok(intent) => intent,
            // Stripe refuses to cancel an intent that succeeded or was cancelled already.
            Err(PaymentError::Rejected(_)) => stripe.retrieve_intent(reference).await?,
            Err(e) => return Err(e.into()),
        };
        match intent.status.as_str() {
            "canceled" => Ok(None),
            "succeeded" => Ok(Some(Observation::from_intent(&intent, None))),
            "processing" => Err(OrderError::NotPayable(
                "Stripe is still processing this order's card payment. Please try again in a minute.",
            )),
            _ => Err(PaymentError::Rejected(format!(
                "Stripe would not cancel a payment that is {}",
                intent.status
            ))
            .into()),
        }
    }

    /// Before an order with an authorised card ships: the payment is captured at Stripe
    /// and recorded (manual capture). Nothing to do for any other order.
    pub(super) async fn capture_card_payment(&self, number: &str) -> Result<(), OrderError> {
        let authorised = sqlx::query_scalar!(
            "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE o.number = $1 AND p.provider = $2 AND o.payment_status = 'authorised'
               AND o.order_status = 'open'",
            number,
            STRIPE
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(reference) = authorised else {
            return Ok(());
        };
        let stripe = self.stripe()?;
        let intent = match stripe.capture_intent(&reference, None).await {
            Ok(intent) => intent,
            // Captured already (a retried click): what Stripe says now.
            Err(PaymentError::Rejected(_)) => stripe.retrieve_intent(&reference).await?,
            Err(e) => return Err(e.into()),
        };
        self.record_payment(&Observation::from_intent(&intent, None), Cause::Admin)
            .await?;
        if intent.status == "succeeded" {
            Ok(())
        } else {
            Err(OrderError::NotPayable(
                "Stripe did not capture this payment; the order was not shipped.",
            ))
        }
    }

    /// The shopper pays a card order with the card Stripe.js read (a PaymentMethod id).
    /// Attempts count against the checkout throttles, so the page cannot be used to test
    /// stolen cards. A declined card leaves the order waiting for another one, on the
    /// same PaymentIntent.
    pub async fn pay_by_card(
        &self,
        number: &str,
        viewer: &Viewer,
        payment_method: &str,
        owner: &str,
        client_ip: &str,
    ) -> Result<CardOutcome, OrderError> {
        let order = self.view(number, viewer).await?;
        let stripe = self.stripe()?.clone();
        if !StripeClient::is_payment_method(payment_method.trim()) {
            return Err(OrderError::Invalid(vec![domain::FieldError::new(
                "card",
                "The card details could not be read. Please enter them again.",
            )]));
        }
        if order.card_form.is_none() {
            return Err(OrderError::NotPayable(
                "This order is not awaiting a card payment.",
            ));
        }
        let limits = &self.limits;
        self.limiter
            .hit(
                &format!("checkout:net:{}", network_of(client_ip)),
                limits.per_network,
            )
            .await?;
        self.limiter
            .hit(&format!("checkout:owner:{owner}"), limits.per_session)
            .await?;
        let order_id = self.order_id(&order.number).await?;
        let (request, provider) = self.payment_request(order_id).await?;
        let (reference, _) = self.ensure_intent(&request, provider.as_ref()).await?;
        match stripe.pay_with(&reference, payment_method).await {
            Ok(intent) => {
                self.record_payment(&Observation::from_intent(&intent, None), Cause::Shopper)
                    .await?;
                match intent.status.as_str() {
                    "succeeded" | "requires_capture" => Ok(CardOutcome::Done {
                        label: self
                            .view(&order.number, &Viewer::System)
                            .await?
                            .state
                            .label()
                            .into(),
                    }),
                    "requires_action" => match intent.client_secret {
                        Some(client_secret) => Ok(CardOutcome::NeedsAction { client_secret }),
                        None => Err(PaymentError::Rejected("no client secret".into()).into()),
                    },
                    "processing" => Ok(CardOutcome::Processing),
                    _ => Err(PaymentError::Declined(
                        intent
                            .last_payment_error
                            .and_then(|e| e.message)
                            .unwrap_or_else(|| "The card was not accepted.".into()),
                    )
                    .into()),
                }
            }
            Err(PaymentError::Declined(reason)) => {
                // What Stripe now says about the intent: failed, waiting for another card.
                match stripe.retrieve_intent(&reference).await {
                    Ok(intent) => {
                        let mut seen = Observation::from_intent(&intent, None);
                        if seen.target.is_none() && intent.status == "requires_payment_method" {
                            seen.target = Some(PaymentStatus::Failed);
                            seen.error = Some(reason.clone());
                        }
                        self.record_payment(&seen, Cause::Shopper).await?;
                    }
                    Err(e) => {
                        tracing::warn!(order = %order.number, error = %e, "could not read back a declined intent")
                    }
                }
                Err(PaymentError::Declined(reason).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The shopper's browser came back from paying (or from 3-D Secure): what Stripe says
    /// now is recorded, racing the webhook harmlessly.
    pub async fn refresh_card_payment(
        &self,
        number: &str,
        viewer: &Viewer,
    ) -> Result<OrderState, OrderError> {
        let order = self.view(number, viewer).await?;
        let Some((reference, _)) = self.card_payment(&order.number).await? else {
            return Ok(order.state);
        };
        // Reloading the page must not hammer Stripe (and open the breaker for everyone):
        // past a few asks a minute per order, the page shows what is known.
        let asked = self
            .limiter
            .hit(
                &format!("card-refresh:{}", order.number),
                crate::limits::Rate::per_minute(10),
            )
            .await;
        if asked.is_err() {
            return Ok(order.state);
        }
        let intent = self.stripe()?.retrieve_intent(&reference).await?;
        match self
            .record_payment(&Observation::from_intent(&intent, None), Cause::Shopper)
            .await?
        {
            PaymentOutcome::Changed(state) | PaymentOutcome::Unchanged(state) => Ok(state),
            PaymentOutcome::Unknown | PaymentOutcome::Flagged(_) => {
                Ok(self.view(&order.number, &Viewer::System).await?.state)
            }
        }
    }

    async fn order_id(&self, number: &str) -> Result<i64, OrderError> {
        sqlx::query_scalar!("SELECT id FROM orders WHERE number = $1", number)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(OrderError::NotFound)
    }

    /// Asks Stripe about one payment and records what it says (a reconciliation).
    /// `None`: Stripe refused to tell about this one (logged; the caller goes on with the
    /// others). Stripe being down is an error: the job's next run tries again.
    async fn reconcile_one(
        &self,
        stripe: &StripeClient,
        reference: &str,
    ) -> Result<Option<PaymentOutcome>, OrderError> {
        let intent = match stripe.retrieve_intent(reference).await {
            Ok(intent) => intent,
            Err(e @ PaymentError::Unavailable(_)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(payment = %reference, error = %e, "could not read a payment from Stripe; left for later");
                return Ok(None);
            }
        };
        Ok(Some(
            self.record_payment(
                &Observation::from_intent(&intent, None),
                Cause::Reconciliation,
            )
            .await?,
        ))
    }

    /// Asks Stripe about card payments still open after `older_than`, so a lost webhook
    /// never leaves a paid order unpaid. Returns (asked, changed).
    pub async fn reconcile_payments(
        &self,
        older_than: Duration,
        limit: i64,
    ) -> Result<(usize, usize), OrderError> {
        let Some(stripe) = self.payments.stripe() else {
            return Ok((0, 0));
        };
        let open = sqlx::query_scalar!(
            "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE p.provider = $1 AND p.provider_status NOT IN ('succeeded', 'canceled')
                              AND o.order_status = 'open' AND o.payment_status IN ('pending', 'failed', 'authorised')
               AND o.review_reason IS NULL
               AND p.created_at < now() - make_interval(secs => $2)
             ORDER BY p.created_at LIMIT $3",
            STRIPE,
            older_than.as_secs_f64(),
            limit
        )
        .fetch_all(&self.pool)
        .await?;
        let mut changed = 0;
        for reference in &open {
            let Some(outcome) = self.reconcile_one(stripe, reference).await? else {
                continue;
            };
            if matches!(
                outcome,
                PaymentOutcome::Changed(_) | PaymentOutcome::Flagged(_)
            ) {
                tracing::info!(payment = %reference, ?outcome, "reconciliation found a change Stripe had not told us");
                changed += 1;
            }
        }
        Ok((open.len(), changed))
    }

    /// Cancels (and restocks) open unpaid orders older than their method's time to pay,
    /// e-mailing each customer once. A card order is first checked with Stripe: one that
    /// was paid after all is recorded as paid instead. Returns how many were cancelled.
    pub async fn expire_unpaid(&self, limit: i64) -> Result<usize, OrderError> {
        let mut cancelled = 0;
        for provider in self.payments.all() {
            let Some(after) = provider.expires_after() else {
                continue;
            };
            let due = sqlx::query_scalar!(
                "SELECT number FROM orders
                                  WHERE order_status = 'open' AND payment_status IN ('pending', 'failed')
                   AND review_reason IS NULL
                   AND payment_method = $1 AND created_at < now() - make_interval(secs => $2)
                 ORDER BY created_at LIMIT $3",
                provider.code(),
                after.as_secs_f64(),
                limit
            )
            .fetch_all(&self.pool)
            .await?;
            for number in due {
                if provider.stripe().is_some() {
                    if let Some((reference, _)) = self.card_payment(&number).await? {
                        let Some(outcome) = self.reconcile_one(self.stripe()?, &reference).await?
                        else {
                            continue;
                        };
                        // Paid after all, or flagged for staff: not expired.
                        let settled = matches!(&outcome, PaymentOutcome::Changed(s) if !s.payment.is_unpaid());
                        if settled || matches!(outcome, PaymentOutcome::Flagged(_)) {
                            continue;
                        }
                    }
                }
                if provider.paypal().is_some() {
                    // Approved at PayPal after all: captured now, not expired.
                    let reference = sqlx::query_scalar!(
                        "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id
                         WHERE o.number = $1 AND p.provider = 'paypal'",
                        number
                    )
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some(reference) = reference {
                        match self.capture_paypal(&reference, Cause::Reconciliation).await {
                            Ok(PaymentOutcome::Changed(s)) if !s.payment.is_unpaid() => continue,
                            Ok(PaymentOutcome::Flagged(_)) => continue,
                            Ok(_) => {}
                            Err(e @ OrderError::Payment(PaymentError::Unavailable(_))) => {
                                return Err(e)
                            }
                            // PayPal has no such order any more (it lapsed there too).
                            Err(e) => {
                                tracing::warn!(order = %number, error = %e, "PayPal could not tell about an expiring order; cancelling it");
                            }
                        }
                    }
                }
                match self
                    .transition_from(
                        &number,
                        OrderAction::Cancel,
                        true,
                        Some("expired"),
                        Cause::System,
                        None,
                    )
                    .await
                {
                    Ok(_) => cancelled += 1,
                    // Paid or cancelled meanwhile, or its card payment went through.
                    Err(OrderError::Transition(_) | OrderError::RefundFirst) => {}
                    Err(e @ OrderError::Payment(PaymentError::Unavailable(_))) => return Err(e),
                    Err(e) => {
                        tracing::warn!(order = %number, error = %e, "could not expire an order; left for later");
                    }
                }
            }
        }
        Ok(cancelled)
    }
}

/// The scheduled job that asks Stripe about card payments no webhook settled.
pub struct ReconcileJob {
    pub orders: OrderService,
    /// Payments younger than this are left to their webhook.
    pub older_than: Duration,
    pub every: Duration,
}

#[async_trait::async_trait]
impl crate::jobs::Job for ReconcileJob {
    fn name(&self) -> &'static str {
        "payments.reconcile"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn run(&self) -> Result<String, String> {
        let (asked, changed) = self
            .orders
            .reconcile_payments(self.older_than, 200)
            .await
            .map_err(|e| e.to_string())?;
        let (paypal_asked, paypal_changed) = self
            .orders
            .reconcile_paypal(self.older_than, 200)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "asked Stripe about {asked} payment(s), {changed} had changed; asked PayPal about {paypal_asked}, {paypal_changed} had changed"
        ))
    }
}

/// The scheduled job that cancels unpaid orders whose time to pay ran out.
pub struct ExpiryJob {
    pub orders: OrderService,
    pub every: Duration,
}

#[async_trait::async_trait]
impl crate::jobs::Job for ExpiryJob {
    fn name(&self) -> &'static str {
        "orders.expire-unpaid"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn run(&self) -> Result<String, String> {
        let n = self
            .orders
            .expire_unpaid(200)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("cancelled {n} unpaid order(s)"))
    }
}

/// Why a webhook delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("This payment provider is not configured here.")]
    NotConfigured,
    /// The provider did not confirm the delivery (PayPal's verification said no).
    #[error("{0}")]
    Unverified(&'static str),
    /// The provider could not be asked to verify it (try again later).
    #[error("{0}")]
    Provider(crate::payments::PaymentError),
    #[error("{0}")]
    Signature(#[from] crate::payments::webhook::SignatureError),
    #[error("{0}")]
    Store(#[from] crate::payments::webhook::StoreError),
}

impl OrderService {
    /// A webhook delivery from Stripe: its signature is checked over the raw body, then
    /// the event is stored once and its work queued for the event worker (the endpoint
    /// answers at once; Stripe only needs to know the event is safe with us).
    pub async fn accept_stripe_event(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<crate::payments::webhook::Stored, WebhookError> {
        let stripe = self.payments.stripe().ok_or(WebhookError::NotConfigured)?;
        crate::payments::webhook::verify(
            signature,
            body,
            &stripe.settings().webhook_secrets,
            chrono::Utc::now().timestamp(),
        )?;
        Ok(crate::payments::webhook::store(&self.pool, body).await?)
    }
}
