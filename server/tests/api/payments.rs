//! Card payments against localstripe (the real local Stripe server started by
//! `scripts/localstripe.sh`), and webhooks signed as Stripe signs them for what
//! localstripe cannot send: signatures, exactly-once effect under duplicates and races,
//! out-of-order events, amount checks, an unreachable Stripe, reconciliation and expiry.

use crate::helpers::{checkout_form, idempotency_key, Page, TestApp};
use server::config::Config;
use services::payments::stripe::StripeSettings;
use services::payments::webhook::sign;
use services::resilience::GuardSettings;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const PUBLISHABLE: &str = "pk_test_emporium";

pub(crate) fn localstripe() -> String {
    std::env::var("LOCALSTRIPE_URL").expect(
        "LOCALSTRIPE_URL is not set: start localstripe with scripts/localstripe.sh start (make test does)",
    )
}

/// A webhook secret of this test's own.
pub(crate) fn secret() -> String {
    format!("whsec_test_{}", services::random::hex(8).expect("random"))
}

/// Card payments on, against `api` (localstripe, or a proxy in front of it).
pub(crate) fn with_stripe(c: &mut Config, api: &str, webhook_secret: &str) {
    c.stripe = Some(StripeSettings {
        secret_key: "sk_test_emporium".into(),
        publishable_key: PUBLISHABLE.into(),
        webhook_secrets: vec![webhook_secret.to_owned()],
        api_url: api.to_owned(),
        js_url: format!("{}/js.stripe.com/v3/", localstripe()),
        manual_capture: false,
        expires_after: Duration::from_secs(30 * 60),
        guard: GuardSettings {
            timeout: Duration::from_secs(3),
            window: Duration::from_secs(30),
            minimum_calls: 2,
            failure_rate: 0.5,
            open_for: Duration::from_millis(500),
        },
    });
}

/// A shop with card payments on against localstripe, and its webhook secret.
pub(crate) async fn stripe_app() -> (TestApp, String) {
    let secret = secret();
    let app = TestApp::spawn_with({
        let s = secret.clone();
        move |c| with_stripe(c, &localstripe(), &s)
    })
    .await;
    (app, secret)
}

pub(crate) async fn scalar(app: &TestApp, sql: &str, number: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(number)
        .fetch_one(&app.pool().await)
        .await
        .expect(sql)
}

pub(crate) async fn text(app: &TestApp, sql: &str, number: &str) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(number)
        .fetch_one(&app.pool().await)
        .await
        .expect(sql)
}

/// The order's payment records, oldest first, as `kind:caused_by` joined by commas.
async fn records(app: &TestApp, number: &str) -> String {
    text(
        app,
        "SELECT string_agg(kind || ':' || caused_by, ',' ORDER BY r.id) FROM payment_records r
         JOIN orders o ON o.id = r.order_id WHERE o.number = $1",
        number,
    )
    .await
}

pub(crate) async fn payment_status(app: &TestApp, number: &str) -> String {
    text(
        app,
        "SELECT payment_status FROM orders WHERE number = $1",
        number,
    )
    .await
}

/// Waits (up to 10 s) until the order's payment status is `want`.
pub(crate) async fn wait_for_status(app: &TestApp, number: &str, want: &str) {
    for _ in 0..100 {
        if payment_status(app, number).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{number} stayed {} instead of {want}",
        payment_status(app, number).await
    );
}

/// A shopper checks out with `payment` and lands on the order page; returns their
/// browser and the order number.
pub(crate) async fn place(app: &TestApp, payment: &str) -> (reqwest::Client, String) {
    let browser = app.browser();
    let sku: String = sqlx::query_scalar(
        "SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id
         WHERE p.published AND v.stock_on_hand >= 30 ORDER BY v.id LIMIT 1",
    )
    .fetch_one(&app.pool().await)
    .await
    .expect("sku");
    let added = app
        .call(
            &browser,
            "/api/cart_add",
            &[("sku", &sku), ("quantity", "1")],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let checkout = app.visit(&browser, "/checkout").await;
    let key = idempotency_key(&checkout.body);
    assert!(
        checkout.body.contains(&format!(r#"value="{payment}""#)),
        "{payment} is offered"
    );
    let mut form = checkout_form(&key);
    for field in form.iter_mut() {
        if field.0 == "payment" {
            field.1 = payment;
        }
    }
    let placed = app.call(&browser, "/api/place_order", &form).await;
    assert!(
        placed.status == 200 || placed.status == 302,
        "{}: {}",
        placed.status,
        placed.body
    );
    let number: String = sqlx::query_scalar("SELECT number FROM orders WHERE idempotency_key = $1")
        .bind(&key)
        .fetch_one(&app.pool().await)
        .await
        .expect("placed");
    (browser, number)
}

/// A card as Stripe.js (localstripe's) reads it: the id of a token's card.
pub(crate) async fn card(number: &str) -> String {
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/tokens", localstripe()))
        .form(&[
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
            ("key", PUBLISHABLE),
        ])
        .send()
        .await
        .expect("localstripe")
        .json()
        .await
        .expect("token");
    token["card"]["id"].as_str().expect("card id").to_owned()
}

pub(crate) async fn pay(
    app: &TestApp,
    browser: &reqwest::Client,
    number: &str,
    card_id: &str,
) -> Page {
    app.call(
        browser,
        "/api/order_pay_card",
        &[("number", number), ("payment_method", card_id)],
    )
    .await
}

pub(crate) async fn intent_id(app: &TestApp, number: &str) -> String {
    text(
        app,
        "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.number = $1",
        number,
    )
    .await
}

/// The PaymentIntent as localstripe has it now.
pub(crate) async fn intent_json(id: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}/v1/payment_intents/{id}", localstripe()))
        .bearer_auth("sk_test_emporium")
        .send()
        .await
        .expect("localstripe")
        .json()
        .await
        .expect("intent")
}

/// Pays the intent at localstripe directly, as if the shopper's payment went through
/// but the shop never heard the answer.
async fn pay_at_stripe(id: &str) {
    let client = reqwest::Client::new();
    let card_id = card("4242424242424242").await;
    for (path, form) in [
        (
            format!("/v1/payment_intents/{id}"),
            vec![("payment_method", card_id.as_str())],
        ),
        (format!("/v1/payment_intents/{id}/confirm"), vec![]),
    ] {
        let r = client
            .post(format!("{}{path}", localstripe()))
            .bearer_auth("sk_test_emporium")
            .form(&form)
            .send()
            .await
            .expect("localstripe");
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
}

/// A Stripe event about `object`, as its JSON body.
fn event(id: &str, kind: &str, object: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": id,
        "object": "event",
        "type": kind,
        "created": chrono::Utc::now().timestamp(),
        "data": { "object": object },
    }))
    .expect("json")
}

async fn deliver(app: &TestApp, body: &[u8], signature: &str) -> Page {
    Page::read(
        app.client
            .post(format!("{}/webhooks/stripe", app.base))
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .expect("webhook"),
    )
    .await
}

fn signed(secret: &str, body: &[u8]) -> String {
    sign(secret, chrono::Utc::now().timestamp(), body)
}

/// E-mails in the app's outbox whose text contains `needle`, after a moment for the
/// worker to send what it will.
/// How many sent mails hold `needle`, once the event worker has had its chance: waits
/// until `expected` are there (up to 10 s), then a little longer, so one too many shows.
pub(crate) async fn mails_with(app: &TestApp, needle: &str, expected: usize) -> usize {
    let count = || {
        std::fs::read_dir(&app.outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        crate::helpers::decode_qp(
                            &std::fs::read_to_string(e.path()).unwrap_or_default(),
                        )
                        .contains(needle)
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    for _ in 0..100 {
        if count() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    count()
}

#[tokio::test]
async fn a_shopper_pays_by_card_after_a_declined_card_on_the_same_intent() {
    let (app, _) = stripe_app().await;
    // The checkout offers the card beside the offline methods (`place` checks), and the
    // order page's CSP allows Stripe.js's origin.
    let (browser, number) = place(&app, "card").await;
    let intent = intent_id(&app, &number).await;
    let page = app.visit(&browser, &format!("/order/{number}")).await;
    assert_eq!(page.texts("order-status"), ["Awaiting payment"]);
    assert!(
        page.body.contains(r#"data-testid="card-payment""#),
        "card form"
    );
    assert!(
        page.body.contains("/js.stripe.com/v3/"),
        "Stripe.js is loaded"
    );
    let csp = page.header("content-security-policy").expect("csp");
    assert!(csp.contains(&localstripe()), "{csp}");
    let stripe_side = intent_json(&intent).await;
    assert_eq!(stripe_side["metadata"]["order_number"], number.as_str());
    let total = scalar(
        &app,
        "SELECT total_minor FROM orders WHERE number = $1",
        &number,
    )
    .await;
    assert_eq!(stripe_side["amount"], total);
    assert_eq!(stripe_side["currency"], "usd");

    let declined = pay(&app, &browser, &number, &card("4000000000000341").await).await;
    assert_eq!(declined.status, 422, "{}", declined.body);
    assert!(
        declined.body.contains("Your card was declined."),
        "{}",
        declined.body
    );
    assert_eq!(payment_status(&app, &number).await, "failed");

    let paid = pay(&app, &browser, &number, &card("4242424242424242").await).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert!(paid.body.contains(r#""Done""#), "{}", paid.body);
    let page = app
        .visit(&browser, &format!("/order/{number}?payment=returned"))
        .await;
    assert_eq!(page.texts("order-status"), ["Paid"]);
    assert!(
        !page.body.contains(r#"data-testid="card-payment""#),
        "no form once paid"
    );
    // Still one PaymentIntent, with both attempts recorded.
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.number = $1", &number).await,
        1
    );
    assert_eq!(intent_id(&app, &number).await, intent);
    let kinds = records(&app, &number).await;
    assert_eq!(kinds, "requested:system,failed:shopper,captured:shopper");
    assert_eq!(mails_with(&app, "Payment received for your", 1).await, 1);
    // A paid order takes no second payment.
    let again = pay(&app, &browser, &number, &card("4242424242424242").await).await;
    assert_eq!(again.status, 409, "{}", again.body);
}

#[tokio::test]
async fn three_d_secure_hands_over_to_stripe_js_and_the_return_records_it() {
    let (app, _) = stripe_app().await;
    let (browser, number) = place(&app, "card").await;
    let answer = pay(&app, &browser, &number, &card("4000002760003184").await).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let outcome: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    let client_secret = outcome["NeedsAction"]["client_secret"]
        .as_str()
        .expect("secret");
    assert!(client_secret.starts_with(&intent_id(&app, &number).await));
    assert_eq!(payment_status(&app, &number).await, "pending");
    // What Stripe.js does when the shopper completes the bank's check.
    let id = intent_id(&app, &number).await;
    let done = reqwest::Client::new()
        .post(format!(
            "{}/v1/payment_intents/{id}/_authenticate?success=true",
            localstripe()
        ))
        .json(&serde_json::json!({ "key": PUBLISHABLE, "client_secret": client_secret }))
        .send()
        .await
        .expect("authenticate");
    assert!(done.status().is_success());
    let page = app
        .visit(&browser, &format!("/order/{number}?payment=returned"))
        .await;
    assert_eq!(page.texts("order-status"), ["Paid"]);
}

#[tokio::test]
async fn forged_wrong_secret_and_stale_webhooks_are_refused_and_change_nothing() {
    let (app, secret) = stripe_app().await;
    let (_, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    pay_at_stripe(&id).await;
    let body = event(
        "evt_forged_1",
        "payment_intent.succeeded",
        &intent_json(&id).await,
    );
    let now = chrono::Utc::now().timestamp();
    let forged = format!("t={now},v1={}", "ab".repeat(32));
    for (signature, why) in [
        (forged, "forged"),
        (signed("whsec_someone_else", &body), "wrong secret"),
        (sign(&secret, now - 301, &body), "stale"),
        ("nonsense".to_owned(), "malformed"),
    ] {
        let refused = deliver(&app, &body, &signature).await;
        assert_eq!(refused.status, 400, "{why}: {}", refused.body);
    }
    // A tampered body under a good signature of the original.
    let good = signed(&secret, &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(deliver(&app, &tampered, &good).await.status, 400);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM stripe_events WHERE $1 <> ''",
            &number
        )
        .await,
        0
    );
    assert_eq!(payment_status(&app, &number).await, "pending");
    // The genuine delivery is taken.
    assert_eq!(deliver(&app, &body, &good).await.status, 200);
    wait_for_status(&app, &number, "paid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_event_fifty_times_at_once_pays_once_with_one_email() {
    let (app, secret) = stripe_app().await;
    let (_, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    pay_at_stripe(&id).await;
    let body = Arc::new(event(
        "evt_dup_50",
        "payment_intent.succeeded",
        &intent_json(&id).await,
    ));
    let signature = signed(&secret, &body);
    let app = Arc::new(app);
    let deliveries: Vec<_> = (0..50)
        .map(|_| {
            let (app, body, signature) = (app.clone(), body.clone(), signature.clone());
            tokio::spawn(async move { deliver(&app, &body, &signature).await.status })
        })
        .collect();
    for d in deliveries {
        assert_eq!(d.await.expect("delivery"), 200);
    }
    wait_for_status(&app, &number, "paid").await;
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM stripe_events WHERE $1 <> ''",
            &number
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM event_log WHERE topic = 'stripe.event' AND $1 <> ''",
            &number
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM event_log WHERE topic = 'order.paid' AND payload->>'number' = $1",
            &number
        )
        .await,
        1
    );
    assert_eq!(mails_with(&app, "Payment received for your", 1).await, 1);
}

#[tokio::test]
async fn events_in_any_order_only_move_the_payment_forward() {
    let (app, secret) = stripe_app().await;
    let (_, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    pay_at_stripe(&id).await;
    let succeeded = intent_json(&id).await;
    let mut processing = succeeded.clone();
    processing["status"] = "processing".into();
    let mut failed = succeeded.clone();
    failed["status"] = "requires_payment_method".into();
    failed["last_payment_error"] =
        serde_json::json!({ "code": "card_declined", "message": "Your card was declined." });
    for (n, (kind, object)) in [
        ("payment_intent.succeeded", &succeeded),
        ("payment_intent.processing", &processing),
        ("payment_intent.payment_failed", &failed),
    ]
    .into_iter()
    .enumerate()
    {
        let body = event(&format!("evt_order_{n}_{id}"), kind, object);
        assert_eq!(
            deliver(&app, &body, &signed(&secret, &body)).await.status,
            200
        );
    }
    // All three were handled…
    let mut left = -1;
    for _ in 0..100 {
        left = scalar(&app, "SELECT count(*) FROM event_log WHERE topic = 'stripe.event' AND processed_at IS NULL AND $1 <> ''", &number).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the worker handled every event");
    // …and the order is paid, once.
    assert_eq!(payment_status(&app, &number).await, "paid");
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND r.kind IN ('captured', 'failed')", &number).await,
        1
    );
}

#[tokio::test]
async fn an_amount_that_does_not_match_flags_the_order_and_does_not_pay_it() {
    let (app, secret) = stripe_app().await;
    let (_, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    let mut object = intent_json(&id).await;
    let total = object["amount"].as_i64().expect("amount");
    object["status"] = "succeeded".into();
    object["amount"] = (total - 100).into();
    let body = event("evt_short_paid", "payment_intent.succeeded", &object);
    assert_eq!(
        deliver(&app, &body, &signed(&secret, &body)).await.status,
        200
    );
    let mut reason = String::new();
    for _ in 0..100 {
        reason = text(
            &app,
            "SELECT COALESCE(review_reason, '') FROM orders WHERE number = $1",
            &number,
        )
        .await;
        if !reason.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reason.contains("for an order of"), "{reason:?}");
    assert_eq!(payment_status(&app, &number).await, "pending");
    // A wrong currency is flagged as well.
    object["amount"] = total.into();
    object["currency"] = "eur".into();
    let body = event("evt_wrong_currency", "payment_intent.succeeded", &object);
    assert_eq!(
        deliver(&app, &body, &signed(&secret, &body)).await.status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(payment_status(&app, &number).await, "pending");
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND kind = 'flagged'", &number).await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_browser_return_and_the_webhook_at_once_pay_once() {
    let (app, secret) = stripe_app().await;
    for round in 0..5 {
        let (browser, number) = place(&app, "card").await;
        let id = intent_id(&app, &number).await;
        pay_at_stripe(&id).await;
        let body = event(
            &format!("evt_race_{round}_{id}"),
            "payment_intent.succeeded",
            &intent_json(&id).await,
        );
        let signature = signed(&secret, &body);
        let path = format!("/order/{number}?payment=returned");
        let (page, hook) =
            tokio::join!(app.visit(&browser, &path), deliver(&app, &body, &signature));
        assert_eq!(hook.status, 200);
        assert_eq!(page.status, 200);
        wait_for_status(&app, &number, "paid").await;
        assert_eq!(
            scalar(&app, "SELECT count(*) FROM event_log WHERE topic = 'order.paid' AND payload->>'number' = $1", &number).await,
            1,
            "round {round}"
        );
        assert_eq!(
            scalar(&app, "SELECT count(*) FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND kind = 'captured'", &number).await,
            1
        );
    }
    assert_eq!(mails_with(&app, "Payment received for your", 5).await, 5);
}

/// A TCP proxy to localstripe that can be cut: "Stripe unreachable" as real refused and
/// dropped connections (kept-alive ones included), not a mock.
struct Cable {
    url: String,
    up: tokio::sync::watch::Sender<bool>,
}

impl Cable {
    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn cable_to(target: &str) -> Cable {
    let target = target.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (up, watch) = tokio::sync::watch::channel(true);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !*watch.borrow() {
                drop(inbound);
                continue;
            }
            let (target, mut watch) = (target.clone(), watch.clone());
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|up| !*up) => {}
                    }
                }
            });
        }
    });
    Cable { url, up }
}

#[tokio::test]
async fn stripe_unreachable_keeps_the_order_tells_the_shopper_and_reconciliation_pays_it() {
    let secret = secret();
    let cable = cable_to(&localstripe()).await;
    let app = TestApp::spawn_with({
        let (s, url) = (secret.clone(), cable.url.clone());
        move |c| with_stripe(c, &url, &s)
    })
    .await;
    let (browser, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    let card_id = card("4242424242424242").await;

    cable.set(false);
    // Paying now: a clear message, and the order is kept.
    let refused = pay(&app, &browser, &number, &card_id).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused.body.contains("Your order is kept"),
        "{}",
        refused.body
    );
    // The shopper's payment went through at Stripe, but its answer never came back.
    pay_at_stripe(&id).await;
    let page = app
        .visit(&browser, &format!("/order/{number}?payment=returned"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("order-status"), ["Awaiting payment"]);
    assert!(
        page.body.contains("please do not pay again"),
        "{}",
        page.body
    );
    // After repeated failures the breaker is open: Stripe is not even called.
    let stripe = app
        .services
        .orders
        .payments()
        .stripe()
        .expect("stripe")
        .clone();
    assert!(stripe.is_unavailable(), "the breaker opened");
    // The other methods still work.
    let (_, transfer) = place(&app, "bank_transfer").await;
    assert_eq!(payment_status(&app, &transfer).await, "pending");
    // Reconciliation while Stripe is down changes nothing and says why.
    assert!(app
        .services
        .orders
        .reconcile_payments(Duration::ZERO, 10)
        .await
        .is_err());

    cable.set(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (asked, changed) = app
        .services
        .orders
        .reconcile_payments(Duration::ZERO, 10)
        .await
        .expect("reconcile");
    assert_eq!((asked, changed), (1, 1));
    assert!(!stripe.is_unavailable(), "the breaker closed by itself");
    assert_eq!(payment_status(&app, &number).await, "paid");
    assert_eq!(
        text(&app, "SELECT caused_by FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND kind = 'captured'", &number).await,
        "reconciliation"
    );
    assert_eq!(mails_with(&app, "Payment received for your", 1).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_cancels_unpaid_orders_once_restocks_and_emails() {
    let (app, _) = stripe_app().await;
    let (_, transfer) = place(&app, "bank_transfer").await;
    let (_, on_delivery) = place(&app, "pay_on_delivery").await;
    let (_, card_unpaid) = place(&app, "card").await;
    let (_, card_paid) = place(&app, "card").await;
    let (_, fresh) = place(&app, "bank_transfer").await;
    pay_at_stripe(&intent_id(&app, &card_paid).await).await;
    let db = app.pool().await;
    sqlx::query(
        "UPDATE orders SET created_at = now() - CASE payment_method
             WHEN 'bank_transfer' THEN interval '73 hours'
             WHEN 'card' THEN interval '31 minutes'
             ELSE interval '365 days' END
         WHERE number = ANY($1)",
    )
    .bind(vec![
        transfer.clone(),
        on_delivery.clone(),
        card_unpaid.clone(),
        card_paid.clone(),
    ])
    .execute(&db)
    .await
    .expect("age");
    let stock_sql =
        "SELECT v.stock_on_hand::bigint FROM variants v JOIN order_lines l ON l.variant_id = v.id
                     JOIN orders o ON o.id = l.order_id WHERE o.number = $1";
    let before = scalar(&app, stock_sql, &transfer).await;

    // Two instances' jobs at once: each order is cancelled by one of them.
    let orders = app.services.orders.clone();
    let (a, b) = tokio::join!(
        orders.expire_unpaid(100),
        app.services.orders.expire_unpaid(100)
    );
    assert_eq!(a.expect("expire") + b.expect("expire"), 2);
    let status = |n: &str| {
        let n = n.to_owned();
        let app = &app;
        async move {
            text(
                app,
                "SELECT order_status || '/' || payment_status FROM orders WHERE number = $1",
                &n,
            )
            .await
        }
    };
    assert_eq!(status(&transfer).await, "cancelled/voided");
    assert_eq!(status(&card_unpaid).await, "cancelled/voided");
    assert_eq!(
        status(&on_delivery).await,
        "open/pending",
        "pay on delivery never expires"
    );
    assert_eq!(
        status(&card_paid).await,
        "open/paid",
        "paid after all: recorded, not cancelled"
    );
    assert_eq!(status(&fresh).await, "open/pending");
    // Both products went back on the shelf (all orders above are for the same variant).
    assert_eq!(scalar(&app, stock_sql, &transfer).await, before + 2);
    // The card's PaymentIntent is cancelled at Stripe: it cannot be paid any more.
    assert_eq!(
        intent_json(&intent_id(&app, &card_unpaid).await).await["status"],
        "canceled"
    );
    // Exactly once: another run finds nothing.
    assert_eq!(
        app.services.orders.expire_unpaid(100).await.expect("again"),
        0
    );
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM event_log WHERE topic = 'order.cancelled' AND payload->>'number' = $1", &transfer).await,
        1
    );
    assert_eq!(mails_with(&app, "was not paid in time", 2).await, 2);
}

/// Counts its runs.
struct Counting(std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl services::jobs::Job for Counting {
    fn name(&self) -> &'static str {
        "test.counting"
    }
    fn every(&self) -> Duration {
        Duration::from_secs(3600)
    }
    async fn run(&self) -> Result<String, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok("counted".into())
    }
}

#[tokio::test]
async fn a_due_job_runs_on_one_instance_only() {
    let app = TestApp::spawn().await;
    let db = app.pool().await;
    let job = Arc::new(Counting(std::sync::atomic::AtomicU32::new(0)));
    let schedulers: Vec<_> = (0..4)
        .map(|_| services::jobs::Scheduler::new(db.clone(), vec![job.clone()]))
        .collect();
    let runs: Vec<_> = schedulers
        .iter()
        .map(|s| {
            let s = s.clone();
            tokio::spawn(async move { s.run_due().await.expect("run").len() })
        })
        .collect();
    let mut ran = 0;
    for r in runs {
        ran += r.await.expect("task");
    }
    assert_eq!((ran, job.0.load(Ordering::SeqCst)), (1, 1));
    // Not due again for an hour; an operator can still run it now.
    assert!(schedulers[0].run_due().await.expect("run").is_empty());
    assert_eq!(
        schedulers[1].run_now("test.counting").await,
        Some(Ok("counted".into()))
    );
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT last_outcome FROM scheduled_jobs WHERE name = 'test.counting'")
            .fetch_one(&db)
            .await
            .expect("row");
    assert_eq!(outcome.as_deref(), Some("counted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reports_of_one_payment_apply_once() {
    let secret = secret();
    let app = TestApp::spawn_with({
        let s = secret.clone();
        move |c| {
            with_stripe(c, &localstripe(), &s);
            // Only the reports below touch the order.
            c.event_worker = false;
        }
    })
    .await;
    let (_, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    pay_at_stripe(&id).await;
    let intent: services::payments::stripe::StripeIntent =
        serde_json::from_value(intent_json(&id).await).expect("intent");
    let orders = app.services.orders.clone();
    let mut tasks = Vec::new();
    for n in 0..10 {
        let (reporter, intent) = (orders.clone(), intent.clone());
        tasks.push(tokio::spawn(async move {
            let seen =
                services::orders::Observation::from_intent(&intent, Some(&format!("evt_{n}")));
            reporter
                .record_payment(&seen, services::orders::Cause::Webhook)
                .await
                .map(|o| matches!(o, services::orders::PaymentOutcome::Changed(_)))
        }));
        let (orders, number) = (orders.clone(), number.clone());
        tasks.push(tokio::spawn(async move {
            orders
                .refresh_card_payment(&number, &services::orders::Viewer::System)
                .await
                .map(|_| false)
        }));
    }
    let mut changed = 0;
    for t in tasks {
        if t.await.expect("task").expect("report") {
            changed += 1;
        }
    }
    assert!(changed <= 1, "{changed} webhook reports changed the order");
    assert_eq!(payment_status(&app, &number).await, "paid");
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND kind = 'captured'", &number).await,
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM event_log WHERE topic = 'order.paid' AND payload->>'number' = $1",
            &number
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_failure_before_a_success_is_a_retry_that_then_pays() {
    let (app, secret) = stripe_app().await;
    let (_, number) = place(&app, "card").await;
    let id = intent_id(&app, &number).await;
    let mut failed = intent_json(&id).await;
    failed["status"] = "requires_payment_method".into();
    failed["last_payment_error"] =
        serde_json::json!({ "code": "card_declined", "message": "Your card was declined." });
    let body = event(
        &format!("evt_fail_first_{id}"),
        "payment_intent.payment_failed",
        &failed,
    );
    assert_eq!(
        deliver(&app, &body, &signed(&secret, &body)).await.status,
        200
    );
    wait_for_status(&app, &number, "failed").await;
    pay_at_stripe(&id).await;
    let body = event(
        &format!("evt_then_paid_{id}"),
        "payment_intent.succeeded",
        &intent_json(&id).await,
    );
    assert_eq!(
        deliver(&app, &body, &signed(&secret, &body)).await.status,
        200
    );
    wait_for_status(&app, &number, "paid").await;
    let kinds = records(&app, &number).await;
    assert_eq!(kinds, "requested:system,failed:webhook,captured:webhook");
}

#[tokio::test]
async fn manual_capture_authorises_at_checkout_and_captures_when_shipped() {
    let secret = secret();
    let app = TestApp::spawn_with({
        let s = secret.clone();
        move |c| {
            with_stripe(c, &localstripe(), &s);
            if let Some(stripe) = c.stripe.as_mut() {
                stripe.manual_capture = true;
            }
        }
    })
    .await;
    let (browser, number) = place(&app, "card").await;
    let paid = pay(&app, &browser, &number, &card("4242424242424242").await).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(payment_status(&app, &number).await, "authorised");
    let page = app.visit(&browser, &format!("/order/{number}")).await;
    assert_eq!(page.texts("order-status"), ["Payment authorised"]);
    let id = intent_id(&app, &number).await;
    assert_eq!(intent_json(&id).await["status"], "requires_capture");

    // Shipping captures it at Stripe.
    let shipped = app
        .services
        .orders
        .transition(
            &services::audit::Actor::command_line(),
            &number,
            domain::order::OrderAction::Fulfil,
        )
        .await
        .expect("ship");
    assert_eq!(shipped.payment, domain::PaymentStatus::Paid);
    assert_eq!(shipped.fulfilment, domain::FulfilmentStatus::Fulfilled);
    assert_eq!(intent_json(&id).await["status"], "succeeded");
    assert_eq!(
        text(&app, "SELECT caused_by FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND kind = 'captured'", &number).await,
        "admin"
    );

    // Cancelling another authorised order releases its authorisation.
    let (browser, other) = place(&app, "card").await;
    assert_eq!(
        pay(&app, &browser, &other, &card("4242424242424242").await)
            .await
            .status,
        200
    );
    let cancelled = app
        .services
        .orders
        .transition(
            &services::audit::Actor::command_line(),
            &other,
            domain::order::OrderAction::Cancel,
        )
        .await
        .expect("cancel");
    assert_eq!(cancelled.payment, domain::PaymentStatus::Voided);
    assert_eq!(
        intent_json(&intent_id(&app, &other).await).await["status"],
        "canceled"
    );
    // A card order is never marked paid by hand.
    let (_, third) = place(&app, "card").await;
    assert!(app
        .services
        .orders
        .transition(
            &services::audit::Actor::command_line(),
            &third,
            domain::order::OrderAction::MarkPaid
        )
        .await
        .is_err());
}
