//! Admin product list benchmark: a catalog of N products (default 100,000, with 1 to 6
//! variants each, a third unpublished, one in fifty archived, a quarter of variants out
//! of stock) in a fresh database, then the list the admin's product screen asks for,
//! filtered and sorted, page 50, timed inside the server (the service call with its
//! queries; no HTTP). Prints p50/p95/p99/max per query shape. A measurement: it never
//! fails on a number.
//!
//!   bench/admin-products.sh
//!   PRODUCTS=20000 RUNS=100 bench/admin-products.sh

use domain::product_admin::{ProductQuery, SortColumn, StatusFilter, StockFilter};
use domain::Currency;
use services::audit::Actor;
use services::catalog::{seed, CatalogService};
use std::time::Instant;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let products = env_num("PRODUCTS", 100_000);
    let runs = env_num("RUNS", 300);
    let url = std::env::var("DATABASE_URL")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool.clone(), Currency::Usd);
    let started = Instant::now();
    // The demo catalog's categories (and a few of its products), then N made in SQL.
    catalog
        .load_seed(&seed::generate(100), Currency::Usd, |_, _| {})
        .await?;
    sqlx::query(
        r#"INSERT INTO products (category_id, slug, name, description, brand, option_names, published,
                                 created_at, updated_at, archived_at)
           SELECT leaves.ids[1 + g % array_length(leaves.ids, 1)],
                  'bench-product-' || g,
                  (ARRAY['Linen','Wool','Oak','Steel','Cotton','Glass','Cork','Felt'])[1 + g % 8] || ' ' ||
                  (ARRAY['Shirt','Mug','Lamp','Chair','Bag','Pen','Tent','Scarf','Bowl'])[1 + (g / 8) % 9] || ' ' || g,
                  '', 'Brand ' || (g % 50), '{Size}',
                  g % 3 <> 0 AND g % 50 <> 0,
                  now() - make_interval(mins => g),
                  now() - make_interval(secs => (g * 7919) % 1000000),
                  CASE WHEN g % 50 = 0 THEN now() END
           FROM generate_series(1, $1::int) g,
                (SELECT array_agg(id ORDER BY id) AS ids FROM categories c
                 WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)) leaves"#,
    )
    .bind(products as i32)
    .execute(&pool)
    .await?;
    sqlx::query(
        r#"INSERT INTO variants (product_id, sku, option_values, price_minor, currency, stock_on_hand, position)
           SELECT p.id, 'BENCH-' || p.id || '-' || s, ARRAY[(ARRAY['XS','S','M','L','XL','XXL'])[s]],
                  500 + (p.id * 37) % 20000, 'USD',
                  CASE WHEN (p.id + s) % 4 = 0 THEN 0 ELSE (p.id * s) % 50 END, s
           FROM products p CROSS JOIN LATERAL generate_series(1, 1 + (p.id % 6)::int) s
           WHERE p.slug LIKE 'bench-product-%'"#,
    )
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&pool)
        .await?;
    let variants: i64 = sqlx::query_scalar("SELECT count(*) FROM variants")
        .fetch_one(&pool)
        .await?;
    println!(
        "catalog: {count} products, {variants} variants, made in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let category: i64 = sqlx::query_scalar(
        "SELECT category_id FROM products GROUP BY category_id ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    let parent: i64 =
        sqlx::query_scalar("SELECT COALESCE(parent_id, id) FROM categories WHERE id = $1")
            .bind(category)
            .fetch_one(&pool)
            .await?;

    let actor = Actor::command_line();
    let page = 50;
    let shapes: Vec<(&str, ProductQuery)> = vec![
        (
            "not archived, newest update first",
            ProductQuery {
                page,
                ..Default::default()
            },
        ),
        (
            "a top category (subtree), published, by name",
            ProductQuery {
                category: Some(parent),
                status: StatusFilter::Published,
                sort: SortColumn::Name,
                page: 5,
                ..Default::default()
            },
        ),
        (
            "published, in stock, by name",
            ProductQuery {
                status: StatusFilter::Published,
                stock: StockFilter::InStock,
                sort: SortColumn::Name,
                page,
                ..Default::default()
            },
        ),
        (
            "drafts, out of stock, oldest first",
            ProductQuery {
                status: StatusFilter::Draft,
                stock: StockFilter::OutOfStock,
                sort: SortColumn::Created,
                reverse: true,
                page,
                ..Default::default()
            },
        ),
        (
            "name contains \"linen\", by name Z-A",
            ProductQuery {
                q: "linen".into(),
                sort: SortColumn::Name,
                reverse: true,
                page,
                ..Default::default()
            },
        ),
        (
            "SKU starts with BENCH-4242",
            ProductQuery {
                q: "BENCH-4242".into(),
                ..Default::default()
            },
        ),
    ];
    println!("{runs} runs per shape (after 20 to warm up), server time of the list call:");
    println!(
        "{:<46} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "shape", "rows", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (label, query) in shapes {
        let mut rows = 0;
        for _ in 0..20 {
            rows = catalog.admin_products(&actor, &query).await?.rows.len();
        }
        let mut times: Vec<f64> = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let list = catalog.admin_products(&actor, &query).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(list);
        }
        times.sort_by(f64::total_cmp);
        let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "{label:<46} {rows:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            at(0.50),
            at(0.95),
            at(0.99),
            times[times.len() - 1]
        );
    }
    Ok(())
}
