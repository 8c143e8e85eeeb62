//! Catalog writes. Each one commits, announces itself to other instances, and clears this
//! instance's cache before it returns.

use super::{CatalogError, CatalogService, CHANGE_CHANNEL};
use domain::stock::StockReason;
use domain::Money;
use sqlx::{Postgres, Transaction};

impl CatalogService {
    /// Sets a variant's price.
    #[tracing::instrument(skip(self))]
    pub async fn set_price(&self, sku: &str, price: Money) -> Result<(), CatalogError> {
        if price.amount_minor() < 0 {
            return Err(CatalogError::Invalid("a price cannot be negative".into()));
        }
        let mut tx = self.pool.begin().await?;
        let product_id = sqlx::query_scalar!(
            r#"UPDATE variants SET price_minor = $2, currency = $3, updated_at = now()
               WHERE sku = $1 RETURNING product_id"#,
            sku,
            price.amount_minor(),
            price.currency().code()
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("variant"))?;
        self.finish_write(tx, product_id).await
    }

    /// Sets a variant's stock on hand to `stock`, as a count correction (for the command
    /// line and tests; staff use [`CatalogService::adjust_stock`]).
    #[tracing::instrument(skip(self))]
    pub async fn set_stock(&self, sku: &str, stock: i32) -> Result<(), CatalogError> {
        if stock < 0 {
            return Err(CatalogError::Invalid("stock cannot be negative".into()));
        }
        let mut tx = self.pool.begin().await?;
        let v = sqlx::query!(
            "SELECT id, product_id, stock_on_hand FROM variants WHERE sku = $1 FOR UPDATE",
            sku
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("variant"))?;
        let cause = crate::stock::Cause::new(StockReason::Count, "system");
        crate::stock::apply(&mut tx, &[(v.id, stock - v.stock_on_hand)], &cause).await?;
        self.finish_write(tx, v.product_id).await
    }

    /// Publishes or unpublishes a product.
    #[tracing::instrument(skip(self))]
    pub async fn set_published(&self, slug: &str, published: bool) -> Result<(), CatalogError> {
        let mut tx = self.pool.begin().await?;
        let product_id = sqlx::query_scalar!(
            "UPDATE products SET published = $2 WHERE slug = $1 RETURNING id",
            slug,
            published
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("product"))?;
        self.finish_write(tx, product_id).await
    }

    /// Marks the product updated, announces it, commits and clears this instance's cache.
    pub(super) async fn finish_write(
        &self,
        mut tx: Transaction<'_, Postgres>,
        product_id: i64,
    ) -> Result<(), CatalogError> {
        sqlx::query!(
            "UPDATE products SET updated_at = now() WHERE id = $1",
            product_id
        )
        .execute(&mut *tx)
        .await?;
        announce_change(&mut tx, product_id).await?;
        tx.commit().await?;
        self.invalidate_cache();
        Ok(())
    }
}

/// Announces, inside `tx`, that a product changed: other instances clear their caches
/// (NOTIFY, delivered only if the transaction commits) and the search index and any other
/// consumer hear of it through the event log, so no change can be missed. Any service
/// that changes what a product shows (stock selling out, say) calls this.
pub async fn announce_change(
    tx: &mut Transaction<'_, Postgres>,
    product_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_notify($1, $2)",
        CHANGE_CHANNEL,
        product_id.to_string()
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "INSERT INTO event_log (topic, payload) VALUES ('product.changed', jsonb_build_object('product_id', $1::bigint))",
        product_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Above this many products, other instances are told "everything" once (they drop
/// their caches and rebuild their search index) rather than each product.
const ONE_BY_ONE: usize = 500;

/// [`announce_change`] for many products at once (a category renamed or moved changes
/// what each of its products shows), in two statements.
pub async fn announce_products(
    tx: &mut Transaction<'_, Postgres>,
    product_ids: &[i64],
) -> Result<(), sqlx::Error> {
    if product_ids.len() > ONE_BY_ONE {
        // Not a product id: listeners take it as "anything may have changed".
        sqlx::query!("SELECT pg_notify($1, 'all')", CHANGE_CHANNEL)
            .execute(&mut **tx)
            .await?;
    } else {
        sqlx::query!(
            "SELECT pg_notify($1, id::text) FROM unnest($2::bigint[]) AS id",
            CHANGE_CHANNEL,
            product_ids
        )
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query!(
        "INSERT INTO event_log (topic, payload)
         SELECT 'product.changed', jsonb_build_object('product_id', id) FROM unnest($1::bigint[]) AS id",
        product_ids
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Tells other instances that something no product's own data shows has changed (the
/// order of the category menu, say): they drop every cached read, and their search
/// indexes stay as they are. Delivered only if `tx` commits.
pub async fn announce_catalog(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_notify($1, '*')", CHANGE_CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
