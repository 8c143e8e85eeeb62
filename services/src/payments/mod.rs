//! Payments behind one abstraction shaped for Stripe's flow: a payment intent is created
//! once the order is placed, and the payment is confirmed later (by the provider's
//! webhook, the shopper's return, the reconciliation job, or staff for offline methods).
//!
//! Methods: bank transfer and pay on delivery (offline; always on, so a fresh shop needs
//! nothing), card payments by Stripe when its keys are set (`stripe.rs`; webhooks
//! verified by `webhook.rs`), and PayPal when its keys are set (`paypal.rs`). What a payment did to an order is recorded by
//! `orders::paying`.

pub mod manual;
pub mod paypal;
pub mod stripe;
pub mod webhook;

use async_trait::async_trait;
use domain::{Money, PaymentOption};
use std::sync::Arc;
use std::time::Duration;

pub use manual::{BankTransfer, PayOnDelivery};

/// The facts a provider needs to ask for a payment.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_id: i64,
    pub order_number: String,
    /// The order's own random key (its checkout's idempotency key): unique across
    /// databases, so the provider's idempotency keys made from it never collide.
    pub idempotency_key: String,
    pub email: String,
    pub total: Money,
}

/// What the shopper does next to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentNext {
    /// Pay outside the shop (bank transfer, cash on delivery); staff confirm it.
    Offline { instructions: String },
    /// Enter a card on the order page (Stripe Elements).
    Card,
    /// Approve the payment on the provider's site (PayPal), which sends the shopper back.
    Redirect { url: String },
}

/// A payment asked of the provider, not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    /// The provider's id for it (a Stripe PaymentIntent id); `None` for offline methods.
    pub reference: Option<String>,
    /// What the shopper's browser needs to finish it (Stripe's client secret).
    pub client_secret: Option<String>,
    /// The provider's word for its state.
    pub provider_status: String,
    pub next: PaymentNext,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("The card payment service is not answering right now. Your order is kept: please try again in a few minutes.")]
    Unavailable(String),
    /// The bank or provider said no; the message is theirs (for example "Your card was
    /// declined.").
    #[error("{0}")]
    Declined(String),
    /// The provider refused the request itself (a bug or a misconfiguration).
    #[error("The payment could not be started: {0}")]
    Rejected(String),
}

impl From<crate::resilience::OutsideError> for PaymentError {
    fn from(e: crate::resilience::OutsideError) -> Self {
        PaymentError::Unavailable(e.to_string())
    }
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Stable code stored on orders: `bank_transfer`, `pay_on_delivery`, `card`.
    fn code(&self) -> &'static str;
    fn option(&self) -> PaymentOption;
    /// The goods may ship before the money arrives (pay on delivery).
    fn pay_later(&self) -> bool {
        false
    }
    /// An unpaid order of this method is cancelled (and restocked) after this long;
    /// `None`: never.
    fn expires_after(&self) -> Option<Duration>;
    /// Creates the intent for a freshly placed order.
    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError>;
    /// What the order page tells the shopper while the payment is outstanding.
    fn instructions(&self, order_number: &str, total: Money) -> String;
    /// The Stripe client, for the card method.
    fn stripe(&self) -> Option<&stripe::StripeClient> {
        None
    }
    /// The PayPal client, for the PayPal method.
    fn paypal(&self) -> Option<&paypal::PayPalClient> {
        None
    }
    /// The provider code its payments have in `payments` (`stripe`, `paypal`); `None`
    /// for the offline methods, which staff confirm by hand.
    fn processor(&self) -> Option<&'static str> {
        None
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

    /// Every method, for the jobs that go through them.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn PaymentProvider>> {
        self.providers.iter()
    }

    /// The Stripe client, when card payments are on.
    pub fn stripe(&self) -> Option<&stripe::StripeClient> {
        self.providers.iter().find_map(|p| p.stripe())
    }

    /// The PayPal client, when PayPal is on.
    pub fn paypal(&self) -> Option<&paypal::PayPalClient> {
        self.providers.iter().find_map(|p| p.paypal())
    }
}
