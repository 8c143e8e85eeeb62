//! Abuse of checkout and accounts: throttles and caps that keep stock from being held
//! hostage, checkout keys bound to their cart, orders that stand once committed, stock
//! changes every instance hears of, atomic cart adds, lockouts nobody can cause for
//! someone else, and guarded order lookups. Real PostgreSQL and Redis.

use crate::helpers::{checkout_form, idempotency_key, TestApp};
use async_trait::async_trait;
use domain::order::OrderAction;
use domain::{AddressInput, Money, PaymentOption};
use services::auth::AuthError;
use services::cart::CartOwner;
use services::orders::{CheckoutLimits, LineRequest, OrderError, OrderService, PlaceOrder};
use services::payments::{PaymentError, PaymentIntent, PaymentProvider, PaymentRequest, Payments};
use std::sync::Arc;

const PASSWORD: &str = "violet-harbour-19";

async fn pool(app: &TestApp) -> sqlx::PgPool {
    sqlx::PgPool::connect(&app.database_url).await.expect("db")
}

/// A published SKU with plenty of stock, and its product's slug.
async fn plentiful_sku(app: &TestApp) -> (String, String) {
    sqlx::query_as(
        "SELECT v.sku, p.slug FROM variants v JOIN products p ON p.id = v.product_id
         WHERE p.published AND v.stock_on_hand >= 20 ORDER BY v.id LIMIT 1",
    )
    .fetch_one(&pool(app).await)
    .await
    .expect("sku")
}

fn order(key: &str, owner: &str, ip: &str, email: &str, sku: &str) -> PlaceOrder {
    PlaceOrder {
        idempotency_key: format!("{key}-key-000000000000"),
        owner: owner.into(),
        known_as: Vec::new(),
        client_ip: ip.into(),
        user_id: None,
        email: email.into(),
        address: AddressInput {
            full_name: "Ada Buyer".into(),
            line1: "1 Market Street".into(),
            city: "Springfield".into(),
            postal_code: "12345".into(),
            country: "US".into(),
            ..Default::default()
        },
        shipping_code: "standard".into(),
        payment_code: "bank_transfer".into(),
        lines: vec![LineRequest::new(sku, 1)],
    }
}

fn unlimited(c: &mut server::config::Config) {
    c.checkout = CheckoutLimits {
        per_network: services::limits::Rate::per_minute(10_000),
        per_email: services::limits::Rate::per_minute(10_000),
        per_session: services::limits::Rate::per_minute(10_000),
        ..CheckoutLimits::default()
    };
}

#[tokio::test]
async fn checkout_attempts_are_throttled_per_network_session_and_email() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, _) = plentiful_sku(&app).await;
    let orders = &app.services.orders;
    // Ten addresses of one IPv6 /64 count as one network: the eleventh attempt waits.
    for i in 1..=10 {
        let o = order(
            &format!("net-{i}"),
            &format!("guest:n{i}"),
            &format!("2001:db8:7:7::{i:x}"),
            &format!("n{i}@example.com"),
            &sku,
        );
        orders.place(&o).await.expect("within the limit");
    }
    let refused = orders
        .place(&order(
            "net-11",
            "guest:n11",
            "2001:db8:7:7:ffff::1",
            "n11@example.com",
            &sku,
        ))
        .await;
    let Err(e @ OrderError::Throttled { retry_after_secs }) = refused else {
        panic!("expected throttled, got {refused:?}");
    };
    assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
    assert!(
        e.to_string()
            .starts_with("Too many checkout attempts. Please try again in"),
        "{e}"
    );
    // A limit so generous that its interval is below a millisecond still counts.
    for _ in 0..3 {
        app.services
            .limits
            .hit("generous", services::limits::Rate::per_minute(u32::MAX))
            .await
            .expect("within a generous limit");
    }
    // The next /64 is another network.
    orders
        .place(&order(
            "net-12",
            "guest:n12",
            "2001:db8:7:8::1",
            "n12@example.com",
            &sku,
        ))
        .await
        .expect("another network");

    // One session: five attempts a minute, even from five networks.
    for i in 1..=5 {
        let o = order(
            &format!("ses-{i}"),
            "guest:one-session",
            &format!("198.51.100.{i}"),
            &format!("s{i}@example.com"),
            &sku,
        );
        orders.place(&o).await.expect("within the limit");
    }
    let sixth = order(
        "ses-6",
        "guest:one-session",
        "198.51.100.6",
        "s6@example.com",
        &sku,
    );
    assert!(matches!(
        orders.place(&sixth).await,
        Err(OrderError::Throttled { .. })
    ));

    // One e-mail: five a minute from anywhere.
    for i in 1..=5 {
        let o = order(
            &format!("mail-{i}"),
            &format!("guest:m{i}"),
            &format!("192.0.2.{i}"),
            "same@example.com",
            &sku,
        );
        orders.place(&o).await.expect("within the limit");
    }
    let sixth = order("mail-6", "guest:m6", "192.0.2.6", "SAME@example.com", &sku);
    assert!(matches!(
        orders.place(&sixth).await,
        Err(OrderError::Throttled { .. })
    ));

    // Over HTTP: 429, Retry-After, and a message saying when to try again.
    let browser = app.browser();
    let added = app
        .call(
            &browser,
            "/api/cart_add",
            &[("sku", &sku), ("quantity", "1")],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let mut last = None;
    for i in 0..6 {
        let key = format!("http-throttle-key-{i:04}");
        let page = app
            .call(
                &browser,
                "/api/place_order",
                &[
                    ("idempotency_key", key.as_str()),
                    ("email", "not-an-address"),
                    ("shipping", "standard"),
                    ("payment", "bank_transfer"),
                ],
            )
            .await;
        last = Some(page);
    }
    let last = last.expect("responses");
    assert_eq!(last.status, 429, "{}", last.body);
    assert!(last.header("retry-after").is_some());
    assert!(
        last.body
            .contains("Too many checkout attempts. Please try again in"),
        "{}",
        last.body
    );
}

#[tokio::test]
async fn open_unpaid_orders_are_capped_without_revealing_them() {
    let app = TestApp::spawn_with(|c| {
        c.event_worker = false;
        unlimited(c);
    })
    .await;
    let (sku, _) = plentiful_sku(&app).await;
    let orders = &app.services.orders;
    let mut numbers = Vec::new();
    for i in 1..=5 {
        let o = order(
            &format!("cap-{i}"),
            &format!("guest:c{i}"),
            &format!("203.0.113.{i}"),
            "victim@example.com",
            &sku,
        );
        numbers.push(orders.place(&o).await.expect("placed").number);
    }
    let sixth = order(
        "cap-6",
        "guest:c6",
        "203.0.113.99",
        "victim@example.com",
        &sku,
    );
    let refused = orders.place(&sixth).await;
    let Err(e @ OrderError::TooManyUnpaid(_)) = refused else {
        panic!("expected the cap, got {refused:?}");
    };
    let message = e.to_string();
    assert!(message.contains("paid or cancelled"), "{message}");
    for number in &numbers {
        assert!(!message.contains(number.as_str()), "{message}");
    }
    assert!(!message.contains('5'), "no count is told: {message}");
    // Cancelling one frees a place.
    orders
        .transition(
            &services::audit::Actor::command_line(),
            &numbers[0],
            OrderAction::Cancel,
        )
        .await
        .expect("cancel");
    orders.place(&sixth).await.expect("placed after a cancel");

    // Twenty open orders from one network, whatever the e-mails.
    for i in 1..=20 {
        let o = order(
            &format!("cap-net-{i}"),
            &format!("guest:cn{i}"),
            "2001:db8:99:1::5",
            &format!("buyer{i}@example.com"),
            &sku,
        );
        orders.place(&o).await.expect("placed");
    }
    let over = order(
        "cap-net-21",
        "guest:cn21",
        "2001:db8:99:1::77",
        "buyer21@example.com",
        &sku,
    );
    let refused = orders.place(&over).await;
    assert!(
        matches!(&refused, Err(OrderError::TooManyUnpaid(m)) if m.contains("network")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_checkout_key_opens_only_the_order_of_its_own_cart() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, _) = plentiful_sku(&app).await;
    let orders = &app.services.orders;
    let mine = order(
        "bound-key",
        "guest:mine",
        "192.0.2.10",
        "me@example.com",
        &sku,
    );
    let placed = orders.place(&mine).await.expect("placed");
    // The same submit again: the same order.
    let again = orders.place(&mine).await.expect("retry");
    assert_eq!(
        (again.number.as_str(), again.created),
        (placed.number.as_str(), false)
    );
    // Someone else with the key: a conflict, and nothing of the order.
    let theirs = PlaceOrder {
        owner: "guest:theirs".into(),
        ..mine.clone()
    };
    let refused = orders.place(&theirs).await;
    assert!(
        matches!(refused, Err(OrderError::KeyOfAnother)),
        "{refused:?}"
    );
    // The same owner with another cart: a clear error, not the old order.
    let other_cart = PlaceOrder {
        lines: vec![LineRequest::new(&sku, 3)],
        ..mine.clone()
    };
    let reused = orders.place(&other_cart).await;
    assert!(matches!(reused, Err(OrderError::KeyReused)), "{reused:?}");
    // Signed in between two submits: the account the guest cart merged into gets it.
    let signed_in = PlaceOrder {
        owner: "user:42".into(),
        known_as: vec!["guest:mine".into()],
        ..mine.clone()
    };
    assert_eq!(
        orders.place(&signed_in).await.expect("merged").number,
        placed.number
    );
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders")
            .fetch_one(&pool(&app).await)
            .await
            .expect("count"),
        1
    );

    // Over HTTP: a second browser presenting the first one's key gets 409 and no number.
    let first = app.browser();
    app.call(&first, "/api/cart_add", &[("sku", &sku), ("quantity", "1")])
        .await;
    let checkout = app.visit(&first, "/checkout").await;
    let key = idempotency_key(&checkout.body);
    let form = checkout_form(&key);
    let done = app.call(&first, "/api/place_order", &form).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let number: String = sqlx::query_scalar("SELECT number FROM orders ORDER BY id DESC LIMIT 1")
        .fetch_one(&pool(&app).await)
        .await
        .expect("number");
    let second = app.browser();
    app.call(
        &second,
        "/api/cart_add",
        &[("sku", &sku), ("quantity", "1")],
    )
    .await;
    let stolen = app.call(&second, "/api/place_order", &form).await;
    assert_eq!(stolen.status, 409, "{}", stolen.body);
    assert!(!stolen.body.contains(&number), "{}", stolen.body);
    assert_eq!(
        app.visit(&second, &format!("/order/{number}")).await.status,
        404
    );
}

/// Stand-in payment provider for this test only: the provider fails every intent, after
/// the order has committed.
struct FailingProvider;

#[async_trait]
impl PaymentProvider for FailingProvider {
    fn code(&self) -> &'static str {
        "bank_transfer"
    }
    fn option(&self) -> PaymentOption {
        PaymentOption {
            code: "bank_transfer".into(),
            name: "Test provider".into(),
            description: String::new(),
        }
    }
    fn expires_after(&self) -> Option<std::time::Duration> {
        None
    }
    async fn create_intent(&self, _: &PaymentRequest) -> Result<PaymentIntent, PaymentError> {
        Err(PaymentError::Unavailable(
            "injected fault after the commit".into(),
        ))
    }
    fn instructions(&self, _: &str, _: Money) -> String {
        String::new()
    }
}

#[tokio::test]
async fn a_committed_order_is_never_reported_as_a_failure() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, _) = plentiful_sku(&app).await;
    let pool = pool(&app).await;
    // The fault: the payment provider fails, after the order committed.
    let redis = redis::Client::open(
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:63799/0".into()),
    )
    .expect("redis url")
    .get_connection_manager()
    .await
    .expect("redis");
    let orders = OrderService::new(
        pool.clone(),
        app.services.catalog.clone(),
        Payments::new(vec![Arc::new(FailingProvider)]),
        services::limits::RateLimiter::new(redis, &app.redis_prefix),
        CheckoutLimits::default(),
        services::signing::Signer::from_key(b"test"),
    );
    let o = order(
        "fault-key",
        "guest:fault",
        "192.0.2.50",
        "f@example.com",
        &sku,
    );
    let placed = orders.place(&o).await.expect("the order stands");
    assert!(placed.created && placed.payment.is_none());
    let status: (String, String) =
        sqlx::query_as("SELECT order_status, payment_status FROM orders WHERE number = $1")
            .bind(&placed.number)
            .fetch_one(&pool)
            .await
            .expect("order");
    assert_eq!(status, ("open".to_owned(), "pending".to_owned()));

    // The cart step after placing never ran (the fault struck first): the cart's next
    // view gives up the ordered lines and shows the order instead of a second checkout.
    let browser = app.browser();
    app.call(
        &browser,
        "/api/cart_add",
        &[("sku", &sku), ("quantity", "2")],
    )
    .await;
    let checkout = app.visit(&browser, "/checkout").await;
    let key = idempotency_key(&checkout.body);
    let cart_id = guest_cart_id(&app).await;
    let mut placed_elsewhere = order(
        &key,
        &format!("guest:{cart_id}"),
        "192.0.2.51",
        "g@example.com",
        &sku,
    );
    placed_elsewhere.idempotency_key = key.clone();
    placed_elsewhere.lines = vec![LineRequest::new(&sku, 2)];
    let number = app
        .services
        .orders
        .place(&placed_elsewhere)
        .await
        .expect("placed")
        .number;
    let again = app.visit(&browser, "/checkout").await;
    assert!(
        again
            .body
            .contains(&format!("Your order {number} was already placed")),
        "{}",
        again.body
    );
    assert!(app
        .visit(&browser, "/cart")
        .await
        .body
        .contains("data-testid=\"empty-cart\""));
    // The order page opens for this browser.
    assert_eq!(
        app.visit(&browser, &format!("/order/{number}"))
            .await
            .status,
        200
    );
    // And submitting the old form again finds the order, not a second one.
    let resubmit = app
        .call(&browser, "/api/place_order", &checkout_form(&key))
        .await;
    assert_eq!(resubmit.status, 200, "{}", resubmit.body);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE idempotency_key = $1")
        .bind(&key)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

/// The id of the only guest cart of this app in Redis.
async fn guest_cart_id(app: &TestApp) -> String {
    let mut redis = redis::Client::open(
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:63799/0".into()),
    )
    .expect("redis url")
    .get_multiplexed_async_connection()
    .await
    .expect("redis");
    let pattern = format!("{}cart:guest:*", app.redis_prefix);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys[0].rsplit(':').next().expect("id").to_owned()
}

#[tokio::test]
async fn a_cancelled_order_is_back_in_stock_on_every_instance() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_beside(&first, |c| c.event_worker = false).await;
    let pool = pool(&first).await;
    let (sku, slug): (String, String) = sqlx::query_as(
        "SELECT min(v.sku), p.slug FROM variants v JOIN products p ON p.id = v.product_id
         WHERE p.published GROUP BY p.id, p.slug HAVING count(*) = 1 ORDER BY p.id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("one-variant product");
    first
        .services
        .catalog
        .set_stock(&sku, 1)
        .await
        .expect("stock");
    let path = format!("/p/{slug}");
    let in_stock = |body: &str| !body.contains(">Sold out<") && body.contains("Add to cart");
    assert!(in_stock(&second.get(&path).await.body));
    let placed = first
        .services
        .orders
        .place(&order(
            "restock-key",
            "guest:restock",
            "192.0.2.60",
            "r@example.com",
            &sku,
        ))
        .await
        .expect("placed");
    assert!(
        eventually(&second, &path, |b| !in_stock(b)).await,
        "the second instance shows it sold out"
    );
    first
        .services
        .orders
        .transition(
            &services::audit::Actor::command_line(),
            &placed.number,
            OrderAction::Cancel,
        )
        .await
        .expect("cancel");
    assert!(
        eventually(&second, &path, in_stock).await,
        "the second instance shows it back in stock"
    );
}

/// Whether `path` on `app` satisfies `test` within 5 s.
async fn eventually(app: &TestApp, path: &str, test: impl Fn(&str) -> bool) -> bool {
    for _ in 0..50 {
        if test(&app.get(path).await.body) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_never_lose_an_increment_and_sums_are_checked() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, _) = plentiful_sku(&app).await;
    app.services
        .catalog
        .set_stock(&sku, 500)
        .await
        .expect("stock");
    let owner = CartOwner::Guest("two-tabs".into());
    let adds: Vec<_> = (0..40)
        .map(|_| {
            let (cart, owner, sku) = (app.services.cart.clone(), owner.clone(), sku.clone());
            tokio::spawn(async move { cart.add(&owner, &sku, 2).await })
        })
        .collect();
    let mut refused = 0;
    for add in adds {
        if add.await.expect("task").is_err() {
            refused += 1;
        }
    }
    // 40 adds of 2 at once: every one counted.
    assert_eq!(refused, 0);
    assert_eq!(app.services.cart.count(&owner).await.expect("count"), 80);
    for _ in 0..9 {
        app.services.cart.add(&owner, &sku, 2).await.expect("fits");
    }
    assert_eq!(app.services.cart.count(&owner).await.expect("count"), 98);
    let over = app.services.cart.add(&owner, &sku, 2).await;
    assert!(
        over.is_err_and(|e| e.to_string().contains("at most 99")),
        "the line limit holds"
    );

    // Repeated SKUs in a checkout add up, checked: never wrapped past the limit.
    for lines in [
        vec![LineRequest::new(&sku, 60), LineRequest::new(&sku, 60)],
        vec![LineRequest::new(&sku, u32::MAX), LineRequest::new(&sku, 5)],
    ] {
        let mut o = order(
            "sum-key",
            "guest:sum",
            "192.0.2.70",
            "sum@example.com",
            &sku,
        );
        o.idempotency_key = format!("sum-key-{}-000000000000", lines[0].quantity);
        o.lines = lines;
        let result = app.services.orders.place(&o).await;
        assert!(
            matches!(&result, Err(OrderError::Invalid(e)) if e.iter().any(|f| f.message.contains("between 1 and 99"))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn a_strangers_failures_do_not_lock_the_owner_out() {
    // A short slow-down cap keeps the test quick; a high per-network limit leaves the
    // refusals below to the pair's own limit.
    let app = TestApp::spawn_with(|c| {
        c.auth.slow_down_max = std::time::Duration::from_millis(100);
        c.auth.sign_in_per_ip = 1_000;
    })
    .await;
    let owner = app.browser();
    app.register(&owner, "owner@example.com", PASSWORD).await;
    let auth = &app.services.auth;
    let mut outcomes = Vec::new();
    for _ in 0..50 {
        outcomes.push(
            match auth
                .sign_in("2001:db8:bad:1::66", "owner@example.com", "wrong-guess-123")
                .await
            {
                Err(AuthError::InvalidCredentials) => "wrong",
                Err(AuthError::Throttled { .. }) => "throttled",
                other => panic!("unexpected {other:?}"),
            },
        );
    }
    assert_eq!(outcomes.iter().filter(|o| **o == "wrong").count(), 5);
    assert!(outcomes[5..].iter().all(|o| *o == "throttled"));
    // The pair is refused, even from another address of the stranger's /64 …
    assert!(matches!(
        auth.sign_in("2001:db8:bad:1::77", "owner@example.com", PASSWORD)
            .await,
        Err(AuthError::Throttled { .. })
    ));
    // … but the owner, elsewhere, signs in (slowed down, never refused).
    auth.sign_in("198.51.100.20", "owner@example.com", PASSWORD)
        .await
        .expect("the owner signs in");
    // Over HTTP from the owner's own address too, and the reset link is always there.
    let page = app
        .call(
            &app.browser(),
            "/api/sign_in",
            &[("email", "owner@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let reset = app
        .call(
            &app.browser(),
            "/api/forgot_password",
            &[("email", "owner@example.com")],
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);

    // A success clears its own pair: four failures, a success, four more still pass.
    for round in 0..2 {
        for _ in 0..4 {
            assert!(
                matches!(
                    auth.sign_in("203.0.113.30", "owner@example.com", "typo-password-1")
                        .await,
                    Err(AuthError::InvalidCredentials)
                ),
                "round {round}"
            );
        }
        auth.sign_in("203.0.113.30", "owner@example.com", PASSWORD)
            .await
            .expect("signs in");
    }
}

#[tokio::test]
async fn guest_order_lookups_are_limited_per_network_and_per_number() {
    let app = TestApp::spawn_with(|c| {
        c.event_worker = false;
        c.trust_proxy = true;
    })
    .await;
    let (sku, _) = plentiful_sku(&app).await;
    let number = app
        .services
        .orders
        .place(&order(
            "lookup-key",
            "guest:lookup",
            "192.0.2.80",
            "look@example.com",
            &sku,
        ))
        .await
        .expect("placed")
        .number;
    let lookup = |ip: String, email: &'static str| {
        let (app, number) = (&app, number.clone());
        async move {
            let response = app
                .client
                .post(format!("{}/api/order_lookup", app.base))
                .header("accept", "application/json")
                .header("x-forwarded-for", ip)
                .form(&[("number", number.as_str()), ("email", email)])
                .send()
                .await
                .expect("request");
            response.status().as_u16()
        }
    };
    // Ten wrong guesses on one number, each from another network: then the number is
    // closed to guessing for a while, even for a new network.
    for i in 0..10 {
        assert_eq!(
            lookup(format!("2001:db8:{i:x}::1"), "guess@example.com").await,
            404
        );
    }
    assert_eq!(
        lookup("2001:db8:ff::1".into(), "guess@example.com").await,
        429
    );
    // One /64 trying many numbers: 30 tries, then 429 from any address in it.
    let app2 = TestApp::spawn_with(|c| {
        c.event_worker = false;
        c.trust_proxy = true;
    })
    .await;
    for i in 0..30 {
        let response = app2
            .client
            .post(format!("{}/api/order_lookup", app2.base))
            .header("accept", "application/json")
            .header("x-forwarded-for", format!("2001:db8:5:5::{i:x}"))
            .form(&[
                ("number", format!("EMP-{}", 5000 + i)),
                ("email", "x@example.com".into()),
            ])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 404);
    }
    let response = app2
        .client
        .post(format!("{}/api/order_lookup", app2.base))
        .header("accept", "application/json")
        .header("x-forwarded-for", "2001:db8:5:5:ffff::1")
        .form(&[("number", "EMP-9999"), ("email", "x@example.com")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn security_emails_survive_a_mail_server_that_is_down() {
    // Nothing listens on port 1: every SMTP send fails, as when the mail server is down.
    let app = TestApp::spawn_with(|c| c.smtp_url = Some("smtp://127.0.0.1:1".into())).await;
    let browser = app.browser();
    app.sign_up_directly(&browser, "sec@example.com", PASSWORD)
        .await;
    let asked = app
        .call(
            &app.browser(),
            "/api/forgot_password",
            &[("email", "sec@example.com")],
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let changed = app
        .call(
            &browser,
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "quartz-lantern-88"),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let pool = pool(&app).await;
    // The worker tried, failed, and kept both for a retry.
    let waiting = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM event_log WHERE topic IN ('account.reset_requested', 'account.password_changed')
             AND processed_at IS NULL AND last_error IS NOT NULL",
        )
        .fetch_one(&pool)
        .await
        .expect("count")
    };
    for _ in 0..100 {
        if waiting().await == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting().await, 2, "both e-mails wait for a retry");

    // The mail server is back (here: an outbox) and the retry time comes: both are sent.
    let outbox = std::env::temp_dir().join(format!("emporium-sec-outbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&outbox);
    let mailer =
        services::notifications::Mailer::outbox(&outbox, "Shop <shop@localhost>").expect("outbox");
    let worker = services::events::EventWorker::new(
        pool.clone(),
        vec![Arc::new(services::events::consumers::SecurityEmails {
            auth: app.services.auth.clone(),
            mailer,
        })],
    );
    let retry_now = "UPDATE event_log SET available_at = now() WHERE topic LIKE 'account.%'";
    // The app's own worker still has the broken mail server: when it takes one of the
    // two first, that one waits for its next retry, so make it due again until both went.
    for _ in 0..50 {
        sqlx::query(retry_now).execute(&pool).await.expect("due");
        while worker.run_once().await.expect("worker") > 0 {}
        if std::fs::read_dir(&outbox).map_or(0, |d| d.count()) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let read = || {
        let mut mails: Vec<String> = std::fs::read_dir(&outbox)
            .expect("outbox")
            .map(|f| std::fs::read_to_string(f.expect("file").path()).expect("read"))
            .map(|m| crate::helpers::decode_qp(&m))
            .collect();
        mails.sort();
        mails
    };
    let mails = read();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Your password was changed") || m.contains("password was changed")),
        "{mails:?}"
    );
    let reset = mails
        .iter()
        .find(|m| m.contains("/reset-password?token="))
        .expect("the reset e-mail");
    let at = reset.find("/reset-password?token=").expect("link");
    let link: String = reset[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-?=".contains(*c))
        .collect();
    // The password change spent earlier links, but this one was made after it: it works.
    let token = link.rsplit('=').next().expect("token");
    assert!(
        app.services.auth.check_reset_link(token).await.is_ok(),
        "{link}"
    );
    // Delivered again (a crash before it was recorded): still one e-mail each.
    sqlx::query("DELETE FROM event_consumptions")
        .execute(&pool)
        .await
        .expect("forget");
    sqlx::query("UPDATE event_log SET processed_at = NULL, available_at = now() WHERE topic LIKE 'account.%'")
        .execute(&pool)
        .await
        .expect("again");
    while worker.run_once().await.expect("worker") > 0 {}
    assert_eq!(read().len(), 2);
}

#[tokio::test]
async fn the_confirmation_email_links_to_the_order_with_a_signed_key() {
    let app = TestApp::spawn().await;
    let (sku, _) = plentiful_sku(&app).await;
    let number = app
        .services
        .orders
        .place(&order(
            "link-key",
            "guest:link",
            "192.0.2.90",
            "link@example.com",
            &sku,
        ))
        .await
        .expect("placed")
        .number;
    let mails = app.outbox_messages(1).await;
    let mail = mails
        .iter()
        .find(|m| m.contains(&number))
        .expect("confirmation");
    let at = mail
        .find(&format!("/order/{number}?key="))
        .expect("signed link");
    let path: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-?=".contains(*c))
        .collect();
    // Any browser with the link sees the order; a guessed or altered key does not.
    let holder = app.browser();
    let page = app.visit(&holder, &path).await;
    assert_eq!(page.status, 200, "{path}");
    assert_eq!(page.texts("order-number"), std::slice::from_ref(&number));
    let stranger = app.browser();
    let forged = format!("/order/{number}?key={}", "0".repeat(32));
    assert_eq!(app.visit(&stranger, &forged).await.status, 404);
    let next = format!(
        "EMP-{}",
        number.trim_start_matches("EMP-").parse::<u64>().expect("n") + 1
    );
    let moved = path.replace(&number, &next);
    assert_eq!(app.visit(&stranger, &moved).await.status, 404);
    // The stranger cannot cancel it; the holder of the link can, while it is unpaid.
    let refused = app
        .call(
            &stranger,
            "/api/order_cancel",
            &[("number", number.as_str())],
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    let cancelled = app
        .call(&holder, "/api/order_cancel", &[("number", number.as_str())])
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let page = app.visit(&holder, &format!("/order/{number}")).await;
    assert_eq!(page.texts("order-status"), ["Cancelled"]);
    let twice = app
        .call(&holder, "/api/order_cancel", &[("number", number.as_str())])
        .await;
    assert_eq!(twice.status, 400, "{}", twice.body);
}

#[tokio::test]
async fn registration_answers_the_same_whether_or_not_the_address_has_an_account() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "taken@example.com", PASSWORD)
        .await;
    let ask = |email: &'static str| {
        let app = &app;
        async move {
            let browser = app.browser();
            let page = app
                .call(
                    &browser,
                    "/api/register",
                    &[
                        ("email", email),
                        ("password", "amber-walrus-71"),
                        ("name", "Sam"),
                    ],
                )
                .await;
            // Signed in by neither.
            let account = app.visit(&browser, "/account").await.status;
            let location = page.header("location").map(str::to_owned);
            (page.status, page.body, location, account)
        }
    };
    let existing = ask("taken@example.com").await;
    let fresh = ask("fresh@example.com").await;
    assert_eq!(existing, fresh);
    assert_eq!(existing.0, 200);
    assert_eq!(existing.3, 302, "not signed in");
    // The owner is told someone tried; the new address gets the link that finishes it.
    let mails = app.outbox_messages(2).await;
    let to = |who: &str| -> Vec<&String> {
        mails
            .iter()
            .filter(|m| m.contains(&format!("To: {who}")))
            .collect()
    };
    let notice = to("taken@example.com");
    assert!(
        notice
            .iter()
            .any(|m| m.contains("You already have") && !m.contains("/register/confirm")),
        "{notice:?}"
    );
    let token = app.registration_token("fresh@example.com", false).await;
    let pool = pool(&app).await;
    let users = |email: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        (
            users("taken@example.com").await,
            users("fresh@example.com").await
        ),
        (1, 0)
    );
    // The link creates the account once, and signs it in.
    let browser = app.browser();
    let confirm = app
        .visit(&browser, &format!("/register/confirm?token={token}"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Create my account"));
    assert_eq!(
        users("fresh@example.com").await,
        0,
        "following the link alone creates nothing"
    );
    // Whoever registered must know the password they chose: someone else's registration
    // of this address cannot become its owner's account.
    let wrong = app
        .call(
            &browser,
            "/api/confirm_registration",
            &[("token", &token), ("password", "not-the-one-chosen-1")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(users("fresh@example.com").await, 0);
    let done = app
        .call(
            &browser,
            "/api/confirm_registration",
            &[("token", &token), ("password", "amber-walrus-71")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(app.visit(&browser, "/account").await.status, 200);
    assert_eq!(users("fresh@example.com").await, 1);
    let again = app
        .call(
            &app.browser(),
            "/api/confirm_registration",
            &[("token", &token), ("password", "amber-walrus-71")],
        )
        .await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("does not work any more"),
        "{}",
        again.body
    );
    // The existing account kept its own password.
    let old = app
        .services
        .auth
        .sign_in("192.0.2.99", "taken@example.com", PASSWORD)
        .await;
    assert!(old.is_ok());
}
