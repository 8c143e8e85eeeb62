//! Order list benchmark: N orders (default 1,000,000, placed a minute apart over about two
//! years, one to three lines each, most delivered, some open, cancelled, refunded or
//! flagged) in a fresh database, then the list the admin's order screen asks for,
//! filtered and sorted, page 100, timed inside the server (the service call with its
//! queries; no HTTP). Prints p50/p95/p99/max per query shape, and the CSV export's rows
//! per second. A measurement: it never fails on a number.
//!
//!   bench/orders.sh
//!   ORDERS=100000 RUNS=100 bench/orders.sh

use domain::order_desk::{OrderQuery, OrderSort};
use domain::{Currency, FulfilmentStatus, OrderStatus, PaymentStatus};
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
    let orders = env_num("ORDERS", 1_000_000);
    let runs = env_num("RUNS", 300);
    let url = std::env::var("DATABASE_URL")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool.clone(), Currency::Usd);
    catalog
        .load_seed(&seed::generate(200), Currency::Usd, |_, _| {})
        .await?;
    let started = Instant::now();
    // g = 1 is the oldest. Statuses by g's remainder: 5 % cancelled (voided or refunded),
    // 7 % open (pending, authorised or paid; unshipped or shipped), the rest delivered and
    // paid, one in fifty of them partly or wholly refunded; one in a thousand flagged.
    sqlx::query(
        r#"INSERT INTO orders (number, user_id, email, order_status, payment_status, fulfilment_status,
               currency, subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bps,
               shipping_code, shipping_name, payment_method, ship_full_name, ship_line1, ship_line2,
               ship_city, ship_region, ship_postal_code, ship_country, ship_phone, idempotency_key,
               placed_by, created_at, updated_at, captured_minor, refunded_minor,
               review_reason, review_flagged_at)
           SELECT 'EMP-' || (900000000 + g), NULL, 'customer' || (g % 50000) || '@example.com',
                  s.o, s.p, s.f, 'USD', sub, 595, 0, sub + 595, 0, 'standard', 'Standard',
                  (ARRAY['card','card','card','bank_transfer','bank_transfer','card','card','pay_on_delivery','card','bank_transfer'])[1 + g % 10],
                  (ARRAY['Nora','Olive','Ada','Ben','Cleo','Dev','Eli','Faye','Gus','Hana'])[1 + g % 10] || ' ' ||
                  (ARRAY['Quill','Marsh','Stone','Reed','Vale','Frost','Lane','Brook'])[1 + (g / 10) % 8],
                  g || ' Market Street', '', 'Springfield', '', '12345', 'US', '',
                  'bench-order-key-' || lpad(g::text, 10, '0'), 'bench',
                  now() - make_interval(mins => $1 - g), now() - make_interval(mins => $1 - g),
                  CASE WHEN s.p IN ('paid', 'partially_refunded', 'refunded') THEN sub + 595 ELSE 0 END,
                  CASE s.p WHEN 'refunded' THEN sub + 595 WHEN 'partially_refunded' THEN 500 ELSE 0 END,
                  CASE WHEN g % 1000 = 7 THEN 'Stripe reported a payment that does not match' END,
                  CASE WHEN g % 1000 = 7 THEN now() END
           FROM generate_series(1, $1::int) g
           CROSS JOIN LATERAL (SELECT 1000 + (g::bigint * 7919) % 40000 AS sub) a
           CROSS JOIN LATERAL (SELECT
               CASE WHEN g % 20 = 0 THEN 'cancelled' WHEN g % 100 < 7 THEN 'open' ELSE 'completed' END AS o,
               CASE WHEN g % 20 = 0 THEN (CASE WHEN g % 3 = 0 THEN 'refunded' ELSE 'voided' END)
                    WHEN g % 100 < 7 THEN (ARRAY['pending','authorised','paid','paid'])[1 + g % 4]
                    WHEN g % 50 = 1 THEN 'partially_refunded' WHEN g % 50 = 3 THEN 'refunded'
                    ELSE 'paid' END AS p,
               CASE WHEN g % 20 = 0 THEN 'unfulfilled' WHEN g % 100 < 7 THEN (CASE WHEN g % 3 = 0 THEN 'fulfilled' ELSE 'unfulfilled' END)
                    ELSE 'delivered' END AS f) s"#,
    )
    .bind(orders as i32)
    .execute(&pool)
    .await?;
    sqlx::query(
        r#"INSERT INTO order_lines (order_id, line_no, variant_id, sku, product_name, product_slug,
               variant_label, unit_price_minor, quantity, line_total_minor)
           SELECT o.id, n, NULL, 'BENCH-' || n, 'Bench product ' || n, 'bench-product-' || n, 'One size',
                  1000, 1, 1000
           FROM orders o CROSS JOIN LATERAL generate_series(1, 1 + (o.id % 3)::int) n
           WHERE o.placed_by = 'bench'"#,
    )
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&pool)
        .await?;
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM order_lines")
        .fetch_one(&pool)
        .await?;
    println!(
        "orders: {count} orders, {lines} lines, made in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let redis = redis::Client::open(std::env::var("REDIS_URL")?)?
        .get_connection_manager()
        .await?;
    let service = services::orders::OrderService::new(
        pool.clone(),
        catalog.clone(),
        services::payments::Payments::new(vec![
            std::sync::Arc::new(services::payments::BankTransfer {
                shop_name: "Bench".into(),
                expires_after: None,
            }),
            std::sync::Arc::new(services::payments::PayOnDelivery),
        ]),
        services::limits::RateLimiter::new(redis, "bench:"),
        Default::default(),
        services::signing::Signer::load(&pool, None).await?,
    );
    let actor = Actor::command_line();
    let today = chrono::Utc::now().date_naive();
    let ninety = (today - chrono::Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    let page = 100;
    let shapes: Vec<(&str, OrderQuery)> = vec![
        (
            "everything, newest first",
            OrderQuery {
                page,
                ..Default::default()
            },
        ),
        (
            "paid, not shipped (the packing queue), oldest first",
            OrderQuery {
                payment: Some(PaymentStatus::Paid),
                fulfilment: Some(FulfilmentStatus::Unfulfilled),
                reverse: true,
                page,
                ..Default::default()
            },
        ),
        (
            "cancelled, newest first",
            OrderQuery {
                order: Some(OrderStatus::Cancelled),
                page,
                ..Default::default()
            },
        ),
        (
            "bank transfer, last 90 days, largest first",
            OrderQuery {
                method: "bank_transfer".into(),
                from: ninety.clone(),
                sort: OrderSort::Total,
                page,
                ..Default::default()
            },
        ),
        (
            "refunded, smallest first",
            OrderQuery {
                payment: Some(PaymentStatus::Refunded),
                sort: OrderSort::Total,
                reverse: true,
                page,
                ..Default::default()
            },
        ),
        (
            "name or e-mail starts with \"nora\"",
            OrderQuery {
                q: "nora".into(),
                page,
                ..Default::default()
            },
        ),
        (
            "needs review (page 1: there are ~1,000)",
            OrderQuery {
                review: true,
                ..Default::default()
            },
        ),
        (
            "e-mail customer4242@example.com (page 1)",
            OrderQuery {
                q: "customer4242@example.com".into(),
                ..Default::default()
            },
        ),
        (
            "an order number (page 1)",
            OrderQuery {
                q: format!("EMP-{}", 900_000_000 + orders / 2),
                ..Default::default()
            },
        ),
    ];
    println!("{runs} runs per shape (after 20 to warm up), server time of the list call:");
    println!(
        "{:<52} {:>5} {:>8} {:>8} {:>8} {:>8}",
        "shape", "rows", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (label, query) in shapes {
        let mut rows = 0;
        for _ in 0..20 {
            rows = service.desk_list(&actor, &query).await?.rows.len();
        }
        let mut times: Vec<f64> = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let list = service.desk_list(&actor, &query).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(list);
        }
        times.sort_by(f64::total_cmp);
        let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "{label:<52} {rows:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            at(0.50),
            at(0.95),
            at(0.99),
            times[times.len() - 1]
        );
    }
    // The export of a filtered list, batch by batch as the endpoint streams it.
    for (label, query) in [
        (
            "cancelled",
            OrderQuery {
                order: Some(OrderStatus::Cancelled),
                ..Default::default()
            },
        ),
        ("everything", OrderQuery::default()),
    ] {
        let t = Instant::now();
        let (mut bytes, mut next) = service.desk_export(&actor, &query, None).await?;
        let mut size = bytes.len();
        let mut rows = bytecount(&bytes) - 1;
        while let Some(before) = next {
            (bytes, next) = service.desk_export(&actor, &query, Some(before)).await?;
            size += bytes.len();
            rows += bytecount(&bytes);
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "CSV export, {label}: {rows} rows, {:.1} MB in {secs:.1} s ({:.0} rows/s)",
            size as f64 / 1e6,
            rows as f64 / secs
        );
    }
    Ok(())
}

fn bytecount(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}
