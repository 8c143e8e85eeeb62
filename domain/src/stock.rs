//! Stock as the admin sees and changes it: movements and their reasons, a product's stock
//! screen, the low-stock list, and how an adjustment typed into a form is read.

use serde::{Deserialize, Serialize};

/// Why a variant's stock on hand moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockReason {
    /// What there was when movements began (or a seeded catalog's first stock).
    Opening,
    Received,
    Damaged,
    /// A counted quantity: the movement is the count minus what the form showed.
    Count,
    Order,
    Cancellation,
    RefundRestock,
    Return,
    Import,
}

codes!(StockReason {
    Opening => "opening",
    Received => "received",
    Damaged => "damaged",
    Count => "count",
    Order => "order",
    Cancellation => "cancellation",
    RefundRestock => "refund_restock",
    Return => "return",
    Import => "import",
});

impl StockReason {
    pub fn label(self) -> &'static str {
        match self {
            StockReason::Opening => "Opening stock",
            StockReason::Received => "Received",
            StockReason::Damaged => "Damaged or lost",
            StockReason::Count => "Count correction",
            StockReason::Order => "Order",
            StockReason::Cancellation => "Order cancelled",
            StockReason::RefundRestock => "Refund restock",
            StockReason::Return => "Return",
            StockReason::Import => "Import",
        }
    }

    /// The reasons staff choose for a change they enter by hand as a delta.
    pub const BY_HAND: &'static [StockReason] = &[
        StockReason::Received,
        StockReason::Damaged,
        StockReason::Return,
        StockReason::Count,
    ];
}

/// An adjustment typed into the stock form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// Add (or take away) this many: "+12", "-3", "12".
    Delta(i32),
    /// This many were counted; the form showed `shown`.
    Counted { counted: i32, shown: i32 },
}

/// The most one adjustment moves, either way.
pub const MAX_ADJUSTMENT: i32 = 1_000_000;

impl Adjustment {
    /// Reads the form: `mode` is "delta" or "count"; `shown` is the on-hand figure the form
    /// was made with.
    pub fn parse(mode: &str, quantity: &str, shown: i32) -> Result<Adjustment, String> {
        let q = quantity.trim().replace(['\u{2212}', '\u{2013}'], "-");
        let (sign, digits) = match q.strip_prefix('+') {
            Some(rest) => (1, rest.trim()),
            None => match q.strip_prefix('-') {
                Some(rest) => (-1, rest.trim()),
                None => (1, q.as_str()),
            },
        };
        let n: i32 = match digits.parse::<u32>() {
            Ok(n) if n <= MAX_ADJUSTMENT as u32 => n as i32,
            Ok(_) => return Err(format!("At most {MAX_ADJUSTMENT} at a time.")),
            Err(_) => {
                return Err(
                    "Give a whole number: “+12” to add, “-3” to take away, or a count.".into(),
                )
            }
        };
        match mode {
            "count" => {
                if sign < 0 {
                    return Err("A count cannot be negative.".into());
                }
                Ok(Adjustment::Counted { counted: n, shown })
            }
            "delta" if n == 0 => Err("Give a number other than 0.".into()),
            "delta" => Ok(Adjustment::Delta(sign * n)),
            _ => Err("Choose a change or a count.".into()),
        }
    }

    /// The movement it records.
    pub fn delta(self) -> i32 {
        match self {
            Adjustment::Delta(d) => d,
            Adjustment::Counted { counted, shown } => counted - shown,
        }
    }
}

/// One variant on a product's stock screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockVariant {
    pub id: i64,
    pub sku: String,
    /// Its option values ("Red / M"), empty for a product without options.
    pub label: String,
    pub on_hand: i32,
    pub low_stock_threshold: Option<i32>,
    pub archived: bool,
}

impl StockVariant {
    pub fn is_low(&self) -> bool {
        self.low_stock_threshold.is_some_and(|t| self.on_hand <= t)
    }
}

/// One movement in a variant's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockMovementRow {
    pub id: i64,
    /// "2026-12-02 10:31 UTC".
    pub at: String,
    pub sku: String,
    pub delta: i32,
    pub on_hand_after: i32,
    pub reason: String,
    pub note: String,
    pub by: String,
    pub order_number: Option<String>,
}

/// A product's stock: its variants and their latest movements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockScreen {
    pub product_id: i64,
    pub product_name: String,
    pub variants: Vec<StockVariant>,
    /// Newest first, at most [`HISTORY_ROWS`] (of one variant when one is chosen).
    pub history: Vec<StockMovementRow>,
    pub history_sku: Option<String>,
}

/// The movements a stock screen shows.
pub const HISTORY_ROWS: i64 = 100;

/// A variant at or below its low-stock threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowStockRow {
    pub product_id: i64,
    pub product_name: String,
    pub sku: String,
    pub label: String,
    pub on_hand: i32,
    pub threshold: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_and_counts_are_read_from_the_form() {
        assert_eq!(
            Adjustment::parse("delta", "+12", 3),
            Ok(Adjustment::Delta(12))
        );
        assert_eq!(
            Adjustment::parse("delta", " -3 ", 3),
            Ok(Adjustment::Delta(-3))
        );
        assert_eq!(
            Adjustment::parse("delta", "\u{2212}4", 3),
            Ok(Adjustment::Delta(-4))
        );
        assert_eq!(Adjustment::parse("delta", "7", 3), Ok(Adjustment::Delta(7)));
        assert!(Adjustment::parse("delta", "0", 3).is_err());
        assert!(Adjustment::parse("delta", "1.5", 3).is_err());
        assert!(Adjustment::parse("delta", "2000000", 3).is_err());
        let counted = Adjustment::parse("count", "8", 10).expect("count");
        assert_eq!(
            counted,
            Adjustment::Counted {
                counted: 8,
                shown: 10
            }
        );
        assert_eq!(counted.delta(), -2);
        assert_eq!(
            Adjustment::parse("count", "0", 4).map(Adjustment::delta),
            Ok(-4)
        );
        assert!(Adjustment::parse("count", "-1", 4).is_err());
        assert!(Adjustment::parse("set", "4", 4).is_err());
    }

    #[test]
    fn a_variant_is_low_at_or_below_its_threshold() {
        let mut v = StockVariant {
            id: 1,
            sku: "A".into(),
            label: String::new(),
            on_hand: 5,
            low_stock_threshold: None,
            archived: false,
        };
        assert!(!v.is_low());
        v.low_stock_threshold = Some(5);
        assert!(v.is_low());
        v.on_hand = 6;
        assert!(!v.is_low());
    }
}
