//! Cart and checkout: no oversell under concurrency, idempotent placing, prices from the
//! database, carts merged at sign-in, TTLs, the order life cycle, the event worker and
//! who may see an order. Real PostgreSQL and Redis.

use crate::helpers::{checkout_form, idempotency_key, TestApp};
use domain::order::OrderAction;
use domain::{AddressInput, FulfilmentStatus, OrderStatus, PaymentStatus};
use services::events::consumers::OrderConfirmationEmail;
use services::events::{Consumer, EventWorker};
use services::orders::{LineRequest, OrderError, PlaceOrder};
use std::sync::Arc;

const PASSWORD: &str = "violet-harbour-19";

/// Published, in-stock SKUs of the seeded catalog with at least `min_stock` units.
pub(crate) async fn skus_in_stock(
    app: &TestApp,
    min_stock: i32,
    n: i64,
) -> Vec<(String, i32, i64)> {
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    sqlx::query_as(
        "SELECT v.sku, v.stock_on_hand, v.price_minor FROM variants v JOIN products p ON p.id = v.product_id
         WHERE p.published AND v.stock_on_hand >= $1 ORDER BY v.id LIMIT $2",
    )
    .bind(min_stock)
    .bind(n)
    .fetch_all(&pool)
    .await
    .expect("skus")
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&pool)
        .await
        .expect(sql)
}

fn address() -> AddressInput {
    AddressInput {
        full_name: "Ada Buyer".into(),
        line1: "1 Market Street".into(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: "US".into(),
        ..Default::default()
    }
}

/// An order from its own buyer (cart, address and e-mail), so only the tests about the
/// checkout limits ever meet them.
pub(crate) fn order_for(key: &str, sku: &str, qty: u32) -> PlaceOrder {
    PlaceOrder {
        idempotency_key: key.into(),
        owner: format!("guest:{key}"),
        known_as: Vec::new(),
        client_ip: format!("test-client-{key}"),
        user_id: None,
        email: format!("ada-{}@example.com", key.to_lowercase()),
        address: address(),
        shipping_code: "standard".into(),
        payment_code: "bank_transfer".into(),
        lines: vec![LineRequest::new(sku, qty)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_buyers_race_for_ten_units() {
    let app = TestApp::spawn_with(|c| {
        c.db_max_connections = 20;
        c.event_worker = false;
    })
    .await;
    let (sku, _, _) = skus_in_stock(&app, 1, 1).await.remove(0);
    app.services
        .catalog
        .set_stock(&sku, 10)
        .await
        .expect("stock");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let orders = app.services.orders.clone();
            let order = order_for(&format!("race-{i:04}-key-0000000000"), &sku, 1);
            tokio::spawn(async move { orders.place(&order).await })
        })
        .collect();
    let (mut placed, mut sold_out, mut other) = (0, 0, Vec::new());
    for t in tasks {
        match t.await.expect("task") {
            Ok(p) if p.created => placed += 1,
            Err(OrderError::SoldOut(msgs)) => {
                assert!(msgs[0].contains("sold out"), "{msgs:?}");
                sold_out += 1;
            }
            other_result => other.push(format!("{other_result:?}")),
        }
    }
    assert!(other.is_empty(), "unexpected results: {other:?}");
    assert_eq!((placed, sold_out), (10, 190));
    let stock = scalar(
        &app,
        &format!("SELECT stock_on_hand::bigint FROM variants WHERE sku = '{sku}'"),
    )
    .await;
    assert_eq!(stock, 0);
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM variants WHERE stock_on_hand < 0"
        )
        .await,
        0
    );
    assert_eq!(scalar(&app, "SELECT count(*) FROM orders").await, 10);
    assert_eq!(scalar(&app, "SELECT count(*) FROM order_lines").await, 10);
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM order_lines l LEFT JOIN orders o ON o.id = l.order_id WHERE o.id IS NULL").await,
        0,
        "no orphan lines"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM event_log WHERE topic = 'order.placed'"
        )
        .await,
        10
    );
    // Sold out shows in the storefront straight away.
    let product = app
        .services
        .catalog
        .variants_by_sku(std::slice::from_ref(&sku))
        .await
        .expect("lookup");
    assert_eq!(product[0].stock, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_places_one_order() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    // The last unit: the second submit must find the order, not "sold out".
    let (sku, _, _) = skus_in_stock(&app, 1, 1).await.remove(0);
    app.services
        .catalog
        .set_stock(&sku, 1)
        .await
        .expect("stock");
    let order = order_for("double-submit-key-0001", &sku, 1);
    let (a, b) = tokio::join!(
        app.services.orders.place(&order),
        app.services.orders.place(&order)
    );
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.number, b.number);
    assert!(a.created ^ b.created, "exactly one call created it");
    let again = app.services.orders.place(&order).await.expect("retry");
    assert_eq!(
        (again.number.as_str(), again.created),
        (a.number.as_str(), false)
    );
    assert_eq!(scalar(&app, "SELECT count(*) FROM orders").await, 1);
    let left = scalar(
        &app,
        &format!("SELECT stock_on_hand::bigint FROM variants WHERE sku = '{sku}'"),
    )
    .await;
    assert_eq!(left, 0, "stock taken once");
}

#[tokio::test]
async fn guest_checkout_over_http_with_database_prices_and_a_confirmation_email() {
    let app = TestApp::spawn().await;
    let skus = skus_in_stock(&app, 5, 2).await;
    let browser = app.browser();
    for (sku, ..) in &skus {
        let page = app
            .call(
                &browser,
                "/api/cart_add",
                &[("sku", sku), ("quantity", "2")],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    assert_eq!(app.visit(&browser, "/").await.texts("cart-count"), ["4"]);

    // The price changes after the items were added: the cart says so, the order uses it.
    let (first_sku, _, old_price) = &skus[0];
    let new_price = old_price + 250;
    app.services
        .catalog
        .set_price(
            first_sku,
            domain::Money::new(new_price, domain::Currency::Usd),
        )
        .await
        .expect("price");
    let cart = app.visit(&browser, "/cart").await;
    assert_eq!(cart.status, 200);
    let notices = cart.texts("cart-notice");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("changed from"), "{notices:?}");
    // Told once: the next view has no notice.
    assert!(app
        .visit(&browser, "/cart")
        .await
        .texts("cart-notice")
        .is_empty());

    let checkout = app.visit(&browser, "/checkout").await;
    assert_eq!(checkout.status, 200);
    // The review shows the totals before placing (US preselected: no tax here).
    assert_eq!(checkout.texts("review-tax"), ["$0.00"]);
    assert!(!checkout.texts("review-total").is_empty());
    let quote: serde_json::Value = serde_json::from_str(
        &app.call(
            &browser,
            "/api/checkout_quote",
            &[("country", "GB"), ("shipping", "express")],
        )
        .await
        .body,
    )
    .expect("quote json");
    assert_eq!(quote["tax_rate_bps"], 2000);
    assert_eq!(quote["shipping"]["amount_minor"], 1495, "{quote}");
    let unknown = app
        .call(
            &browser,
            "/api/checkout_quote",
            &[("country", "GB"), ("shipping", "teleport")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    let key = idempotency_key(&checkout.body);
    let placed = app
        .call(&browser, "/api/place_order", &checkout_form(&key))
        .await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    // A double submit of the same form: the same order, no second one.
    let again = app
        .call(&browser, "/api/place_order", &checkout_form(&key))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(scalar(&app, "SELECT count(*) FROM orders").await, 1);

    let number: String = {
        let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
        sqlx::query_scalar("SELECT number FROM orders")
            .fetch_one(&pool)
            .await
            .expect("number")
    };
    let unit: i64 = scalar(
        &app,
        &format!("SELECT unit_price_minor FROM order_lines WHERE sku = '{first_sku}'"),
    )
    .await;
    assert_eq!(
        unit, new_price,
        "the database price, not the one in the cart"
    );

    // The confirmation page for the browser that placed it; the cart is now empty.
    let page = app.visit(&browser, &format!("/order/{number}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("order-number"), std::slice::from_ref(&number));
    assert_eq!(page.blocks("order-line", "</li>").len(), 2);
    assert_eq!(page.texts("order-status"), ["Awaiting payment"]);
    assert!(page.texts("payment-instructions")[0].contains(&number));
    assert_eq!(app.visit(&browser, "/").await.texts("cart-count"), ["0"]);
    // GB: 20 % tax on subtotal + shipping.
    let (subtotal, shipping, tax): (i64, i64, i64) = {
        let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
        sqlx::query_as("SELECT subtotal_minor, shipping_minor, tax_minor FROM orders")
            .fetch_one(&pool)
            .await
            .expect("totals")
    };
    assert_eq!(tax, ((subtotal + shipping) * 2000 + 5000) / 10_000);

    // The worker e-mails the confirmation once.
    let mails = app.outbox_messages(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains(&format!("Subject: Your Emporium order {number}")));
    assert!(mails[0].contains("To: guest@example.com"));

    // Nobody else sees it: another browser, a signed-in stranger, a wrong e-mail.
    assert_eq!(
        app.visit(&app.browser(), &format!("/order/{number}"))
            .await
            .status,
        404
    );
    let stranger = app.browser();
    app.register(&stranger, "stranger@example.com", PASSWORD)
        .await;
    assert_eq!(
        app.visit(&stranger, &format!("/order/{number}"))
            .await
            .status,
        404
    );
    let wrong = app
        .call(
            &stranger,
            "/api/order_lookup",
            &[("number", &number), ("email", "stranger@example.com")],
        )
        .await;
    assert_eq!(wrong.status, 404);
    // The guest's e-mail opens it from any browser.
    let lookup_browser = app.browser();
    let found = app
        .call(
            &lookup_browser,
            "/api/order_lookup",
            &[
                ("number", &number.to_lowercase()),
                ("email", "GUEST@example.com"),
            ],
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        app.visit(&lookup_browser, &format!("/order/{number}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bad_cart_and_checkout_input_gets_clear_messages() {
    let app = TestApp::spawn().await;
    let (sku, stock, _) = skus_in_stock(&app, 2, 1).await.remove(0);
    let browser = app.browser();
    let too_many = (stock + 1).to_string();
    for (qty, status, needle) in [
        ("0", 422, "at least 1"),
        ("-3", 422, "at least 1"),
        ("two", 422, "whole number"),
        ("100", 422, "at most 99"),
        (too_many.as_str(), 422, "in stock"),
    ] {
        let page = app
            .call(
                &browser,
                "/api/cart_add",
                &[("sku", &sku), ("quantity", qty)],
            )
            .await;
        assert_eq!(page.status, status, "{qty}: {}", page.body);
        assert!(page.body.contains(needle), "{qty}: {}", page.body);
    }
    let unknown = app
        .call(
            &browser,
            "/api/cart_add",
            &[("sku", "NO-SUCH-SKU"), ("quantity", "1")],
        )
        .await;
    assert_eq!(unknown.status, 404);

    // An empty cart cannot be checked out.
    let empty = app.visit(&app.browser(), "/checkout").await;
    assert_eq!(empty.status, 400);
    assert!(empty.texts("checkout-problem")[0].contains("cart is empty"));
    let key = "empty-cart-key-000001";
    assert_eq!(
        app.call(&app.browser(), "/api/place_order", &checkout_form(key))
            .await
            .status,
        400
    );

    // Sold out between cart and checkout: not placed, and the shopper sees which item.
    assert_eq!(
        app.call(
            &browser,
            "/api/cart_add",
            &[("sku", &sku), ("quantity", "1")]
        )
        .await
        .status,
        200
    );
    app.services
        .catalog
        .set_stock(&sku, 0)
        .await
        .expect("stock");
    let name: String = {
        let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
        sqlx::query_scalar(
            "SELECT p.name FROM variants v JOIN products p ON p.id = v.product_id WHERE v.sku = $1",
        )
        .bind(&sku)
        .fetch_one(&pool)
        .await
        .expect("name")
    };
    let page = app
        .call(
            &browser,
            "/api/place_order",
            &checkout_form("sold-out-key-000001"),
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains(&format!("{name} has sold out")),
        "{}",
        page.body
    );
    assert_eq!(scalar(&app, "SELECT count(*) FROM orders").await, 0);
    // Missing checkout fields are named.
    app.services
        .catalog
        .set_stock(&sku, 5)
        .await
        .expect("stock");
    let page = app
        .call(
            &browser,
            "/api/place_order",
            &[
                ("idempotency_key", "missing-fields-00001"),
                ("shipping", "teleport"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    for field in ["email", "full_name", "country", "shipping", "payment"] {
        assert!(
            page.body.contains(&format!("\"field\":\"{field}\"")),
            "{field}: {}",
            page.body
        );
    }
}

#[tokio::test]
async fn the_guest_cart_survives_sign_in_and_the_order_is_in_the_history() {
    let app = TestApp::spawn().await;
    let skus = skus_in_stock(&app, 6, 2).await;
    let (a, b) = (&skus[0].0, &skus[1].0);
    // The account already has 1 of A in its cart from another device.
    let other_device = app.browser();
    app.register(&other_device, "hana@example.com", PASSWORD)
        .await;
    app.call(
        &other_device,
        "/api/cart_add",
        &[("sku", a), ("quantity", "1")],
    )
    .await;

    // As a guest: 2 of A and 1 of B, then sign in.
    let browser = app.browser();
    app.call(&browser, "/api/cart_add", &[("sku", a), ("quantity", "2")])
        .await;
    app.call(&browser, "/api/cart_add", &[("sku", b), ("quantity", "1")])
        .await;
    // The guest cart's key lives 7 days.
    let mut redis = app.services.redis.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}cart:guest:*", app.redis_prefix))
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let guest_ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .expect("ttl");
    assert!(
        (7 * 24 * 3600 - 60..=7 * 24 * 3600).contains(&guest_ttl),
        "{guest_ttl}"
    );
    let signed_in = app
        .call(
            &browser,
            "/api/sign_in",
            &[("email", "hana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 200);
    let cart = app.visit(&browser, "/cart").await;
    let lines = cart.blocks("cart-line", "</li>");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(cart.texts("cart-count"), ["4"], "1 + 2 of A and 1 of B");
    let user_id = scalar(
        &app,
        "SELECT id FROM users WHERE email = 'hana@example.com'",
    )
    .await;
    let user_ttl = app
        .services
        .cart
        .ttl_secs(&services::cart::CartOwner::User(user_id))
        .await
        .expect("ttl");
    assert!(
        (90 * 24 * 3600 - 60..=90 * 24 * 3600).contains(&user_ttl),
        "{user_ttl}"
    );

    // Check out signed in with a new address; the order is in the history.
    let checkout = app.visit(&browser, "/checkout").await;
    let key = idempotency_key(&checkout.body);
    let mut form = checkout_form(&key);
    form.retain(|(k, _)| *k != "email");
    let placed = app.call(&browser, "/api/place_order", &form).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let history = app.visit(&browser, "/account/orders").await;
    assert_eq!(history.status, 200);
    let rows = history.blocks("order-row", "</li>");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].contains("4 items") && rows[0].contains("Awaiting payment"),
        "{rows:?}"
    );
    // The other device (same account) sees it too; the order page opens for the user.
    let at = rows[0].find("EMP-").expect("number");
    let number: String = rows[0][at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(10)
        .collect();
    assert_eq!(
        app.visit(&other_device, &format!("/order/{number}"))
            .await
            .status,
        200
    );
    let detail = app
        .visit(&other_device, &format!("/account/orders/{number}"))
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.blocks("order-line", "</li>").len(), 2);
    // Anyone else, signed out included, gets 404.
    assert_eq!(
        app.visit(&app.browser(), &format!("/account/orders/{number}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_order_life_cycle_and_restocking() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, stock, _) = skus_in_stock(&app, 3, 1).await.remove(0);
    let orders = &app.services.orders;
    let first = orders
        .place(&order_for("life-cycle-key-000001", &sku, 2))
        .await
        .expect("place");
    assert_eq!(
        orders
            .transition(
                &services::audit::Actor::command_line(),
                &first.number,
                OrderAction::MarkPaid
            )
            .await
            .expect("paid")
            .payment,
        PaymentStatus::Paid
    );
    assert_eq!(
        orders
            .transition(
                &services::audit::Actor::command_line(),
                &first.number,
                OrderAction::Fulfil
            )
            .await
            .expect("ship")
            .fulfilment,
        FulfilmentStatus::Fulfilled
    );
    let refused = orders
        .transition(
            &services::audit::Actor::command_line(),
            &first.number,
            OrderAction::Cancel,
        )
        .await
        .expect_err("shipped");
    assert_eq!(
        refused.to_string(),
        "A shipped order cannot be cancelled; it can be returned."
    );
    assert_eq!(
        orders
            .transition(
                &services::audit::Actor::command_line(),
                &first.number,
                OrderAction::Deliver
            )
            .await
            .expect("deliver")
            .order,
        OrderStatus::Completed
    );
    let stock_sql = format!("SELECT stock_on_hand::bigint FROM variants WHERE sku = '{sku}'");
    assert_eq!(scalar(&app, &stock_sql).await, i64::from(stock) - 2);

    // Cancelling a paid order puts its stock back.
    let second = orders
        .place(&order_for("life-cycle-key-000002", &sku, 1))
        .await
        .expect("place");
    assert_eq!(scalar(&app, &stock_sql).await, i64::from(stock) - 3);
    orders
        .transition(
            &services::audit::Actor::command_line(),
            &second.number,
            OrderAction::MarkPaid,
        )
        .await
        .expect("paid");
    // Paid by hand: a plain cancel is refused (the money is still held); the order desk's
    // cancel refunds it by hand (with the transfer's reference) and cancels.
    assert!(matches!(
        orders
            .transition(
                &services::audit::Actor::command_line(),
                &second.number,
                OrderAction::Cancel
            )
            .await,
        Err(OrderError::RefundFirst)
    ));
    let cancelled = orders
        .cancel(
            &services::audit::Actor::command_line(),
            &second.number,
            "life-cycle-cancel-key-1",
            "",
            "BANK-REFUND-1",
        )
        .await
        .expect("cancel");
    assert_eq!(cancelled.order, OrderStatus::Cancelled);
    assert_eq!(cancelled.payment, PaymentStatus::Refunded);
    assert_eq!(scalar(&app, &stock_sql).await, i64::from(stock) - 2);
    assert!(orders
        .transition(
            &services::audit::Actor::command_line(),
            &second.number,
            OrderAction::MarkPaid
        )
        .await
        .is_err());
    assert!(matches!(
        orders
            .transition(
                &services::audit::Actor::command_line(),
                "EMP-1",
                OrderAction::MarkPaid
            )
            .await,
        Err(OrderError::NotFound)
    ));
    // Each change wrote its event in the same transaction.
    assert_eq!(
        scalar(&app, "SELECT count(*) FROM event_log WHERE topic IN ('order.paid', 'order.fulfilled', 'order.delivered', 'order.cancelled')").await,
        5
    );
}

/// Delegates to a consumer and counts the calls.
struct Counting {
    inner: Arc<OrderConfirmationEmail>,
    calls: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl Consumer for Counting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn wants(&self, topic: &str) -> bool {
        self.inner.wants(topic)
    }
    async fn handle(&self, event: &services::events::Event) -> Result<(), String> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.handle(event).await
    }
}

#[tokio::test]
async fn a_redelivered_event_sends_the_confirmation_once() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, ..) = skus_in_stock(&app, 5, 1).await.remove(0);
    let placed = app
        .services
        .orders
        .place(&order_for("worker-key-0000000001", &sku, 1))
        .await
        .expect("place");
    let consumer = Arc::new(OrderConfirmationEmail {
        orders: app.services.orders.clone(),
        mailer: app.services.auth.mailer().clone(),
        shop_name: "Emporium".into(),
        public_url: crate::helpers::PUBLIC_URL.into(),
    });
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    let event_id: i64 = sqlx::query_scalar("SELECT id FROM event_log WHERE topic = 'order.placed'")
        .fetch_one(&pool)
        .await
        .expect("event");
    // A worker sent the e-mail and crashed before marking the event: simulate the send.
    let event = services::events::Event {
        id: event_id,
        topic: "order.placed".into(),
        payload: serde_json::json!({ "order_id": placed.id, "number": placed.number }),
        attempts: 0,
    };
    consumer.handle(&event).await.expect("first send");
    // The event is still pending, so the next worker delivers it again.
    let counting = Arc::new(Counting {
        inner: consumer.clone(),
        calls: std::sync::atomic::AtomicU32::new(0),
    });
    let worker = EventWorker::new(pool.clone(), vec![counting.clone() as Arc<dyn Consumer>]);
    assert_eq!(worker.run_once().await.expect("run"), 1);
    assert_eq!(worker.run_once().await.expect("run"), 0, "marked processed");
    assert_eq!(counting.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Delivered yet again (say the mark was lost): the consumption record stops a resend.
    sqlx::query("UPDATE event_log SET processed_at = NULL, available_at = now() WHERE id = $1")
        .bind(event_id)
        .execute(&pool)
        .await
        .expect("reset");
    assert_eq!(worker.run_once().await.expect("run"), 1);
    assert_eq!(
        counting.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not handled twice"
    );
    let mails = app.outbox_messages(1).await;
    assert_eq!(mails.len(), 1, "one confirmation e-mail, not two");
    assert!(mails[0].contains(&placed.number));
    let consumed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM event_consumptions WHERE event_id = $1")
            .bind(event_id)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(consumed, 1);

    // A failing consumer leaves the event for a later retry, with backoff.
    struct Failing;
    #[async_trait::async_trait]
    impl Consumer for Failing {
        fn name(&self) -> &'static str {
            "failing"
        }
        fn wants(&self, _: &str) -> bool {
            true
        }
        async fn handle(&self, _: &services::events::Event) -> Result<(), String> {
            Err("boom".into())
        }
    }
    app.services
        .orders
        .place(&order_for("worker-key-0000000002", &sku, 1))
        .await
        .ok();
    let failing = EventWorker::new(pool.clone(), vec![Arc::new(Failing) as Arc<dyn Consumer>]);
    assert_eq!(failing.run_once().await.expect("run"), 1);
    let (attempts, error, later): (i32, String, bool) = sqlx::query_as(
        "SELECT attempts, last_error, available_at > now() FROM event_log WHERE processed_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("pending");
    assert_eq!(
        (attempts, error.as_str(), later),
        (1, "failing: boom", true)
    );
    assert_eq!(failing.run_once().await.expect("run"), 0, "not due yet");
}

#[tokio::test]
async fn an_admin_marks_an_offline_payment_as_paid() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, ..) = skus_in_stock(&app, 1, 1).await.remove(0);
    let placed = app
        .services
        .orders
        .place(&order_for("admin-flow-key-000001", &sku, 1))
        .await
        .expect("place");
    let customer = app.browser();
    app.sign_up_directly(&customer, "cleo@example.com", PASSWORD)
        .await;
    let refused = app
        .call(
            &customer,
            "/api/admin_order_action",
            &[("number", &placed.number), ("action", "mark_paid")],
        )
        .await;
    assert_eq!(refused.status, 403);

    let (admin, _) = app.staff("boss@example.com", domain::Role::Orders).await;
    let page = app.visit(&admin, "/admin/orders").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("admin-order-statuses"),
        ["Open · Awaiting payment · Not shipped"]
    );
    let order_page = format!("/admin/orders/{}", placed.number);
    let page = app.visit(&admin, &order_page).await;
    assert_eq!(page.texts("admin-order-number"), [placed.number.as_str()]);
    assert!(
        page.body.contains(r#"data-testid="mark-paid-form""#)
            && page.body.contains(r#"data-testid="cancel-form""#)
            && !page.body.contains(r#"data-testid="refund-form""#),
        "an unpaid order can be marked paid or cancelled, and has nothing to refund"
    );
    let paid = app
        .call(
            &admin,
            "/api/admin_order_mark_paid",
            &[("number", &placed.number), ("reference", "BANK-REF-77")],
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    let page = app.visit(&admin, &order_page).await;
    assert_eq!(
        page.texts("admin-order-statuses"),
        ["Open · Paid · Not shipped"]
    );
    let timeline = page.blocks("timeline-entry", "</li>");
    assert!(
        timeline
            .iter()
            .any(|t| t.contains("Marked paid — BANK-REF-77") && t.contains("boss@example.com")),
        "{timeline:?}"
    );
    // An action the state does not allow is a clear 400, not a 500.
    let again = app
        .call(
            &admin,
            "/api/admin_order_action",
            &[("number", &placed.number), ("action", "deliver")],
        )
        .await;
    assert_eq!(again.status, 400);
    assert!(
        again
            .body
            .contains("Only a shipped order can be marked as delivered."),
        "{}",
        again.body
    );
    let bogus = app
        .call(
            &admin,
            "/api/admin_order_action",
            &[("number", &placed.number), ("action", "refund")],
        )
        .await;
    assert_eq!(bogus.status, 400);
}
