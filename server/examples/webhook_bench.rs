//! Webhook ingestion benchmark: Stripe events posted to the real `/webhooks/stripe`
//! endpoint of the real application (HTTP, signature check, store once by id, queue on the
//! event log), then applied to their orders by the event worker (lock, forward-only
//! status, payment record, `order.paid` event, and the "payment received" e-mail it
//! causes). 10 % of the deliveries are duplicates. Prints events/s for ingestion alone and
//! for ingestion plus processing. A measurement, never a test.
//!
//!   bench/webhooks.sh
//!   EVENTS=20000 CONCURRENCY=64 bench/webhooks.sh

use server::config::Config;
use server::Application;
use services::payments::stripe::StripeSettings;
use services::payments::webhook::sign;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const SECRET: &str = "whsec_bench";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = env_num("EVENTS", 10_000);
    let concurrency = env_num("CONCURRENCY", 32);
    let mut config = Config::from_env()?;
    config.bind = "127.0.0.1:0".parse()?;
    config.scheduler = false;
    config.page_cache = false;
    config.mail_outbox = std::env::temp_dir().join("emporium-webhook-bench-outbox");
    let _ = std::fs::remove_dir_all(&config.mail_outbox);
    config.stripe = Some(StripeSettings {
        secret_key: "sk_bench".into(),
        publishable_key: "pk_bench".into(),
        webhook_secrets: vec![SECRET.into()],
        // Processing never calls Stripe: the events carry the PaymentIntents.
        api_url: "http://127.0.0.1:9".into(),
        js_url: "https://js.stripe.com/v3/".into(),
        manual_capture: false,
        expires_after: Duration::from_secs(1800),
        guard: Default::default(),
    });
    let database_url = config.database_url.clone();
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = sqlx::PgPool::connect(&database_url).await?;

    // The deliveries: every tenth one repeats an earlier event.
    let mut ids = Vec::with_capacity(events);
    let mut unique = 0usize;
    for i in 0..events {
        if i % 10 == 9 && unique > 0 {
            ids.push((i / 10) % unique + 1);
        } else {
            unique += 1;
            ids.push(unique);
        }
    }
    // One card order per distinct event, with its PaymentIntent on record (made in SQL:
    // the benchmark is about webhooks, not checkouts).
    println!("preparing {unique} card orders…");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO orders (number, email, order_status, payment_status, fulfilment_status, currency,
             subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bps, shipping_code,
             shipping_name, payment_method, ship_full_name, ship_line1, ship_line2, ship_city,
             ship_region, ship_postal_code, ship_country, ship_phone, idempotency_key)
         SELECT 'EMP-B' || g, 'bench' || g || '@example.com', 'open', 'pending', 'unfulfilled', 'USD',
             1000, 0, 0, 1000, 0, 'standard', 'Standard', 'card', 'Bench', '1 Road', '', 'Town',
             '', '12345', 'US', '', 'bench-webhook-key-' || lpad(g::text, 12, '0')
         FROM generate_series(1, {unique}) g;
         INSERT INTO payments (order_id, provider, reference, currency, amount_minor, provider_status)
         SELECT id, 'stripe', 'pi_bench_' || substr(number, 6), 'USD', 1000, 'requires_payment_method'
         FROM orders WHERE number LIKE 'EMP-B%';"
    )))
    .execute(&pool)
    .await?;
    let mut bodies = Vec::with_capacity(events);
    for n in ids {
        let body = serde_json::json!({
            "id": format!("evt_bench_{n}"),
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": chrono::Utc::now().timestamp(),
            "data": { "object": {
                "id": format!("pi_bench_{n}"), "object": "payment_intent", "status": "succeeded",
                "amount": 1000, "amount_received": 1000, "currency": "usd",
                "metadata": { "order_number": format!("EMP-B{n}") }
            }}
        });
        bodies.push(serde_json::to_vec(&body)?);
    }
    let bodies = Arc::new(bodies);

    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, bodies, next, base) =
            (client.clone(), bodies.clone(), next.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let signature = sign(SECRET, chrono::Utc::now().timestamp(), body);
                let ok = client
                    .post(format!("{base}/webhooks/stripe"))
                    .header("stripe-signature", signature)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    failures += 1;
                }
            }
            failures
        }));
    }
    let mut failures = 0;
    for t in tasks {
        failures += t.await?;
    }
    let ingested = started.elapsed();
    // Until every order is paid (the worker has applied every distinct event).
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM orders WHERE number LIKE 'EMP-B%' AND payment_status <> 'paid'",
        )
        .fetch_one(&pool)
        .await?;
        if left == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("{left} orders still unpaid after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let processed = started.elapsed();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events")
        .fetch_one(&pool)
        .await?;
    let paid_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM event_log WHERE topic = 'order.paid'")
            .fetch_one(&pool)
            .await?;
    println!(
        "webhooks: {events} deliveries ({} duplicates) from {concurrency} connections; {failures} refused",
        events - unique
    );
    println!(
        "  ingestion (verify + store once + queue): {:.1} s, {:.0} events/s",
        ingested.as_secs_f64(),
        events as f64 / ingested.as_secs_f64()
    );
    println!(
        "  ingestion + processing (every order paid): {:.1} s, {:.0} events/s",
        processed.as_secs_f64(),
        events as f64 / processed.as_secs_f64()
    );
    println!("  stored events {stored} (distinct {unique}); order.paid events {paid_events}");
    Ok(())
}
