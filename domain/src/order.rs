//! Carts, checkout and orders as both sides see them, and the order state machine.

use crate::{Address, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most of one item a single cart line may hold.
pub const MAX_LINE_QUANTITY: u32 = 99;
/// Most distinct items in one cart.
pub const MAX_CART_LINES: usize = 50;

/// Where an order is in its life, apart from its money and its parcels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    Open,
    Completed,
    Cancelled,
}

/// Where the order's money is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaymentStatus {
    Pending,
    /// The card was authorised; the money is captured later (when shipped).
    Authorised,
    Paid,
    PartiallyRefunded,
    Refunded,
    /// Cancelled before any money moved.
    Voided,
    /// The last attempt failed (a declined card); the shopper may try again.
    Failed,
}

/// Where the order's goods are (the shipping issue adds shipments and returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FulfilmentStatus {
    Unfulfilled,
    Fulfilled,
    Delivered,
}

/// What staff can do to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderAction {
    MarkPaid,
    Fulfil,
    Deliver,
    Cancel,
}

/// An order's three statuses, whether its method lets it ship before it is paid, and the
/// "needs review" flag with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderState {
    pub order: OrderStatus,
    pub payment: PaymentStatus,
    pub fulfilment: FulfilmentStatus,
    /// Pay on delivery: fulfilled before it is paid.
    pub pay_later: bool,
    /// Staff confirm the payment by hand (bank transfer, pay on delivery); a card payment
    /// is confirmed by its provider only.
    pub manual_payment: bool,
    pub review: Option<String>,
}

/// An action the order's state does not allow, with a message saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionError {
    pub action: OrderAction,
    pub reason: &'static str,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for TransitionError {}

codes!(OrderStatus { Open => "open", Completed => "completed", Cancelled => "cancelled" });
codes!(PaymentStatus {
    Pending => "pending",
    Authorised => "authorised",
    Paid => "paid",
    PartiallyRefunded => "partially_refunded",
    Refunded => "refunded",
    Voided => "voided",
    Failed => "failed",
});
codes!(FulfilmentStatus { Unfulfilled => "unfulfilled", Fulfilled => "fulfilled", Delivered => "delivered" });
codes!(OrderAction { MarkPaid => "mark_paid", Fulfil => "fulfil", Deliver => "deliver", Cancel => "cancel" });

impl PaymentStatus {
    /// Order along the one way money moves; a provider's report only ever moves a payment
    /// forward on it. `Voided` ends it before any money moved.
    fn rank(self) -> u8 {
        match self {
            PaymentStatus::Pending => 0,
            PaymentStatus::Failed => 1,
            PaymentStatus::Authorised => 2,
            PaymentStatus::Paid => 3,
            PaymentStatus::PartiallyRefunded => 4,
            PaymentStatus::Refunded => 5,
            PaymentStatus::Voided => 6,
        }
    }

    /// The status after a provider reports `to`, or `None` when that report changes
    /// nothing: a duplicate, or one that arrived after a later state (events come in any
    /// order). A failed attempt after a failed one, or before a success, is no change;
    /// `Voided` only ends a payment no money moved on.
    pub fn advance(self, to: PaymentStatus) -> Option<PaymentStatus> {
        use PaymentStatus as P;
        match (self, to) {
            (from, to) if from == to => None,
            (P::Voided, _) => None,
            (P::Pending | P::Failed | P::Authorised, P::Voided) => Some(P::Voided),
            (_, P::Voided) => None,
            (from, to) if to.rank() > from.rank() => Some(to),
            _ => None,
        }
    }

    /// Money has been taken (some of it may have gone back since).
    pub fn is_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }

    /// Nothing taken yet, and the shopper can still pay.
    pub fn is_unpaid(self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Failed)
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "Awaiting payment",
            PaymentStatus::Authorised => "Payment authorised",
            PaymentStatus::Paid => "Paid",
            PaymentStatus::PartiallyRefunded => "Partially refunded",
            PaymentStatus::Refunded => "Refunded",
            PaymentStatus::Voided => "Payment voided",
            PaymentStatus::Failed => "Payment failed",
        }
    }
}

impl FulfilmentStatus {
    pub fn label(self) -> &'static str {
        match self {
            FulfilmentStatus::Unfulfilled => "Not shipped",
            FulfilmentStatus::Fulfilled => "Shipped",
            FulfilmentStatus::Delivered => "Delivered",
        }
    }
}

impl OrderStatus {
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Open => "Open",
            OrderStatus::Completed => "Completed",
            OrderStatus::Cancelled => "Cancelled",
        }
    }
}

impl OrderState {
    /// A new order paid by hand (bank transfer, or pay on delivery with `pay_later`):
    /// open, unpaid, not shipped.
    pub fn placed(pay_later: bool) -> Self {
        Self {
            order: OrderStatus::Open,
            payment: PaymentStatus::Pending,
            fulfilment: FulfilmentStatus::Unfulfilled,
            pay_later,
            manual_payment: true,
            review: None,
        }
    }

    /// One line for a shopper: where the order is, the most telling status first.
    pub fn label(&self) -> &'static str {
        match (self.order, self.fulfilment, self.payment) {
            (OrderStatus::Cancelled, ..) => "Cancelled",
            (_, FulfilmentStatus::Delivered, _) => "Delivered",
            (_, FulfilmentStatus::Fulfilled, _) => "Shipped",
            (_, _, payment) => payment.label(),
        }
    }

    /// The order completes once it is delivered and its money is settled.
    fn settle(mut self) -> Self {
        if self.order == OrderStatus::Open
            && self.fulfilment == FulfilmentStatus::Delivered
            && self.payment.is_captured()
        {
            self.order = OrderStatus::Completed;
        }
        self
    }

    /// The state after a provider (or staff) reports the payment as `to`, or `None` when
    /// that changes nothing (see `PaymentStatus::advance`).
    pub fn with_payment(&self, to: PaymentStatus) -> Option<OrderState> {
        let payment = self.payment.advance(to)?;
        Some(
            OrderState {
                payment,
                ..self.clone()
            }
            .settle(),
        )
    }

    /// The actions this state allows, for buttons.
    pub fn allowed_actions(&self) -> Vec<OrderAction> {
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

    /// The state after `action`, or why it is refused:
    /// - mark paid: an open order paid by hand whose payment is pending or failed;
    /// - fulfil: an open, unshipped order that is paid or authorised, or pay-later;
    /// - deliver: a shipped order (which completes it once it is paid);
    /// - cancel: an open order not yet shipped (pending or authorised payments are
    ///   voided, taken money is refunded).
    pub fn apply(&self, action: OrderAction) -> Result<OrderState, TransitionError> {
        use FulfilmentStatus as F;
        use OrderAction as A;
        use PaymentStatus as P;
        let refuse = |reason| Err(TransitionError { action, reason });
        match self.order {
            OrderStatus::Cancelled => return refuse("This order is cancelled."),
            OrderStatus::Completed => return refuse("This order is already completed."),
            OrderStatus::Open => {}
        }
        let mut next = self.clone();
        match action {
            A::MarkPaid => {
                if !self.manual_payment {
                    return refuse("A card order is paid by its card payment, not by hand.");
                }
                if !self.payment.is_unpaid() {
                    return refuse("Only an order awaiting payment can be marked as paid.");
                }
                next.payment = P::Paid;
            }
            A::Fulfil => {
                if self.fulfilment != F::Unfulfilled {
                    return refuse("This order has already been shipped.");
                }
                let payable =
                    matches!(self.payment, P::Paid | P::PartiallyRefunded | P::Authorised)
                        || (self.pay_later && self.payment.is_unpaid());
                if !payable {
                    return refuse("An order is shipped once it is paid (or its card authorised).");
                }
                next.fulfilment = F::Fulfilled;
            }
            A::Deliver => {
                if self.fulfilment != F::Fulfilled {
                    return refuse("Only a shipped order can be marked as delivered.");
                }
                next.fulfilment = F::Delivered;
            }
            A::Cancel => {
                if self.fulfilment != F::Unfulfilled {
                    return refuse("A shipped order cannot be cancelled; it can be returned.");
                }
                next.order = OrderStatus::Cancelled;
                next.payment = match self.payment {
                    P::Pending | P::Failed | P::Authorised | P::Voided => P::Voided,
                    P::Paid | P::PartiallyRefunded | P::Refunded => P::Refunded,
                };
            }
        }
        Ok(next.settle())
    }
}

impl OrderAction {
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
    pub state: OrderState,
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
    /// The card form, while a card order can still be paid.
    pub card_form: Option<CardForm>,
    /// Where the shopper approves a PayPal payment, while the order can still be paid.
    pub pay_link: Option<String>,
    /// A message about the payment for this one view (set by the page, not stored).
    pub notice: Option<String>,
    pub ship_to: Vec<String>,
    /// Money given back, oldest first.
    pub refunds: Vec<crate::order_desk::RefundView>,
}

/// What the browser needs to show the card form (nothing secret: the publishable key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardForm {
    pub publishable_key: String,
    /// Stripe.js (Stripe's own URL, or a local one in tests).
    pub js_url: String,
}

/// What a card payment attempt came to, for the order page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardOutcome {
    /// The payment went through (or was authorised): show the order as paid.
    Done { label: String },
    /// The bank wants the shopper to confirm (3-D Secure): Stripe.js takes over.
    NeedsAction { client_secret: String },
    /// Still being processed by the provider; the page will show the result.
    Processing,
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
    pub state: OrderState,
    pub placed_at: String,
    pub item_count: u32,
    pub total: Money,
}

#[cfg(test)]
mod tests {
    use super::*;
    use FulfilmentStatus as F;
    use OrderAction as A;
    use OrderStatus as S;
    use PaymentStatus as P;

    fn state(payment: PaymentStatus, fulfilment: FulfilmentStatus) -> OrderState {
        OrderState {
            payment,
            fulfilment,
            ..OrderState::placed(false)
        }
    }

    #[test]
    fn the_happy_path_completes_the_order() {
        let placed = OrderState::placed(false);
        assert_eq!(placed.label(), "Awaiting payment");
        assert_eq!(placed.allowed_actions(), [A::MarkPaid, A::Cancel]);
        let paid = placed.apply(A::MarkPaid).expect("pay");
        assert_eq!((paid.payment, paid.label()), (P::Paid, "Paid"));
        let shipped = paid.apply(A::Fulfil).expect("ship");
        assert_eq!(shipped.label(), "Shipped");
        let delivered = shipped.apply(A::Deliver).expect("deliver");
        assert_eq!(delivered.order, S::Completed);
        assert!(delivered.allowed_actions().is_empty());
        assert_eq!(
            delivered.apply(A::Cancel).expect_err("done").to_string(),
            "This order is already completed."
        );
    }

    #[test]
    fn pay_on_delivery_ships_first_and_completes_when_paid() {
        let pod = OrderState::placed(true);
        assert_eq!(pod.allowed_actions(), [A::MarkPaid, A::Fulfil, A::Cancel]);
        let delivered = pod
            .apply(A::Fulfil)
            .and_then(|s| s.apply(A::Deliver))
            .expect("deliver");
        assert_eq!((delivered.order, delivered.payment), (S::Open, P::Pending));
        assert_eq!(
            delivered.apply(A::MarkPaid).expect("paid").order,
            S::Completed
        );
        // Without pay later, an unpaid order does not ship.
        let err = OrderState::placed(false)
            .apply(A::Fulfil)
            .expect_err("unpaid");
        assert!(err.to_string().contains("once it is paid"), "{err}");
        // An authorised card ships (captured when shipped); a card is never paid by hand.
        assert!(state(P::Authorised, F::Unfulfilled)
            .apply(A::Fulfil)
            .is_ok());
        let card = OrderState {
            manual_payment: false,
            ..OrderState::placed(false)
        };
        assert_eq!(card.allowed_actions(), [A::Cancel]);
    }

    #[test]
    fn cancelling_voids_or_refunds_and_never_after_shipping() {
        let voided = OrderState::placed(false).apply(A::Cancel).expect("cancel");
        assert_eq!(
            (voided.order, voided.payment, voided.label()),
            (S::Cancelled, P::Voided, "Cancelled")
        );
        assert_eq!(
            state(P::Authorised, F::Unfulfilled)
                .apply(A::Cancel)
                .expect("void")
                .payment,
            P::Voided
        );
        assert_eq!(
            state(P::Paid, F::Unfulfilled)
                .apply(A::Cancel)
                .expect("refund")
                .payment,
            P::Refunded
        );
        assert!(state(P::Paid, F::Fulfilled).apply(A::Cancel).is_err());
        assert!(voided.allowed_actions().is_empty());
    }

    #[test]
    fn provider_reports_only_move_a_payment_forward() {
        // Out of order: succeeded, then a late "processing" (pending) and a late failure.
        assert_eq!(P::Pending.advance(P::Paid), Some(P::Paid));
        assert_eq!(P::Paid.advance(P::Pending), None);
        assert_eq!(P::Paid.advance(P::Failed), None);
        assert_eq!(P::Paid.advance(P::Paid), None);
        // A declined card, then another card that works.
        assert_eq!(P::Pending.advance(P::Failed), Some(P::Failed));
        assert_eq!(P::Failed.advance(P::Paid), Some(P::Paid));
        assert_eq!(P::Authorised.advance(P::Paid), Some(P::Paid));
        assert_eq!(P::Paid.advance(P::Authorised), None);
        assert_eq!(P::Paid.advance(P::Refunded), Some(P::Refunded));
        // Voided ends an unpaid payment, and nothing moves it after.
        assert_eq!(P::Authorised.advance(P::Voided), Some(P::Voided));
        assert_eq!(P::Paid.advance(P::Voided), None);
        assert_eq!(P::Voided.advance(P::Paid), None);
        // Paid after delivery completes a pay-on-delivery order.
        let delivered = OrderState {
            fulfilment: F::Delivered,
            ..OrderState::placed(true)
        };
        assert_eq!(
            delivered.with_payment(P::Paid).expect("paid").order,
            S::Completed
        );
    }

    #[test]
    fn codes_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(*s));
        }
        for p in P::ALL {
            assert_eq!(P::parse(p.as_str()), Some(*p));
        }
        for f in F::ALL {
            assert_eq!(F::parse(f.as_str()), Some(*f));
        }
        for a in [A::MarkPaid, A::Fulfil, A::Deliver, A::Cancel] {
            assert_eq!(OrderAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(P::parse("pending_payment"), None);
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
