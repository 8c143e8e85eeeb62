//! Search as both sides see it: the query a shopper types (with its filters, sort and
//! page), and the results with facet counts and highlights.

use crate::Money;
use serde::{Deserialize, Serialize};

/// Longest query searched; longer input is cut here (at a character boundary).
pub const MAX_QUERY_CHARS: usize = 256;
pub const SEARCH_PER_PAGE: usize = 24;
/// At most this many words of a query are searched (each costs typo automata; this is
/// Meilisearch's own limit too).
pub const MAX_QUERY_WORDS: usize = 10;
/// Highest page number asked for; beyond it the first page is shown.
pub const MAX_PAGE: usize = 1000;

/// Query text as searched: trimmed and cut at [`MAX_QUERY_CHARS`] characters.
pub fn clean_text(text: &str) -> String {
    let cut: String = text.trim().chars().take(MAX_QUERY_CHARS).collect();
    cut.trim_end().to_owned()
}

/// Price buckets shown as a facet, in minor units: [from, to).
pub const PRICE_BUCKETS: &[(&str, &str, i64, i64)] = &[
    ("0-25", "Under $25", 0, 2_500),
    ("25-50", "$25 to $50", 2_500, 5_000),
    ("50-100", "$50 to $100", 5_000, 10_000),
    ("100-250", "$100 to $250", 10_000, 25_000),
    ("250-up", "$250 and up", 25_000, i64::MAX),
];

/// The bucket key of a price.
pub fn price_bucket(minor: i64) -> &'static str {
    PRICE_BUCKETS
        .iter()
        .find(|(_, _, lo, hi)| minor >= *lo && minor < *hi)
        .map_or("250-up", |(key, ..)| key)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SearchSort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl SearchSort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "relevance" => SearchSort::Relevance,
            "price-asc" => SearchSort::PriceAsc,
            "price-desc" => SearchSort::PriceDesc,
            "newest" => SearchSort::Newest,
            _ => return None,
        })
    }
}

/// A search as asked. Unknown facet values are kept (they simply match nothing); the
/// engines ignore facet names they do not know.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
// Form encodings leave empty lists out: a missing field is its default.
#[serde(default)]
pub struct SearchQuery {
    pub text: String,
    /// Category slugs (any of them).
    pub categories: Vec<String>,
    pub colours: Vec<String>,
    pub sizes: Vec<String>,
    /// Price bucket keys from [`PRICE_BUCKETS`].
    pub prices: Vec<String>,
    pub in_stock_only: bool,
    pub sort: SearchSort,
    /// 1-based.
    pub page: usize,
}

impl SearchQuery {
    /// Reads query-string pairs (`q`, `category`, `colour`, `size`, `price`, `in_stock`,
    /// `sort`, `page`). The text is trimmed and cut at 256 characters; an unknown sort or
    /// a bad page number falls back to the default rather than failing.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = SearchQuery {
            page: 1,
            ..Default::default()
        };
        for (k, v) in pairs {
            let v = v.trim();
            match k {
                "q" => q.text = clean_text(v),
                "category" if !v.is_empty() => q.categories.push(v.to_owned()),
                "colour" if !v.is_empty() => q.colours.push(v.to_owned()),
                "size" if !v.is_empty() => q.sizes.push(v.to_owned()),
                "price" if PRICE_BUCKETS.iter().any(|(key, ..)| *key == v) => {
                    q.prices.push(v.to_owned());
                }
                "in_stock" => q.in_stock_only = matches!(v, "1" | "true" | "on" | "yes"),
                "sort" => q.sort = SearchSort::parse(v).unwrap_or_default(),
                "page" => {
                    q.page = v
                        .parse()
                        .ok()
                        .filter(|p| (1..=MAX_PAGE).contains(p))
                        .unwrap_or(1)
                }
                _ => {}
            }
        }
        q
    }

    /// The query as searched, whoever built it: text cleaned, page within 1..=MAX_PAGE.
    pub fn cleaned(self) -> Self {
        SearchQuery {
            text: clean_text(&self.text),
            page: self.page.clamp(1, MAX_PAGE),
            ..self
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl SearchQuery {
    /// The `/search?…` URL of this query at `page`.
    pub fn url(&self, page: usize) -> String {
        let mut parts = vec![format!("q={}", encode(&self.text))];
        for (k, values) in [
            ("category", &self.categories),
            ("colour", &self.colours),
            ("size", &self.sizes),
            ("price", &self.prices),
        ] {
            parts.extend(values.iter().map(|v| format!("{k}={}", encode(v))));
        }
        if self.in_stock_only {
            parts.push("in_stock=1".into());
        }
        let sort = match self.sort {
            SearchSort::Relevance => None,
            SearchSort::PriceAsc => Some("price-asc"),
            SearchSort::PriceDesc => Some("price-desc"),
            SearchSort::Newest => Some("newest"),
        };
        if let Some(s) = sort {
            parts.push(format!("sort={s}"));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        format!("/search?{}", parts.join("&"))
    }
}

/// One product found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub product_id: i64,
    pub slug: String,
    pub name: String,
    /// The name with matches wrapped in `<mark>` (HTML-escaped otherwise).
    pub name_html: String,
    pub brand: String,
    pub category: String,
    pub image_url: String,
    pub min_price: Money,
    pub in_stock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCounts {
    pub categories: Vec<FacetValue>,
    pub colours: Vec<FacetValue>,
    pub sizes: Vec<FacetValue>,
    pub prices: Vec<FacetValue>,
    pub in_stock: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub total: u64,
    pub facets: FacetCounts,
    pub page: usize,
    /// When nothing matched: the query with misspelt words corrected, if that finds
    /// something ("Did you mean …?").
    #[serde(default)]
    pub suggestion: Option<String>,
    /// When nothing matched: products people buy.
    #[serde(default)]
    pub popular: Vec<crate::ProductCard>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_leniently() {
        let long = "x".repeat(300);
        let q = SearchQuery::from_pairs([
            ("q", long.as_str()),
            ("colour", "Blue"),
            ("colour", ""),
            ("price", "25-50"),
            ("price", "bogus"),
            ("sort", "price-desc"),
            ("page", "abc"),
            ("unknown", "x"),
        ]);
        assert_eq!(q.text.chars().count(), 256);
        assert_eq!(q.colours, ["Blue"]);
        assert_eq!(q.prices, ["25-50"]);
        assert_eq!(q.sort, SearchSort::PriceDesc);
        assert_eq!(q.page, 1);
        assert_eq!(
            SearchQuery::from_pairs([("sort", "weird")]).sort,
            SearchSort::Relevance
        );
    }

    #[test]
    fn queries_from_any_caller_are_cleaned_alike() {
        let q = SearchQuery {
            text: format!("  {}", "y".repeat(300)),
            page: 5000,
            ..Default::default()
        }
        .cleaned();
        assert_eq!(q.text.chars().count(), MAX_QUERY_CHARS);
        assert_eq!(q.page, MAX_PAGE);
        assert_eq!(SearchQuery::default().cleaned().page, 1);
        assert_eq!(clean_text(" blue shirt "), "blue shirt");
    }

    #[test]
    fn urls_round_trip() {
        let q = SearchQuery::from_pairs([
            ("q", "blue shirt & co"),
            ("colour", "Navy Blue"),
            ("in_stock", "1"),
            ("sort", "newest"),
        ]);
        let url = q.url(3);
        assert_eq!(
            url,
            "/search?q=blue+shirt+%26+co&colour=Navy+Blue&in_stock=1&sort=newest&page=3"
        );
    }

    #[test]
    fn price_buckets_cover_everything() {
        assert_eq!(price_bucket(0), "0-25");
        assert_eq!(price_bucket(2_499), "0-25");
        assert_eq!(price_bucket(2_500), "25-50");
        assert_eq!(price_bucket(1_000_000), "250-up");
    }
}
