//! Carts, checkout and orders as both sides see them, and the order state machine.

use crate::{Address, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most of one item a single cart line may hold.
pub const MAX_LINE_QUANTITY: u32 = 99;
/// Most distinct items in one cart.
pub const MAX_CART_LINES: usize = 50;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderAction {
    MarkPaid,
    Fulfil,
    Deliver,
    Cancel,
}

/// An action the order's state does not allow, with a message saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    pub from: OrderStatus,
    pub action: OrderAction,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.action {
            OrderAction::MarkPaid => "marked as paid",
            OrderAction::Fulfil => "fulfilled",
            OrderAction::Deliver => "marked as delivered",
            OrderAction::Cancel => "cancelled",
        };
        write!(
            f,
            "An order that is {} cannot be {what}.",
            self.from.label().to_lowercase()
        )
    }
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending_payment" => OrderStatus::PendingPayment,
            "paid" => OrderStatus::Paid,
            "fulfilled" => OrderStatus::Fulfilled,
            "delivered" => OrderStatus::Delivered,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }

    /// Words for a shopper.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "Awaiting payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::Fulfilled => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    /// The actions this state allows, for buttons.
    pub fn allowed_actions(self) -> Vec<OrderAction> {
        [
            OrderAction::MarkPaid,
            OrderAction::Fulfil,
            OrderAction::Deliver,
            OrderAction::Cancel,
        ]
        .into_iter()
        .filter(|a| self.apply(*a).is_ok())
        .collect()
    }

    /// The state after `action`: pending_payment -> paid -> fulfilled -> delivered, and
    /// cancellation from pending_payment or paid. Anything else is refused.
    pub fn apply(self, action: OrderAction) -> Result<OrderStatus, TransitionError> {
        use OrderAction as A;
        use OrderStatus as S;
        match (self, action) {
            (S::PendingPayment, A::MarkPaid) => Ok(S::Paid),
            (S::Paid, A::Fulfil) => Ok(S::Fulfilled),
            (S::Fulfilled, A::Deliver) => Ok(S::Delivered),
            (S::PendingPayment | S::Paid, A::Cancel) => Ok(S::Cancelled),
            (from, action) => Err(TransitionError { from, action }),
        }
    }
}

/// Something about a cart line that changed since the shopper added it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CartNotice {
    PriceChanged {
        name: String,
        was: Money,
        now: Money,
    },
    QuantityReduced {
        name: String,
        from: u32,
        to: u32,
    },
    SoldOut {
        name: String,
    },
    NoLongerAvailable {
        name: String,
    },
    /// An order was placed from this cart but its lines had not left it yet.
    OrderPlaced {
        number: String,
    },
}

impl CartNotice {
    pub fn message(&self) -> String {
        match self {
            CartNotice::PriceChanged { name, was, now } => {
                format!("The price of {name} changed from {was} to {now}.")
            }
            CartNotice::QuantityReduced { name, from, to } => format!(
                "Only {to} of {name} {} left, so we reduced your quantity from {from}.",
                if *to == 1 { "is" } else { "are" }
            ),
            CartNotice::SoldOut { name } => {
                format!("{name} has sold out and was removed from your cart.")
            }
            CartNotice::NoLongerAvailable { name } => {
                format!("{name} is no longer available and was removed from your cart.")
            }
            CartNotice::OrderPlaced { number } => {
                format!("Your order {number} was placed; its items have left your cart.")
            }
        }
    }
}

/// One line of the cart, priced from the catalog now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: String,
    pub product_name: String,
    pub product_slug: String,
    /// "Blue / M", empty for a product without options.
    pub variant_label: String,
    pub image_url: String,
    pub unit_price: Money,
    pub quantity: u32,
    /// Units in stock now.
    pub available: u32,
    pub line_total: Money,
}

/// The cart as the cart page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartView {
    pub lines: Vec<CartLine>,
    pub subtotal: Money,
    /// Things that changed since the items were added; shown once.
    pub notices: Vec<CartNotice>,
}

impl CartView {
    pub fn empty(currency: crate::Currency) -> Self {
        Self {
            lines: Vec::new(),
            subtotal: Money::zero(currency),
            notices: Vec::new(),
        }
    }

    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

/// A way to ship, with its price for the current cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingOption {
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: Money,
}

/// A way to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOption {
    pub code: String,
    pub name: String,
    pub description: String,
}

/// What an order costs: subtotal, shipping, tax on both (by the country's rate) and the
/// total. Placing an order and the checkout review compute it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub subtotal: Money,
    pub shipping: Money,
    pub tax_rate_bps: u32,
    pub tax: Money,
    pub total: Money,
}

impl Quote {
    pub fn compute(
        subtotal: Money,
        shipping: Money,
        tax_rate_bps: u32,
    ) -> Result<Quote, crate::MoneyError> {
        let taxable = subtotal.checked_add(shipping)?;
        let tax = taxable.apply_rate_bps(tax_rate_bps)?;
        Ok(Quote {
            subtotal,
            shipping,
            tax_rate_bps,
            tax,
            total: taxable.checked_add(tax)?,
        })
    }

    /// "20%" or "8.5%".
    pub fn tax_rate_label(&self) -> String {
        let whole = self.tax_rate_bps / 100;
        match self.tax_rate_bps % 100 {
            0 => format!("{whole}%"),
            rest if rest % 10 == 0 => format!("{whole}.{}%", rest / 10),
            rest => format!("{whole}.{rest:02}%"),
        }
    }
}

/// Everything the checkout page needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutPage {
    pub cart: CartView,
    pub email: Option<String>,
    pub signed_in: bool,
    pub addresses: Vec<Address>,
    pub shipping: Vec<ShippingOption>,
    pub payments: Vec<PaymentOption>,
    /// A fresh key for this checkout: a double submit places one order.
    pub idempotency_key: String,
    /// The review's totals for the preselected country and shipping method.
    pub quote: Quote,
    pub country: String,
}

/// One line of a placed order (a snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub product_name: String,
    pub product_slug: String,
    pub variant_label: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
}

/// A placed order as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub number: String,
    pub status: OrderStatus,
    pub email: String,
    pub placed_at: String,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub shipping: Money,
    pub shipping_method: String,
    pub tax: Money,
    pub tax_rate_bps: u32,
    pub total: Money,
    pub payment_method: String,
    /// What the shopper has to do to pay, for offline methods.
    pub payment_instructions: String,
    pub ship_to: Vec<String>,
}

impl OrderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAction::MarkPaid => "mark_paid",
            OrderAction::Fulfil => "fulfil",
            OrderAction::Deliver => "deliver",
            OrderAction::Cancel => "cancel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mark_paid" => OrderAction::MarkPaid,
            "fulfil" => OrderAction::Fulfil,
            "deliver" => OrderAction::Deliver,
            "cancel" => OrderAction::Cancel,
            _ => return None,
        })
    }

    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            OrderAction::MarkPaid => "Mark paid",
            OrderAction::Fulfil => "Mark shipped",
            OrderAction::Deliver => "Mark delivered",
            OrderAction::Cancel => "Cancel",
        }
    }
}

/// An order in the admin's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderRow {
    pub summary: OrderSummary,
    pub email: String,
}

/// A row of the order history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub number: String,
    pub status: OrderStatus,
    pub placed_at: String,
    pub item_count: u32,
    pub total: Money,
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderAction as A;
    use OrderStatus as S;

    #[test]
    fn the_happy_path_and_cancellation() {
        assert_eq!(S::PendingPayment.apply(A::MarkPaid), Ok(S::Paid));
        assert_eq!(S::Paid.apply(A::Fulfil), Ok(S::Fulfilled));
        assert_eq!(S::Fulfilled.apply(A::Deliver), Ok(S::Delivered));
        assert_eq!(S::PendingPayment.apply(A::Cancel), Ok(S::Cancelled));
        assert_eq!(S::Paid.apply(A::Cancel), Ok(S::Cancelled));
    }

    #[test]
    fn everything_else_is_refused_with_a_message() {
        let all = [
            S::PendingPayment,
            S::Paid,
            S::Fulfilled,
            S::Delivered,
            S::Cancelled,
        ];
        let actions = [A::MarkPaid, A::Fulfil, A::Deliver, A::Cancel];
        let mut allowed = 0;
        for s in all {
            for a in actions {
                match s.apply(a) {
                    Ok(_) => allowed += 1,
                    Err(e) => {
                        assert_eq!((e.from, e.action), (s, a));
                        assert!(e.to_string().starts_with("An order that is "));
                    }
                }
            }
        }
        assert_eq!(allowed, 5);
        assert_eq!(
            S::PendingPayment.allowed_actions(),
            [A::MarkPaid, A::Cancel]
        );
        assert!(S::Delivered.allowed_actions().is_empty());
        for a in [A::MarkPaid, A::Fulfil, A::Deliver, A::Cancel] {
            assert_eq!(OrderAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(
            S::Fulfilled
                .apply(A::Cancel)
                .expect_err("shipped")
                .to_string(),
            "An order that is shipped cannot be cancelled."
        );
        for s in all {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn quotes_tax_subtotal_and_shipping() {
        let usd = |m| Money::new(m, crate::Currency::Usd);
        let q = Quote::compute(usd(10_000), usd(595), 2000).expect("quote");
        assert_eq!(q.tax, usd(2119));
        assert_eq!(q.total, usd(12_714));
        assert_eq!(q.tax_rate_label(), "20%");
        assert_eq!(
            Quote {
                tax_rate_bps: 2550,
                ..q.clone()
            }
            .tax_rate_label(),
            "25.5%"
        );
        assert_eq!(
            Quote {
                tax_rate_bps: 810,
                ..q
            }
            .tax_rate_label(),
            "8.1%"
        );
    }

    #[test]
    fn notices_read_well() {
        let n = CartNotice::QuantityReduced {
            name: "Mug".into(),
            from: 5,
            to: 1,
        };
        assert_eq!(
            n.message(),
            "Only 1 of Mug is left, so we reduced your quantity from 5."
        );
    }
}
