//! Storefront pages kept once for everyone: shoppers with a session get them with their
//! own header, and search results are kept until the index changes.

use crate::helpers::{Page, TestApp};
use domain::{Currency, Money};
use std::io::Read;

const PASSWORD: &str = "violet-harbour-19";

/// What the header says about the shopper: their greeting (if signed in) and cart count.
fn header_of(page: &Page) -> (Vec<String>, Vec<String>) {
    (page.texts("account-link"), page.texts("cart-count"))
}

/// GET with `client`, gzip accepted; the body decoded.
async fn visit_gzip(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
) -> (Option<String>, String) {
    let resp = client
        .get(format!("{}{path}", app.base))
        .header("accept", "text/html")
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .expect("request");
    let coding = resp
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.bytes().await.expect("body");
    let mut html = String::new();
    match coding.as_deref() {
        Some("gzip") => {
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut html)
                .expect("a valid gzip stream");
        }
        Some("br") => {
            brotli::Decompressor::new(&bytes[..], 4096)
                .read_to_string(&mut html)
                .expect("a valid brotli stream");
        }
        _ => html = String::from_utf8_lossy(&bytes).into_owned(),
    }
    (coding, html)
}

#[tokio::test]
async fn each_shopper_sees_their_own_header_on_pages_kept_for_everyone() {
    let app = TestApp::spawn().await;
    let lamp = app.get("/c/lamps").await.card_slugs().remove(0);
    let sku = app.get(&format!("/p/{lamp}")).await.texts("sku").remove(0);

    // A guest with 2 items in the cart, a signed-in shopper with 1, and a visitor.
    let guest = app.browser();
    let page = app
        .call(&guest, "/api/cart_add", &[("sku", &sku), ("quantity", "2")])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let member = app.browser();
    app.register(&member, "mo@example.com", PASSWORD).await;
    let page = app
        .call(
            &member,
            "/api/cart_add",
            &[("sku", &sku), ("quantity", "1")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let visitor = app.browser();

    let guest_sees = (Vec::<String>::new(), vec!["2".to_owned()]);
    let member_sees = (vec!["Hi, Test".to_owned()], vec!["1".to_owned()]);
    let visitor_sees = (Vec::<String>::new(), vec!["0".to_owned()]);
    let pages = [
        "/".to_owned(),
        "/c/lamps".to_owned(),
        format!("/p/{lamp}"),
        "/search?q=lamp".to_owned(),
    ];
    // Interleaved, twice: the first request of each page renders it (for whichever
    // shopper asks first), the rest are served from what was kept.
    for round in 0..2 {
        for path in &pages {
            for (who, client, expected) in [
                ("member", &member, &member_sees),
                ("guest", &guest, &guest_sees),
                ("visitor", &visitor, &visitor_sees),
            ] {
                let page = app.visit(client, path).await;
                assert_eq!(page.status, 200, "{who} {path}");
                assert_eq!(
                    &header_of(&page),
                    expected,
                    "{who} on {path}, round {round}"
                );
                assert!(
                    !page.body.contains("<!--personal:"),
                    "{who} {path}: a marker left"
                );
                assert!(
                    !page.body.contains("Hi, Test") || who == "member",
                    "{who} {path}"
                );
                if round == 1 {
                    assert_eq!(page.header("x-page-cache"), Some("hit"), "{who} {path}");
                }
                // A page with someone's own parts is theirs alone.
                let private = page.header("cache-control") == Some("private, no-store");
                assert_eq!(private, who != "visitor", "{who} {path} cache-control");
            }
        }
    }

    // The same pages, compressed: the shared page's pieces with the shopper's parts
    // spliced in are one valid gzip stream, equal to the page sent uncompressed.
    for path in &pages {
        for (who, client, expected) in [
            ("member", &member, &member_sees),
            ("guest", &guest, &guest_sees),
            ("visitor", &visitor, &visitor_sees),
        ] {
            let (coding, html) = visit_gzip(&app, client, path).await;
            let plain = app.visit(client, path).await;
            // A visitor gets brotli once it is made (gzip before); a shopper always gzip.
            let allowed: &[&str] = if who == "visitor" {
                &["br", "gzip"]
            } else {
                &["gzip"]
            };
            assert!(
                coding.as_deref().is_some_and(|c| allowed.contains(&c)),
                "{who} {path}: {coding:?}"
            );
            assert_eq!(
                html, plain.body,
                "{who} {path}: compressed and plain differ"
            );
            let decoded = Page {
                status: 200,
                headers: Default::default(),
                body: html,
            };
            assert_eq!(&header_of(&decoded), expected, "{who} {path} (compressed)");
        }
    }

    // The header follows the session: signing out shows the signed-out page at once.
    let page = app.call(&member, "/api/sign_out", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let after = app.visit(&member, "/c/lamps").await;
    assert_eq!(after.header("x-page-cache"), Some("hit"));
    assert_eq!(header_of(&after), visitor_sees);
}

#[tokio::test]
async fn a_page_is_the_same_whole_or_assembled_from_the_shared_copy() {
    // The same shopper's page from an instance rendering every page whole and from one
    // assembling it: only the nonce Leptos puts on its inline scripts differs.
    let assembled = TestApp::spawn().await;
    let whole = TestApp::spawn_beside(&assembled, |c| c.page_cache = false).await;
    let normalise = |html: &str| {
        let mut out = String::with_capacity(html.len());
        let mut rest = html;
        while let Some(i) = rest.find("nonce=\"") {
            out.push_str(&rest[..i + 7]);
            rest = &rest[i + 7..];
            rest = &rest[rest.find('"').unwrap_or(0)..];
        }
        out.push_str(rest);
        out
    };
    let a = assembled.browser();
    let w = whole.browser();
    assembled.register(&a, "pat@example.com", PASSWORD).await;
    // The same account on the other instance's sessions (its own Redis prefix).
    let page = whole
        .call(
            &w,
            "/api/sign_in",
            &[("email", "pat@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    // (Not search: each instance has its own index, where equal scores may come in
    // another order.)
    let lamp = assembled.get("/c/lamps").await.card_slugs().remove(0);
    for path in ["/".to_owned(), "/c/lamps".to_owned(), format!("/p/{lamp}")] {
        let path = path.as_str();
        let from_shared = assembled.visit(&a, path).await;
        let rendered_whole = whole.visit(&w, path).await;
        assert_eq!(rendered_whole.header("x-page-cache"), None, "{path}");
        assert_eq!(
            header_of(&from_shared),
            header_of(&rendered_whole),
            "{path}"
        );
        assert_eq!(
            normalise(&from_shared.body),
            normalise(&rendered_whole.body),
            "{path}: the assembled page differs from the whole render"
        );
    }
}

#[tokio::test]
async fn search_results_are_kept_until_the_index_changes() {
    let app = TestApp::spawn().await;
    let url = "/search?q=lamp";
    let first = app.get(url).await;
    assert_eq!(first.status, 200);
    let slug = first
        .body
        .split("data-testid=\"search-hit\"")
        .nth(1)
        .and_then(|hit| hit.split("href=\"/p/").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("a search hit")
        .to_owned();
    let again = app.get(url).await;
    assert_eq!(again.header("x-page-cache"), Some("hit"));
    assert_eq!(again.body, first.body);

    // A new, lowest price: the catalog and then the index change; the results page
    // follows, and once it shows the new price it is kept again.
    let sku = app.get(&format!("/p/{slug}")).await.texts("sku").remove(0);
    app.services
        .catalog
        .set_price(&sku, Money::new(123, Currency::Usd))
        .await
        .expect("price");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = app.get(url).await;
        if page.body.contains("From $1.23") {
            assert_ne!(
                page.header("x-page-cache"),
                Some("hit"),
                "first render after the change"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the search page never showed the new price"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Kept again (the index may be refreshed once more, by the event worker, meanwhile).
    loop {
        let kept = app.get(url).await;
        assert!(kept.body.contains("From $1.23"), "an older page came back");
        if kept.header("x-page-cache") == Some("hit") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the search page was never kept again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
