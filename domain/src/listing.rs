//! The query string of a category listing: page, sort and filters.
//!
//! Parsed once at the edge so a malformed value becomes a clear 400 message, and
//! rendered back with [`ListingQuery::to_query_string`] for links that keep the filters.

use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Products per listing page.
pub const PER_PAGE: u32 = 24;
/// Highest page number accepted in a URL (far beyond any real catalog).
pub const MAX_PAGE: u32 = 10_000;

/// Sort orders of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Sort {
    #[default]
    Featured,
    Newest,
    PriceAsc,
    PriceDesc,
    NameAsc,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Featured,
        Sort::Newest,
        Sort::PriceAsc,
        Sort::PriceDesc,
        Sort::NameAsc,
    ];

    /// The value used in URLs.
    pub fn as_param(self) -> &'static str {
        match self {
            Sort::Featured => "featured",
            Sort::Newest => "newest",
            Sort::PriceAsc => "price-asc",
            Sort::PriceDesc => "price-desc",
            Sort::NameAsc => "name",
        }
    }

    /// The label shown to shoppers.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Featured => "Featured",
            Sort::Newest => "Newest",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
            Sort::NameAsc => "Name: A to Z",
        }
    }

    pub fn from_param(value: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.as_param() == value)
    }
}

/// A query parameter that could not be understood, with a message for the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for QueryError {}

fn err(field: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Page, sort and filters of a listing, all valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ListingQuery {
    /// 1-based page number.
    pub page: u32,
    pub sort: Sort,
    /// Lowest price shown, inclusive, in minor units.
    pub min_price: Option<i64>,
    /// Highest price shown, inclusive, in minor units.
    pub max_price: Option<i64>,
    pub in_stock: bool,
}

impl ListingQuery {
    /// Parses `key=value` pairs from a URL. Empty values (an untouched form field) count as
    /// absent and unknown keys are ignored, so links from elsewhere keep working.
    pub fn parse<'a, I>(pairs: I, currency: Currency) -> Result<Self, QueryError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut q = ListingQuery {
            page: 1,
            ..Default::default()
        };
        for (key, raw) in pairs {
            let value = raw.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "page" => {
                    let page: u32 = value.parse().map_err(|_| {
                        err(
                            "page",
                            format!("{value:?} is not a page number; use 1, 2, 3…"),
                        )
                    })?;
                    if page == 0 || page > MAX_PAGE {
                        return Err(err(
                            "page",
                            format!("page must be between 1 and {MAX_PAGE}"),
                        ));
                    }
                    q.page = page;
                }
                "sort" => {
                    q.sort = Sort::from_param(value).ok_or_else(|| {
                        let allowed: Vec<_> = Sort::ALL.iter().map(|s| s.as_param()).collect();
                        err(
                            "sort",
                            format!(
                                "{value:?} is not a sort order; use one of {}",
                                allowed.join(", ")
                            ),
                        )
                    })?;
                }
                "min_price" | "max_price" => {
                    let label = if key == "min_price" {
                        "minimum price"
                    } else {
                        "maximum price"
                    };
                    let money = Money::parse_major(value, currency).map_err(|_| {
                        err(
                            key,
                            format!("{label} {value:?} is not an amount like 25 or 19.99"),
                        )
                    })?;
                    if key == "min_price" {
                        q.min_price = Some(money.amount_minor());
                    } else {
                        q.max_price = Some(money.amount_minor());
                    }
                }
                "in_stock" => {
                    q.in_stock = match value {
                        "1" | "true" | "on" | "yes" => true,
                        "0" | "false" | "off" | "no" => false,
                        _ => {
                            return Err(err(
                                "in_stock",
                                format!("{value:?} is not yes or no; use in_stock=1"),
                            ))
                        }
                    };
                }
                _ => {}
            }
        }
        if let (Some(lo), Some(hi)) = (q.min_price, q.max_price) {
            if lo > hi {
                return Err(err(
                    "min_price",
                    "the minimum price is above the maximum price",
                ));
            }
        }
        Ok(q)
    }

    /// The query string (without `?`) for this query, leaving out defaults.
    pub fn to_query_string(&self, currency: Currency) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.sort != Sort::Featured {
            parts.push(format!("sort={}", self.sort.as_param()));
        }
        let major = |minor: i64| Money::new(minor, currency).to_major_string();
        if let Some(lo) = self.min_price {
            parts.push(format!("min_price={}", major(lo)));
        }
        if let Some(hi) = self.max_price {
            parts.push(format!("max_price={}", major(hi)));
        }
        if self.in_stock {
            parts.push("in_stock=1".to_owned());
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        parts.join("&")
    }

    /// The same query on another page.
    pub fn with_page(&self, page: u32) -> Self {
        Self {
            page,
            ..self.clone()
        }
    }

    /// Whether any filter narrows the listing.
    pub fn is_filtered(&self) -> bool {
        self.min_price.is_some() || self.max_price.is_some() || self.in_stock
    }

    /// Row offset of the first product on this page.
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(PER_PAGE)
    }
}

/// Number of pages needed for `total` products (at least 1, so an empty listing has a page).
pub fn page_count(total: u64) -> u32 {
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    u32::try_from(pages).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&'static str, &'static str)]) -> Result<ListingQuery, QueryError> {
        ListingQuery::parse(pairs.iter().copied(), Currency::Usd)
    }

    #[test]
    fn defaults_when_empty() {
        let q = parse(&[]).expect("empty query is valid");
        assert_eq!(
            q,
            ListingQuery {
                page: 1,
                ..Default::default()
            }
        );
        assert_eq!(q.to_query_string(Currency::Usd), "");
        assert_eq!(q.offset(), 0);
    }

    #[test]
    fn parses_everything_and_round_trips() {
        let q = parse(&[
            ("page", "3"),
            ("sort", "price-desc"),
            ("min_price", "10"),
            ("max_price", "99.5"),
            ("in_stock", "on"),
            ("utm_source", "mail"),
        ])
        .expect("valid");
        assert_eq!(q.page, 3);
        assert_eq!(q.sort, Sort::PriceDesc);
        assert_eq!(q.min_price, Some(1000));
        assert_eq!(q.max_price, Some(9950));
        assert!(q.in_stock);
        assert_eq!(q.offset(), 48);
        let s = q.to_query_string(Currency::Usd);
        assert_eq!(
            s,
            "sort=price-desc&min_price=10&max_price=99.50&in_stock=1&page=3"
        );
        let pairs: Vec<(&str, &str)> = s.split('&').filter_map(|kv| kv.split_once('=')).collect();
        assert_eq!(ListingQuery::parse(pairs, Currency::Usd), Ok(q));
    }

    #[test]
    fn empty_form_fields_are_absent() {
        let q = parse(&[("min_price", ""), ("max_price", " "), ("sort", "")]).expect("valid");
        assert_eq!(
            q,
            ListingQuery {
                page: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn malformed_values_name_the_field() {
        for (pairs, field) in [
            (vec![("page", "abc")], "page"),
            (vec![("page", "0")], "page"),
            (vec![("page", "-2")], "page"),
            (vec![("page", "99999999999")], "page"),
            (vec![("sort", "cheapest")], "sort"),
            (vec![("min_price", "ten")], "min_price"),
            (vec![("max_price", "-5")], "max_price"),
            (vec![("in_stock", "maybe")], "in_stock"),
            (vec![("min_price", "50"), ("max_price", "10")], "min_price"),
        ] {
            let e = ListingQuery::parse(pairs.clone(), Currency::Usd).expect_err("must be refused");
            assert_eq!(e.field, field, "{pairs:?}");
            assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn page_count_rounds_up() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(24), 1);
        assert_eq!(page_count(25), 2);
        assert_eq!(page_count(500), 21);
    }
}
