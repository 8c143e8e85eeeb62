//! What every response tells caches and browsers: personal answers are private and vary
//! by cookie, shared pages carry rules a CDN can follow, cache keys hold only the
//! parameters a page reads, and the Content-Security-Policy allows exactly the page's
//! own inline script.

use crate::helpers::TestApp;
use base64::Engine as _;
use sha2::Digest as _;

fn varies_by_cookie(page: &crate::helpers::Page) -> bool {
    page.headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("cookie"))
}

async fn a_product_slug(app: &TestApp) -> (String, String) {
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    sqlx::query_as(
        "SELECT p.slug, v.sku FROM products p JOIN variants v ON v.product_id = p.id
         WHERE p.published AND v.stock_on_hand > 0 ORDER BY p.id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("product")
}

#[tokio::test]
async fn personal_answers_are_private_and_shared_pages_say_how_to_cache_them() {
    for page_cache in [true, false] {
        let app = TestApp::spawn_with(move |c| {
            c.event_worker = false;
            c.page_cache = page_cache;
        })
        .await;
        let (slug, sku) = a_product_slug(&app).await;
        let anonymous = app.get("/").await;
        assert_eq!(
            anonymous.header("cache-control"),
            Some("public, max-age=0, s-maxage=60, stale-while-revalidate=30"),
            "page cache {page_cache}"
        );
        assert!(varies_by_cookie(&anonymous));

        // A shopper with a session: every page they get is theirs alone.
        let browser = app.browser();
        let added = app
            .call(
                &browser,
                "/api/cart_add",
                &[("sku", &sku), ("quantity", "1")],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
        for path in [
            "/".to_owned(),
            format!("/p/{slug}"),
            "/c/clothing".to_owned(),
            "/search?q=shirt".to_owned(),
            "/cart".to_owned(),
            "/checkout".to_owned(),
            "/order-lookup".to_owned(),
            "/order/EMP-1".to_owned(),
        ] {
            let page = app.visit(&browser, &path).await;
            assert_eq!(
                page.header("cache-control"),
                Some("private, no-store"),
                "{path} (page cache {page_cache})"
            );
            assert!(varies_by_cookie(&page), "{path}");
        }
        // Personal paths are private even without a session.
        for path in ["/cart", "/checkout", "/order-lookup", "/sign-in"] {
            let page = app.get(path).await;
            assert_eq!(
                page.header("cache-control"),
                Some("private, no-store"),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn the_content_security_policy_allows_the_pages_own_inline_script_only() {
    let app = TestApp::spawn().await;
    let page = app.get("/").await;
    let csp = page.header("content-security-policy").expect("a CSP");
    // Every inline script of the page (the island loader, Leptos's resource scripts) is
    // allowed by the hash of its exact text, and nothing else inline is.
    let mut rest = page.body.as_str();
    let mut inline = 0;
    while let Some(at) = rest.find("<script") {
        let tag_end = at + rest[at..].find('>').expect("tag end");
        let end = tag_end + rest[tag_end..].find("</script>").expect("end");
        let (tag, content) = (&rest[at..tag_end], &rest[tag_end + 1..end]);
        if !tag.contains("src=") && !content.is_empty() {
            inline += 1;
            let hash =
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(content));
            assert!(csp.contains(&format!("'sha256-{hash}'")), "{tag}: {csp}");
        }
        rest = &rest[end..];
    }
    assert!(inline >= 2, "the loader and Leptos's scripts");
    assert!(
        csp.starts_with("default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{csp}"
    );
    assert_eq!(
        csp.matches("'sha256-").count(),
        inline,
        "one hash per distinct inline script, nothing more: {csp}"
    );
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(page.header("permissions-policy").is_some());
    assert!(
        page.header("strict-transport-security").is_none(),
        "plain http"
    );
    // A cached page carries the same policy.
    let again = app.get("/").await;
    assert_eq!(again.header("x-page-cache"), Some("hit"));
    assert_eq!(again.header("content-security-policy"), Some(csp));

    let https = TestApp::spawn_with(|c| c.public_url = "https://shop.test".into()).await;
    assert_eq!(
        https.get("/").await.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
}

#[tokio::test]
async fn strangers_cannot_flush_the_page_cache_with_made_up_parameters() {
    let app = TestApp::spawn().await;
    let first = app.get("/c/clothing?utm_source=a").await;
    assert_eq!(first.status, 200);
    // Unknown parameters are neither a new page nor part of the page.
    let other = app
        .get("/c/clothing?utm_source=b&x=%22%3E%3Cb%3Einjected")
        .await;
    assert_eq!(other.header("x-page-cache"), Some("hit"));
    assert!(!other.body.contains("injected") && !other.body.contains("utm_source"));
    assert_eq!(
        app.get("/c/clothing").await.header("x-page-cache"),
        Some("hit")
    );
    // Known ones in another order are the same page.
    app.get("/c/clothing?sort=price-asc&page=2").await;
    assert_eq!(
        app.get("/c/clothing?page=2&sort=price-asc&junk=1")
            .await
            .header("x-page-cache"),
        Some("hit")
    );
}
