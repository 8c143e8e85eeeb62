//! The offline methods: bank transfer and pay on delivery. Staff mark them paid.

use super::{PaymentError, PaymentIntent, PaymentNext, PaymentProvider, PaymentRequest};
use async_trait::async_trait;
use domain::{Money, PaymentOption};
use std::time::Duration;

/// Pay by bank transfer before the order ships; unpaid orders expire.
pub struct BankTransfer {
    pub shop_name: String,
    pub expires_after: Option<Duration>,
}

#[async_trait]
impl PaymentProvider for BankTransfer {
    fn code(&self) -> &'static str {
        "bank_transfer"
    }

    fn option(&self) -> PaymentOption {
        PaymentOption {
            code: self.code().into(),
            name: "Bank transfer".into(),
            description: "We send your order as soon as your transfer arrives.".into(),
        }
    }

    fn expires_after(&self) -> Option<Duration> {
        self.expires_after
    }

    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError> {
        Ok(offline(
            self.instructions(&request.order_number, request.total),
        ))
    }

    fn instructions(&self, order_number: &str, total: Money) -> String {
        format!(
            "Transfer {total} to {} (IBAN GB00 EMPO 0000 0000 0000 00) with the reference {order_number}.",
            self.shop_name
        )
    }
}

/// Pay the courier: the order ships first and is marked paid on delivery. Never expires.
pub struct PayOnDelivery;

#[async_trait]
impl PaymentProvider for PayOnDelivery {
    fn code(&self) -> &'static str {
        "pay_on_delivery"
    }

    fn option(&self) -> PaymentOption {
        PaymentOption {
            code: self.code().into(),
            name: "Pay on delivery".into(),
            description: "Pay the courier in cash or by card when your parcel arrives.".into(),
        }
    }

    fn pay_later(&self) -> bool {
        true
    }

    fn expires_after(&self) -> Option<Duration> {
        None
    }

    async fn create_intent(&self, request: &PaymentRequest) -> Result<PaymentIntent, PaymentError> {
        Ok(offline(
            self.instructions(&request.order_number, request.total),
        ))
    }

    fn instructions(&self, _order_number: &str, total: Money) -> String {
        format!("Pay {total} to the courier when your parcel arrives.")
    }
}

fn offline(instructions: String) -> PaymentIntent {
    PaymentIntent {
        reference: None,
        client_secret: None,
        provider_status: "offline".into(),
        next: PaymentNext::Offline { instructions },
    }
}
