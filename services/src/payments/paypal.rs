//! PayPal by its Orders v2 API: the shop creates a PayPal order for the order's total, the
//! shopper approves it on PayPal (a redirect), the shop captures it when they come back
//! (or when PayPal's webhook says it was approved), and refunds go to the capture. Webhooks
//! are verified as PayPal documents it: by asking PayPal's
//! `/v1/notifications/verify-webhook-signature` with the delivery's transmission headers,
//! the configured webhook id and the event itself.
//!
//! A thin client of our own on reqwest (rustls), as for Stripe: five calls, only the
//! fields the shop reads. Every call goes through the shared `resilience::Guard` (timeout
//! and circuit breaker) and every call that creates something carries a `PayPal-Request-Id`
//! derived from the order or the refund, so a retry never pays or refunds twice.
//!
//! Switched on by `PAYPAL_CLIENT_ID`, `PAYPAL_SECRET` and `PAYPAL_WEBHOOK_ID`. No PayPal
//! server can run on a development machine: the tests run this client against a local
//! stand-in that speaks the same requests and answers (`server/tests/api/paypal_standin.rs`).

use super::{PaymentError, PaymentIntent, PaymentNext, PaymentProvider, PaymentRequest};
use crate::resilience::{Guard, GuardSettings, OutsideError};
use async_trait::async_trait;
use domain::{Money, PaymentOption};
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// PayPal's settings (`PAYPAL_*`).
#[derive(Clone)]
pub struct PayPalSettings {
    pub client_id: String,
    /// A secret: never logged.
    pub secret: String,
    /// The id PayPal gave the shop's webhook (verification names it).
    pub webhook_id: String,
    /// `https://api-m.paypal.com`, `https://api-m.sandbox.paypal.com`, or a stand-in.
    pub api_url: String,
    /// The shop's own address, for PayPal's return and cancel links.
    pub public_url: String,
    /// Unpaid PayPal orders are cancelled after this long.
    pub expires_after: Duration,
    pub guard: GuardSettings,
}

impl fmt::Debug for PayPalSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalSettings")
            .field("client_id", &self.client_id)
            .field("secret", &"***")
            .field("webhook_id", &self.webhook_id)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// A PayPal order as far as the shop reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct PayPalOrder {
    pub id: String,
    /// `CREATED`, `PAYER_ACTION_REQUIRED`, `APPROVED`, `COMPLETED`, `VOIDED`.
    pub status: String,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub purchase_units: Vec<PurchaseUnit>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub href: String,
    pub rel: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PurchaseUnit {
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub amount: Option<Amount>,
    #[serde(default)]
    pub payments: Option<UnitPayments>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UnitPayments {
    #[serde(default)]
    pub captures: Vec<Capture>,
}

/// A capture (money taken), as PayPal reports it in an order or in a webhook.
#[derive(Debug, Clone, Deserialize)]
pub struct Capture {
    pub id: String,
    /// `COMPLETED`, `PENDING`, `DECLINED`, `REFUNDED`, `PARTIALLY_REFUNDED`, `FAILED`.
    pub status: String,
    pub amount: Amount,
}

/// PayPal's money: a currency code and a decimal string in major units.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct Amount {
    pub currency_code: String,
    pub value: String,
}

impl Amount {
    pub fn of(money: Money) -> Self {
        Self {
            currency_code: money.currency().code().to_owned(),
            // "12.34", "12.30", "10" (whole amounts may leave out their decimals), "1500".
            value: money.to_major_string(),
        }
    }

    /// In our minor units, if the currency is one the shop knows and the value is exact.
    pub fn money(&self) -> Option<Money> {
        let currency = domain::Currency::parse(&self.currency_code).ok()?;
        Money::parse_major(&self.value, currency).ok()
    }
}

impl PayPalOrder {
    /// Where the shopper approves the payment.
    pub fn approve_url(&self) -> Option<&str> {
        self.links
            .iter()
            .find(|l| l.rel == "approve" || l.rel == "payer-action")
            .map(|l| l.href.as_str())
    }

    /// The first capture of the order, once it is captured.
    pub fn capture(&self) -> Option<&Capture> {
        self.purchase_units
            .iter()
            .filter_map(|u| u.payments.as_ref())
            .flat_map(|p| p.captures.iter())
            .next()
    }
}

/// A refund as PayPal answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct PayPalRefund {
    pub id: String,
    /// `COMPLETED`, `PENDING`, `CANCELLED`, `FAILED`.
    pub status: String,
}

/// What a webhook delivery carries besides its body (PayPal's transmission headers).
#[derive(Debug, Clone, Default)]
pub struct Transmission {
    pub auth_algo: String,
    pub cert_url: String,
    pub transmission_id: String,
    pub transmission_sig: String,
    pub transmission_time: String,
}

struct Reply {
    status: u16,
    body: serde_json::Value,
}

/// The client; cheap to clone (clones share the connection pool, the token and the
/// breaker).
#[derive(Clone)]
pub struct PayPalClient {
    http: reqwest::Client,
    settings: Arc<PayPalSettings>,
    guard: Guard<Reply>,
    /// The OAuth access token and when it stops being good.
    token: Arc<Mutex<Option<(String, Instant)>>>,
}

impl PayPalClient {
    pub fn new(settings: PayPalSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(5).min(settings.guard.timeout))
            .timeout(settings.guard.timeout)
            .build()
            .map_err(|e| format!("building the PayPal client: {e}"))?;
        Ok(Self {
            http,
            guard: Guard::new("PayPal", &settings.guard),
            settings: Arc::new(settings),
            token: Arc::new(Mutex::new(None)),
        })
    }

    pub fn settings(&self) -> &PayPalSettings {
        &self.settings
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_url.trim_end_matches('/'))
    }

    async fn guarded(&self, request: reqwest::RequestBuilder) -> Result<Reply, PaymentError> {
        let down = |reason: String| OutsideError::Unavailable {
            system: "PayPal",
            reason,
        };
        Ok(self
            .guard
            .call(async move {
                let response = request
                    .send()
                    .await
                    .map_err(|e| down(e.without_url().to_string()))?;
                let status = response.status().as_u16();
                if status >= 500 {
                    return Err(down(format!("HTTP {status}")));
                }
                let body = if status == 204 {
                    serde_json::Value::Null
                } else {
                    response
                        .json::<serde_json::Value>()
                        .await
                        .map_err(|e| down(format!("unreadable answer: {}", e.without_url())))?
                };
                Ok(Reply { status, body })
            })
            .await?)
    }

    /// An OAuth access token (client credentials), kept until a minute before it expires.
    async fn access_token(&self) -> Result<String, PaymentError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let reply = self
            .guarded(
                self.http
                    .post(self.url("/v1/oauth2/token"))
                    .basic_auth(&self.settings.client_id, Some(&self.settings.secret))
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await?;
        if reply.status != 200 {
            tracing::warn!(
                status = reply.status,
                "PayPal refused the shop's credentials"
            );
            return Err(PaymentError::Rejected(
                "PayPal refused the shop's credentials".into(),
            ));
        }
        let token = reply.body["access_token"]
            .as_str()
            .ok_or_else(|| PaymentError::Rejected("PayPal sent no access token".into()))?
            .to_owned();
        let lasts = reply.body["expires_in"].as_u64().unwrap_or(300);
        *cached = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lasts.saturating_sub(60).max(30)),
        ));
        Ok(token)
    }

    /// A call with the token; `request_id` is PayPal's idempotency key.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        request_id: Option<String>,
    ) -> Result<serde_json::Value, PaymentError> {
        let token = self.access_token().await?;
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("Prefer", "return=representation");
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(id) = request_id {
            request = request.header("PayPal-Request-Id", id);
        }
        let reply = self.guarded(request).await?;
        if (200..300).contains(&reply.status) {
            return Ok(reply.body);
        }
        if reply.status == 401 {
            // The token was revoked or expired early: the next call asks for a new one.
            *self.token.lock().await = None;
        }
        if reply.status == 429 {
            return Err(PaymentError::Unavailable("PayPal rate limit".into()));
        }
        let issue = reply.body["details"][0]["issue"]
            .as_str()
            .or_else(|| reply.body["name"].as_str())
            .unwrap_or("")
            .to_owned();
        let message = reply.body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {}", reply.status));
        tracing::warn!(status = reply.status, path, %issue, "PayPal refused a request");
        if reply.status == 422
            && matches!(
                issue.as_str(),
                "INSTRUMENT_DECLINED" | "PAYER_ACTION_REQUIRED" | "TRANSACTION_REFUSED"
            )
        {
            Err(PaymentError::Declined(
                "PayPal declined the payment. Please choose another way to pay in PayPal.".into(),
            ))
        } else if issue == "ORDER_ALREADY_CAPTURED" {
            Err(PaymentError::Rejected("ORDER_ALREADY_CAPTURED".into()))
        } else {
            Err(PaymentError::Rejected(message))
        }
    }

    fn order(body: serde_json::Value) -> Result<PayPalOrder, PaymentError> {
        serde_json::from_value(body)
            .map_err(|e| PaymentError::Rejected(format!("unexpected PayPal order: {e}")))
    }

    /// Creates the PayPal order for the order's total; the shopper approves it on PayPal
    /// and comes back to the order's return address.
    pub async fn create_order(
        &self,
        request: &PaymentRequest,
    ) -> Result<PayPalOrder, PaymentError> {
        let base = self.settings.public_url.trim_end_matches('/');
        let body = serde_json::json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": request.order_number,
                "custom_id": request.order_id.to_string(),
                "invoice_id": request.order_number,
                "amount": Amount::of(request.total),
            }],
            "application_context": {
                "return_url": format!("{base}/order/{}/paypal", request.order_number),
                "cancel_url": format!("{base}/order/{}", request.order_number),
                "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING",
            },
        });
        let body = self
            .send(
                reqwest::Method::POST,
                "/v2/checkout/orders",
                Some(body),
                Some(format!("emporium-{}-order", request.idempotency_key)),
            )
            .await?;
        Self::order(body)
    }

    pub async fn get_order(&self, id: &str) -> Result<PayPalOrder, PaymentError> {
        let body = self
            .send(
                reqwest::Method::GET,
                &format!("/v2/checkout/orders/{}", path_segment(id)?),
                None,
                None,
            )
            .await?;
        Self::order(body)
    }

    /// Captures an approved order (once: the request id is the order's).
    pub async fn capture_order(&self, id: &str) -> Result<PayPalOrder, PaymentError> {
        let id = path_segment(id)?;
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/v2/checkout/orders/{id}/capture"),
                Some(serde_json::json!({})),
                Some(format!("emporium-{id}-capture")),
            )
            .await?;
        Self::order(body)
    }

    /// Refunds `amount` of a capture; the key is the refund's own.
    pub async fn refund_capture(
        &self,
        capture_id: &str,
        amount: Money,
        key: &str,
        order_number: &str,
    ) -> Result<PayPalRefund, PaymentError> {
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/v2/payments/captures/{}/refund", path_segment(capture_id)?),
                Some(serde_json::json!({
                    "amount": Amount::of(amount),
                    "invoice_id": order_number,
                })),
                Some(format!("emporium-refund-{key}")),
            )
            .await?;
        serde_json::from_value(body)
            .map_err(|e| PaymentError::Rejected(format!("unexpected PayPal refund: {e}")))
    }

    /// Asks PayPal whether a webhook delivery is genuine (its documented verification:
    /// the transmission headers, the shop's webhook id and the event as received).
    pub async fn verify_webhook(
        &self,
        transmission: &Transmission,
        event: &serde_json::Value,
    ) -> Result<bool, PaymentError> {
        let body = self
            .send(
                reqwest::Method::POST,
                "/v1/notifications/verify-webhook-signature",
                Some(serde_json::json!({
                    "auth_algo": transmission.auth_algo,
                    "cert_url": transmission.cert_url,
                    "transmission_id": transmission.transmission_id,
                    "transmission_sig": transmission.transmission_sig,
                    "transmission_time": transmission.transmission_time,
                    "webhook_id": self.settings.webhook_id,
                    "webhook_event": event,
                })),
                None,
            )
            .await?;
        Ok(body["verification_status"].as_str() == Some("SUCCESS"))
    }
}

/// An id that is safe in a URL path (PayPal's ids are capital letters and digits).
fn path_segment(id: &str) -> Result<&str, PaymentError> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(id)
    } else {
        Err(PaymentError::Rejected("malformed PayPal id".into()))
    }
}

/// The PayPal method.
pub struct PayPal {
    pub client: PayPalClient,
}

#[async_trait]
impl PaymentProvider for PayPal {
    fn code(&self) -> &'static str {
        "paypal"
    }

    fn option(&self) -> PaymentOption {
        PaymentOption {
            code: self.code().into(),
            name: "PayPal".into(),
            description: "Pay with your PayPal account; you approve it on PayPal's site.".into(),
        }
    }

    fn expires_after(&self) -> Option<Duration> {
        Some(self.client.settings.expires_after)
    }

    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError> {
        let order = self.client.create_order(request).await?;
        let url = order
            .approve_url()
            .ok_or_else(|| PaymentError::Rejected("PayPal sent no approval link".into()))?
            .to_owned();
        Ok(PaymentIntent {
            reference: Some(order.id),
            client_secret: Some(url.clone()),
            provider_status: order.status,
            next: PaymentNext::Redirect { url },
        })
    }

    fn instructions(&self, _order_number: &str, total: Money) -> String {
        format!("Pay {total} with PayPal: the button takes you to PayPal to approve it.")
    }

    fn paypal(&self) -> Option<&PayPalClient> {
        Some(&self.client)
    }

    fn processor(&self) -> Option<&'static str> {
        Some("paypal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Currency;

    #[test]
    fn amounts_in_paypal_decimals() {
        let a = Amount::of(Money::new(12_345, Currency::Usd));
        assert_eq!(a.value, "123.45");
        assert_eq!(Amount::of(Money::new(1_230, Currency::Usd)).value, "12.30");
        assert_eq!(a.money(), Some(Money::new(12_345, Currency::Usd)));
        assert_eq!(Amount::of(Money::new(1_500, Currency::Jpy)).value, "1500");
        assert_eq!(Amount::of(Money::new(5, Currency::Eur)).value, "0.05");
    }

    #[test]
    fn settings_never_print_the_secret() {
        let s = PayPalSettings {
            client_id: "client".into(),
            secret: "very-secret-value".into(),
            webhook_id: "WH1".into(),
            api_url: "https://api-m.paypal.com".into(),
            public_url: "https://shop.example".into(),
            expires_after: Duration::from_secs(3 * 3600),
            guard: GuardSettings::default(),
        };
        assert!(!format!("{s:?}").contains("very-secret-value"));
    }
}
