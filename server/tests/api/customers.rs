//! Customers as staff look after them: list and search, a customer's page, groups and
//! notes, disabling, a password reset, the export, and erasure that leaves nothing behind.

use crate::helpers::{decode_qp, TestApp};
use crate::orders::{order_for, skus_in_stock};
use domain::order::OrderAction;
use domain::{AddressInput, Role};
use services::audit::Actor;

const PASSWORD: &str = "violet-harbour-19";

async fn customer_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool().await)
        .await
        .expect("customer")
}

fn address(name: &str, line1: &str) -> AddressInput {
    AddressInput {
        full_name: name.into(),
        line1: line1.into(),
        city: "Galway".into(),
        postal_code: "H91 X2X2".into(),
        country: "IE".into(),
        phone: "+353 91 555 0199".into(),
        ..Default::default()
    }
}

/// A paid order of `user_id` placed with `email` (or a guest's, with `user_id` None).
async fn paid_order(
    app: &TestApp,
    key: &str,
    user_id: Option<i64>,
    email: &str,
    name: &str,
) -> String {
    let (sku, ..) = skus_in_stock(app, 2, 1).await.remove(0);
    let mut order = order_for(key, &sku, 1);
    order.user_id = user_id;
    order.email = email.into();
    order.address = address(name, "7 Quay Street");
    let placed = app.services.orders.place(&order).await.expect("place");
    app.services
        .orders
        .transition(
            &Actor::command_line(),
            &placed.number,
            OrderAction::MarkPaid,
        )
        .await
        .expect("paid");
    placed.number
}

#[tokio::test]
async fn staff_find_a_customer_and_see_their_orders_groups_and_notes() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    for (email, name) in [
        ("zoe@example.com", "Zoe Quill"),
        ("adam@example.com", "Adam Brook"),
        ("mia@shop.test", "Mia Zhou"),
    ] {
        app.services
            .auth
            .create_customer(email, PASSWORD, name)
            .await
            .expect("customer");
    }
    let zoe = customer_id(&app, "zoe@example.com").await;
    let number = paid_order(
        &app,
        "customer-key-000001",
        Some(zoe),
        "zoe@example.com",
        "Zoe Quill",
    )
    .await;
    let (support, _) = app.staff("sam@example.com", Role::Support).await;

    // Staff are not customers; search by a part of the e-mail or the name.
    let all = app.visit(&support, "/admin/customers?sort=email").await;
    assert_eq!(all.status, 200);
    assert_eq!(
        all.texts("customer-email"),
        ["adam@example.com", "mia@shop.test", "zoe@example.com"]
    );
    let desc = app
        .visit(&support, "/admin/customers?sort=email-desc")
        .await;
    assert_eq!(desc.texts("customer-email")[0], "zoe@example.com");
    let by_mail = app.visit(&support, "/admin/customers?q=shop.test").await;
    assert_eq!(by_mail.texts("customer-email"), ["mia@shop.test"]);
    let by_name = app.visit(&support, "/admin/customers?q=QUILL").await;
    assert_eq!(by_name.texts("customer-email"), ["zoe@example.com"]);
    // LIKE's wildcards are searched for as themselves.
    assert_eq!(
        app.visit(&support, "/admin/customers?q=%25")
            .await
            .texts("customers-empty")
            .len(),
        1
    );

    // Her page: the order, what she spent, a group and a note.
    let page = app
        .visit(&support, &format!("/admin/customers/{zoe}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&number));
    let spent = app.services.orders.history(zoe).await.expect("history")[0]
        .total
        .to_string();
    assert_eq!(page.texts("customer-spent"), [spent]);
    let created = app
        .call(
            &support,
            "/api/admin_customer_group_create",
            &[("name", "Wholesale"), ("back_to", &zoe.to_string())],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let twice = app
        .call(
            &support,
            "/api/admin_customer_group_create",
            &[("name", "wholesale")],
        )
        .await;
    assert_eq!(twice.status, 422);
    let group: i64 = sqlx::query_scalar("SELECT id FROM customer_groups")
        .fetch_one(&app.pool().await)
        .await
        .expect("group");
    let joined = app
        .call(
            &support,
            "/api/admin_customer_group",
            &[
                ("id", &zoe.to_string()),
                ("group_id", &group.to_string()),
                ("member", "true"),
            ],
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(
        app.visit(&support, &format!("/admin/customers?group={group}"))
            .await
            .texts("customer-email"),
        ["zoe@example.com"]
    );
    let noted = app
        .call(
            &support,
            "/api/admin_customer_note",
            &[
                ("id", &zoe.to_string()),
                ("body", "Prefers morning delivery."),
            ],
        )
        .await;
    assert_eq!(noted.status, 200, "{}", noted.body);
    let empty = app
        .call(
            &support,
            "/api/admin_customer_note",
            &[("id", &zoe.to_string()), ("body", "  ")],
        )
        .await;
    assert_eq!(empty.status, 422);
    let page = app
        .visit(&support, &format!("/admin/customers/{zoe}"))
        .await;
    assert_eq!(page.texts("customer-note"), ["Prefers morning delivery."]);
    assert!(page.texts("group-toggle")[0].contains("Wholesale ✓"));

    // Support may not erase; order managers read customers but change nothing; catalog
    // managers do not see them at all.
    let erase = app
        .call(
            &support,
            "/api/admin_customer_erase",
            &[("id", &zoe.to_string()), ("confirm", "zoe@example.com")],
        )
        .await;
    assert_eq!(erase.status, 403);
    assert!(erase
        .body
        .contains("Only an owner or an admin may erase a customer."));
    let (orders, _) = app.staff("otto@example.com", Role::Orders).await;
    assert_eq!(
        app.visit(&orders, &format!("/admin/customers/{zoe}"))
            .await
            .status,
        200
    );
    let edit = app
        .call(
            &orders,
            "/api/admin_customer_note",
            &[("id", &zoe.to_string()), ("body", "x")],
        )
        .await;
    assert_eq!(edit.status, 403);
    let (catalog, _) = app.staff("cara@example.com", Role::Catalog).await;
    assert_eq!(app.visit(&catalog, "/admin/customers").await.status, 403);

    // Support fix a name; a new e-mail address (which a reset link would then reach) is
    // for admins and owners.
    let renamed = app
        .call(
            &support,
            "/api/admin_customer_update",
            &[
                ("id", &zoe.to_string()),
                ("name", "Zoe Q. Quill"),
                ("email", "zoe@example.com"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let taken_over = app
        .call(
            &support,
            "/api/admin_customer_update",
            &[
                ("id", &zoe.to_string()),
                ("name", "Zoe Q. Quill"),
                ("email", "sam.private@example.com"),
            ],
        )
        .await;
    assert_eq!(taken_over.status, 403, "{}", taken_over.body);
    assert!(taken_over
        .body
        .contains("change a customer's e-mail address"));
    let nul = app
        .call(
            &support,
            "/api/admin_customers",
            &[("query[q]", "zoe\u{0}"), ("query[page]", "1")],
        )
        .await;
    assert_eq!(nul.status, 422, "{}", nul.body);
    let (admin, _) = app.staff("ada@example.com", Role::Admin).await;
    let edited = app
        .call(
            &admin,
            "/api/admin_customer_update",
            &[
                ("id", &zoe.to_string()),
                ("name", "Zoe Q. Quill"),
                ("email", "zoe.quill@example.com"),
            ],
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    // The audit log has each change, and none of her personal data.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'customer' AND entity_id = $1 ORDER BY id",
    )
    .bind(zoe.to_string())
    .fetch_all(&app.pool().await)
    .await
    .expect("audit");
    assert_eq!(
        actions,
        ["added_to_group", "note_added", "edited", "edited"]
    );
    let logged: String = sqlx::query_scalar("SELECT string_agg(changes::text, ' ') FROM audit_log")
        .fetch_one(&app.pool().await)
        .await
        .expect("changes");
    assert!(
        !logged.contains("zoe") && !logged.contains("morning"),
        "{logged}"
    );
}

#[tokio::test]
async fn a_disabled_account_is_signed_out_everywhere_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let laptop = app.browser();
    app.sign_up_directly(&laptop, "dora@example.com", PASSWORD)
        .await;
    let phone = app.browser();
    let signed_in = app
        .call(
            &phone,
            "/api/sign_in",
            &[("email", "dora@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 200);
    let dora = customer_id(&app, "dora@example.com").await;
    let (support, _) = app.staff("sam@example.com", Role::Support).await;

    let off = app
        .call(
            &support,
            "/api/admin_customer_disable",
            &[("id", &dora.to_string()), ("disabled", "true")],
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    for browser in [&laptop, &phone] {
        assert_eq!(
            app.visit(browser, "/account").await.status,
            302,
            "signed out"
        );
    }
    let refused = app
        .call(
            &app.browser(),
            "/api/sign_in",
            &[("email", "dora@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("This account is disabled"));
    // A wrong password hears nothing about it.
    let wrong = app
        .call(
            &app.browser(),
            "/api/sign_in",
            &[
                ("email", "dora@example.com"),
                ("password", "not-it-at-all-7"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let page = app
        .visit(&support, &format!("/admin/customers/{dora}"))
        .await;
    assert_eq!(page.texts("customer-disabled").len(), 1);

    // Enabled again, she signs in; a reset e-mail sent by support reaches her.
    let on = app
        .call(
            &support,
            "/api/admin_customer_disable",
            &[("id", &dora.to_string()), ("disabled", "false")],
        )
        .await;
    assert_eq!(on.status, 200);
    let back = app
        .call(
            &app.browser(),
            "/api/sign_in",
            &[("email", "dora@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(back.status, 200);
    let reset = app
        .call(
            &support,
            "/api/admin_customer_reset",
            &[("id", &dora.to_string())],
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let mail = app.outbox_message_with("/reset-password?token=").await;
    assert!(mail.contains("To: dora@example.com"), "{mail}");
    // Staff accounts are not disabled from the customer screens.
    let staff_id = customer_id(&app, "sam@example.com").await;
    let own = app
        .call(
            &support,
            "/api/admin_customer_disable",
            &[("id", &staff_id.to_string()), ("disabled", "true")],
        )
        .await;
    assert_eq!(own.status, 404);
}

/// Whether `text` holds `address` whole (not as the end of a longer one), as SQL.
fn whole_address_sql(table: &str, column: &str) -> String {
    format!(
        "SELECT count(*) FROM \"{table}\" WHERE lower(\"{column}\"::text) ~ ('(^|[^a-z0-9._%+-])' || $1 || '($|[^a-z0-9_%+-])')"
    )
}

#[tokio::test]
async fn export_then_erase_leaves_no_personal_data_in_any_table_or_outbox_file() {
    let app = TestApp::spawn().await;
    let email = "erin.personal@example.com";
    let later = "erin.later@example.com";
    let name = "Erin Vantongeren";
    let street = "12 Lighthouse Lane";
    let browser = app.browser();
    // Registered by e-mail (a registration mail and its event), with an address, an
    // order signed in and a guest order, a changed password (a security mail), a note,
    // and an e-mail address changed by support (the old address is told).
    app.register(&browser, email, PASSWORD).await;
    let erin = customer_id(&app, email).await;
    sqlx::query("UPDATE users SET name = $2 WHERE id = $1")
        .bind(erin)
        .bind(name)
        .execute(&app.pool().await)
        .await
        .expect("name");
    app.services
        .auth
        .add_address(erin, &address(name, street), true)
        .await
        .expect("address");
    let signed_in_order = paid_order(&app, "erase-key-0000000001", Some(erin), email, name).await;
    let guest_order = paid_order(&app, "erase-key-0000000002", None, email, name).await;
    app.services
        .auth
        .change_password(erin, PASSWORD, "tidal-compass-42")
        .await
        .expect("password");
    app.outbox_message_with("password was changed").await;
    // A neighbour whose address ends with hers keeps everything.
    let neighbour = "kerin.personal@example.com";
    app.sign_up_directly(&app.browser(), neighbour, PASSWORD)
        .await;
    let (admin, _) = app.staff("ada@example.com", Role::Admin).await;
    let kerin = customer_id(&app, neighbour).await;
    app.call(
        &admin,
        "/api/admin_customer_reset",
        &[("id", &kerin.to_string())],
    )
    .await;
    app.outbox_message_with(&format!("To: {neighbour}")).await;
    app.call(
        &admin,
        "/api/admin_customer_note",
        &[
            ("id", &erin.to_string()),
            ("body", &format!("{name} called about {street}")),
        ],
    )
    .await;
    let moved = app
        .call(
            &admin,
            "/api/admin_customer_update",
            &[("id", &erin.to_string()), ("name", name), ("email", later)],
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    app.outbox_message_with("e-mail address was changed").await;
    let session = app.browser();
    let fresh = app
        .call(
            &session,
            "/api/sign_in",
            &[("email", later), ("password", "tidal-compass-42")],
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);

    // The export holds it all; it opens for staff, on the shop's own pages only.
    let export_path = format!("/admin/customers/{erin}/export.json");
    assert_eq!(
        app.get_with(&export_path, &[]).await.status,
        401,
        "signed out gets nothing"
    );
    let cross = app
        .client_get(&admin, &export_path, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross.status, 403);
    let export = app.visit(&admin, &export_path).await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(export
        .header("content-disposition")
        .is_some_and(|d| d.contains("attachment")));
    let data: serde_json::Value = serde_json::from_str(&export.body).expect("json");
    assert_eq!(data["account"]["email"], later);
    assert_eq!(data["addresses"][0]["line1"], street);
    assert_eq!(data["orders"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        data["notes"][0]["body"],
        format!("{name} called about {street}")
    );

    // Every e-mail of hers has been sent (one made while the erasure runs could land in
    // the outbox after it).
    let mut waiting: i64 = -1;
    for _ in 0..100 {
        waiting = sqlx::query_scalar("SELECT count(*) FROM event_log WHERE processed_at IS NULL")
            .fetch_one(&app.pool().await)
            .await
            .expect("count");
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting, 0, "the event worker sent everything");
    // Erasing asks for the address typed out.
    let unconfirmed = app
        .call(
            &admin,
            "/api/admin_customer_erase",
            &[("id", &erin.to_string()), ("confirm", "erin")],
        )
        .await;
    assert_eq!(unconfirmed.status, 422);
    let orders_before: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool().await)
        .await
        .expect("count");
    let erased = app
        .call(
            &admin,
            "/api/admin_customer_erase",
            &[("id", &erin.to_string()), ("confirm", later)],
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);

    // No table holds her addresses, name or street any more (every text and JSON column
    // of every table searched), and no outbox file mentions her.
    let db = app.pool().await;
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public'
           AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json')",
    )
    .fetch_all(&db)
    .await
    .expect("columns");
    assert!(columns.len() > 50, "{}", columns.len());
    // The text as a regular expression that matches only itself.
    let pattern = |s: &str| {
        s.to_lowercase()
            .chars()
            .map(|c| {
                if "\\.^$|?*+()[]{}".contains(c) {
                    format!("\\{c}")
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
    };
    for (table, column) in &columns {
        for needle in [email, later, name, street, "+353 91 555 0199"] {
            let found: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(whole_address_sql(table, column)))
                    .bind(pattern(needle))
                    .fetch_one(&db)
                    .await
                    .expect("search");
            assert_eq!(found, 0, "{needle:?} still in {table}.{column}");
        }
    }
    let mut neighbour_mail = 0;
    for file in std::fs::read_dir(&app.outbox)
        .expect("outbox")
        .filter_map(Result::ok)
    {
        let mail =
            decode_qp(&std::fs::read_to_string(file.path()).unwrap_or_default()).to_lowercase();
        for gone in [email, later] {
            assert!(
                !mail.contains(&format!("<{gone}>")) && !mail.contains(&format!(": {gone}")),
                "{gone} in {}",
                file.path().display()
            );
        }
        if mail.contains(&format!("to: {neighbour}")) {
            neighbour_mail += 1;
        }
    }
    // The neighbour is untouched: account, e-mail and events.
    assert!(neighbour_mail >= 1, "the neighbour's e-mail stays");
    let kept_neighbour: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(neighbour)
        .fetch_one(&db)
        .await
        .expect("neighbour");
    assert_eq!(kept_neighbour, 1);
    // The orders stay, for the accounts, with their amounts and country.
    let kept: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT number, total_minor, ship_country::text FROM orders WHERE number = ANY($1) ORDER BY number",
    )
    .bind(vec![signed_in_order.clone(), guest_order.clone()])
    .fetch_all(&db)
    .await
    .expect("orders");
    assert_eq!(kept.len(), 2);
    assert!(kept
        .iter()
        .all(|(_, total, country)| *total > 0 && country == "IE"));
    let orders_after: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(orders_after, orders_before);
    // The session signed in just before is over, and she is gone from the list; the
    // erasure itself is audited.
    assert_eq!(app.visit(&session, "/account").await.status, 302);
    assert_eq!(
        app.visit(&admin, "/admin/customers")
            .await
            .texts("customer-email"),
        [neighbour]
    );
    let (action, actor): (String, Option<i64>) = sqlx::query_as(
        "SELECT action, actor_id FROM audit_log WHERE entity = 'customer' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(erin.to_string())
    .fetch_one(&db)
    .await
    .expect("audit");
    assert_eq!(action, "erased");
    assert_eq!(actor, Some(customer_id(&app, "ada@example.com").await));
}
