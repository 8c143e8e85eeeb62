//! URL slugs: lowercase ASCII letters, digits and single hyphens.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_SLUG_LEN: usize = 120;

/// Why a string is not a slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("a slug cannot be empty")]
    Empty,
    #[error("a slug is at most {MAX_SLUG_LEN} characters")]
    TooLong,
    #[error("a slug may only hold lowercase letters, digits and single hyphens between them")]
    InvalidCharacters,
}

/// A validated URL slug such as `linen-shirt-blue`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Accepts an existing slug exactly as given (no rewriting).
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if input.is_empty() {
            return Err(SlugError::Empty);
        }
        if input.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong);
        }
        let valid_chars = input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_chars || input.starts_with('-') || input.ends_with('-') || input.contains("--") {
            return Err(SlugError::InvalidCharacters);
        }
        Ok(Self(input.to_owned()))
    }

    /// Makes a slug from a display name: `"Men's Linen Shirt — Blue"` -> `mens-linen-shirt-blue`.
    pub fn from_name(name: &str) -> Result<Self, SlugError> {
        let mut out = String::with_capacity(name.len());
        let mut pending_hyphen = false;
        for ch in name.chars() {
            if ch.is_ascii_alphanumeric() {
                if pending_hyphen && !out.is_empty() {
                    out.push('-');
                }
                pending_hyphen = false;
                out.push(ch.to_ascii_lowercase());
            } else if ch != '\'' && ch != '’' {
                pending_hyphen = true;
            }
        }
        out.truncate(MAX_SLUG_LEN);
        let trimmed = out.trim_end_matches('-');
        Self::parse(trimmed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_slugs() {
        for ok in ["a", "linen-shirt", "size-42", "x1-y2-z3"] {
            assert_eq!(Slug::parse(ok).map(|s| s.to_string()), Ok(ok.to_owned()));
        }
    }

    #[test]
    fn refuses_invalid_slugs() {
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        for bad in [
            "Linen", "-a", "a-", "a--b", "a b", "a_b", "ü", "../etc", "a%20b",
        ] {
            assert_eq!(
                Slug::parse(bad),
                Err(SlugError::InvalidCharacters),
                "{bad:?}"
            );
        }
        assert_eq!(Slug::parse(&"a".repeat(121)), Err(SlugError::TooLong));
    }

    #[test]
    fn slugifies_names() {
        let s = |n: &str| Slug::from_name(n).map(|s| s.to_string());
        assert_eq!(
            s("Men's Linen Shirt — Blue"),
            Ok("mens-linen-shirt-blue".into())
        );
        assert_eq!(s("  Hello,  World!! "), Ok("hello-world".into()));
        assert_eq!(s("42 Mugs"), Ok("42-mugs".into()));
        assert_eq!(s("!!!"), Err(SlugError::Empty));
    }
}
