//! The order desk over HTTP, as staff use it: refunds (bounded by what was captured, one
//! per key however often it is sent, restocking chosen lines), partial capture, cancelling
//! authorised and captured orders, manual refunds of bank transfers, notes, the review
//! flag, the list's search, filters and CSV export, and who may do what. Card payments go
//! through localstripe (the real local Stripe server).

use crate::helpers::{Page, TestApp};
use crate::orders::{order_for, skus_in_stock};
use crate::payments::{
    card, intent_id, intent_json, localstripe, payment_status, secret, with_stripe,
};
use domain::Role;
use services::orders::{PlaceOrder, Viewer};
use std::time::Duration;

/// A shop with card payments against localstripe (capturing at once, or authorising only).
async fn card_shop(manual_capture: bool) -> TestApp {
    let secret = secret();
    TestApp::spawn_with(move |c| {
        with_stripe(c, &localstripe(), &secret);
        if let Some(s) = c.stripe.as_mut() {
            s.manual_capture = manual_capture;
        }
    })
    .await
}

async fn db_i64(app: &TestApp, sql: &str, number: &str) -> i64 {
    crate::payments::scalar(app, sql, number).await
}

async fn stock_of(app: &TestApp, sku: &str) -> i64 {
    sqlx::query_scalar::<_, i32>("SELECT stock_on_hand FROM variants WHERE sku = $1")
        .bind(sku)
        .fetch_one(&app.pool().await)
        .await
        .map(i64::from)
        .expect("stock")
}

/// Places an order of two lines (2 of the first SKU, 1 of the second) paid by `method`;
/// a card order is paid with a good card (authorised only in a manual-capture shop).
async fn two_line_order(app: &TestApp, key: &str, method: &str) -> (String, String, String) {
    let skus = skus_in_stock(app, 10, 2).await;
    let (a, b) = (skus[0].0.clone(), skus[1].0.clone());
    let mut order: PlaceOrder = order_for(key, &a, 2);
    order.lines.push(services::orders::LineRequest::new(&b, 1));
    order.payment_code = method.into();
    let placed = app.services.orders.place(&order).await.expect("place");
    if method == "card" {
        let paid = app
            .services
            .orders
            .pay_by_card(
                &placed.number,
                &Viewer::System,
                &card("4242424242424242").await,
                &order.owner,
                &order.client_ip,
            )
            .await;
        assert!(paid.is_ok(), "{paid:?}");
    }
    (placed.number, a, b)
}

fn refund_form<'a>(
    number: &'a str,
    key: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("number", number), ("idempotency_key", key)];
    form.extend_from_slice(extra);
    form
}

/// Refunds of the order's PaymentIntent at localstripe: (how many, their sum).
async fn stripe_refunds(app: &TestApp, number: &str) -> (usize, i64) {
    let intent = intent_id(app, number).await;
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/refunds?payment_intent={intent}",
            localstripe()
        ))
        .bearer_auth("sk_test_emporium")
        .send()
        .await
        .expect("localstripe")
        .json()
        .await
        .expect("refunds");
    let data = list["data"].as_array().cloned().unwrap_or_default();
    (
        data.len(),
        data.iter().map(|r| r["amount"].as_i64().unwrap_or(0)).sum(),
    )
}

fn timeline(page: &Page) -> Vec<String> {
    page.blocks("timeline-entry", "</li>")
}

#[tokio::test]
async fn a_card_order_is_refunded_by_line_with_restock_once_per_key_then_in_full() {
    let app = card_shop(false).await;
    let (number, sku_a, _) = two_line_order(&app, "desk-refund-key-0001", "card").await;
    assert_eq!(payment_status(&app, &number).await, "paid");
    let total = db_i64(
        &app,
        "SELECT total_minor FROM orders WHERE number = $1",
        &number,
    )
    .await;
    let unit = db_i64(
        &app,
        "SELECT unit_price_minor FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.number = $1 AND line_no = 1",
        &number,
    )
    .await;
    let rate = db_i64(
        &app,
        "SELECT tax_rate_bps::bigint FROM orders WHERE number = $1",
        &number,
    )
    .await;
    let (admin, _) = app.staff("olga@example.com", Role::Orders).await;
    let page_url = format!("/admin/orders/{number}");
    let page = app.visit(&admin, &page_url).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.texts("admin-order-statuses"),
        ["Open · Paid · Not shipped"]
    );
    assert!(page.body.contains(r#"data-testid="refund-form""#));

    // More than was captured: refused with the figures, nothing refunded.
    let too_much = format!("{}.{:02}", (total + 1) / 100, (total + 1) % 100);
    let refused = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(&number, "desk-refund-over-0001", &[("amount", &too_much)]),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("At most"), "{}", refused.body);
    assert_eq!(stripe_refunds(&app, &number).await.0, 0);

    // One unit of the first line, back to stock: its price with tax, sent twice in a row
    // and twice at once under two keys' worth of clicks: one refund per key.
    let before = stock_of(&app, &sku_a).await;
    let form = refund_form(
        &number,
        "desk-refund-line-0001",
        &[
            ("units[0]", "1"),
            ("units[1]", ""),
            ("restock", "on"),
            ("reason", "Arrived damaged"),
        ],
    );
    let first = app.call(&admin, "/api/admin_order_refund", &form).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = app.call(&admin, "/api/admin_order_refund", &form).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let line_value = unit + (unit * rate + 5_000) / 10_000;
    assert_eq!(stripe_refunds(&app, &number).await, (1, line_value));
    assert_eq!(stock_of(&app, &sku_a).await, before + 1);
    assert_eq!(
        db_i64(&app, "SELECT count(*) FROM stock_movements m JOIN orders o ON o.id = m.order_id WHERE o.number = $1 AND reason = 'refund_restock'", &number).await,
        1
    );
    assert_eq!(payment_status(&app, &number).await, "partially_refunded");

    let twice = refund_form(&number, "desk-refund-race-0001", &[("amount", "1.00")]);
    let (x, y) = tokio::join!(
        app.call(&admin, "/api/admin_order_refund", &twice),
        app.call(&admin, "/api/admin_order_refund", &twice)
    );
    assert_eq!((x.status, y.status), (200, 200), "{} / {}", x.body, y.body);
    assert_eq!(stripe_refunds(&app, &number).await, (2, line_value + 100));
    assert_eq!(
        db_i64(
            &app,
            "SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.number = $1",
            &number
        )
        .await,
        2
    );

    // Neither an amount nor lines: asked for one. Then the rest, exactly.
    let empty = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(&number, "desk-refund-none-0001", &[]),
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(
        empty.body.contains("Enter the amount to refund"),
        "{}",
        empty.body
    );
    let rest = total - line_value - 100;
    let rest_text = format!("{}.{:02}", rest / 100, rest % 100);
    let last = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(&number, "desk-refund-rest-0001", &[("amount", &rest_text)]),
        )
        .await;
    assert_eq!(last.status, 200, "{}", last.body);
    assert_eq!(payment_status(&app, &number).await, "refunded");
    assert_eq!(stripe_refunds(&app, &number).await, (3, total));
    let more = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(&number, "desk-refund-more-0001", &[("amount", "1")]),
        )
        .await;
    assert_eq!(more.status, 422);
    assert!(
        more.body
            .contains("Nothing of this order's payment is left"),
        "{}",
        more.body
    );

    // The desk's page and timeline, the customer's page and their e-mails.
    let page = app.visit(&admin, &page_url).await;
    assert_eq!(
        page.texts("admin-order-refunded"),
        [format!("${}.{:02}", total / 100, total % 100)]
    );
    let entries = timeline(&page);
    assert!(
        entries.iter().any(|t| t.contains("Refunded")
            && t.contains("Arrived damaged")
            && t.contains("1 unit(s) back in stock")
            && t.contains("olga@example.com")),
        "{entries:?}"
    );
    let shopper = app.browser();
    let mine = app
        .visit(&shopper, &app.services.orders.link(&number))
        .await;
    assert_eq!(mine.status, 200);
    let refunds = mine.texts("order-refund");
    assert_eq!(refunds.len(), 3, "{refunds:?}");
    assert!(
        refunds[0].starts_with(&format!(
            "Refunded ${}.{:02} on ",
            line_value / 100,
            line_value % 100
        )),
        "{refunds:?}"
    );
    let mail = app
        .outbox_message_with(&format!(
            "Refund of ${}.{:02}",
            line_value / 100,
            line_value % 100
        ))
        .await;
    assert!(mail.contains(&number), "{mail}");
    // Each e-mail sent is on the timeline (the worker records them as it sends).
    for _ in 0..50 {
        if timeline(&app.visit(&admin, &page_url).await)
            .iter()
            .filter(|t| t.contains("E-mail sent: Refund of"))
            .count()
            == 3
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entries = timeline(&app.visit(&admin, &page_url).await);
    assert_eq!(
        entries
            .iter()
            .filter(|t| t.contains("E-mail sent: Refund of"))
            .count(),
        3,
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|t| t.contains("E-mail sent: Payment received")),
        "{entries:?}"
    );
    // Every refund is in the audit log under who made it.
    assert_eq!(
        db_i64(&app, "SELECT count(*) FROM audit_log WHERE entity = 'order' AND entity_id = $1 AND action = 'refund' AND actor_id IS NOT NULL", &number).await,
        3
    );
}

#[tokio::test]
async fn a_partial_capture_then_a_refund_of_the_rest() {
    let app = card_shop(true).await;
    let (number, ..) = two_line_order(&app, "desk-capture-key-0001", "card").await;
    assert_eq!(payment_status(&app, &number).await, "authorised");
    let total = db_i64(
        &app,
        "SELECT total_minor FROM orders WHERE number = $1",
        &number,
    )
    .await;
    let (admin, _) = app.staff("cato@example.com", Role::Admin).await;
    let page = app.visit(&admin, &format!("/admin/orders/{number}")).await;
    assert!(page.body.contains(r#"data-testid="capture-form""#));
    assert!(
        !page.body.contains(r#"data-testid="refund-form""#),
        "nothing captured, nothing to refund"
    );

    let over = format!("{}.00", total / 100 + 1);
    let refused = app
        .call(
            &admin,
            "/api/admin_order_capture",
            &[("number", &number), ("amount", &over)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // All but $5 (one item is out of stock, say): the rest of the authorisation goes back.
    let part = total - 500;
    let part_text = format!("{}.{:02}", part / 100, part % 100);
    let captured = app
        .call(
            &admin,
            "/api/admin_order_capture",
            &[("number", &number), ("amount", &part_text)],
        )
        .await;
    assert_eq!(captured.status, 200, "{}", captured.body);
    assert_eq!(payment_status(&app, &number).await, "paid");
    assert_eq!(
        db_i64(
            &app,
            "SELECT captured_minor FROM orders WHERE number = $1",
            &number
        )
        .await,
        part
    );
    assert_eq!(
        intent_json(&intent_id(&app, &number).await).await["status"],
        "succeeded"
    );
    // A second capture is refused: it is paid.
    let twice = app
        .call(
            &admin,
            "/api/admin_order_capture",
            &[("number", &number), ("amount", "")],
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.body);

    // At most what was captured comes back; all of it does.
    let refused = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(
                &number,
                "desk-capture-over-0001",
                &[("amount", &format!("{}.{:02}", total / 100, total % 100))],
            ),
        )
        .await;
    assert_eq!(refused.status, 422);
    let refunded = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(&number, "desk-capture-rest-0001", &[("amount", &part_text)]),
        )
        .await;
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    assert_eq!(payment_status(&app, &number).await, "refunded");
    let entries = timeline(&app.visit(&admin, &format!("/admin/orders/{number}")).await);
    assert!(
        entries.iter().any(
            |t| t.contains(&format!("Captured ${part_text}")) && t.contains("cato@example.com")
        ),
        "{entries:?}"
    );
}

#[tokio::test]
async fn cancelling_voids_an_authorisation_and_refunds_a_capture_restocking_once() {
    let app = card_shop(true).await;
    let (admin, _) = app.staff("cleo@example.com", Role::Orders).await;

    // Authorised only: the authorisation is released, the stock comes back.
    let (authorised, sku_a, sku_b) = two_line_order(&app, "desk-cancel-auth-0001", "card").await;
    let (a0, b0) = (stock_of(&app, &sku_a).await, stock_of(&app, &sku_b).await);
    let cancelled = app
        .call(
            &admin,
            "/api/admin_order_cancel",
            &[
                ("number", &authorised),
                ("idempotency_key", "desk-cancel-auth-key-1"),
                ("reason", "Customer asked"),
            ],
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(payment_status(&app, &authorised).await, "voided");
    assert_eq!(
        intent_json(&intent_id(&app, &authorised).await).await["status"],
        "canceled"
    );
    assert_eq!(
        (stock_of(&app, &sku_a).await, stock_of(&app, &sku_b).await),
        (a0 + 2, b0 + 1)
    );
    let mail = app
        .outbox_message_with(&format!("Your Emporium order {authorised} was cancelled"))
        .await;
    assert!(mail.contains("Nothing will be charged"), "{mail}");

    // Captured, with one unit already refunded and restocked: cancelling refunds the
    // rest and restocks only what is not back yet.
    let (captured, sku_a, sku_b) = two_line_order(&app, "desk-cancel-capt-0001", "card").await;
    let c = app
        .call(
            &admin,
            "/api/admin_order_capture",
            &[("number", &captured), ("amount", "")],
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let one = app
        .call(
            &admin,
            "/api/admin_order_refund",
            &refund_form(
                &captured,
                "desk-cancel-part-0001",
                &[("units[0]", "1"), ("restock", "on")],
            ),
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    let (a1, b1) = (stock_of(&app, &sku_a).await, stock_of(&app, &sku_b).await);
    let total = db_i64(
        &app,
        "SELECT total_minor FROM orders WHERE number = $1",
        &captured,
    )
    .await;
    let cancel = [
        ("number", captured.as_str()),
        ("idempotency_key", "desk-cancel-capt-key-1"),
        ("reason", ""),
    ];
    let done = app.call(&admin, "/api/admin_order_cancel", &cancel).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(payment_status(&app, &captured).await, "refunded");
    assert_eq!(
        crate::payments::text(
            &app,
            "SELECT order_status FROM orders WHERE number = $1",
            &captured
        )
        .await,
        "cancelled"
    );
    assert_eq!(stripe_refunds(&app, &captured).await, (2, total));
    assert_eq!(
        (stock_of(&app, &sku_a).await, stock_of(&app, &sku_b).await),
        (a1 + 1, b1 + 1)
    );
    // Sent again: it is cancelled already, and nothing more moves.
    let again = app.call(&admin, "/api/admin_order_cancel", &cancel).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(stripe_refunds(&app, &captured).await, (2, total));
    let mail = app
        .outbox_message_with(&format!("Your Emporium order {captured} was cancelled"))
        .await;
    assert!(
        mail.contains("Everything you paid has been refunded"),
        "{mail}"
    );
}

#[tokio::test]
async fn each_role_is_refused_what_it_may_not_do() {
    let app = TestApp::spawn().await;
    let (number, ..) = two_line_order(&app, "desk-roles-key-00001", "bank_transfer").await;
    let page = format!("/admin/orders/{number}");
    let (catalog, _) = app.staff("cara@example.com", Role::Catalog).await;
    assert_eq!(app.visit(&catalog, "/admin/orders").await.status, 403);
    assert_eq!(app.visit(&catalog, &page).await.status, 403);
    assert_eq!(
        app.visit(&catalog, "/admin/orders/export.csv").await.status,
        403
    );
    assert_eq!(
        app.call(
            &catalog,
            "/api/admin_order_note",
            &[("number", &number), ("body", "x")]
        )
        .await
        .status,
        403
    );

    // Support read orders and write notes; money and statuses are not theirs.
    let (support, _) = app.staff("sam@example.com", Role::Support).await;
    let view = app.visit(&support, &page).await;
    assert_eq!(view.status, 200);
    assert!(
        !view.body.contains(r#"data-testid="admin-order-actions""#),
        "support see no actions"
    );
    let noted = app
        .call(
            &support,
            "/api/admin_order_note",
            &[("number", &number), ("body", "Called: will pay Friday")],
        )
        .await;
    assert_eq!(noted.status, 200, "{}", noted.body);
    for (path, form) in [
        (
            "/api/admin_order_mark_paid",
            vec![("number", number.as_str()), ("reference", "R1")],
        ),
        (
            "/api/admin_order_capture",
            vec![("number", number.as_str()), ("amount", "")],
        ),
        (
            "/api/admin_order_cancel",
            vec![
                ("number", number.as_str()),
                ("idempotency_key", "desk-roles-cancel-0001"),
                ("reason", ""),
            ],
        ),
        (
            "/api/admin_order_clear_review",
            vec![("number", number.as_str()), ("reason", "ok")],
        ),
        (
            "/api/admin_order_refund",
            refund_form(&number, "desk-roles-refund-0001", &[("amount", "1")]),
        ),
        (
            "/api/admin_order_action",
            vec![("number", number.as_str()), ("action", "fulfil")],
        ),
    ] {
        let refused = app.call(&support, path, &form).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
    }
    // A customer gets nothing of the desk.
    let shopper = app.browser();
    app.sign_up_directly(&shopper, "cody@example.com", "violet-harbour-19")
        .await;
    assert_eq!(app.visit(&shopper, &page).await.status, 403);
    assert_eq!(
        app.call(
            &shopper,
            "/api/admin_order_refund",
            &refund_form(&number, "desk-roles-refund-0002", &[("amount", "1")])
        )
        .await
        .status,
        403
    );
    // Nothing moved; the note is on the timeline under its author, and in the audit log.
    assert_eq!(payment_status(&app, &number).await, "pending");
    let entries = timeline(&app.visit(&support, &page).await);
    assert!(
        entries
            .iter()
            .any(|t| t.contains("Called: will pay Friday") && t.contains("sam@example.com")),
        "{entries:?}"
    );
    assert_eq!(
        db_i64(
            &app,
            "SELECT count(*) FROM audit_log WHERE entity = 'order' AND entity_id = $1",
            &number
        )
        .await,
        1
    );
}

#[tokio::test]
async fn bank_transfers_are_refunded_by_hand_and_the_list_finds_filters_and_exports() {
    let app = TestApp::spawn().await;
    let mut numbers = Vec::new();
    for (i, name) in ["Nora Quill", "Olive Marsh", "Nadia Quince"]
        .iter()
        .enumerate()
    {
        let skus = skus_in_stock(&app, 5, 1).await;
        let mut order = order_for(&format!("desk-list-key-00000{i}"), &skus[0].0, 1);
        order.address.full_name = (*name).into();
        numbers.push(
            app.services
                .orders
                .place(&order)
                .await
                .expect("place")
                .number,
        );
    }
    let (admin, _) = app.staff("otto@example.com", Role::Orders).await;
    let paid = app
        .call(
            &admin,
            "/api/admin_order_mark_paid",
            &[("number", &numbers[0]), ("reference", "")],
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    // Paid outside the shop: refunded outside it, with the transfer's reference.
    let n0 = numbers[0].clone();
    let form = [
        ("number", n0.as_str()),
        ("idempotency_key", "desk-list-refund-0001"),
        ("amount", "2.00"),
    ];
    let refused = app.call(&admin, "/api/admin_order_refund", &form).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("enter its reference"),
        "{}",
        refused.body
    );
    let mut with_ref = form.to_vec();
    with_ref.push(("reference", "TRF-20261202-9"));
    let done = app.call(&admin, "/api/admin_order_refund", &with_ref).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(payment_status(&app, &n0).await, "partially_refunded");
    let entries = timeline(&app.visit(&admin, &format!("/admin/orders/{n0}")).await);
    assert!(
        entries
            .iter()
            .any(|t| t.contains("Refunded $2.00") && t.contains("ref. TRF-20261202-9")),
        "{entries:?}"
    );

    // Search by number (with or without its prefix), e-mail start and name start.
    let list = |q: String| {
        let admin = admin.clone();
        let app = &app;
        async move { app.visit(&admin, &format!("/admin/orders?{q}")).await }
    };
    let digits = numbers[1].trim_start_matches("EMP-").to_owned();
    assert_eq!(
        list(format!("q={digits}"))
            .await
            .texts("admin-order-number"),
        [numbers[1].clone()]
    );
    assert_eq!(
        list(format!("q={}", numbers[2].to_lowercase()))
            .await
            .texts("admin-order-number"),
        [numbers[2].clone()]
    );
    assert_eq!(
        list("q=ada-desk-list-key-000001%40".into())
            .await
            .texts("admin-order-number"),
        [numbers[1].clone()]
    );
    let by_name = list("q=n".into()).await.texts("admin-order-number");
    assert_eq!(
        by_name,
        [numbers[2].clone(), numbers[0].clone()],
        "newest first"
    );
    let by_name_oldest = list("q=N&reverse=1".into())
        .await
        .texts("admin-order-number");
    assert_eq!(by_name_oldest, [numbers[0].clone(), numbers[2].clone()]);
    // Filters: payment status, method, dates, review.
    assert_eq!(
        list("payment=partially_refunded".into())
            .await
            .texts("admin-order-number"),
        [numbers[0].clone()]
    );
    assert_eq!(
        list("method=card".into()).await.texts("admin-order-number"),
        Vec::<String>::new()
    );
    assert_eq!(
        list("from=2000-01-01&to=2000-01-31".into())
            .await
            .texts("admin-order-number"),
        Vec::<String>::new()
    );
    let bad = list("from=yesterday".into()).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("YYYY-MM-DD"),
        "a bad date says how to write one"
    );
    sqlx::query("UPDATE orders SET review_reason = 'Amount does not match', review_flagged_at = now() WHERE number = $1")
        .bind(&numbers[1])
        .execute(&app.pool().await)
        .await
        .expect("flag");
    assert_eq!(
        list("review=1".into()).await.texts("admin-order-number"),
        [numbers[1].clone()]
    );
    let cleared = app
        .call(
            &admin,
            "/api/admin_order_clear_review",
            &[("number", &numbers[1]), ("reason", "")],
        )
        .await;
    assert_eq!(cleared.status, 422, "a reason is needed");
    let cleared = app
        .call(
            &admin,
            "/api/admin_order_clear_review",
            &[("number", &numbers[1]), ("reason", "Checked with the bank")],
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(
        list("review=1".into()).await.texts("admin-order-number"),
        Vec::<String>::new()
    );
    let entries = timeline(
        &app.visit(&admin, &format!("/admin/orders/{}", numbers[1]))
            .await,
    );
    assert!(
        entries
            .iter()
            .any(|t| t.contains("Cleared the review flag — Checked with the bank")),
        "{entries:?}"
    );

    // The export holds the filtered list, with the money columns.
    let csv = app.visit(&admin, "/admin/orders/export.csv?q=n").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(
        lines[0].starts_with("Number,Placed (UTC),Email,Name,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(
        lines[1].starts_with(&numbers[2]) && lines[2].starts_with(&numbers[0]),
        "{}",
        csv.body
    );
    assert!(
        lines[2].contains("Nora Quill") && lines[2].contains(",2,"),
        "{}",
        lines[2]
    );
    assert_eq!(
        app.visit(&admin, "/admin/orders/export.csv?to=nope")
            .await
            .status,
        422
    );
}
