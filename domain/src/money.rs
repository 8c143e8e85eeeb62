//! Money as an integer number of minor units plus an ISO 4217 currency. Never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The currencies the shop can price in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
    Jpy,
}

impl Currency {
    /// Parses an ISO 4217 code such as `"USD"` (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        match code.trim().to_ascii_uppercase().as_str() {
            "USD" => Ok(Self::Usd),
            "EUR" => Ok(Self::Eur),
            "GBP" => Ok(Self::Gbp),
            "JPY" => Ok(Self::Jpy),
            other => Err(MoneyError::UnknownCurrency(other.to_owned())),
        }
    }

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "USD",
            Self::Eur => "EUR",
            Self::Gbp => "GBP",
            Self::Jpy => "JPY",
        }
    }

    /// Digits after the decimal point (2 for cents, 0 for yen).
    pub fn exponent(self) -> u32 {
        match self {
            Self::Jpy => 0,
            _ => 2,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::Usd => "$",
            Self::Eur => "€",
            Self::Gbp => "£",
            Self::Jpy => "¥",
        }
    }

    fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("{0:?} is not an amount; use digits with at most {1} decimal places, e.g. 19.99")]
    Malformed(String, u32),
}

/// An amount of money in minor units (cents) of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub const fn amount_minor(self) -> i64 {
        self.amount_minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// Parses a shopper-typed amount in major units ("12", "12.5", "12.50").
    pub fn parse_major(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let s = input.trim();
        let malformed = || MoneyError::Malformed(input.to_owned(), currency.exponent());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_only(whole) || !digits_only(frac) {
            return Err(malformed());
        }
        let exp = currency.exponent() as usize;
        if frac.len() > exp || (s.contains('.') && frac.is_empty()) {
            return Err(malformed());
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let frac_padded = format!("{frac:0<exp$}");
        let frac: i64 = if exp == 0 {
            0
        } else {
            frac_padded.parse().map_err(|_| malformed())?
        };
        whole
            .checked_mul(currency.minor_per_major())
            .and_then(|m| m.checked_add(frac))
            .map(|minor| Self::new(minor, currency))
            .ok_or(MoneyError::Overflow)
    }

    /// The amount in major units without symbol or grouping, as typed in a form:
    /// `10`, `99.50`, `-0.05`. The inverse of [`Money::parse_major`] for whole amounts.
    pub fn to_major_string(self) -> String {
        let per = self.currency.minor_per_major().unsigned_abs();
        let abs = self.amount_minor.unsigned_abs();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let exp = self.currency.exponent() as usize;
        if abs.is_multiple_of(per) {
            format!("{sign}{}", abs / per)
        } else {
            format!("{sign}{}.{:0exp$}", abs / per, abs % per)
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount_minor
            .checked_add(other.amount_minor)
            .map(|a| Money::new(a, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount_minor
            .checked_sub(other.amount_minor)
            .map(|a| Money::new(a, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// Price times a quantity.
    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        self.amount_minor
            .checked_mul(i64::from(quantity))
            .map(|a| Money::new(a, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// This amount times a rate in basis points (1/100 of a percent), rounded half away
    /// from zero to the nearest minor unit. Used for tax: 2000 bps = 20 %.
    pub fn apply_rate_bps(self, rate_bps: u32) -> Result<Money, MoneyError> {
        let product = i128::from(self.amount_minor) * i128::from(rate_bps);
        let half = 5_000_i128;
        let rounded = if product >= 0 {
            (product + half) / 10_000
        } else {
            (product - half) / 10_000
        };
        i64::try_from(rounded)
            .map(|a| Money::new(a, self.currency))
            .map_err(|_| MoneyError::Overflow)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    /// Formats for a shopper: `$1,234.56`, `-£0.05`, `¥1,200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = self.currency.minor_per_major().unsigned_abs();
        let abs = self.amount_minor.unsigned_abs();
        let (major, minor) = (abs / per, abs % per);
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let digits = major.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}{}{grouped}", self.currency.symbol())?;
        let exp = self.currency.exponent() as usize;
        if exp > 0 {
            write!(f, ".{minor:0exp$}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::Usd)
    }

    #[test]
    fn formats_with_grouping_and_cents() {
        assert_eq!(usd(0).to_string(), "$0.00");
        assert_eq!(usd(5).to_string(), "$0.05");
        assert_eq!(usd(123_456).to_string(), "$1,234.56");
        assert_eq!(usd(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(usd(-5).to_string(), "-$0.05");
        assert_eq!(Money::new(1200, Currency::Jpy).to_string(), "¥1,200");
        assert_eq!(Money::new(999, Currency::Eur).to_string(), "€9.99");
    }

    #[test]
    fn adds_and_multiplies_within_one_currency() {
        assert_eq!(usd(150).checked_add(usd(275)), Ok(usd(425)));
        assert_eq!(usd(150).checked_sub(usd(275)), Ok(usd(-125)));
        assert_eq!(usd(1999).checked_mul(3), Ok(usd(5997)));
        let eur = Money::new(1, Currency::Eur);
        assert_eq!(
            usd(1).checked_add(eur),
            Err(MoneyError::CurrencyMismatch(Currency::Usd, Currency::Eur))
        );
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
    }

    #[test]
    fn rate_rounds_half_away_from_zero() {
        // 20 % of $0.03 = 0.6 cents -> 1 cent; 20 % of $0.02 = 0.4 -> 0.
        assert_eq!(usd(3).apply_rate_bps(2000), Ok(usd(1)));
        assert_eq!(usd(2).apply_rate_bps(2000), Ok(usd(0)));
        // 0.5 cent rounds away from zero both ways.
        assert_eq!(usd(5).apply_rate_bps(1000), Ok(usd(1)));
        assert_eq!(usd(-5).apply_rate_bps(1000), Ok(usd(-1)));
        assert_eq!(usd(10_000).apply_rate_bps(825), Ok(usd(825)));
    }

    #[test]
    fn parses_major_units() {
        assert_eq!(Money::parse_major("12", Currency::Usd), Ok(usd(1200)));
        assert_eq!(Money::parse_major(" 12.5 ", Currency::Usd), Ok(usd(1250)));
        assert_eq!(Money::parse_major("0.07", Currency::Usd), Ok(usd(7)));
        assert_eq!(
            Money::parse_major("1200", Currency::Jpy),
            Ok(Money::new(1200, Currency::Jpy))
        );
        for bad in ["", "abc", "-1", "1.234", "1.", ".5", "1e3", "1,5", "12.3.4"] {
            assert!(
                Money::parse_major(bad, Currency::Usd).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(
            Money::parse_major("99999999999999999999", Currency::Usd),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn major_string_round_trips() {
        assert_eq!(usd(1000).to_major_string(), "10");
        assert_eq!(usd(9950).to_major_string(), "99.50");
        assert_eq!(usd(-5).to_major_string(), "-0.05");
        assert_eq!(Money::new(1200, Currency::Jpy).to_major_string(), "1200");
        for minor in [0, 1, 99, 100, 12_345] {
            let m = usd(minor);
            assert_eq!(
                Money::parse_major(&m.to_major_string(), Currency::Usd),
                Ok(m)
            );
        }
    }

    #[test]
    fn currency_codes_round_trip() {
        for c in [Currency::Usd, Currency::Eur, Currency::Gbp, Currency::Jpy] {
            assert_eq!(Currency::parse(c.code()), Ok(c));
        }
        assert_eq!(Currency::parse("usd"), Ok(Currency::Usd));
        assert!(Currency::parse("XYZ").is_err());
    }
}
