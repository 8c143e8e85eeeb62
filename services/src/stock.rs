//! Stock movements: the one way a variant's stock on hand changes. Each change adds its
//! delta to `variants.stock_on_hand` and writes a `stock_movements` row with the figure it
//! left, in one statement of the caller's transaction, so the stock on hand is always the
//! sum of the variant's movements. Checkout, cancellations, the admin's adjustments and
//! counts, the CSV import and the demo seed all come through here.

use domain::stock::StockReason;
use sqlx::PgConnection;
use std::collections::BTreeMap;

/// Why and by whom a set of movements was made.
#[derive(Debug, Clone)]
pub struct Cause<'a> {
    pub reason: StockReason,
    pub order_id: Option<i64>,
    /// The member of staff (`None` for checkout, the system or the command line).
    pub actor_id: Option<i64>,
    /// Who, as shown: an e-mail, "checkout", "command line".
    pub actor: &'a str,
    pub note: &'a str,
    /// An import's file: a variant's stock moves at most once per key.
    pub import_key: Option<&'a str>,
}

impl<'a> Cause<'a> {
    pub fn new(reason: StockReason, actor: &'a str) -> Self {
        Self {
            reason,
            order_id: None,
            actor_id: None,
            actor,
            note: "",
            import_key: None,
        }
    }
}

/// A variant whose stock moved, and what it has now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub variant_id: i64,
    pub product_id: i64,
    pub on_hand: i32,
}

/// Adds each `(variant, delta)` to its stock on hand and records the movements, merging
/// repeated variants. A variant whose stock would go below zero (or that does not exist,
/// or that already moved under this import key) is left as it is and missing from the
/// result: callers compare lengths and roll back when they need all or nothing. Zero
/// deltas are recorded only for counts. Callers lock the variants first (in id order)
/// when they read a figure they rely on.
pub async fn apply(
    conn: &mut PgConnection,
    changes: &[(i64, i32)],
    cause: &Cause<'_>,
) -> Result<Vec<Moved>, sqlx::Error> {
    let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
    for &(id, delta) in changes {
        *merged.entry(id).or_default() += i64::from(delta);
    }
    let (ids, deltas): (Vec<i64>, Vec<i32>) = merged
        .into_iter()
        .filter(|&(_, d)| d != 0 || cause.reason == StockReason::Count)
        .filter_map(|(id, d)| i32::try_from(d).ok().map(|d| (id, d)))
        .unzip();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query!(
        r#"WITH moved AS (
               UPDATE variants v SET stock_on_hand = v.stock_on_hand + x.delta, updated_at = now()
               FROM unnest($1::bigint[], $2::int[]) AS x(id, delta)
               WHERE v.id = x.id AND v.stock_on_hand + x.delta >= 0
                 AND ($8::text IS NULL OR NOT EXISTS (
                     SELECT 1 FROM stock_movements m WHERE m.variant_id = v.id AND m.import_key = $8))
               RETURNING v.id, v.product_id, v.stock_on_hand, x.delta
           ), recorded AS (
               INSERT INTO stock_movements (variant_id, delta, on_hand_after, reason, note, order_id,
                                            actor_id, actor, import_key)
               SELECT id, delta, stock_on_hand, $3, $4, $5, $6, $7, $8 FROM moved
           )
           SELECT id AS "id!", product_id AS "product_id!", stock_on_hand AS "on_hand!" FROM moved"#,
        &ids,
        &deltas,
        cause.reason.as_str(),
        cause.note,
        cause.order_id,
        cause.actor_id,
        cause.actor,
        cause.import_key
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Moved {
            variant_id: r.id,
            product_id: r.product_id,
            on_hand: r.on_hand,
        })
        .collect())
}

/// Records the stock a product's new variants were created with as their opening movements
/// (variants inserted with stock, as the demo seed does).
pub async fn record_opening(conn: &mut PgConnection, product_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO stock_movements (variant_id, delta, on_hand_after, reason, actor)
         SELECT v.id, v.stock_on_hand, v.stock_on_hand, 'opening', 'system' FROM variants v
         WHERE v.product_id = $1 AND v.stock_on_hand <> 0
           AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.variant_id = v.id)",
        product_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A variant whose stock on hand is not the sum of its movements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub sku: String,
    pub on_hand: i32,
    pub movements: i64,
}

/// Every variant whose stock on hand differs from the sum of its movements (none, unless
/// something wrote the column around this module), and how many variants were checked.
pub async fn check(pool: &sqlx::PgPool) -> Result<(i64, Vec<Mismatch>), sqlx::Error> {
    let checked = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM variants"#)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query!(
        r#"SELECT v.sku, v.stock_on_hand, COALESCE(m.total, 0)::bigint AS "total!"
           FROM variants v
           LEFT JOIN (SELECT variant_id, sum(delta) AS total FROM stock_movements GROUP BY variant_id) m
                  ON m.variant_id = v.id
           WHERE v.stock_on_hand <> COALESCE(m.total, 0)
           ORDER BY v.sku"#
    )
    .fetch_all(pool)
    .await?;
    Ok((
        checked,
        rows.into_iter()
            .map(|r| Mismatch {
                sku: r.sku,
                on_hand: r.stock_on_hand,
                movements: r.total,
            })
            .collect(),
    ))
}
