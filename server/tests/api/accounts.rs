//! Accounts as a shopper and an admin use them: registration, sign-in and out, sessions,
//! roles, password reset, profile, password change, address book, throttling and
//! cross-site refusal. Real PostgreSQL and Redis; e-mail read from the app's outbox.

use crate::helpers::{TestApp, PUBLIC_URL};

const PASSWORD: &str = "violet-harbour-19";

fn reset_link(email: &str) -> String {
    let start = email
        .find("/reset-password?token=")
        .expect("link in e-mail");
    let rest = &email[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "/-?=_".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

#[tokio::test]
async fn register_sign_out_and_sign_in_again() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    app.register(&browser, "Ann.Lee@Example.com", PASSWORD)
        .await;

    // Signed in: the account page shows the (normalised) address, the header greets.
    let account = app.visit(&browser, "/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("ann.lee@example.com"));
    assert_eq!(account.texts("account-link"), ["Hi, Test"]);

    // Signing out removes the session and the cookie.
    let out = app.call(&browser, "/api/sign_out", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(out.session_cookie().as_deref(), Some(""), "cookie removed");
    let after = app.visit(&browser, "/account").await;
    assert_eq!(after.status, 302);

    // Signing in again with any capitalisation of the address.
    let again = app
        .call(
            &browser,
            "/api/sign_in",
            &[("email", "ANN.LEE@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(app.visit(&browser, "/account").await.status, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "bob@example.com", PASSWORD)
        .await;
    let browser = app.browser();
    let wrong = app
        .call(
            &browser,
            "/api/sign_in",
            &[
                ("email", "bob@example.com"),
                ("password", "not-his-password"),
            ],
        )
        .await;
    let unknown = app
        .call(
            &browser,
            "/api/sign_in",
            &[
                ("email", "nobody@example.com"),
                ("password", "not-his-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.body.contains("The e-mail or password is incorrect."));
    assert!(
        wrong.session_cookie().is_none(),
        "no session for a failed sign-in"
    );
}

#[tokio::test]
async fn registration_rules_are_field_messages() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "carol@example.com", PASSWORD)
        .await;
    let cases = [
        ("carol.example.com", PASSWORD, "email", "needs an @"),
        ("dave@example", PASSWORD, "email", "like name@example.com"),
        (
            "dave@example.com",
            "short",
            "password",
            "at least 8 characters",
        ),
        (
            "dave@example.com",
            "password123",
            "password",
            "commonly used",
        ),
        (
            "dave@example.com",
            &"x1".repeat(65),
            "password",
            "at most 128 characters",
        ),
    ];
    for (email, password, field, message) in cases {
        let page = app
            .call(
                &app.browser(),
                "/api/register",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(page.status, 422, "{email}/{password}: {}", page.body);
        let json: serde_json::Value = serde_json::from_str(&page.body).expect("json error");
        let first = &json["Invalid"][0];
        assert_eq!(first["field"], field, "{}", page.body);
        assert!(
            first["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{email}: {}",
            page.body
        );
    }
    // Nothing was half-created.
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&sqlx::PgPool::connect(&app.database_url).await.expect("db"))
        .await
        .expect("count");
    assert_eq!(users, 1);
}

#[tokio::test]
async fn session_id_changes_at_sign_in_and_old_ids_stop_working() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "erin@example.com", PASSWORD)
        .await;
    let sign_in = |client: reqwest::Client| {
        let app = &app;
        async move {
            app.call(
                &client,
                "/api/sign_in",
                &[("email", "erin@example.com"), ("password", PASSWORD)],
            )
            .await
        }
    };
    let browser = app.browser();
    let first = sign_in(browser.clone()).await;
    let first_id = first.session_cookie().expect("session cookie");
    let second = sign_in(browser.clone()).await;
    let second_id = second.session_cookie().expect("session cookie");
    assert!(!first_id.is_empty() && first_id != second_id);

    // The first id no longer authenticates; the second does.
    let with_cookie = |id: String| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/account", app.base))
                .header("cookie", format!("emporium_session={id}"))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(with_cookie(first_id).await, 401);
    assert_eq!(with_cookie(second_id.clone()).await, 200);

    // Cookie flags.
    let set_cookie = second.header("set-cookie").expect("set-cookie").to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(set_cookie.contains("Max-Age="), "idle expiry: {set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here: {set_cookie}"
    );
    // Sign-out ends the session server-side too.
    app.client
        .post(format!("{}/api/sign_out", app.base))
        .header("cookie", format!("emporium_session={second_id}"))
        .send()
        .await
        .expect("sign out");
    assert_eq!(with_cookie(second_id).await, 401);
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let app = TestApp::spawn_with(|c| c.cookie_secure = true).await;
    app.register(&app.browser(), "sec@example.com", PASSWORD)
        .await;
    let page = app
        .call(
            &app.browser(),
            "/api/sign_in",
            &[("email", "sec@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert!(page
        .header("set-cookie")
        .is_some_and(|c| c.contains("Secure")));
}

#[tokio::test]
async fn signed_out_account_pages_redirect_to_sign_in_and_back() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    for path in [
        "/account",
        "/account/addresses",
        "/account/addresses/new",
        "/account/no-such-page",
        "/admin/no-such-page",
        "/admin",
    ] {
        let page = app.visit(&browser, path).await;
        assert_eq!(page.status, 302, "{path}");
        let location = page.header("location").expect("location");
        assert_eq!(location, format!("/sign-in?next={path}"), "{path}");
    }
    // The sign-in form carries `next`, and signing in goes there.
    let form = app
        .visit(&browser, "/sign-in?next=/account/addresses")
        .await;
    assert!(form
        .body
        .contains(r#"name="next" value="/account/addresses""#));
    let done = browser
        .post(format!("{}/api/sign_in", app.base))
        .header("accept", "text/html")
        .header("referer", format!("{}/sign-in", app.base))
        .form(&[
            ("email", "x@example.com"),
            ("password", "whatever1"),
            ("next", "//evil.example"),
        ])
        .send()
        .await
        .expect("post");
    // A no-JS form post that fails comes back to the form with the error in the URL.
    assert_eq!(done.status().as_u16(), 302);
    let back = done.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(back.starts_with(&format!("{}/sign-in", app.base)), "{back}");
    let shown = app
        .visit(&browser, back.trim_start_matches(&app.base))
        .await;
    assert_eq!(
        shown.texts("form-error"),
        ["The e-mail or password is incorrect."]
    );
}

#[tokio::test]
async fn no_js_sign_in_redirects_to_a_local_next_only() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "fay@example.com", PASSWORD)
        .await;
    for (next, expected) in [
        ("/account/addresses", "/account/addresses"),
        ("https://evil.example/", "/account"),
        ("//evil.example", "/account"),
    ] {
        let resp = app
            .browser()
            .post(format!("{}/api/sign_in", app.base))
            .header("accept", "text/html")
            .form(&[
                ("email", "fay@example.com"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 302, "{next}");
        assert_eq!(resp.headers()["location"], expected, "{next}");
    }
}

#[tokio::test]
async fn admin_pages_need_a_staff_role_and_the_second_factor() {
    let app = TestApp::spawn().await;
    let customer = app.browser();
    app.register(&customer, "gus@example.com", PASSWORD).await;
    let page = app.visit(&customer, "/admin").await;
    assert_eq!(page.status, 403);
    assert!(page.texts("error-message")[0].contains("for staff only"));
    assert_eq!(
        app.visit(&customer, "/admin/no-such-page").await.status,
        403
    );
    assert_eq!(
        app.visit(&customer, "/account/no-such-page").await.status,
        404
    );
    assert_eq!(
        app.call(&customer, "/api/admin_overview", &[]).await.status,
        403
    );
    assert!(app.visit(&customer, "/").await.texts("account-menu")[0].contains("Hi, Test"));

    // create-admin makes the existing account an owner; the same session now needs its
    // second factor before any admin screen opens.
    let created = app
        .services
        .auth
        .create_or_promote_owner("GUS@example.com", None)
        .await
        .expect("promote");
    assert!(!created);
    let page = app.visit(&customer, "/admin").await;
    assert_eq!(page.status, 302);
    assert_eq!(
        page.header("location"),
        Some("/admin/two-factor?next=/admin")
    );
    let refused = app.call(&customer, "/api/admin_overview", &[]).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("authenticator app"),
        "{}",
        refused.body
    );
    // The two-factor page offers the set-up: a QR code and the secret as text.
    let setup = app.visit(&customer, "/admin/two-factor?next=/admin").await;
    assert_eq!(setup.status, 200);
    assert!(setup.body.contains("<svg"), "QR code drawn by the shop");
    assert_eq!(
        setup.texts("totp-secret")[0].len(),
        32,
        "160 bits in base32"
    );
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'gus@example.com'")
        .fetch_one(&app.pool().await)
        .await
        .expect("id");
    let code = app.totp_code(id, 0).await;
    let done = app
        .call(&customer, "/api/admin_two_factor_enrol", &[("code", &code)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let page = app.visit(&customer, "/admin").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts("admin-accounts"), ["1"]);
    assert_eq!(page.texts("admin-admins"), ["1"]);
    assert!(
        page.body.contains(r#"href="/admin""#),
        "admin link in the header"
    );

    // A new owner account needs a password that meets the rules.
    let err = app
        .services
        .auth
        .create_or_promote_owner("boss@example.com", Some("password"))
        .await
        .expect_err("weak");
    assert!(err.to_string().contains("at least 8") || err.to_string().contains("common"));
    assert!(app
        .services
        .auth
        .create_or_promote_owner("boss@example.com", Some(PASSWORD))
        .await
        .expect("create"));
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_ip() {
    let app = TestApp::spawn_with(|c| {
        c.auth.sign_in_per_account = 3;
        c.auth.sign_in_per_ip = 7;
    })
    .await;
    app.register(&app.browser(), "hal@example.com", PASSWORD)
        .await;
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.call(
                &app.browser(),
                "/api/sign_in",
                &[("email", email), ("password", password)],
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("hal@example.com", "wrong-guess-1").await.status,
            401
        );
    }
    let blocked = attempt("hal@example.com", PASSWORD).await;
    assert_eq!(blocked.status, 429, "even the right password waits");
    assert!(
        blocked.body.contains("Please try again in"),
        "{}",
        blocked.body
    );
    let secs: u64 = blocked
        .body
        .split("try again in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("seconds in the message");
    assert!((1..=900).contains(&secs), "{secs}");
    // An unknown address is throttled just the same (no enumeration through limits).
    for _ in 0..3 {
        assert_eq!(
            attempt("ivy@example.com", "wrong-guess-1").await.status,
            401
        );
    }
    // The IP has now made 7 attempts, its limit: the next is refused whatever the address.
    assert_eq!(
        attempt("jon@example.com", "wrong-guess-1").await.status,
        429
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let app = &app;
        async move {
            let mut req = app
                .client
                .post(format!("{}/api/register", app.base))
                .form(&[("email", "kim@example.com"), ("password", PASSWORD)]);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            crate::helpers::Page::read(req.send().await.expect("post")).await
        }
    };
    let evil = post(&[("origin", "http://evil.example")]).await;
    assert_eq!(evil.status, 403);
    assert!(evil.body.contains("came from another site"));
    assert_eq!(post(&[("sec-fetch-site", "cross-site")]).await.status, 403);
    assert_eq!(post(&[("origin", "null")]).await.status, 403);
    // Nothing was created by the refused requests.
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(users, 0);
    // The shop's own origin passes.
    assert_eq!(post(&[("origin", PUBLIC_URL)]).await.status, 200);
    assert_eq!(
        post(&[("sec-fetch-site", "same-origin")]).await.status,
        200,
        "already asked for: the same answer as a new address"
    );
}

#[tokio::test]
async fn a_reset_link_works_once() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "lea@example.com", PASSWORD)
        .await;
    // A signed-in device that the reset will sign out.
    let other_device = app.browser();
    app.call(
        &other_device,
        "/api/sign_in",
        &[("email", "lea@example.com"), ("password", PASSWORD)],
    )
    .await;

    let browser = app.browser();
    let asked = app
        .call(
            &browser,
            "/api/forgot_password",
            &[("email", "LEA@example.com")],
        )
        .await;
    assert_eq!(asked.status, 200);
    let mails = app.outbox_messages(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: lea@example.com"));
    assert!(mails[0].contains("Subject: Reset your Emporium password"));
    let link = reset_link(&mails[0]);
    assert!(mails[0].contains(&format!("{PUBLIC_URL}{link}")));

    let form = app.visit(&browser, &link).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("lea@example.com"));
    let token = link.split("token=").nth(1).expect("token");

    let weak = app
        .call(
            &browser,
            "/api/reset_password",
            &[("token", token), ("password", "qwerty123")],
        )
        .await;
    assert_eq!(weak.status, 422, "policy applies to resets: {}", weak.body);
    let done = app
        .call(
            &browser,
            "/api/reset_password",
            &[("token", token), ("password", "new-sea-shell-42")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);

    // Used: the page and the call both say so.
    let again = app.visit(&browser, &link).await;
    assert_eq!(again.status, 400);
    assert!(again.texts("reset-link-problem")[0].contains("already been used"));
    let reuse = app
        .call(
            &browser,
            "/api/reset_password",
            &[("token", token), ("password", "another-new-one-7")],
        )
        .await;
    assert_eq!(reuse.status, 400);

    // The old password is gone, the new one works, the other device was signed out.
    let old = app
        .call(
            &browser,
            "/api/sign_in",
            &[("email", "lea@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, 401);
    let new = app
        .call(
            &browser,
            "/api/sign_in",
            &[
                ("email", "lea@example.com"),
                ("password", "new-sea-shell-42"),
            ],
        )
        .await;
    assert_eq!(new.status, 200);
    assert_eq!(app.visit(&other_device, "/account").await.status, 302);
}

#[tokio::test]
async fn reset_links_expire_and_unknown_ones_are_explained() {
    let app =
        TestApp::spawn_with(|c| c.auth.reset_link_ttl = std::time::Duration::from_secs(1)).await;
    app.register(&app.browser(), "max@example.com", PASSWORD)
        .await;
    let browser = app.browser();
    app.call(
        &browser,
        "/api/forgot_password",
        &[("email", "max@example.com")],
    )
    .await;
    let link = reset_link(&app.outbox_messages(1).await[0]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let expired = app.visit(&browser, &link).await;
    assert_eq!(expired.status, 400);
    assert!(expired.texts("reset-link-problem")[0].contains("expired"));

    let unknown = app.visit(&browser, "/reset-password?token=deadbeef").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.texts("reset-link-problem")[0].contains("not valid"));
}

#[tokio::test]
async fn reset_for_an_unknown_address_looks_the_same_and_sends_nothing() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "ned@example.com", PASSWORD)
        .await;
    let known = app
        .call(
            &app.browser(),
            "/api/forgot_password",
            &[("email", "ned@example.com")],
        )
        .await;
    let unknown = app
        .call(
            &app.browser(),
            "/api/forgot_password",
            &[("email", "nope@example.com")],
        )
        .await;
    assert_eq!(
        (known.status, known.body.as_str()),
        (unknown.status, unknown.body.as_str())
    );
    // Give a stray background send time to land, then count.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = app.outbox_messages(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: ned@example.com"));
}

#[tokio::test]
async fn profile_and_password_changes() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    app.register(&browser, "olga@example.com", PASSWORD).await;
    app.register(&app.browser(), "taken@example.com", PASSWORD)
        .await;
    let other_device = app.browser();
    app.call(
        &other_device,
        "/api/sign_in",
        &[("email", "olga@example.com"), ("password", PASSWORD)],
    )
    .await;

    // Name alone needs no password; a new e-mail does, and must be free.
    let renamed = app
        .call(
            &browser,
            "/api/update_profile",
            &[("name", "Olga Berg"), ("email", "olga@example.com")],
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert!(renamed.body.contains("Olga Berg"));
    let needs_password = app
        .call(
            &browser,
            "/api/update_profile",
            &[("name", "Olga"), ("email", "o@example.com")],
        )
        .await;
    assert_eq!(needs_password.status, 422);
    assert!(needs_password.body.contains("current_password"));
    let taken = app
        .call(
            &browser,
            "/api/update_profile",
            &[
                ("name", "Olga"),
                ("email", "taken@example.com"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert!(taken.body.contains("already exists"));

    // Password change: the current one is checked, the rules apply to the new one.
    let wrong = app
        .call(
            &browser,
            "/api/change_password",
            &[
                ("current_password", "nope-nope-1"),
                ("new_password", "fresh-paint-88"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("current password is not correct"));
    let weak = app
        .call(
            &browser,
            "/api/change_password",
            &[("current_password", PASSWORD), ("new_password", "12345678")],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.body.contains("new_password"), "{}", weak.body);
    let ok = app
        .call(
            &browser,
            "/api/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "fresh-paint-88"),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // This device stays signed in, the other one is signed out; a notice was e-mailed.
    assert_eq!(app.visit(&browser, "/account").await.status, 200);
    assert_eq!(app.visit(&other_device, "/account").await.status, 302);
    app.outbox_message_with("Subject: Your Emporium password was changed")
        .await;

    // The hash never leaves the server.
    let account = app.call(&browser, "/api/account", &[]).await;
    assert!(!account.body.contains("argon2") && !account.body.contains("password"));
}

#[tokio::test]
async fn address_book() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    app.register(&browser, "pia@example.com", PASSWORD).await;
    let address = |name: &'static str, default: bool| {
        let mut f = vec![
            ("full_name", name),
            ("line1", "1 Harbour Road"),
            ("city", "Portsmouth"),
            ("postal_code", "PO1 2AB"),
            ("country", "GB"),
            ("phone", "+44 20 7946 0000"),
        ];
        if default {
            f.push(("make_default", "on"));
        }
        f
    };
    // Bad input: every broken rule is named.
    let bad = app
        .call(
            &browser,
            "/api/save_address",
            &[
                ("full_name", ""),
                ("line1", ""),
                ("city", "X"),
                ("postal_code", "1"),
                ("country", "ZZ"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Enter the full name") && bad.body.contains("country we ship to"));

    // The first address becomes the default; a later one can take over.
    assert_eq!(
        app.call(&browser, "/api/save_address", &address("Pia Home", false))
            .await
            .status,
        200
    );
    assert_eq!(
        app.call(&browser, "/api/save_address", &address("Pia Office", true))
            .await
            .status,
        200
    );
    let page = app.visit(&browser, "/account/addresses").await;
    assert_eq!(page.status, 200);
    let cards = page.blocks("address-card", "</li>");
    assert_eq!(cards.len(), 2);
    assert!(cards[0].contains("Pia Office") && cards[0].contains("Default shipping address"));
    assert!(cards[1].contains("Pia Home") && !cards[1].contains("Default"));
    assert!(cards[0].contains("United Kingdom"));

    let list: Vec<serde_json::Value> =
        serde_json::from_str(&app.call(&browser, "/api/addresses", &[]).await.body).expect("json");
    let office = list[0]["id"].as_i64().expect("id").to_string();
    let home = list[1]["id"].as_i64().expect("id").to_string();

    // Edit.
    let mut edited = address("Pia at Home", false);
    edited.push(("id", &home));
    assert_eq!(
        app.call(&browser, "/api/save_address", &edited)
            .await
            .status,
        200
    );
    let edit_page = app
        .visit(&browser, &format!("/account/addresses/{home}"))
        .await;
    assert!(edit_page.body.contains(r#"value="Pia at Home""#));

    // Deleting the default makes the remaining one the default.
    assert_eq!(
        app.call(&browser, "/api/delete_address", &[("id", &office)])
            .await
            .status,
        200
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&app.call(&browser, "/api/addresses", &[]).await.body).expect("json");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["is_default"], true);

    // Someone else's address does not exist for you.
    let stranger = app.browser();
    app.register(&stranger, "quinn@example.com", PASSWORD).await;
    assert_eq!(
        app.visit(&stranger, &format!("/account/addresses/{home}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.call(&stranger, "/api/delete_address", &[("id", &home)])
            .await
            .status,
        404
    );
    let mut hijack = address("Quinn", false);
    hijack.push(("id", &home));
    assert_eq!(
        app.call(&stranger, "/api/save_address", &hijack)
            .await
            .status,
        404
    );
    assert_eq!(
        app.visit(&stranger, "/account/addresses/abc").await.status,
        404
    );
}

#[tokio::test]
async fn personal_pages_are_never_shared() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    app.register(&browser, "rae@example.com", PASSWORD).await;
    // The first render of the home page is for a signed-in shopper: what is kept is the
    // copy for everyone, without them.
    let home = app.visit(&browser, "/").await;
    assert_eq!(home.texts("account-link"), ["Hi, Test"]);
    assert_eq!(home.header("cache-control"), Some("private, no-store"));
    let anonymous = app.visit(&app.browser(), "/").await;
    assert_eq!(anonymous.header("x-page-cache"), Some("hit"));
    assert!(anonymous.texts("account-link").is_empty());
    assert!(!anonymous.body.contains("rae@example.com") && !anonymous.body.contains("Hi, Test"));
    // The signed-in shopper gets the kept copy with their own header.
    let again = app.visit(&browser, "/").await;
    assert_eq!(again.header("x-page-cache"), Some("hit"));
    assert_eq!(again.texts("account-link"), ["Hi, Test"]);
    let account = app.visit(&browser, "/account").await;
    assert_eq!(account.header("cache-control"), Some("private, no-store"));
    // A shopper's cart, checkout and orders too, even for a visitor without a cookie.
    for path in ["/cart", "/checkout", "/order-lookup", "/order/EMP-100001"] {
        let page = app.visit(&app.browser(), path).await;
        assert_eq!(
            page.header("cache-control"),
            Some("private, no-store"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn redis_down_sign_in_says_so_and_the_catalog_still_works() {
    // A private Redis this test can stop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut redis = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server must be installed (make services installs it)");
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let app = TestApp::spawn_with(move |c| {
        c.redis_url = format!("redis://127.0.0.1:{port}/0");
        c.page_cache = false;
    })
    .await;
    let browser = app.browser();
    app.register(&browser, "sam@example.com", PASSWORD).await;
    let _ = redis.kill();
    let _ = redis.wait();

    let page = app
        .call(
            &app.browser(),
            "/api/sign_in",
            &[("email", "sam@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains("temporarily unavailable"),
        "{}",
        page.body
    );
    // A no-JS post comes back to the sign-in page, which shows the message.
    let resp = app
        .browser()
        .post(format!("{}/api/sign_in", app.base))
        .header("accept", "text/html")
        .header("referer", format!("{}/sign-in", app.base))
        .form(&[("email", "sam@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 302);
    let back = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let shown = app
        .visit(&app.browser(), back.trim_start_matches(&app.base))
        .await;
    assert_eq!(shown.status, 200);
    assert!(shown.texts("form-error")[0].contains("temporarily unavailable"));

    // The cart says so clearly.
    let sku: String = {
        let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
        sqlx::query_scalar("SELECT sku FROM variants WHERE stock_on_hand > 0 LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("sku")
    };
    let add = app
        .call(
            &browser,
            "/api/cart_add",
            &[("sku", &sku), ("quantity", "1")],
        )
        .await;
    assert_eq!(add.status, 503, "{}", add.body);
    assert!(
        add.body.contains("Your cart is temporarily unavailable"),
        "{}",
        add.body
    );
    let cart = app.visit(&browser, "/cart").await;
    assert_eq!(cart.status, 503);
    assert!(cart.texts("error-message")[0].contains("Your cart is temporarily unavailable"));

    // Browsing works, with or without the (now unreadable) session cookie.
    for client in [&browser, &app.browser()] {
        let home = app.visit(client, "/").await;
        assert_eq!(home.status, 200);
        assert!(!home.card_slugs().is_empty());
        assert!(home.texts("account-link").is_empty(), "shown signed out");
        let product = format!("/p/{}", home.card_slugs()[0]);
        assert_eq!(app.visit(client, &product).await.status, 200);
    }
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_the_absolute_limit() {
    let app = TestApp::spawn_with(|c| {
        c.session_idle = std::time::Duration::from_secs(3 * 24 * 3600);
        c.auth.session_absolute = std::time::Duration::from_secs(1);
    })
    .await;
    let browser = app.browser();
    app.register(&app.browser(), "una@example.com", PASSWORD)
        .await;
    let page = app
        .call(
            &browser,
            "/api/sign_in",
            &[("email", "una@example.com"), ("password", PASSWORD)],
        )
        .await;
    let id = page.session_cookie().expect("cookie");
    // Idle expiry: the cookie's Max-Age and the Redis key's TTL are the idle limit.
    let set_cookie = page.header("set-cookie").expect("set-cookie");
    assert!(set_cookie.contains("Max-Age=259200"), "{set_cookie}");
    let mut redis = app.services.redis.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*session:{id}"))
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "one session key in Redis");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .expect("ttl");
    assert!((259_000..=259_200).contains(&ttl), "ttl {ttl}");

    // Absolute limit (1 s here): however active, the sign-in ends.
    assert_eq!(app.visit(&browser, "/account").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.visit(&browser, "/account").await.status, 302);
}

#[tokio::test]
async fn racing_requests_leave_consistent_data() {
    let app = TestApp::spawn().await;
    app.register(&app.browser(), "vic@example.com", PASSWORD)
        .await;

    // Two submits of one reset link at once: exactly one wins, the other is told.
    app.call(
        &app.browser(),
        "/api/forgot_password",
        &[("email", "vic@example.com")],
    )
    .await;
    let link = reset_link(&app.outbox_messages(1).await[0]);
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let (first, second) = (app.browser(), app.browser());
    let first_form = [("token", token.as_str()), ("password", "first-choice-11")];
    let second_form = [("token", token.as_str()), ("password", "second-choice-22")];
    let (a, b) = tokio::join!(
        app.call(&first, "/api/reset_password", &first_form),
        app.call(&second, "/api/reset_password", &second_form),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{} / {}", a.body, b.body);
    let winner = if a.status == 200 {
        "first-choice-11"
    } else {
        "second-choice-22"
    };

    // Four addresses, then "make default" on all of them at once: no errors, one default.
    let browser = app.browser();
    let page = app
        .call(
            &browser,
            "/api/sign_in",
            &[("email", "vic@example.com"), ("password", winner)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for name in ["One", "Two", "Three", "Four"] {
        let form = [
            ("full_name", name),
            ("line1", "1 Road"),
            ("city", "Town"),
            ("postal_code", "12345"),
            ("country", "US"),
        ];
        assert_eq!(
            app.call(&browser, "/api/save_address", &form).await.status,
            200
        );
    }
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&app.call(&browser, "/api/addresses", &[]).await.body).expect("json");
    let clicks: Vec<_> = list
        .iter()
        .map(|a| {
            let request = browser
                .post(format!("{}/api/default_address", app.base))
                .form(&[("id", a["id"].as_i64().expect("id").to_string())]);
            tokio::spawn(async move { request.send().await.expect("post").status().as_u16() })
        })
        .collect();
    for click in clicks {
        assert_eq!(click.await.expect("task"), 200);
    }
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&app.call(&browser, "/api/addresses", &[]).await.body).expect("json");
    assert_eq!(list.len(), 4);
    assert_eq!(list.iter().filter(|a| a["is_default"] == true).count(), 1);
}
