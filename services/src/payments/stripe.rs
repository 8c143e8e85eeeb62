//! Card payments by Stripe: a thin client of our own over the four PaymentIntent calls the
//! shop makes (create, retrieve, attach a card and confirm, cancel), on reqwest with
//! rustls.
//!
//! Why not async-stripe: its generated types treat as required fields that Stripe adds
//! in newer API versions and that localstripe (the real local server the tests run
//! against) leaves out (`amount_capturable`, `amount_received`, `confirmation_method`,
//! `payment_method_types`, events' `pending_webhooks`), so every answer from localstripe
//! failed to parse; and it adds minutes to a clean build for four calls. Here only the
//! fields the shop reads are read, and those that may be missing are optional.
//!
//! Every call goes through the shared `resilience::Guard` (timeout + circuit breaker), and
//! every call that creates something carries an idempotency key derived from the order,
//! so a retry never makes a second PaymentIntent at Stripe.

use super::{PaymentError, PaymentIntent, PaymentNext, PaymentProvider, PaymentRequest};
use crate::resilience::{Guard, GuardSettings, OutsideError};
use async_trait::async_trait;
use domain::{CardForm, Currency, Money, PaymentOption};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Stripe's settings (`STRIPE_*`).
#[derive(Clone)]
pub struct StripeSettings {
    /// A secret: never logged.
    pub secret_key: String,
    pub publishable_key: String,
    /// Endpoint secrets; more than one while a secret is being rolled. Secrets.
    pub webhook_secrets: Vec<String>,
    /// `https://api.stripe.com`, or a local server.
    pub api_url: String,
    /// Stripe.js: `https://js.stripe.com/v3/`, or a local copy.
    pub js_url: String,
    /// Authorise at checkout and capture when shipped, instead of capturing at once.
    pub manual_capture: bool,
    /// Unpaid card orders are cancelled after this long.
    pub expires_after: Duration,
    pub guard: GuardSettings,
}

impl fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeSettings")
            .field("secret_key", &"***")
            .field("publishable_key", &self.publishable_key)
            .field(
                "webhook_secrets",
                &format!("{} secret(s)", self.webhook_secrets.len()),
            )
            .field("api_url", &self.api_url)
            .field("js_url", &self.js_url)
            .field("manual_capture", &self.manual_capture)
            .finish_non_exhaustive()
    }
}

/// The Stripe API version the shapes below were written against.
const API_VERSION: &str = "2024-06-20";

/// Currencies Stripe counts in whole units (its "zero-decimal" list).
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

fn stripe_exponent(currency: Currency) -> u32 {
    if ZERO_DECIMAL.contains(&currency.code()) {
        0
    } else {
        2
    }
}

/// The amount as Stripe counts it: integer units of the currency's smallest unit in
/// Stripe's table (cents for USD, yen for JPY).
pub fn stripe_amount(money: Money) -> Option<i64> {
    let ours = money.currency().exponent();
    let theirs = stripe_exponent(money.currency());
    if theirs >= ours {
        money.amount_minor().checked_mul(10_i64.pow(theirs - ours))
    } else {
        let div = 10_i64.pow(ours - theirs);
        (money.amount_minor() % div == 0).then(|| money.amount_minor() / div)
    }
}

/// Stripe's amount back in our units, if the currency is one the shop knows.
pub fn from_stripe(amount: i64, currency: &str) -> Option<Money> {
    let currency = Currency::parse(currency).ok()?;
    let ours = currency.exponent();
    let theirs = stripe_exponent(currency);
    let minor = if ours >= theirs {
        amount.checked_mul(10_i64.pow(ours - theirs))?
    } else {
        let div = 10_i64.pow(theirs - ours);
        (amount % div == 0).then(|| amount / div)?
    };
    Some(Money::new(minor, currency))
}

/// A PaymentIntent, as far as the shop reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub amount_received: Option<i64>,
    #[serde(default)]
    pub amount_capturable: Option<i64>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub last_payment_error: Option<ApiError>,
}

/// A Refund, as far as the shop reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeRefund {
    pub id: String,
    pub amount: i64,
    /// `succeeded`, `pending` (the bank has not confirmed yet), `failed`, `canceled`.
    pub status: String,
}

/// Stripe's error object.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

struct Reply {
    status: u16,
    body: serde_json::Value,
}

/// The client; cheap to clone (clones share the connection pool and the breaker).
#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    settings: Arc<StripeSettings>,
    guard: Guard<Reply>,
}

impl StripeClient {
    pub fn new(settings: StripeSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(Duration::from_secs(5).min(settings.guard.timeout))
            .timeout(settings.guard.timeout)
            .build()
            .map_err(|e| format!("building the Stripe client: {e}"))?;
        Ok(Self {
            http,
            guard: Guard::new("Stripe", &settings.guard),
            settings: Arc::new(settings),
        })
    }

    pub fn settings(&self) -> &StripeSettings {
        &self.settings
    }

    pub fn card_form(&self) -> CardForm {
        CardForm {
            publishable_key: self.settings.publishable_key.clone(),
            js_url: self.settings.js_url.clone(),
        }
    }

    /// The breaker is open: Stripe failed repeatedly and is not called for a while.
    pub fn is_unavailable(&self) -> bool {
        self.guard.is_open()
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: Vec<(String, String)>,
        idempotency_key: Option<String>,
    ) -> Result<serde_json::Value, PaymentError> {
        let url = format!("{}{path}", self.settings.api_url.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.settings.secret_key)
            .header("Stripe-Version", API_VERSION);
        if method != reqwest::Method::GET {
            request = request.form(&form);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let down = |reason: String| OutsideError::Unavailable {
            system: "Stripe",
            reason,
        };
        let reply = self
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
                let body = response
                    .json::<serde_json::Value>()
                    .await
                    .map_err(|e| down(format!("unreadable answer: {}", e.without_url())))?;
                Ok(Reply { status, body })
            })
            .await?;
        if (200..300).contains(&reply.status) {
            return Ok(reply.body);
        }
        // Stripe asks the shop to slow down: unavailable for now, but not a failure of
        // Stripe's (it must not open the breaker for every shopper).
        if reply.status == 429 {
            return Err(PaymentError::Unavailable("Stripe rate limit".into()));
        }
        let error: Option<ApiError> = reply
            .body
            .get("error")
            .and_then(|e| serde_json::from_value(e.clone()).ok());
        let message = error
            .as_ref()
            .and_then(|e| e.message.clone())
            .unwrap_or_else(|| format!("HTTP {}", reply.status));
        let card_error = reply.status == 402
            || error.as_ref().is_some_and(|e| {
                e.kind.as_deref() == Some("card_error")
                    || e.code.as_deref() == Some("card_declined")
            });
        if card_error {
            Err(PaymentError::Declined(message))
        } else {
            tracing::warn!(status = reply.status, path, %message, "Stripe refused a request");
            Err(PaymentError::Rejected(message))
        }
    }

    fn intent(body: serde_json::Value) -> Result<StripeIntent, PaymentError> {
        serde_json::from_value(body)
            .map_err(|e| PaymentError::Rejected(format!("unexpected PaymentIntent: {e}")))
    }

    /// Creates the order's PaymentIntent for its exact total. The idempotency key is made
    /// from the order's own random checkout key (not its number, which another database
    /// of the same Stripe account could also have), so a retried call gets the same
    /// intent back from Stripe.
    pub async fn create_intent(
        &self,
        request: &PaymentRequest,
    ) -> Result<StripeIntent, PaymentError> {
        let amount = stripe_amount(request.total).ok_or_else(|| {
            PaymentError::Rejected(format!(
                "{} cannot be charged in Stripe's units",
                request.total
            ))
        })?;
        let form = vec![
            ("amount".into(), amount.to_string()),
            (
                "currency".into(),
                request.total.currency().code().to_ascii_lowercase(),
            ),
            ("payment_method_types[]".into(), "card".into()),
            (
                "capture_method".into(),
                if self.settings.manual_capture {
                    "manual"
                } else {
                    "automatic"
                }
                .into(),
            ),
            (
                "metadata[order_number]".into(),
                request.order_number.clone(),
            ),
            ("metadata[order_id]".into(), request.order_id.to_string()),
        ];
        let body = self
            .send(
                reqwest::Method::POST,
                "/v1/payment_intents",
                form,
                Some(format!("emporium-{}-intent", request.idempotency_key)),
            )
            .await?;
        Self::intent(body)
    }

    pub async fn retrieve_intent(&self, id: &str) -> Result<StripeIntent, PaymentError> {
        let body = self
            .send(
                reqwest::Method::GET,
                &format!("/v1/payment_intents/{}", path_segment(id)?),
                Vec::new(),
                None,
            )
            .await?;
        Self::intent(body)
    }

    /// Puts the shopper's card (a PaymentMethod, or a card id from Stripe.js) on the
    /// intent and confirms it. A declined card leaves the intent waiting for another one.
    pub async fn pay_with(
        &self,
        id: &str,
        payment_method: &str,
    ) -> Result<StripeIntent, PaymentError> {
        let id = path_segment(id)?;
        let method = payment_method.trim();
        if !Self::is_payment_method(method) {
            return Err(PaymentError::Rejected("malformed payment method".into()));
        }
        self.send(
            reqwest::Method::POST,
            &format!("/v1/payment_intents/{id}"),
            vec![("payment_method".into(), method.to_owned())],
            Some(format!("emporium-{id}-method-{method}")),
        )
        .await?;
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/v1/payment_intents/{id}/confirm"),
                Vec::new(),
                Some(format!("emporium-{id}-confirm-{method}")),
            )
            .await?;
        Self::intent(body)
    }

    /// What Stripe.js hands the page for a card: a PaymentMethod id (`pm_…`), or the id
    /// of a token's card (`card_…`).
    pub fn is_payment_method(method: &str) -> bool {
        (method.starts_with("pm_") || method.starts_with("card_"))
            && method.len() <= 255
            && method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// Captures an authorised payment: in full, or `amount` of it (in Stripe's units; the
    /// rest of the authorisation is released).
    pub async fn capture_intent(
        &self,
        id: &str,
        amount: Option<i64>,
    ) -> Result<StripeIntent, PaymentError> {
        let form = amount
            .map(|a| vec![("amount_to_capture".to_owned(), a.to_string())])
            .unwrap_or_default();
        let key = match amount {
            Some(a) => format!("emporium-{id}-capture-{a}"),
            None => format!("emporium-{id}-capture"),
        };
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/v1/payment_intents/{}/capture", path_segment(id)?),
                form,
                Some(key),
            )
            .await?;
        Self::intent(body)
    }

    /// Refunds `amount` (Stripe's units) of a captured PaymentIntent. The key is the
    /// refund's own (from the order desk's form), so a retry is one refund at Stripe.
    pub async fn refund(
        &self,
        intent: &str,
        amount: i64,
        key: &str,
        order_number: &str,
    ) -> Result<StripeRefund, PaymentError> {
        let body = self
            .send(
                reqwest::Method::POST,
                "/v1/refunds",
                vec![
                    ("payment_intent".into(), path_segment(intent)?.to_owned()),
                    ("amount".into(), amount.to_string()),
                    ("metadata[order_number]".into(), order_number.to_owned()),
                ],
                Some(format!("emporium-refund-{key}")),
            )
            .await?;
        serde_json::from_value(body)
            .map_err(|e| PaymentError::Rejected(format!("unexpected Refund: {e}")))
    }

    /// Cancels an intent no money moved on (an expired or cancelled order), so it cannot
    /// be paid any more.
    pub async fn cancel_intent(&self, id: &str) -> Result<StripeIntent, PaymentError> {
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/v1/payment_intents/{}/cancel", path_segment(id)?),
                Vec::new(),
                Some(format!("emporium-{id}-cancel")),
            )
            .await?;
        Self::intent(body)
    }
}

/// An id that is safe in a URL path.
fn path_segment(id: &str) -> Result<&str, PaymentError> {
    if !id.is_empty()
        && id.len() <= 255
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(id)
    } else {
        Err(PaymentError::Rejected("malformed Stripe id".into()))
    }
}

/// The card method.
pub struct StripeCard {
    pub client: StripeClient,
}

#[async_trait]
impl PaymentProvider for StripeCard {
    fn code(&self) -> &'static str {
        "card"
    }

    fn option(&self) -> PaymentOption {
        PaymentOption {
            code: self.code().into(),
            name: "Card".into(),
            description: "Credit or debit card, paid securely on the next page.".into(),
        }
    }

    fn expires_after(&self) -> Option<Duration> {
        Some(self.client.settings.expires_after)
    }

    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError> {
        let intent = self.client.create_intent(request).await?;
        Ok(PaymentIntent {
            reference: Some(intent.id),
            client_secret: intent.client_secret,
            provider_status: intent.status,
            next: PaymentNext::Card,
        })
    }

    fn instructions(&self, _order_number: &str, total: Money) -> String {
        format!("Pay {total} by card on the order's page.")
    }

    fn stripe(&self) -> Option<&StripeClient> {
        Some(&self.client)
    }

    fn processor(&self) -> Option<&'static str> {
        Some("stripe")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_stripe_units() {
        let usd = Money::new(12_345, Currency::Usd);
        assert_eq!(stripe_amount(usd), Some(12_345));
        let yen = Money::new(1_500, Currency::Jpy);
        assert_eq!(stripe_amount(yen), Some(1_500));
        assert_eq!(from_stripe(1_500, "jpy"), Some(yen));
        assert_eq!(from_stripe(12_345, "usd"), Some(usd));
        assert_eq!(from_stripe(1, "xyz"), None);
    }

    #[test]
    fn settings_never_print_secrets() {
        let s = StripeSettings {
            secret_key: "sk_live_supersecret".into(),
            publishable_key: "pk_live_x".into(),
            webhook_secrets: vec!["whsec_topsecret".into()],
            api_url: "https://api.stripe.com".into(),
            js_url: "https://js.stripe.com/v3/".into(),
            manual_capture: false,
            expires_after: Duration::from_secs(1800),
            guard: GuardSettings::default(),
        };
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("supersecret") && !printed.contains("topsecret"),
            "{printed}"
        );
    }
}
