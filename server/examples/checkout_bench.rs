//! Checkout benchmark: orders placed per second and their latency, with N concurrent
//! buyers on distinct SKUs and on one hot SKU, against the real PostgreSQL. It calls the
//! order service directly (the transaction that places an order: locks, stock, order,
//! lines, event), not HTTP. Prints figures and checks that nothing was oversold.
//!
//!   bench/checkout.sh                      # builds and runs this in release
//!   BUYERS=64 SECONDS=10 bench/checkout.sh

use domain::{AddressInput, Currency};
use services::limits::{Rate, RateLimiter};
use services::orders::{CheckoutLimits, LineRequest, OrderError, OrderService, PlaceOrder};
use services::payments::{BankTransfer, Payments};
use services::CatalogService;
use sqlx::postgres::PgPoolOptions;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Outcome {
    placed: u64,
    sold_out: u64,
    errors: u64,
    latencies_us: Vec<u64>,
    elapsed: Duration,
}

async fn run(
    orders: &OrderService,
    skus: Arc<Vec<String>>,
    buyers: u64,
    seconds: u64,
    tag: &str,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for b in 0..buyers {
        let (orders, skus, stop, counter) =
            (orders.clone(), skus.clone(), stop.clone(), counter.clone());
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut out = (0u64, 0u64, 0u64, Vec::new());
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let sku = skus[(b as usize + i * 7919) % skus.len()].clone();
                i += 1;
                let order = PlaceOrder {
                    idempotency_key: format!("bench-{tag}-{n:012}"),
                    owner: format!("guest:bench-{tag}-{n}"),
                    known_as: Vec::new(),
                    client_ip: format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
                    user_id: None,
                    email: format!("bench-{tag}-{n}@example.com"),
                    address: AddressInput {
                        full_name: "Bench Buyer".into(),
                        line1: "1 Load Street".into(),
                        city: "Testville".into(),
                        postal_code: "12345".into(),
                        country: "US".into(),
                        ..Default::default()
                    },
                    shipping_code: "standard".into(),
                    payment_code: "bank_transfer".into(),
                    lines: vec![LineRequest::new(sku, 1)],
                };
                let t = Instant::now();
                match orders.place(&order).await {
                    Ok(_) => {
                        out.0 += 1;
                        out.3
                            .push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                    }
                    Err(OrderError::SoldOut(_)) => out.1 += 1,
                    Err(e) => {
                        if out.2 == 0 {
                            eprintln!("error: {e}");
                        }
                        out.2 += 1;
                    }
                }
            }
            out
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut o = Outcome {
        placed: 0,
        sold_out: 0,
        errors: 0,
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        if let Ok((p, s, e, l)) = t.await {
            o.placed += p;
            o.sold_out += s;
            o.errors += e;
            o.latencies_us.extend(l);
        }
    }
    o.elapsed = started.elapsed();
    o
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

fn report(name: &str, mut o: Outcome) {
    o.latencies_us.sort_unstable();
    println!(
        "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {} |",
        o.placed as f64 / o.elapsed.as_secs_f64(),
        percentile(&o.latencies_us, 0.50),
        percentile(&o.latencies_us, 0.99),
        o.placed,
        o.sold_out,
        o.errors
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    let buyers = env_num("BUYERS", 32);
    let seconds = env_num("SECONDS", 10);
    let connections = u32::try_from(env_num("CONNECTIONS", 16)).unwrap_or(16);
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .connect(&url)
        .await?;
    services::MIGRATOR.run(&pool).await?;
    let catalog = CatalogService::new(pool.clone(), Currency::Usd);
    if sqlx::query_scalar::<_, i64>("SELECT count(*) FROM variants")
        .fetch_one(&pool)
        .await?
        == 0
    {
        let data =
            services::catalog::seed::generate(services::catalog::seed::DEFAULT_PRODUCT_COUNT);
        catalog.load_seed(&data, Currency::Usd, |_, _| {}).await?;
    }
    sqlx::query("UPDATE products SET published = true")
        .execute(&pool)
        .await?;
    sqlx::query("UPDATE variants SET stock_on_hand = 1000000")
        .execute(&pool)
        .await?;
    sqlx::query("TRUNCATE orders, order_lines, event_log, event_consumptions")
        .execute(&pool)
        .await?;
    let skus: Vec<String> = sqlx::query_scalar("SELECT sku FROM variants ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let payments = Payments::new(vec![Arc::new(BankTransfer {
        shop_name: "Bench".into(),
        expires_after: None,
    })]);
    // Real checkout guards on the local Redis, with limits no buyer reaches: every order
    // comes from its own address and e-mail, so the figures include their cost.
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:63799/0".into());
    let redis = redis::Client::open(redis_url)?
        .get_connection_manager()
        .await?;
    let limiter = RateLimiter::new(redis, "emporium-bench:");
    let limits = CheckoutLimits {
        per_network: Rate::per_minute(u32::MAX),
        per_email: Rate::per_minute(u32::MAX),
        per_session: Rate::per_minute(u32::MAX),
        ..CheckoutLimits::default()
    };
    let signer = services::signing::Signer::from_key(b"bench");
    let orders = OrderService::new(pool.clone(), catalog, payments, limiter, limits, signer);

    println!("checkout benchmark: {buyers} concurrent buyers, {seconds} s per row, {connections} PostgreSQL connections, {} SKUs", skus.len());
    println!();
    println!("| scenario | orders/s | p50 | p99 | placed | sold out | errors |");
    println!("|---|---|---|---|---|---|---|");
    let distinct = run(&orders, Arc::new(skus.clone()), buyers, seconds, "distinct").await;
    report("distinct SKUs", distinct);
    let hot = skus[0].clone();
    let hot_run = run(&orders, Arc::new(vec![hot.clone()]), buyers, seconds, "hot").await;
    report("one hot SKU", hot_run);

    // A hot SKU with only 100 units left: exactly 100 more orders, never below zero.
    sqlx::query("UPDATE variants SET stock_on_hand = 100 WHERE sku = $1")
        .bind(&skus[1])
        .execute(&pool)
        .await?;
    let limited = run(
        &orders,
        Arc::new(vec![skus[1].clone()]),
        buyers,
        3,
        "limited",
    )
    .await;
    let limited_placed = limited.placed;
    report("hot SKU with 100 units left", limited);
    let left: i32 = sqlx::query_scalar("SELECT stock_on_hand FROM variants WHERE sku = $1")
        .bind(&skus[1])
        .fetch_one(&pool)
        .await?;

    // Oversell check: for every other SKU, stock left + units sold = the starting stock.
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
            SELECT v.stock_on_hand + COALESCE(sum(l.quantity), 0) AS total
            FROM variants v LEFT JOIN order_lines l ON l.variant_id = v.id
            WHERE v.sku <> $1 GROUP BY v.id, v.stock_on_hand) s
         WHERE total <> 1000000",
    )
    .bind(&skus[1])
    .fetch_one(&pool)
    .await?;
    let negative: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE stock_on_hand < 0")
        .fetch_one(&pool)
        .await?;
    println!();
    println!(
        "oversell check: 100 units -> {limited_placed} orders, {left} left; SKUs whose stock and sales disagree: {mismatched}; negative stock: {negative}"
    );
    Ok(())
}
