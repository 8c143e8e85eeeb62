//! PayPal (Orders v2) against the local PayPal stand-in (`paypal_standin.rs`: not PayPal,
//! a server speaking its documented requests and answers): the shopper approves on the
//! stand-in and comes back, the shop captures once, the webhook's report of the capture
//! pays nothing twice, a forged or altered webhook is refused, a shopper who never comes
//! back is paid by the "approved" webhook, and the order desk refunds through PayPal once
//! per key.

use crate::helpers::{Page, TestApp};
use crate::orders::{order_for, skus_in_stock};
use crate::payments::{mails_with, payment_status};
use crate::paypal_standin::{PayPalStandIn, CLIENT_ID, SECRET, WEBHOOK_ID};
use domain::Role;
use services::payments::paypal::PayPalSettings;
use services::resilience::GuardSettings;
use std::time::Duration;

async fn paypal_shop() -> (TestApp, PayPalStandIn) {
    let standin = PayPalStandIn::start().await;
    let api = standin.url.clone();
    let app = TestApp::spawn_with(move |c| {
        c.paypal = Some(PayPalSettings {
            client_id: CLIENT_ID.into(),
            secret: SECRET.into(),
            webhook_id: WEBHOOK_ID.into(),
            api_url: api,
            public_url: c.public_url.clone(),
            expires_after: Duration::from_secs(3 * 3600),
            guard: GuardSettings {
                timeout: Duration::from_secs(3),
                ..GuardSettings::default()
            },
        });
    })
    .await;
    (app, standin)
}

/// A PayPal order placed through the service; its number and PayPal's order id.
async fn paypal_order(app: &TestApp, key: &str) -> (String, String) {
    let sku = skus_in_stock(app, 5, 1).await.remove(0).0;
    let mut order = order_for(key, &sku, 1);
    order.payment_code = "paypal".into();
    let placed = app.services.orders.place(&order).await.expect("place");
    let reference: String = sqlx::query_scalar(
        "SELECT p.reference FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.number = $1 AND p.provider = 'paypal'",
    )
    .bind(&placed.number)
    .fetch_one(&app.pool().await)
    .await
    .expect("a PayPal order was made for it");
    (placed.number, reference)
}

async fn deliver(app: &TestApp, headers: &[(&'static str, String)], body: &[u8]) -> Page {
    let mut request = app
        .client
        .post(format!("{}/webhooks/paypal", app.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    Page::read(request.send().await.expect("webhook")).await
}

/// The `href` of the element marked `data-testid="{id}"`.
fn link_of(page: &Page, id: &str) -> Option<String> {
    let at = page.body.find(&format!("data-testid=\"{id}\""))?;
    let start = page.body[..at].rfind('<')?;
    let end = at + page.body[at..].find('>')?;
    let tag = &page.body[start..end];
    let href = tag.find("href=\"")? + 6;
    let close = tag[href..].find('"')? + href;
    Some(tag[href..close].replace("&amp;", "&"))
}

async fn records(app: &TestApp, number: &str, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM payment_records r JOIN orders o ON o.id = r.order_id WHERE o.number = $1 AND r.kind = $2",
    )
    .bind(number)
    .bind(kind)
    .fetch_one(&app.pool().await)
    .await
    .expect("records")
}

#[tokio::test]
async fn approve_then_capture_then_the_webhook_pays_once_and_forgeries_are_refused() {
    let (app, standin) = paypal_shop().await;
    let (number, paypal_id) = paypal_order(&app, "paypal-approve-key-01").await;
    assert_eq!(payment_status(&app, &number).await, "pending");

    // The order page sends the shopper to PayPal's approval page.
    let shopper = app.browser();
    let page = app
        .visit(&shopper, &app.services.orders.link(&number))
        .await;
    let pay = link_of(&page, "paypal-approve").expect("a Pay with PayPal link");
    assert!(
        pay.starts_with(&format!("{}/checkoutnow?token={paypal_id}", standin.url)),
        "{pay}"
    );

    // PayPal (the stand-in) approves and sends the browser back to the shop, which
    // captures and shows the order paid.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let approved = no_redirects.get(&pay).send().await.expect("approve");
    let back = approved
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("sent back to the shop")
        .to_owned();
    assert!(
        back.contains(&format!(
            "/order/{number}/paypal?token={paypal_id}&PayerID="
        )),
        "{back}"
    );
    let path = back
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .expect("path");
    let returned = app.visit(&shopper, &path).await;
    assert_eq!(returned.status, 303, "{}", returned.body);
    let order_page = returned
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("to the order's page")
        .to_owned();
    assert_eq!(
        order_page,
        format!("{}&payment=returned", app.services.orders.link(&number))
    );
    let shown = app.visit(&shopper, &order_page).await;
    assert_eq!(shown.texts("order-status"), ["Paid"]);
    assert_eq!(payment_status(&app, &number).await, "paid");
    assert_eq!(standin.calls().0, 1);
    // Coming back again (a reload) captures nothing more.
    assert_eq!(app.visit(&shopper, &path).await.status, 303);
    assert_eq!(standin.calls().0, 1);

    // PayPal's report of the capture, twice, changes nothing more: one capture recorded,
    // one "payment received" e-mail.
    let (headers, body) = standin.delivery(
        "PAYMENT.CAPTURE.COMPLETED",
        standin.capture_resource(&paypal_id),
    );
    for _ in 0..2 {
        let r = deliver(&app, &headers, &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(records(&app, &number, "captured").await, 1);
    assert_eq!(
        mails_with(
            &app,
            &format!("Payment received for your Emporium order {number}"),
            1
        )
        .await,
        1
    );

    // A forged signature, an altered body and a missing header are refused and stored
    // nowhere.
    let mut forged = headers.clone();
    forged[3].1 = "forged-signature".into();
    assert_eq!(deliver(&app, &forged, &body).await.status, 400);
    let altered = String::from_utf8(body.clone())
        .expect("utf8")
        .replace("COMPLETED", "DECLINED");
    assert_eq!(
        deliver(&app, &headers, altered.as_bytes()).await.status,
        400
    );
    assert_eq!(deliver(&app, &headers[1..], &body).await.status, 400);
    assert_eq!(deliver(&app, &headers, b"not json").await.status, 400);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM paypal_events")
        .fetch_one(&app.pool().await)
        .await
        .expect("events");
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_shopper_who_never_comes_back_is_paid_by_the_approved_webhook_and_refunds_go_through_paypal(
) {
    let (app, standin) = paypal_shop().await;
    let (number, paypal_id) = paypal_order(&app, "paypal-webhook-key-01").await;
    // Approved at PayPal; the browser never returns to the shop.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    no_redirects
        .get(format!("{}/checkoutnow?token={paypal_id}", standin.url))
        .send()
        .await
        .expect("approve");
    let (headers, body) = standin.delivery("CHECKOUT.ORDER.APPROVED", standin.order(&paypal_id));
    assert_eq!(deliver(&app, &headers, &body).await.status, 200);
    for _ in 0..100 {
        if payment_status(&app, &number).await == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(payment_status(&app, &number).await, "paid");
    assert_eq!(standin.calls().0, 1);

    // The order desk refunds part of it through PayPal, once for a double click.
    let (admin, _) = app.staff("pia@example.com", Role::Orders).await;
    let form = [
        ("number", number.as_str()),
        ("idempotency_key", "paypal-refund-key-0001"),
        ("amount", "3.00"),
    ];
    let (a, b) = tokio::join!(
        app.call(&admin, "/api/admin_order_refund", &form),
        app.call(&admin, "/api/admin_order_refund", &form)
    );
    assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.body, b.body);
    assert_eq!(standin.calls().1, 1);
    assert_eq!(payment_status(&app, &number).await, "partially_refunded");
    let mine = app
        .visit(&app.browser(), &app.services.orders.link(&number))
        .await;
    assert_eq!(mine.texts("order-refund").len(), 1);
    assert!(
        mine.texts("order-refund")[0].contains("to your PayPal account"),
        "{:?}",
        mine.texts("order-refund")
    );
}
