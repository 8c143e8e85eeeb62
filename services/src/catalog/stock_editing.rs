//! The admin's stock screens: a product's variants with their stock, adjustments entered
//! as a delta or as a counted quantity, low-stock thresholds, each variant's history and
//! the low-stock list. Every change is a stock movement (`crate::stock`) and an audit
//! record in one transaction, announced like any catalog write.

use super::{announce_change, CatalogError, CatalogService};
use crate::audit::{self, Actor, Changes};
use domain::staff::Permission;
use domain::stock::{
    Adjustment, LowStockRow, StockMovementRow, StockReason, StockScreen, StockVariant, HISTORY_ROWS,
};
use domain::FieldError;

/// The most rows the low-stock list shows.
pub const LOW_STOCK_ROWS: i64 = 500;

impl CatalogService {
    /// A product's variants with their stock, and the latest movements (of `sku` alone
    /// when given).
    pub async fn stock_screen(
        &self,
        actor: &Actor,
        product_id: i64,
        sku: Option<&str>,
    ) -> Result<StockScreen, CatalogError> {
        actor.require(Permission::Catalog)?;
        let name = sqlx::query_scalar!("SELECT name FROM products WHERE id = $1", product_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        let variants = sqlx::query!(
            r#"SELECT id, sku, array_to_string(option_values, ' / ') AS "label!", stock_on_hand,
                      low_stock_threshold, archived_at IS NOT NULL AS "archived!"
               FROM variants WHERE product_id = $1 ORDER BY position, id"#,
            product_id
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|v| StockVariant {
            id: v.id,
            sku: v.sku,
            label: v.label,
            on_hand: v.stock_on_hand,
            low_stock_threshold: v.low_stock_threshold,
            archived: v.archived,
        })
        .collect::<Vec<_>>();
        let history_sku = sku.filter(|s| variants.iter().any(|v| v.sku == *s));
        let history = sqlx::query!(
            r#"SELECT m.id, to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "at!",
                      v.sku, m.delta, m.on_hand_after, m.reason, m.note,
                      COALESCE(u.email, m.actor) AS "by!", o.number AS "order_number?"
               FROM stock_movements m
               JOIN variants v ON v.id = m.variant_id
               LEFT JOIN users u ON u.id = m.actor_id
               LEFT JOIN orders o ON o.id = m.order_id
               WHERE v.product_id = $1 AND ($2::text IS NULL OR v.sku = $2)
               ORDER BY m.id DESC LIMIT $3"#,
            product_id,
            history_sku,
            HISTORY_ROWS
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|m| StockMovementRow {
            id: m.id,
            at: format!("{} UTC", m.at),
            sku: m.sku,
            delta: m.delta,
            on_hand_after: m.on_hand_after,
            reason: StockReason::parse(&m.reason)
                .map_or(m.reason.clone(), |r| r.label().to_owned()),
            note: m.note,
            by: m.by,
            order_number: m.order_number,
        })
        .collect();
        Ok(StockScreen {
            product_id,
            product_name: name,
            variants,
            history,
            history_sku: history_sku.map(str::to_owned),
        })
    }

    /// Moves a variant's stock by what staff entered: a delta with its reason, or a count
    /// (recorded as the count minus the figure the form showed, so whatever orders took
    /// while the count was made stays taken). Returns the stock on hand after it.
    #[tracing::instrument(skip(self, actor))]
    pub async fn adjust_stock(
        &self,
        actor: &Actor,
        sku: &str,
        adjustment: Adjustment,
        reason: StockReason,
        note: &str,
    ) -> Result<i32, CatalogError> {
        actor.require(Permission::Catalog)?;
        let note = note.trim();
        // 400, so a count's own words in front ("Counted 12; the form showed 10. ") still
        // fit the column's 500.
        if note.chars().count() > 400 || domain::text::has_control_chars(note) {
            return Err(
                FieldError::new("note", "A note is at most 400 characters of text.").into(),
            );
        }
        let reason = match adjustment {
            Adjustment::Counted { .. } => StockReason::Count,
            Adjustment::Delta(_) if StockReason::BY_HAND.contains(&reason) => reason,
            Adjustment::Delta(_) => {
                return Err(FieldError::new("reason", "Choose why the stock changed.").into())
            }
        };
        let delta = adjustment.delta();
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        let v = sqlx::query!(
            "SELECT id, product_id, stock_on_hand FROM variants WHERE sku = $1 FOR UPDATE",
            sku
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("variant"))?;
        let note_text = match adjustment {
            Adjustment::Counted { counted, shown } => {
                let counted = format!("Counted {counted}; the form showed {shown}");
                if note.is_empty() {
                    counted
                } else {
                    format!("{counted}. {note}")
                }
            }
            Adjustment::Delta(_) => note.to_owned(),
        };
        // Staff by id, as in the audit log (the history shows their e-mail while they exist).
        let by = actor.stored_label();
        let cause = crate::stock::Cause {
            actor_id: actor.user_id,
            note: &note_text,
            ..crate::stock::Cause::new(reason, &by)
        };
        let moved = crate::stock::apply(&mut tx, &[(v.id, delta)], &cause).await?;
        let Some(after) = moved.first() else {
            return Err(CatalogError::Clash(format!(
                "{sku} has {} on hand now; a change of {delta:+} would leave less than none. \
                 Reload the page to see the stock as it is.",
                v.stock_on_hand
            )));
        };
        audit::record(
            &mut tx,
            actor,
            "variant",
            &v.id.to_string(),
            "stock",
            Changes::new()
                .set("sku", sku)
                .set("reason", reason.as_str())
                .set("delta", delta)
                .field("stock_on_hand", v.stock_on_hand, after.on_hand),
        )
        .await?;
        announce_change(&mut tx, v.product_id).await?;
        tx.commit().await?;
        self.invalidate_cache();
        Ok(after.on_hand)
    }

    /// Sets (or clears, with `None`) a variant's low-stock threshold.
    #[tracing::instrument(skip(self, actor))]
    pub async fn set_low_stock_threshold(
        &self,
        actor: &Actor,
        sku: &str,
        threshold: Option<i32>,
    ) -> Result<(), CatalogError> {
        actor.require(Permission::Catalog)?;
        if threshold.is_some_and(|t| !(0..=1_000_000).contains(&t)) {
            return Err(FieldError::new(
                "threshold",
                "A threshold is a whole number from 0 to 1,000,000, or empty for none.",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        let old = sqlx::query!(
            "SELECT id, low_stock_threshold FROM variants WHERE sku = $1 FOR UPDATE",
            sku
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("variant"))?;
        sqlx::query!(
            "UPDATE variants SET low_stock_threshold = $2 WHERE id = $1",
            old.id,
            threshold
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "variant",
            &old.id.to_string(),
            "low_stock_threshold",
            Changes::new().set("sku", sku).field(
                "low_stock_threshold",
                old.low_stock_threshold,
                threshold,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Variants for sale at or below their low-stock threshold, the emptiest first.
    pub async fn low_stock(&self, actor: &Actor) -> Result<Vec<LowStockRow>, CatalogError> {
        actor.require(Permission::Catalog)?;
        Ok(sqlx::query!(
            r#"SELECT p.id AS product_id, p.name, v.sku, array_to_string(v.option_values, ' / ') AS "label!",
                      v.stock_on_hand, v.low_stock_threshold AS "threshold!"
               FROM variants v JOIN products p ON p.id = v.product_id
               WHERE v.low_stock_threshold IS NOT NULL AND v.archived_at IS NULL
                 AND p.archived_at IS NULL AND v.stock_on_hand <= v.low_stock_threshold
               ORDER BY v.stock_on_hand, p.name, v.sku LIMIT $1"#,
            LOW_STOCK_ROWS
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| LowStockRow {
            product_id: r.product_id,
            product_name: r.name,
            sku: r.sku,
            label: r.label,
            on_hand: r.stock_on_hand,
            threshold: r.threshold,
        })
        .collect())
    }
}
