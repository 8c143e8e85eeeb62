//! Payments behind one abstraction shaped for Stripe's flow: a payment intent is created
//! when the order is placed, and the payment is confirmed later (by a webhook for Stripe,
//! by an admin for the offline manual method). Only the manual method exists today; the
//! Stripe adapter implements the same trait in a later issue.

use async_trait::async_trait;
use domain::{Money, PaymentOption};
use std::sync::Arc;

/// The facts a provider needs to ask for a payment.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_number: String,
    pub email: String,
    pub total: Money,
}

/// What the shopper does next to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentNext {
    /// Pay outside the shop (bank transfer, cash on delivery); an admin confirms it.
    Offline { instructions: String },
    /// Finish in the browser with the provider's client secret (Stripe Elements).
    ConfirmInBrowser { client_secret: String },
}

/// A payment asked of the provider, not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    /// The provider's id for it (a Stripe PaymentIntent id); `None` for manual payments.
    pub reference: Option<String>,
    pub next: PaymentNext,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("The payment provider is unavailable: {0}")]
    Unavailable(String),
    #[error("The payment was declined: {0}")]
    Declined(String),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Stable code stored on orders, e.g. `manual`, `stripe`.
    fn code(&self) -> &'static str;
    fn option(&self) -> PaymentOption;
    /// Creates the intent for a freshly placed order.
    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError>;
    /// What the order page tells the shopper while the payment is outstanding.
    fn instructions(&self, order_number: &str, total: Money) -> String;
}

/// Pay on delivery or by bank transfer; the order waits in `pending_payment` until an
/// admin marks it paid.
pub struct ManualPayment {
    pub shop_name: String,
}

#[async_trait]
impl PaymentProvider for ManualPayment {
    fn code(&self) -> &'static str {
        "manual"
    }

    fn option(&self) -> PaymentOption {
        PaymentOption {
            code: self.code().into(),
            name: "Bank transfer or pay on delivery".into(),
            description:
                "We send your order as soon as the payment arrives, or collect it on delivery."
                    .into(),
        }
    }

    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError> {
        Ok(PaymentIntent {
            reference: None,
            next: PaymentNext::Offline {
                instructions: self.instructions(&request.order_number, request.total),
            },
        })
    }

    fn instructions(&self, order_number: &str, total: Money) -> String {
        format!(
            "Transfer {total} to {} (IBAN GB00 EMPO 0000 0000 0000 00) with the reference {order_number}, or pay the courier on delivery.",
            self.shop_name
        )
    }
}

/// The payment methods a shopper can choose, by code.
#[derive(Clone)]
pub struct Payments {
    providers: Arc<Vec<Arc<dyn PaymentProvider>>>,
}

impl Payments {
    pub fn new(providers: Vec<Arc<dyn PaymentProvider>>) -> Self {
        Self {
            providers: Arc::new(providers),
        }
    }

    pub fn get(&self, code: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.providers.iter().find(|p| p.code() == code).cloned()
    }

    pub fn options(&self) -> Vec<PaymentOption> {
        self.providers.iter().map(|p| p.option()).collect()
    }
}
