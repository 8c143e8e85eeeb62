//! Staff as they meet the admin: roles refused what they may not do (over HTTP and in the
//! services), two-factor sign-in, invitations, removal, and the audit log.

use crate::helpers::TestApp;
use crate::orders::{order_for, skus_in_stock};
use domain::staff::{AuditQuery, Permission};
use domain::Role;
use services::audit::Actor;

const PASSWORD: &str = "violet-harbour-19";

async fn audit_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool().await)
        .await
        .expect("count")
}

/// (entity, entity id, action, actor) of every audit row, oldest first.
async fn audit_rows(app: &TestApp) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT a.entity, a.entity_id, a.action, COALESCE(u.email, a.actor)
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id ORDER BY a.id",
    )
    .fetch_all(&app.pool().await)
    .await
    .expect("rows")
}

/// A server function to call: its path, its form, what it needs, and its answer when the
/// role has that.
type Check = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Permission,
    u16,
);

#[tokio::test]
async fn each_role_is_refused_what_it_may_not_do() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let services = &app.services;
    for role in Role::STAFF {
        let (browser, id) = app
            .staff(&format!("{}@example.com", role.as_str()), role)
            .await;
        let checks: [Check; 7] = [
            ("/api/admin_staff", vec![], Permission::ManageStaff, 200),
            (
                "/api/admin_invite_staff",
                vec![("email", "new@example.com"), ("role", "support")],
                Permission::ManageStaff,
                200,
            ),
            (
                "/api/admin_audit",
                vec![("query[page]", "1")],
                Permission::ReadAudit,
                200,
            ),
            (
                "/api/admin_orders",
                vec![("query[page]", "1")],
                Permission::ReadOrders,
                200,
            ),
            (
                "/api/admin_order_action",
                vec![("number", "EMP-404404"), ("action", "mark_paid")],
                Permission::ManageOrders,
                404,
            ),
            (
                "/api/admin_customers",
                vec![("query[page]", "1")],
                Permission::ReadCustomers,
                200,
            ),
            (
                "/api/admin_customer_note",
                vec![("id", "404404"), ("body", "hello")],
                Permission::ManageCustomers,
                404,
            ),
        ];
        for (path, form, permission, allowed) in checks {
            let page = app.call(&browser, path, &form).await;
            if role.may(permission) {
                assert_eq!(page.status, allowed, "{role:?} {path}: {}", page.body);
            } else {
                assert_eq!(page.status, 403, "{role:?} {path}: {}", page.body);
                assert!(
                    page.body.contains(permission.refusal()),
                    "{role:?} {path}: {}",
                    page.body
                );
            }
        }
        // The screens say the same inside the admin shell, whose menu offers only what
        // the role may open.
        let screen = app.visit(&browser, "/admin/staff").await;
        if role.may(Permission::ManageStaff) {
            assert_eq!(screen.status, 200);
        } else {
            assert_eq!(screen.status, 403, "{role:?}");
            assert_eq!(
                screen.texts("error-message"),
                [Permission::ManageStaff.refusal()]
            );
            assert!(!screen.body.contains(r#"href="/admin/staff""#), "{role:?}");
        }
        // And the services refuse on their own, whoever calls them.
        let actor = Actor::staff(id, "x@example.com", role, "127.0.0.1");
        let refused = |e: &dyn std::fmt::Display, p: Permission| e.to_string() == p.refusal();
        let invited = services
            .auth
            .invite_staff(&actor, "svc@example.com", "support")
            .await;
        assert_eq!(
            invited.is_err_and(|e| refused(&e, Permission::ManageStaff)),
            !role.may(Permission::ManageStaff),
            "{role:?}"
        );
        let read = services.audit.list(&actor, &AuditQuery::default()).await;
        assert_eq!(
            read.is_err_and(|e| refused(&e, Permission::ReadAudit)),
            !role.may(Permission::ReadAudit),
            "{role:?}"
        );
        let orders = services.orders.recent(&actor, 5).await;
        assert_eq!(orders.is_ok(), role.may(Permission::ReadOrders), "{role:?}");
        let moved = services
            .orders
            .transition(&actor, "EMP-404404", domain::order::OrderAction::MarkPaid)
            .await;
        assert_eq!(
            moved.is_err_and(|e| refused(&e, Permission::ManageOrders)),
            !role.may(Permission::ManageOrders),
            "{role:?}"
        );
        let erased = services
            .customers
            .erase(&actor, 404_404, "x@example.com")
            .await;
        assert_eq!(
            erased.is_err_and(|e| refused(&e, Permission::EraseCustomers)),
            !role.may(Permission::EraseCustomers),
            "{role:?}"
        );
    }
}

#[tokio::test]
async fn staff_change_orders_only_from_the_admin() {
    // Reading every order does not make staff its owner: the shopper's own cancel (and
    // pay) answers as for anyone else's order.
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (sku, ..) = skus_in_stock(&app, 1, 1).await.remove(0);
    let placed = app
        .services
        .orders
        .place(&order_for("staff-cancel-key-0001", &sku, 1))
        .await
        .expect("place");
    let (support, _) = app.staff("sue@example.com", Role::Support).await;
    let page = app
        .visit(&support, &format!("/order/{}", placed.number))
        .await;
    assert_eq!(page.status, 200, "support reads orders");
    let cancel = app
        .call(&support, "/api/order_cancel", &[("number", &placed.number)])
        .await;
    assert_eq!(cancel.status, 404, "{}", cancel.body);
    let state: String = sqlx::query_scalar("SELECT order_status FROM orders WHERE number = $1")
        .bind(&placed.number)
        .fetch_one(&app.pool().await)
        .await
        .expect("order");
    assert_eq!(state, "open");
}

#[tokio::test]
async fn an_invitation_dies_with_its_owner_and_never_demotes_staff() {
    let app = TestApp::spawn().await;
    let (olga, _) = app.staff("olga@example.com", Role::Owner).await;
    let (owen, owen_id) = app.staff("owen@example.com", Role::Owner).await;
    let token_for = |to: &'static str| {
        let app = &app;
        async move {
            let mail = app.outbox_message_with(&format!("To: {to}")).await;
            let marker = "/staff-invite?token=";
            let at = mail.find(marker).expect("link") + marker.len();
            mail[at..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        }
    };
    // Owen invites a second address of his as an owner, then is removed: the invitation
    // no longer works.
    let sent = app
        .call(
            &owen,
            "/api/admin_invite_staff",
            &[("email", "owen.alt@example.com"), ("role", "owner")],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let token = token_for("owen.alt@example.com").await;
    let removed = app
        .call(
            &olga,
            "/api/admin_remove_staff",
            &[("user_id", &owen_id.to_string())],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let accepted = app
        .call(
            &app.browser(),
            "/api/staff_invite_accept",
            &[("token", &token), ("password", PASSWORD), ("name", "Owen")],
        )
        .await;
    assert_eq!(accepted.status, 400, "{}", accepted.body);
    // His session, second factor and all, can do nothing any more.
    assert_eq!(
        app.call(
            &owen,
            "/api/admin_invite_staff",
            &[("email", "z@example.com"), ("role", "owner")]
        )
        .await
        .status,
        401
    );

    // An owner who steps down (and is made an owner again) has no invitations left.
    let (otto, otto_id) = app.staff("otto@example.com", Role::Owner).await;
    app.call(
        &otto,
        "/api/admin_invite_staff",
        &[("email", "otto.alt@example.com"), ("role", "owner")],
    )
    .await;
    let token = token_for("otto.alt@example.com").await;
    for role in ["admin", "owner"] {
        let changed = app
            .call(
                &olga,
                "/api/admin_staff_role",
                &[("user_id", &otto_id.to_string()), ("role", role)],
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
    }
    let stale = app
        .call(
            &app.browser(),
            "/api/staff_invite_accept",
            &[("token", &token), ("password", PASSWORD), ("name", "Otto")],
        )
        .await;
    assert_eq!(stale.status, 400, "{}", stale.body);
    // An audit filter with a NUL or an impossible date is a 400, not a database error.
    for bad in ["entity=sta%00ff", "from=-5000-01-01"] {
        assert_eq!(
            app.visit(&olga, &format!("/admin/audit?{bad}"))
                .await
                .status,
            400,
            "{bad}"
        );
    }

    // An invitation accepted after its address joined the staff another way changes
    // nothing.
    let sam = app.browser();
    app.sign_up_directly(&sam, "sam@example.com", PASSWORD)
        .await;
    app.call(
        &olga,
        "/api/admin_invite_staff",
        &[("email", "sam@example.com"), ("role", "catalog")],
    )
    .await;
    let token = token_for("sam@example.com").await;
    sqlx::query("UPDATE users SET role = 'support' WHERE email = 'sam@example.com'")
        .execute(&app.pool().await)
        .await
        .expect("role");
    let late = app
        .call(
            &sam,
            "/api/staff_invite_accept",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(late.status, 422, "{}", late.body);
    assert!(late.body.contains("on the staff already"), "{}", late.body);
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE email = 'sam@example.com'")
        .fetch_one(&app.pool().await)
        .await
        .expect("role");
    assert_eq!(role, "support");
}

#[tokio::test]
async fn two_factor_set_up_wrong_replayed_and_recovery_codes() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let first = app.browser();
    app.sign_up_directly(&first, "tess@example.com", PASSWORD)
        .await;
    let id: i64 = sqlx::query_scalar(
        "UPDATE users SET role = 'orders' WHERE email = 'tess@example.com' RETURNING id",
    )
    .fetch_one(&app.pool().await)
    .await
    .expect("role");
    // Without the second factor every admin screen sends to the two-factor page.
    let page = app.visit(&first, "/admin/orders").await;
    assert_eq!(page.status, 302);
    assert_eq!(
        page.header("location"),
        Some("/admin/two-factor?next=/admin/orders")
    );
    assert_eq!(
        app.call(&first, "/api/admin_two_factor", &[]).await.status,
        200
    );
    let right = app.totp_code(id, 0).await;
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().expect("digits") + 1) % 1_000_000
    );
    let page = app
        .call(&first, "/api/admin_two_factor_enrol", &[("code", &wrong)])
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body.contains("That code is not right"),
        "{}",
        page.body
    );
    assert_eq!(app.visit(&first, "/admin").await.status, 302);
    let page = app
        .call(&first, "/api/admin_two_factor_enrol", &[("code", &right)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The ten recovery codes are shown once.
    let shown = app.visit(&first, "/admin/two-factor/recovery-codes").await;
    let codes = shown.texts("recovery-code");
    assert_eq!(codes.len(), 10);
    assert!(app
        .visit(&first, "/admin/two-factor/recovery-codes")
        .await
        .texts("recovery-code")
        .is_empty());
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT code_hash FROM staff_recovery_codes WHERE user_id = $1")
            .bind(id)
            .fetch_all(&app.pool().await)
            .await
            .expect("hashes");
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|h| h.len() == 32), "stored hashed");
    assert_eq!(app.visit(&first, "/admin").await.status, 200);

    let signed_in = || async {
        let b = app.browser();
        let page = app
            .call(
                &b,
                "/api/sign_in",
                &[("email", "tess@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(app.visit(&b, "/admin").await.status, 302);
        b
    };
    let verify = |b: reqwest::Client, code: String| {
        let app = &app;
        async move {
            app.call(&b, "/api/admin_two_factor_verify", &[("code", &code)])
                .await
        }
    };
    // The code used for the set-up is spent; the next one works, once.
    let second = signed_in().await;
    let replay = verify(second.clone(), right.clone()).await;
    assert_eq!(replay.status, 422, "{}", replay.body);
    assert!(replay.body.contains("used already"), "{}", replay.body);
    let next = app.totp_code(id, 1).await;
    assert_eq!(verify(second.clone(), next.clone()).await.status, 200);
    assert_eq!(app.visit(&second, "/admin/orders").await.status, 200);
    let third = signed_in().await;
    assert_eq!(verify(third.clone(), next).await.status, 422);
    // A recovery code works once, however it is typed.
    let loose = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(verify(third.clone(), loose).await.status, 200);
    assert_eq!(app.visit(&third, "/admin/orders").await.status, 200);
    let fourth = signed_in().await;
    assert_eq!(verify(fourth.clone(), codes[0].clone()).await.status, 422);
    assert_eq!(verify(fourth.clone(), codes[1].clone()).await.status, 200);

    // Throttled like passwords: five tries per account and window, then 429 even for a
    // right code.
    let fifth = signed_in().await;
    for _ in 0..5 {
        assert_eq!(verify(fifth.clone(), "123-bad".into()).await.status, 422);
    }
    let throttled = verify(fifth.clone(), app.totp_code(id, 1).await).await;
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert_eq!(app.visit(&fifth, "/admin").await.status, 302);
}

#[tokio::test]
async fn invite_accept_change_role_and_remove_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let (owner, owner_id) = app.staff("olga@example.com", Role::Owner).await;
    let page = app
        .call(
            &owner,
            "/api/admin_invite_staff",
            &[("email", "Nina@Example.com"), ("role", "catalog")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mail = app.outbox_message_with("To: nina@example.com").await;
    assert!(mail.contains("Catalog manager"), "{mail}");
    let marker = "/staff-invite?token=";
    let at = mail.find(marker).expect("link") + marker.len();
    let token: String = mail[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let staff_screen = app.visit(&owner, "/admin/staff").await;
    assert_eq!(staff_screen.texts("invite-row").len(), 1);

    let nina = app.browser();
    let shown = app
        .visit(&nina, &format!("/staff-invite?token={token}"))
        .await;
    assert_eq!(shown.status, 200);
    assert!(shown.texts("invite-for")[0].contains("Catalog manager"));
    let bad = app.visit(&nina, "/staff-invite?token=nope").await;
    assert_eq!(bad.status, 400);
    assert!(bad.texts("invite-problem")[0].contains("does not work any more"));
    let weak = app
        .call(
            &nina,
            "/api/staff_invite_accept",
            &[("token", &token), ("password", "short"), ("name", "Nina")],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    let accepted = app
        .call(
            &nina,
            "/api/staff_invite_accept",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("name", "Nina Park"),
            ],
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let again = app
        .call(
            &app.browser(),
            "/api/staff_invite_accept",
            &[("token", &token), ("password", PASSWORD), ("name", "Nina")],
        )
        .await;
    assert_eq!(again.status, 400, "an invitation works once");
    let nina_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'nina@example.com'")
        .fetch_one(&app.pool().await)
        .await
        .expect("account");
    // Signed in by the invitation, the second factor still to set up.
    assert_eq!(app.visit(&nina, "/admin").await.status, 302);
    assert_eq!(
        app.call(&nina, "/api/admin_two_factor", &[]).await.status,
        200
    );
    let code = app.totp_code(nina_id, 0).await;
    assert_eq!(
        app.call(&nina, "/api/admin_two_factor_enrol", &[("code", &code)])
            .await
            .status,
        200
    );
    assert_eq!(app.visit(&nina, "/admin").await.status, 200);
    assert_eq!(
        app.call(&nina, "/api/admin_orders", &[("query[page]", "1")])
            .await
            .status,
        403
    );
    // A second device of hers.
    let nina_phone = app.browser();
    app.call(
        &nina_phone,
        "/api/sign_in",
        &[("email", "nina@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(app.visit(&nina_phone, "/account").await.status, 200);

    // A new role takes effect at her next request.
    let changed = app
        .call(
            &owner,
            "/api/admin_staff_role",
            &[("user_id", &nina_id.to_string()), ("role", "orders")],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        app.call(&nina, "/api/admin_orders", &[("query[page]", "1")])
            .await
            .status,
        200
    );
    // The last owner cannot step down or be left out.
    let alone = app
        .call(
            &owner,
            "/api/admin_staff_role",
            &[("user_id", &owner_id.to_string()), ("role", "admin")],
        )
        .await;
    assert_eq!(alone.status, 422);
    assert!(alone.body.contains("at least one owner"), "{}", alone.body);

    // Her phone is lost: the owner resets her second factor; she is signed out and sets it
    // up again at her next sign-in.
    let reset = app
        .call(
            &owner,
            "/api/admin_reset_two_factor",
            &[("user_id", &nina_id.to_string())],
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(app.visit(&nina, "/admin").await.status, 302);
    let again = app.browser();
    app.call(
        &again,
        "/api/sign_in",
        &[("email", "nina@example.com"), ("password", PASSWORD)],
    )
    .await;
    let step = app.visit(&again, "/admin/two-factor").await;
    assert_eq!(step.texts("totp-secret").len(), 1, "set up afresh");
    assert_eq!(
        app.call(&again, "/api/admin_two_factor", &[]).await.status,
        200
    );
    let code = app.totp_code(nina_id, 0).await;
    assert_eq!(
        app.call(&again, "/api/admin_two_factor_enrol", &[("code", &code)])
            .await
            .status,
        200
    );
    let nina = again;
    let nina_phone = app.browser();
    app.call(
        &nina_phone,
        "/api/sign_in",
        &[("email", "nina@example.com"), ("password", PASSWORD)],
    )
    .await;

    // Removed: every session of hers ends, and she is a customer again.
    let removed = app
        .call(
            &owner,
            "/api/admin_remove_staff",
            &[("user_id", &nina_id.to_string())],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    for browser in [&nina, &nina_phone] {
        let page = app.visit(browser, "/account").await;
        assert_eq!(page.status, 302, "signed out");
        assert!(page
            .header("location")
            .is_some_and(|l| l.starts_with("/sign-in")));
    }
    let back = app.browser();
    app.call(
        &back,
        "/api/sign_in",
        &[("email", "nina@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(app.visit(&back, "/admin").await.status, 403);

    // An existing customer accepts with their own password.
    let pat = app.browser();
    app.sign_up_directly(&pat, "pat@example.com", PASSWORD)
        .await;
    app.call(
        &owner,
        "/api/admin_invite_staff",
        &[("email", "pat@example.com"), ("role", "support")],
    )
    .await;
    let mail = app.outbox_message_with("To: pat@example.com").await;
    let at = mail.find(marker).expect("link") + marker.len();
    let token: String = mail[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let wrong = app
        .call(
            &pat,
            "/api/staff_invite_accept",
            &[("token", &token), ("password", "not-her-password-1")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("not the password"), "{}", wrong.body);
    let ok = app
        .call(
            &pat,
            "/api/staff_invite_accept",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Every one of those writes is in the audit log, by whom it was done.
    let rows = audit_rows(&app).await;
    let nina_key = nina_id.to_string();
    let of = |entity: &str, id: &str| {
        rows.iter()
            .filter(|r| r.0 == entity && r.1 == id)
            .map(|r| (r.2.as_str(), r.3.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("staff", &nina_key),
        [
            ("joined", "nina@example.com"),
            ("two_factor_enabled", "nina@example.com"),
            ("role_changed", "olga@example.com"),
            ("two_factor_reset", "olga@example.com"),
            ("two_factor_enabled", "nina@example.com"),
            ("removed", "olga@example.com"),
        ]
    );
    assert!(rows
        .iter()
        .any(|r| r.0 == "staff_invite" && r.2 == "invited" && r.3 == "olga@example.com"));
    // The log keeps no one's address (nothing in it can be erased later).
    let logged: String =
        sqlx::query_scalar("SELECT string_agg(actor || changes::text, ' ') FROM audit_log")
            .fetch_one(&app.pool().await)
            .await
            .expect("log");
    assert!(!logged.contains('@'), "{logged}");
    assert!(rows
        .iter()
        .any(|r| r.0 == "staff" && r.2 == "joined" && r.3 == "pat@example.com"));
}

#[tokio::test]
async fn every_admin_write_is_audited_in_its_transaction_and_the_log_is_append_only() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (owner, owner_id) = app.staff("olga@example.com", Role::Owner).await;
    let before = audit_count(&app).await;
    // Failed writes leave no record.
    let already = app
        .call(
            &owner,
            "/api/admin_invite_staff",
            &[("email", "olga@example.com"), ("role", "admin")],
        )
        .await;
    assert_eq!(already.status, 422, "{}", already.body);
    let bad_role = app
        .call(
            &owner,
            "/api/admin_invite_staff",
            &[("email", "x@example.com"), ("role", "root")],
        )
        .await;
    assert_eq!(bad_role.status, 422);
    let (sku, ..) = skus_in_stock(&app, 1, 1).await.remove(0);
    let placed = app
        .services
        .orders
        .place(&order_for("audit-key-0000000001", &sku, 1))
        .await
        .expect("place");
    let refused = app
        .call(
            &owner,
            "/api/admin_order_action",
            &[("number", &placed.number), ("action", "deliver")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(audit_count(&app).await, before);

    // A write that succeeds has its record, with the changed fields.
    let paid = app
        .call(
            &owner,
            "/api/admin_order_action",
            &[("number", &placed.number), ("action", "mark_paid")],
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(audit_count(&app).await, before + 1);
    let (actor_id, ip, changes): (Option<i64>, String, serde_json::Value) = sqlx::query_as(
        "SELECT actor_id, ip, changes FROM audit_log WHERE entity = 'order' AND entity_id = $1",
    )
    .bind(&placed.number)
    .fetch_one(&app.pool().await)
    .await
    .expect("record");
    assert_eq!(actor_id, Some(owner_id));
    assert_eq!(ip, "127.0.0.1");
    assert_eq!(
        changes,
        serde_json::json!({ "payment_status": { "before": "pending", "after": "paid" } })
    );
    app.call(
        &owner,
        "/api/admin_invite_staff",
        &[("email", "ivan@example.com"), ("role", "support")],
    )
    .await;

    // The audit screen, filtered by entity, person and days.
    let all = app.visit(&owner, "/admin/audit").await;
    assert_eq!(all.status, 200);
    let actions = all.texts("audit-action");
    assert_eq!(actions[0], "invited", "newest first");
    assert!(actions.contains(&"mark paid".to_owned()));
    assert!(actions.contains(&"two factor enabled".to_owned()));
    let oldest = app.visit(&owner, "/admin/audit?order=oldest").await;
    assert_eq!(
        oldest.texts("audit-action").last().map(String::as_str),
        Some("invited")
    );
    let order = app
        .visit(
            &owner,
            &format!("/admin/audit?entity=order&entity_id={}", placed.number),
        )
        .await;
    assert_eq!(order.texts("audit-action"), ["mark paid"]);
    assert_eq!(order.texts("audit-actor"), ["olga@example.com"]);
    let by_owner = app
        .visit(&owner, &format!("/admin/audit?actor={owner_id}"))
        .await
        .texts("audit-row")
        .len();
    assert_eq!(by_owner as i64, audit_count(&app).await);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    let none = app
        .visit(&owner, &format!("/admin/audit?from={tomorrow}"))
        .await;
    assert_eq!(none.texts("audit-empty").len(), 1);
    let bad = app.visit(&owner, "/admin/audit?from=yesterday").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("must look like 2026-12-31"));

    // Nothing changes or removes a record, not even SQL.
    let db = app.pool().await;
    for sql in [
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql).execute(&db).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(audit_count(&app).await, before + 2);
}
