//! Products, variants and categories as the admin's catalog screens show and edit them.

use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};

/// Products shown on one page of the admin's product list.
pub const PRODUCTS_PER_PAGE: u32 = 50;

/// Which products the list shows, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusFilter {
    /// Every product not archived.
    #[default]
    Active,
    Published,
    Draft,
    Archived,
    All,
}

codes!(StatusFilter {
    Active => "active",
    Published => "published",
    Draft => "draft",
    Archived => "archived",
    All => "all",
});

impl StatusFilter {
    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::Active => "Not archived",
            StatusFilter::Published => "Published",
            StatusFilter::Draft => "Draft (not published)",
            StatusFilter::Archived => "Archived",
            StatusFilter::All => "All",
        }
    }
}

/// Which products the list shows, by stock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockFilter {
    #[default]
    Any,
    /// At least one variant on sale has stock.
    InStock,
    /// No variant on sale has stock.
    OutOfStock,
}

codes!(StockFilter {
    Any => "any",
    InStock => "in-stock",
    OutOfStock => "out-of-stock",
});

impl StockFilter {
    pub fn label(self) -> &'static str {
        match self {
            StockFilter::Any => "Any",
            StockFilter::InStock => "In stock",
            StockFilter::OutOfStock => "Out of stock",
        }
    }
}

/// The column the product list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortColumn {
    #[default]
    Updated,
    Name,
    Created,
}

codes!(SortColumn {
    Updated => "updated",
    Name => "name",
    Created => "created",
});

/// What the admin's product list shows (every field has a default, so any subset of
/// query parameters is a valid query).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductQuery {
    /// Part of the name, or the start of a SKU.
    pub q: String,
    /// A category and everything under it.
    pub category: Option<i64>,
    pub status: StatusFilter,
    pub stock: StockFilter,
    pub sort: SortColumn,
    /// The column's order turned round: its natural order is newest first for dates and
    /// A to Z for names.
    pub reverse: bool,
    pub page: u32,
}

impl ProductQuery {
    pub fn page(&self) -> u32 {
        self.page.max(1)
    }

    /// Whether the list runs from the highest value down.
    pub fn descending(&self) -> bool {
        match self.sort {
            SortColumn::Name => self.reverse,
            SortColumn::Updated | SortColumn::Created => !self.reverse,
        }
    }

    /// The sort of a column heading's link: `column` in the direction asked for.
    pub fn sorted_by(&self, column: &str, descending: bool) -> Self {
        let sort = SortColumn::parse(column).unwrap_or_default();
        let reverse = match sort {
            SortColumn::Name => descending,
            SortColumn::Updated | SortColumn::Created => !descending,
        };
        Self {
            sort,
            reverse,
            page: 1,
            ..self.clone()
        }
    }
}

/// Why a SKU is not one: capital letters, digits and single hyphens, at most 64.
pub fn check_sku(sku: &str) -> Result<(), String> {
    let ok = !sku.is_empty()
        && sku.len() <= 64
        && sku
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && !sku.starts_with('-')
        && !sku.ends_with('-')
        && !sku.contains("--");
    if ok {
        Ok(())
    } else {
        Err("a SKU is 1 to 64 capital letters and digits, with single hyphens between them".into())
    }
}

/// One row of the product list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub category: String,
    pub variants: i64,
    /// The lowest price of a variant on sale; `None` when it has none.
    pub price_from: Option<Money>,
    pub stock: i64,
    pub published: bool,
    pub archived: bool,
    /// `YYYY-MM-DD HH:MM` UTC.
    pub updated: String,
    /// `YYYY-MM-DD` UTC.
    pub created: String,
}

/// A category as a choice in a form: its id and its path ("Home › Kitchen").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryChoice {
    pub id: i64,
    pub path: String,
}

/// One page of the product list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductList {
    pub rows: Vec<ProductRow>,
    pub page: u32,
    pub has_next: bool,
    pub categories: Vec<CategoryChoice>,
    /// The staff member may change products (else the list is read-only).
    pub may_edit: bool,
}

/// A bulk action on a selection of products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkAction {
    Publish,
    Unpublish,
    MoveTo(i64),
    /// Every price of the selection changed by this many basis points (1/100 of a
    /// percent): `-1000` is 10 % off. See [`change_by_bps`] for the rounding.
    ChangePrices(i32),
}

/// The smallest price change: 100 % off.
pub const MIN_PRICE_CHANGE_BPS: i32 = -10_000;
/// The largest price change: ten times the price.
pub const MAX_PRICE_CHANGE_BPS: i32 = 90_000;

/// A percentage as typed ("-10", "12.5", "+7.25") in basis points: at most two
/// decimals, between -100 % and +900 %.
pub fn parse_percent(input: &str) -> Result<i32, String> {
    let s = input.trim().trim_end_matches('%').trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let message = || {
        "Give the change as a percentage with at most two decimals, such as -10 or 12.5.".to_owned()
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || whole.len() > 4 || frac.len() > 2 {
        return Err(message());
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(message());
    }
    let whole: i32 = whole.parse().map_err(|_| message())?;
    let frac: i32 = format!("{frac:0<2}").parse().map_err(|_| message())?;
    let bps = (whole * 100 + frac) * if negative { -1 } else { 1 };
    if bps == 0 {
        return Err("A change of 0 % changes nothing.".into());
    }
    if !(MIN_PRICE_CHANGE_BPS..=MAX_PRICE_CHANGE_BPS).contains(&bps) {
        return Err("A price can go down by at most 100 % and up by at most 900 %.".into());
    }
    Ok(bps)
}

/// `price` changed by `bps` basis points, in exact integer arithmetic, rounded to the
/// nearest minor unit with halves away from zero (so 10 % off 0.05 is 0.05 - 0.005 =
/// 0.045, which is 0.05; 10 % off 0.15 is 0.135, which is 0.14). Never below zero.
pub fn change_by_bps(price_minor: i64, bps: i32) -> Option<i64> {
    let scaled = i128::from(price_minor) * i128::from(10_000 + bps);
    let rounded = (scaled + 5_000) / 10_000;
    i64::try_from(rounded.max(0)).ok()
}

/// A product as its edit screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductEdit {
    pub id: i64,
    /// Sent back with every save: a save made from an older version is refused.
    pub version: i64,
    pub fields: ProductFields,
    pub archived: bool,
    pub currency: Currency,
    /// Option names in order with the values of each, as the matrix was made from.
    pub options: Vec<OptionSpec>,
    pub variants: Vec<VariantEdit>,
    pub categories: Vec<CategoryChoice>,
    /// No order refers to the product, so it can be deleted (else only archived).
    pub deletable: bool,
    /// Who saved it last, and when (`YYYY-MM-DD HH:MM` UTC).
    pub updated: String,
    pub updated_by: String,
    pub may_edit: bool,
    /// The staff member may read the audit log (the product's history).
    pub may_read_history: bool,
    pub images: Vec<ImageEdit>,
}

/// One of a product's images on its edit screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEdit {
    pub id: i64,
    pub url: String,
    pub alt: String,
    /// The option value (a colour, say) whose variants show it first.
    pub option_value: Option<String>,
}

/// The product's own fields, as the form sends them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductFields {
    pub name: String,
    pub slug: String,
    /// Rich text (a safe subset of HTML); anything else is removed when saved.
    pub description: String,
    pub brand: String,
    pub category_id: i64,
    pub published: bool,
    pub featured: bool,
    pub seo_title: String,
    pub seo_description: String,
    /// One attribute per line: `Material: linen`.
    pub attributes: String,
}

/// An option (such as Colour) and its values (Red, Blue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub name: String,
    pub values: Vec<String>,
}

/// Options as typed: one per line, `Colour: Red, Blue`.
pub fn parse_options(input: &str) -> Result<Vec<OptionSpec>, String> {
    if input.chars().count() > 5_000 {
        return Err("Options are at most 5,000 characters.".into());
    }
    if input
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("Options cannot hold control characters.".into());
    }
    let mut options: Vec<OptionSpec> = Vec::new();
    for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, values)) = line.split_once(':') else {
            return Err(format!(
                "Write each option as “Name: value, value” (“{line}” has no colon)."
            ));
        };
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            return Err("An option's name is 1 to 40 characters.".into());
        }
        if options.iter().any(|o| o.name.eq_ignore_ascii_case(name)) {
            return Err(format!("The option “{name}” is named twice."));
        }
        let mut vals: Vec<String> = Vec::new();
        for v in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            if v.chars().count() > 40 {
                return Err(format!("The value “{v}” is longer than 40 characters."));
            }
            if !vals.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                vals.push(v.to_owned());
            }
            if vals.len() > MAX_VARIANTS {
                return Err(format!(
                    "The option “{name}” has more than {MAX_VARIANTS} values."
                ));
            }
        }
        if vals.is_empty() {
            return Err(format!("The option “{name}” has no values."));
        }
        options.push(OptionSpec {
            name: name.to_owned(),
            values: vals,
        });
    }
    if options.len() > 3 {
        return Err("A product has at most three options.".into());
    }
    let combinations = options
        .iter()
        .try_fold(1usize, |n, o| n.checked_mul(o.values.len()))
        .unwrap_or(usize::MAX);
    if combinations > MAX_VARIANTS {
        return Err(format!(
            "These options make {combinations} variants; a product has at most {MAX_VARIANTS}."
        ));
    }
    Ok(options)
}

/// Options written back the way [`parse_options`] reads them.
pub fn format_options(options: &[OptionSpec]) -> String {
    options
        .iter()
        .map(|o| format!("{}: {}", o.name, o.values.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The most variants one product may have.
pub const MAX_VARIANTS: usize = 100;

/// Every combination of the options' values, in order (the first option varies
/// slowest): `Colour: Red, Blue` x `Size: S, M` is Red/S, Red/M, Blue/S, Blue/M. No
/// options: one combination with no values.
pub fn variant_matrix(options: &[OptionSpec]) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = vec![Vec::new()];
    for option in options {
        rows = rows
            .into_iter()
            .flat_map(|row| {
                option.values.iter().map(move |v| {
                    let mut next = row.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    rows
}

/// One variant on the edit screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantEdit {
    pub id: i64,
    pub sku: String,
    pub options: Vec<String>,
    /// In major units, as the form shows it ("12.50").
    pub price: String,
    /// Empty when there is none.
    pub compare_at: String,
    /// Empty when unknown.
    pub weight_grams: String,
    pub barcode: String,
    pub stock: i32,
    /// Its option value was removed while orders referred to it: kept for them, not
    /// on sale.
    pub archived: bool,
}

/// One variant's fields as the form sends them back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VariantInput {
    pub id: i64,
    pub sku: String,
    pub price: String,
    pub compare_at: String,
    pub weight_grams: String,
    pub barcode: String,
}

/// A save refused because someone saved the product after the version it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveConflict {
    pub by: String,
    pub at: String,
    /// The fields changed since that version, with their values now.
    pub changes: Vec<(String, String)>,
}

impl SaveConflict {
    /// What the editor is told.
    pub fn message(&self) -> String {
        let changed = if self.changes.is_empty() {
            String::new()
        } else {
            let list = self
                .changes
                .iter()
                .map(|(f, v)| {
                    if v.is_empty() {
                        f.clone()
                    } else {
                        format!("{f} (now “{v}”)")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(" They changed: {list}.")
        };
        format!(
            "{} saved this product at {} UTC, after you opened it.{changed} Your changes were not saved: reload the page to see theirs, then make yours again.",
            self.by, self.at
        )
    }
}

/// A node of the admin's category tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryAdminNode {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub slug: String,
    pub depth: u32,
    pub products: i64,
    /// It has a sibling before / after it (for the move up / down buttons).
    pub first: bool,
    pub last: bool,
}

/// The category screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryScreen {
    /// Depth-first, in display order.
    pub nodes: Vec<CategoryAdminNode>,
    pub choices: Vec<CategoryChoice>,
    pub may_edit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_read_to_the_basis_point() {
        assert_eq!(parse_percent("-10"), Ok(-1000));
        assert_eq!(parse_percent("12.5"), Ok(1250));
        assert_eq!(parse_percent("+7.25 %"), Ok(725));
        assert_eq!(parse_percent("-100"), Ok(-10_000));
        assert!(parse_percent("-100.01").is_err());
        assert!(parse_percent("1.234").is_err());
        assert!(parse_percent("ten").is_err());
        assert!(parse_percent("0").is_err());
        assert!(parse_percent("").is_err());
    }

    #[test]
    fn price_changes_round_halves_away_from_zero_in_exact_cents() {
        assert_eq!(change_by_bps(1999, -1000), Some(1799)); // 17.991
        assert_eq!(change_by_bps(5, -1000), Some(5)); // 0.045 -> 0.05
        assert_eq!(change_by_bps(15, -1000), Some(14)); // 0.135 -> 0.14
        assert_eq!(change_by_bps(1000, 1250), Some(1125));
        assert_eq!(change_by_bps(333, 3333), Some(444)); // 443.9889
        assert_eq!(change_by_bps(1000, -10_000), Some(0));
        assert_eq!(change_by_bps(i64::MAX, 90_000), None);
    }

    #[test]
    fn options_make_every_combination() {
        let options = parse_options("Colour: Red, Blue, Green\nSize: S, M").expect("options");
        let matrix = variant_matrix(&options);
        assert_eq!(matrix.len(), 6);
        assert_eq!(matrix[0], vec!["Red", "S"]);
        assert_eq!(matrix[5], vec!["Green", "M"]);
        assert_eq!(variant_matrix(&[]), vec![Vec::<String>::new()]);
        assert_eq!(
            format_options(&options),
            "Colour: Red, Blue, Green\nSize: S, M"
        );
        assert!(parse_options("Colour Red").is_err());
        assert!(parse_options("Colour: Red\ncolour: Blue").is_err());
        assert!(parse_options("A: 1,2,3,4,5\nB: 1,2,3,4,5\nC: 1,2,3,4,5").is_err());
        assert!(parse_options("Size: S\u{0}").is_err());
        let many: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        assert!(parse_options(&format!("Size: {}", many.join(","))).is_err());
        assert_eq!(
            parse_options("Size: S, s, M").expect("options")[0].values,
            vec!["S", "M"]
        );
    }
}
