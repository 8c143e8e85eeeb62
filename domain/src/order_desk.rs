//! The order desk: the admin's order list, an order's page with its timeline, and the
//! money actions (capture, refund, cancel) as both the server and the browser see them.

use crate::money::Money;
use crate::order::{OrderAction, OrderState};
use crate::{FulfilmentStatus, OrderStatus, PaymentStatus};
use serde::{Deserialize, Serialize};

/// Orders shown on one page of the list.
pub const ORDERS_PER_PAGE: u32 = 50;
/// The furthest page the list goes to (deeper than this, narrow the filters).
pub const MAX_PAGE: u32 = 2_000;
/// Longest staff note, refund reason and manual refund reference.
pub const MAX_NOTE_CHARS: usize = 2_000;
pub const MAX_REASON_CHARS: usize = 500;
pub const MAX_REFERENCE_CHARS: usize = 200;

/// The column the order list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderSort {
    /// When the order was placed.
    #[default]
    Placed,
    Total,
}

codes!(OrderSort { Placed => "placed", Total => "total" });

/// What the admin's order list shows (every field has a default, so any subset of query
/// parameters is a valid query).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderQuery {
    /// An order number (`EMP-100234` or `100234`), an e-mail address or its start, or
    /// the start of the name the order ships to.
    pub q: String,
    pub order: Option<OrderStatus>,
    pub payment: Option<PaymentStatus>,
    pub fulfilment: Option<FulfilmentStatus>,
    /// A payment method's code.
    pub method: String,
    /// Placed on or after this day (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// Placed on or before this day.
    pub to: String,
    /// Only orders flagged for review.
    pub review: bool,
    pub sort: OrderSort,
    /// Oldest (or smallest) first instead of newest (largest) first.
    pub reverse: bool,
    pub page: u32,
}

impl OrderQuery {
    pub fn page(&self) -> u32 {
        self.page.clamp(1, MAX_PAGE)
    }

    /// The sort of a column heading's link: `column` in the direction asked for.
    pub fn sorted_by(&self, column: &str, descending: bool) -> Self {
        Self {
            sort: OrderSort::parse(column).unwrap_or_default(),
            reverse: !descending,
            page: 1,
            ..self.clone()
        }
    }

    /// The query as URL parameters (defaults left out), for links and the CSV export.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |k: &'static str, v: String| {
            if !v.is_empty() {
                out.push((k, v));
            }
        };
        put("q", self.q.clone());
        put(
            "order",
            self.order
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        );
        put(
            "payment",
            self.payment
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        );
        put(
            "fulfilment",
            self.fulfilment
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        );
        put("method", self.method.clone());
        put("from", self.from.clone());
        put("to", self.to.clone());
        put(
            "review",
            if self.review {
                "1".into()
            } else {
                String::new()
            },
        );
        put(
            "sort",
            if self.sort == OrderSort::Placed {
                String::new()
            } else {
                self.sort.as_str().into()
            },
        );
        put(
            "reverse",
            if self.reverse {
                "1".into()
            } else {
                String::new()
            },
        );
        put(
            "page",
            if self.page > 1 {
                self.page.to_string()
            } else {
                String::new()
            },
        );
        out
    }

    /// Reads the query from URL parameters; unknown values are left at their defaults.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let flag = |k: &str| get(k).is_some_and(|v| v == "1");
        Self {
            q: get("q").unwrap_or_default(),
            order: get("order").and_then(|s| OrderStatus::parse(&s)),
            payment: get("payment").and_then(|s| PaymentStatus::parse(&s)),
            fulfilment: get("fulfilment").and_then(|s| FulfilmentStatus::parse(&s)),
            method: get("method").unwrap_or_default(),
            from: get("from").unwrap_or_default(),
            to: get("to").unwrap_or_default(),
            review: flag("review"),
            sort: get("sort")
                .and_then(|s| OrderSort::parse(&s))
                .unwrap_or_default(),
            reverse: flag("reverse"),
            page: get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    }
}

/// One row of the order list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderListRow {
    pub number: String,
    /// `YYYY-MM-DD HH:MM` UTC.
    pub placed: String,
    pub email: String,
    pub name: String,
    pub total: Money,
    pub refunded: Money,
    pub items: u32,
    pub method: String,
    pub state: OrderState,
}

/// A payment method as a filter choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodChoice {
    pub code: String,
    pub name: String,
}

/// One page of the order list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub rows: Vec<OrderListRow>,
    pub page: u32,
    pub has_next: bool,
    pub methods: Vec<MethodChoice>,
}

/// One line of an order as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskLine {
    pub line_no: u32,
    pub sku: String,
    pub product_name: String,
    pub variant_label: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
    /// Units already put back in stock.
    pub restocked: u32,
    /// The product still exists, so the line can go back to stock.
    pub restockable: bool,
}

/// Something that happened to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    /// `placed`, `payment`, `refund`, `status`, `email`, `note`, `review`.
    pub kind: String,
    pub text: String,
    /// Who: a member of staff's e-mail, "Stripe", "the customer", "the shop".
    pub by: String,
}

/// A refund as the order's pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    pub amount: Money,
    /// `D Month YYYY`.
    pub on: String,
    /// Paid back outside the shop (a bank transfer), not through the provider.
    pub manual: bool,
    /// Where it went, for the customer: "to your card", "to your PayPal account", "by
    /// bank transfer".
    pub to: String,
}

/// The money actions the order allows now (before the staff member's role is asked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskActions {
    /// The authorised amount can be captured (all, or part of it).
    pub capture: bool,
    pub refund: bool,
    pub cancel: bool,
    pub mark_paid: bool,
    pub clear_review: bool,
    /// Ship / deliver.
    pub moves: Vec<OrderAction>,
}

/// An order's page in the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrder {
    pub number: String,
    pub state: OrderState,
    pub email: String,
    /// The customer's account (id, name or e-mail), when the order was placed signed in.
    pub customer: Option<(i64, String)>,
    /// `D Month YYYY, HH:MM UTC`.
    pub placed_at: String,
    pub lines: Vec<DeskLine>,
    pub subtotal: Money,
    pub shipping: Money,
    pub shipping_method: String,
    pub tax: Money,
    pub tax_rate_bps: u32,
    pub total: Money,
    /// Authorised and not yet captured.
    pub capturable: Money,
    pub captured: Money,
    pub refunded: Money,
    pub payment_method: String,
    /// Paid outside the shop (bank transfer, pay on delivery): refunds are manual.
    pub manual_payment: bool,
    pub ship_to: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub refunds: Vec<RefundView>,
    pub actions: DeskActions,
    /// The staff member may change orders (else the page is read-only).
    pub may_manage: bool,
    /// A fresh key for the money forms on this page: a double click acts once.
    pub idempotency_key: String,
}

impl AdminOrder {
    /// What can still be refunded.
    pub fn refundable(&self) -> Money {
        Money::new(
            self.captured.amount_minor() - self.refunded.amount_minor(),
            self.total.currency(),
        )
    }
}

/// The actions a state allows, given what has moved.
pub fn desk_actions(state: &OrderState, capturable: i64, held: i64, card: bool) -> DeskActions {
    let open = state.order == OrderStatus::Open;
    DeskActions {
        capture: open && card && state.payment == PaymentStatus::Authorised && capturable > 0,
        refund: held > 0,
        cancel: open && state.fulfilment == FulfilmentStatus::Unfulfilled,
        mark_paid: state.apply(OrderAction::MarkPaid).is_ok(),
        clear_review: state.review.is_some(),
        moves: [OrderAction::Fulfil, OrderAction::Deliver]
            .into_iter()
            .filter(|a| state.apply(*a).is_ok())
            .collect(),
    }
}

/// Units of one line a refund puts back in stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restock {
    pub line_no: u32,
    pub quantity: u32,
}

/// What staff ask a refund to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub idempotency_key: String,
    /// As typed, in the order's currency; empty: the chosen lines' value (with tax).
    pub amount: String,
    /// Lines refunded, by units (their value, with tax, is the amount when none is given).
    pub lines: Vec<Restock>,
    /// Put the refunded units back in stock.
    pub restock: bool,
    pub reason: String,
    /// For a manual refund: the bank transfer's reference.
    pub reference: String,
}

/// The value of `units` of a line at `unit` with its tax at `tax_rate_bps` (as the order
/// charged it: tax on the net amount, half away from zero).
pub fn line_refund(unit: Money, units: u32, tax_rate_bps: u32) -> Option<Money> {
    let net = unit.checked_mul(units).ok()?;
    net.checked_add(net.apply_rate_bps(tax_rate_bps).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    #[test]
    fn a_query_goes_to_parameters_and_back() {
        let q = OrderQuery {
            q: "ann@".into(),
            payment: Some(PaymentStatus::Paid),
            fulfilment: Some(FulfilmentStatus::Unfulfilled),
            method: "card".into(),
            from: "2026-01-01".into(),
            review: true,
            sort: OrderSort::Total,
            reverse: true,
            page: 3,
            ..Default::default()
        };
        let params = q.params();
        let back = OrderQuery::from_params(|k| {
            params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        });
        assert_eq!(back, q);
        assert!(OrderQuery::default().params().is_empty());
        assert_eq!(
            OrderQuery {
                page: 0,
                ..Default::default()
            }
            .page(),
            1
        );
        assert_eq!(
            OrderQuery {
                page: 999_999,
                ..Default::default()
            }
            .page(),
            MAX_PAGE
        );
    }

    #[test]
    fn a_line_refund_carries_its_tax() {
        let unit = Money::new(2_500, Currency::Usd);
        assert_eq!(
            line_refund(unit, 2, 2000),
            Some(Money::new(6_000, Currency::Usd))
        );
        assert_eq!(line_refund(unit, 1, 0), Some(unit));
        assert_eq!(
            line_refund(Money::new(1, Currency::Usd), 1, 5000),
            Some(Money::new(2, Currency::Usd))
        );
    }

    #[test]
    fn actions_follow_the_state_and_the_money() {
        let mut paid = OrderState::placed(false);
        paid.payment = PaymentStatus::Paid;
        let a = desk_actions(&paid, 0, 1_000, false);
        assert!(a.refund && a.cancel && !a.capture && !a.mark_paid);
        assert_eq!(a.moves, vec![OrderAction::Fulfil]);
        let mut authorised = OrderState::placed(false);
        authorised.payment = PaymentStatus::Authorised;
        authorised.manual_payment = false;
        let a = desk_actions(&authorised, 1_000, 0, true);
        assert!(a.capture && !a.refund && a.cancel);
        let unpaid = OrderState::placed(false);
        assert!(desk_actions(&unpaid, 0, 0, false).mark_paid);
    }
}
