//! Variants looked up by SKU for the cart and checkout: always read from PostgreSQL, never
//! from the cache, because prices and stock here decide what a shopper pays.

use super::{CatalogError, CatalogService};
use domain::{Currency, Money};

/// A variant as the cart needs it, priced now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSnapshot {
    pub variant_id: i64,
    pub sku: String,
    pub product_name: String,
    pub product_slug: String,
    pub variant_label: String,
    pub image_url: String,
    pub price: Money,
    pub stock: i32,
    /// The product is published and the variant on sale (buyable).
    pub available: bool,
}

impl CatalogService {
    /// The variants with these SKUs that exist, in no particular order.
    pub async fn variants_by_sku(
        &self,
        skus: &[String],
    ) -> Result<Vec<VariantSnapshot>, CatalogError> {
        let rows = sqlx::query!(
            r#"SELECT v.id, v.sku, p.name AS product_name, p.slug AS product_slug,
                      array_to_string(v.option_values, ' / ') AS "variant_label!",
                      COALESCE((SELECT i.url FROM product_images i WHERE i.product_id = p.id
                                ORDER BY i.position, i.id LIMIT 1), '') AS "image_url!",
                      v.price_minor, v.currency, v.stock_on_hand,
                      p.published AND v.archived_at IS NULL AS "available!"
               FROM variants v JOIN products p ON p.id = v.product_id
               WHERE v.sku = ANY($1)"#,
            skus
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let currency = Currency::parse(r.currency.trim())
                    .map_err(|e| CatalogError::Invalid(e.to_string()))?;
                Ok(VariantSnapshot {
                    variant_id: r.id,
                    sku: r.sku,
                    product_name: r.product_name,
                    product_slug: r.product_slug,
                    variant_label: r.variant_label,
                    image_url: r.image_url,
                    price: Money::new(r.price_minor, currency),
                    stock: r.stock_on_hand,
                    available: r.available,
                })
            })
            .collect()
    }
}
