//! Stock movements: concurrent adjustments none of which is lost, a count that keeps what
//! orders took while it was made, the on-hand figure equal to the sum of movements after
//! orders, cancellations and adjustments, and the admin's stock screens by role.

use crate::helpers::TestApp;
use crate::orders::{order_for, skus_in_stock};
use domain::order::OrderAction;
use domain::stock::{Adjustment, StockReason};
use domain::Role;
use services::audit::Actor;

async fn on_hand(app: &TestApp, sku: &str) -> i32 {
    sqlx::query_scalar("SELECT stock_on_hand FROM variants WHERE sku = $1")
        .bind(sku)
        .fetch_one(&app.pool().await)
        .await
        .expect("stock")
}

async fn movements(app: &TestApp, sku: &str) -> Vec<(i32, String)> {
    sqlx::query_as(
        "SELECT m.delta, m.reason FROM stock_movements m JOIN variants v ON v.id = m.variant_id
         WHERE v.sku = $1 ORDER BY m.id",
    )
    .bind(sku)
    .fetch_all(&app.pool().await)
    .await
    .expect("movements")
}

async fn assert_sums_hold(app: &TestApp) {
    let (checked, wrong) = services::stock::check(&app.pool().await)
        .await
        .expect("check");
    assert!(checked > 0);
    assert!(
        wrong.is_empty(),
        "stock differs from its movements: {wrong:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_deltas_on_one_variant_are_all_kept() {
    let app = TestApp::spawn_with(|c| {
        c.db_max_connections = 20;
        c.event_worker = false;
    })
    .await;
    let (sku, _, _) = skus_in_stock(&app, 1, 1).await.remove(0);
    // Enough that the losses never find it empty, whatever order they come in.
    app.services
        .catalog
        .set_stock(&sku, 30)
        .await
        .expect("stock");
    let before = 30;
    let actor = Actor::command_line();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (catalog, actor, sku) = (app.services.catalog.clone(), actor.clone(), sku.clone());
            tokio::spawn(async move {
                let (delta, reason) = if i % 4 == 3 {
                    (-1, StockReason::Damaged)
                } else {
                    (2, StockReason::Received)
                };
                catalog
                    .adjust_stock(&actor, &sku, Adjustment::Delta(delta), reason, "delivery")
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("adjust");
    }
    // 75 deliveries of 2, 25 losses of 1.
    assert_eq!(on_hand(&app, &sku).await, before + 150 - 25);
    let moved = movements(&app, &sku).await;
    assert_eq!(moved.iter().filter(|(_, r)| r == "received").count(), 75);
    assert_eq!(moved.iter().filter(|(_, r)| r == "damaged").count(), 25);
    assert_sums_hold(&app).await;
}

#[tokio::test]
async fn a_count_keeps_what_orders_took_while_it_was_made() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, _, _) = skus_in_stock(&app, 1, 1).await.remove(0);
    let catalog = &app.services.catalog;
    catalog.set_stock(&sku, 10).await.expect("stock");
    // The counter's form shows 10; while she counts, two orders take 3.
    let shown = on_hand(&app, &sku).await;
    assert_eq!(shown, 10);
    let orders = &app.services.orders;
    let first = orders
        .place(&order_for("count-order-key-000001", &sku, 1))
        .await
        .expect("place");
    orders
        .place(&order_for("count-order-key-000002", &sku, 2))
        .await
        .expect("place");
    assert_eq!(on_hand(&app, &sku).await, 7);
    // She counted 12 on the shelf (two more than the system thought): +2, not "set to 12".
    let after = catalog
        .adjust_stock(
            &Actor::command_line(),
            &sku,
            Adjustment::Counted { counted: 12, shown },
            StockReason::Received,
            "shelf B",
        )
        .await
        .expect("count");
    assert_eq!(after, 9);
    let moved = movements(&app, &sku).await;
    let last: Vec<_> = moved.iter().rev().take(3).rev().cloned().collect();
    assert_eq!(
        last,
        vec![
            (-1, "order".to_owned()),
            (-2, "order".to_owned()),
            (2, "count".to_owned())
        ]
    );
    // A cancellation puts its unit back as a movement of its own.
    orders
        .transition(&Actor::command_line(), &first.number, OrderAction::Cancel)
        .await
        .expect("cancel");
    assert_eq!(on_hand(&app, &sku).await, 10);
    assert_eq!(
        movements(&app, &sku).await.last(),
        Some(&(1, "cancellation".to_owned()))
    );
    // A count that would leave less than none is refused with what there is now.
    let refused = catalog
        .adjust_stock(
            &Actor::command_line(),
            &sku,
            Adjustment::Counted {
                counted: 0,
                shown: 20,
            },
            StockReason::Count,
            "",
        )
        .await
        .expect_err("below zero");
    assert!(
        refused.to_string().contains("has 10 on hand now"),
        "{refused}"
    );
    assert_eq!(on_hand(&app, &sku).await, 10);
    assert_sums_hold(&app).await;
}

#[tokio::test]
async fn the_sum_check_finds_stock_written_around_the_movements() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    assert_sums_hold(&app).await;
    let (sku, before, _) = skus_in_stock(&app, 1, 1).await.remove(0);
    sqlx::query("UPDATE variants SET stock_on_hand = stock_on_hand + 5 WHERE sku = $1")
        .bind(&sku)
        .execute(&app.pool().await)
        .await
        .expect("write around");
    let (_, wrong) = services::stock::check(&app.pool().await)
        .await
        .expect("check");
    assert_eq!(
        wrong,
        vec![services::stock::Mismatch {
            sku,
            on_hand: before + 5,
            movements: i64::from(before),
        }]
    );
}

#[tokio::test]
async fn staff_adjust_stock_and_thresholds_on_the_stock_screens() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, _, _) = skus_in_stock(&app, 1, 1).await.remove(0);
    app.services
        .catalog
        .set_stock(&sku, 4)
        .await
        .expect("stock");
    let product: i64 = sqlx::query_scalar("SELECT product_id FROM variants WHERE sku = $1")
        .bind(&sku)
        .fetch_one(&app.pool().await)
        .await
        .expect("product");
    let pid = product.to_string();
    let (support, _) = app.staff("sam@shop.test", Role::Support).await;
    let refused = app
        .call(
            &support,
            "/api/admin_stock_adjust",
            &[
                ("product_id", &pid),
                ("sku", &sku),
                ("mode", "delta"),
                ("quantity", "+5"),
                ("shown", "4"),
                ("reason", "received"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(on_hand(&app, &sku).await, 4);

    let (catalog, _) = app.staff("cat@shop.test", Role::Catalog).await;
    let bad = app
        .call(
            &catalog,
            "/api/admin_stock_adjust",
            &[
                ("product_id", &pid),
                ("sku", &sku),
                ("mode", "delta"),
                ("quantity", "lots"),
                ("shown", "4"),
                ("reason", "received"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("whole number"), "{}", bad.body);
    let done = app
        .call(
            &catalog,
            "/api/admin_stock_adjust",
            &[
                ("product_id", &pid),
                ("sku", &sku),
                ("mode", "delta"),
                ("quantity", "+12"),
                ("shown", "4"),
                ("reason", "received"),
                ("note", "pallet 7"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(on_hand(&app, &sku).await, 16);
    let threshold = app
        .call(
            &catalog,
            "/api/admin_stock_threshold",
            &[("product_id", &pid), ("sku", &sku), ("threshold", "20")],
        )
        .await;
    assert_eq!(threshold.status, 200, "{}", threshold.body);

    let page = app
        .visit(&catalog, &format!("/admin/products/{pid}/stock"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("pallet 7"),
        "the movement's note is in the history"
    );
    assert_eq!(
        page.texts("movement-reason").first().map(String::as_str),
        Some("Received"),
        "the newest movement"
    );
    assert!(page.body.contains("cat@shop.test"), "who made it");
    assert!(page.body.contains("Low stock"));
    let low = app.visit(&catalog, "/admin/stock").await;
    assert!(low.body.contains(&sku), "{sku} is on the low-stock list");
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity = 'variant' AND action IN ('stock', 'low_stock_threshold')",
    )
    .fetch_one(&app.pool().await)
    .await
    .expect("audit");
    assert_eq!(audit, 2);
    let support_list = app.call(&support, "/api/admin_low_stock", &[]).await;
    assert_eq!(support_list.status, 403, "{}", support_list.body);
    assert_sums_hold(&app).await;
}
