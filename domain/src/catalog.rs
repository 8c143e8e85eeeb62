//! What the storefront shows of the catalog: cards, listings, product details.

use crate::listing::ListingQuery;
use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};

/// A link to a category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CategoryRef {
    pub slug: String,
    pub name: String,
}

/// A top-level category as shown on the home page and in the header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CategoryCard {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub image_url: String,
    pub product_count: i64,
    pub children: Vec<CategoryRef>,
}

/// A product in a grid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProductCard {
    pub slug: String,
    pub name: String,
    pub category: String,
    /// The lowest variant price.
    pub price_from: Money,
    /// Whether variants differ in price (shown as "from $x").
    pub price_varies: bool,
    pub image_url: String,
    pub image_alt: String,
    pub in_stock: bool,
}

/// The home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomePage {
    pub featured: Vec<ProductCard>,
    pub new_arrivals: Vec<ProductCard>,
    pub categories: Vec<CategoryCard>,
}

/// A category page: the category, its place in the tree, and one page of products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingPage {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// From the root down to the parent of this category.
    pub ancestors: Vec<CategoryRef>,
    pub children: Vec<CategoryRef>,
    pub products: Vec<ProductCard>,
    pub total: u64,
    pub page_count: u32,
    /// The query actually applied (page clamped to the last page).
    pub query: ListingQuery,
    /// Set when the requested page was past the end and the last page is shown instead.
    pub clamped_from: Option<u32>,
    pub currency: Currency,
}

/// One purchasable variant of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantView {
    pub sku: String,
    /// Option values in the order of [`ProductDetail::option_names`].
    pub options: Vec<String>,
    pub price: Money,
    pub stock: i32,
}

impl VariantView {
    pub fn in_stock(&self) -> bool {
        self.stock > 0
    }

    /// A stock message a shopper understands.
    pub fn stock_label(&self) -> String {
        match self.stock {
            s if s <= 0 => "Out of stock".to_owned(),
            s if s <= 5 => format!("Only {s} left"),
            _ => "In stock".to_owned(),
        }
    }
}

/// A product image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageView {
    pub url: String,
    pub alt: String,
    /// `srcset` of an uploaded image kept at several widths; empty for a drawn one.
    pub srcset: String,
    /// The option value (a colour, say) whose variants show this image first.
    pub option_value: Option<String>,
}

/// A product page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub slug: String,
    pub name: String,
    /// Rich text, already cut down to a safe subset of HTML when it was saved.
    pub description: String,
    /// The page's title and description for search engines (the SEO fields, or the name
    /// and the description's text).
    pub meta_title: String,
    pub meta_description: String,
    pub brand: String,
    pub category: CategoryRef,
    pub ancestors: Vec<CategoryRef>,
    /// Names of the options that tell variants apart, e.g. `["Colour", "Size"]`.
    pub option_names: Vec<String>,
    pub variants: Vec<VariantView>,
    pub images: Vec<ImageView>,
    pub attributes: Vec<(String, String)>,
}

/// One choice in the variant picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionChoice {
    pub value: String,
    /// The variant picking this value leads to.
    pub sku: String,
    pub selected: bool,
    /// Whether the variant it leads to has the other selected options and stock.
    pub available: bool,
}

impl ProductDetail {
    /// The variant for `sku`, or the first one in stock, or the first one.
    pub fn selected_variant(&self, sku: Option<&str>) -> Option<&VariantView> {
        sku.and_then(|s| self.variants.iter().find(|v| v.sku == s))
            .or_else(|| self.variants.iter().find(|v| v.in_stock()))
            .or_else(|| self.variants.first())
    }

    /// The distinct values of option `index`, each linked to the variant that keeps the
    /// other options of `current` where such a variant exists.
    pub fn option_choices(&self, index: usize, current: &VariantView) -> Vec<OptionChoice> {
        let mut values: Vec<&str> = Vec::new();
        for v in &self.variants {
            if let Some(val) = v.options.get(index) {
                if !values.contains(&val.as_str()) {
                    values.push(val);
                }
            }
        }
        values
            .into_iter()
            .filter_map(|value| {
                let same_others = |v: &&VariantView| {
                    v.options.get(index).map(String::as_str) == Some(value)
                        && v.options
                            .iter()
                            .enumerate()
                            .all(|(i, o)| i == index || current.options.get(i) == Some(o))
                };
                let exact = self.variants.iter().find(same_others);
                let target = exact.or_else(|| {
                    self.variants
                        .iter()
                        .find(|v| v.options.get(index).map(String::as_str) == Some(value))
                })?;
                Some(OptionChoice {
                    value: value.to_owned(),
                    sku: target.sku.clone(),
                    selected: current.options.get(index).map(String::as_str) == Some(value),
                    available: exact.is_some_and(VariantView::in_stock),
                })
            })
            .collect()
    }

    /// Which image to show first: the one asked for if it exists, else the one showing the
    /// variant's colour (an image whose alt text ends in " in {value}"), else the first.
    pub fn image_index(&self, asked: Option<usize>, variant: Option<&VariantView>) -> usize {
        if let Some(i) = asked.filter(|i| *i < self.images.len()) {
            return i;
        }
        variant
            .and_then(|v| {
                self.images
                    .iter()
                    .position(|img| {
                        img.option_value
                            .as_ref()
                            .is_some_and(|value| v.options.contains(value))
                    })
                    .or_else(|| {
                        self.images.iter().position(|img| {
                            v.options
                                .iter()
                                .any(|o| img.alt.ends_with(&format!(" in {o}")))
                        })
                    })
            })
            .unwrap_or(0)
    }

    /// Lowest and highest variant price.
    pub fn price_range(&self) -> Option<(Money, Money)> {
        let lo = self
            .variants
            .iter()
            .map(|v| v.price)
            .min_by_key(|m| m.amount_minor())?;
        let hi = self
            .variants
            .iter()
            .map(|v| v.price)
            .max_by_key(|m| m.amount_minor())?;
        Some((lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(sku: &str, colour: &str, size: &str, cents: i64, stock: i32) -> VariantView {
        VariantView {
            sku: sku.into(),
            options: vec![colour.into(), size.into()],
            price: Money::new(cents, Currency::Usd),
            stock,
        }
    }

    fn product() -> ProductDetail {
        ProductDetail {
            slug: "tee".into(),
            name: "Tee".into(),
            description: String::new(),
            meta_title: "Tee".into(),
            meta_description: String::new(),
            brand: String::new(),
            category: CategoryRef {
                slug: "tops".into(),
                name: "Tops".into(),
            },
            ancestors: vec![],
            option_names: vec!["Colour".into(), "Size".into()],
            variants: vec![
                variant("TEE-RED-S", "Red", "S", 1000, 0),
                variant("TEE-RED-M", "Red", "M", 1100, 4),
                variant("TEE-BLU-S", "Blue", "S", 1200, 9),
            ],
            images: vec![],
            attributes: vec![],
        }
    }

    #[test]
    fn selects_requested_then_first_in_stock() {
        let p = product();
        assert_eq!(
            p.selected_variant(Some("TEE-BLU-S"))
                .map(|v| v.sku.as_str()),
            Some("TEE-BLU-S")
        );
        assert_eq!(
            p.selected_variant(None).map(|v| v.sku.as_str()),
            Some("TEE-RED-M")
        );
        assert_eq!(
            p.selected_variant(Some("NOPE")).map(|v| v.sku.as_str()),
            Some("TEE-RED-M")
        );
    }

    #[test]
    fn option_choices_keep_other_options() {
        let p = product();
        let current = &p.variants[1]; // Red / M
        let colours = p.option_choices(0, current);
        assert_eq!(colours.len(), 2);
        assert!(colours[0].selected && colours[0].value == "Red");
        // Blue has no M: the link falls back to a Blue variant and is marked unavailable.
        assert_eq!(
            (colours[1].sku.as_str(), colours[1].available),
            ("TEE-BLU-S", false)
        );
        let sizes = p.option_choices(1, current);
        assert_eq!(
            sizes.iter().map(|c| c.sku.as_str()).collect::<Vec<_>>(),
            ["TEE-RED-S", "TEE-RED-M"]
        );
        // Red / S exists but is sold out.
        assert!(!sizes[0].available);
        assert!(sizes[1].available && sizes[1].selected);
    }

    #[test]
    fn image_follows_the_request_then_the_variant_colour() {
        let mut p = product();
        p.images = ["Tee in Red", "Tee in Blue", "Tee, detail"]
            .iter()
            .map(|alt| ImageView {
                url: String::new(),
                alt: (*alt).into(),
                srcset: String::new(),
                option_value: None,
            })
            .collect();
        let blue = p.variants[2].clone();
        assert_eq!(p.image_index(None, Some(&blue)), 1);
        assert_eq!(p.image_index(Some(2), Some(&blue)), 2);
        assert_eq!(
            p.image_index(Some(9), Some(&blue)),
            1,
            "out of range falls back"
        );
        assert_eq!(p.image_index(None, None), 0);
    }

    #[test]
    fn price_range_and_stock_labels() {
        let p = product();
        let (lo, hi) = p.price_range().expect("has variants");
        assert_eq!((lo.amount_minor(), hi.amount_minor()), (1000, 1200));
        assert_eq!(p.variants[0].stock_label(), "Out of stock");
        assert_eq!(p.variants[1].stock_label(), "Only 4 left");
        assert_eq!(p.variants[2].stock_label(), "In stock");
    }
}
