//! The storefront's catalog pages as a shopper (or a crawler) receives them.

use crate::helpers::{TestApp, PUBLIC_URL};
use domain::{Currency, Money};

#[tokio::test]
async fn home_shows_categories_and_products() {
    let app = TestApp::spawn().await;
    let page = app.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("<title>Well-made things for everyday life · Emporium</title>"));
    for category in [
        "Clothing",
        "Shoes",
        "Home &amp; Living",
        "Electronics",
        "Outdoors",
        "Books &amp; Stationery",
    ] {
        assert!(page.body.contains(category), "{category} missing");
    }
    assert_eq!(page.card_slugs().len(), 16, "8 featured + 8 new arrivals");
    assert_eq!(page.body.matches(r#"<meta name="description""#).count(), 1);
    assert!(page
        .body
        .contains(&format!(r#"<link href="{PUBLIC_URL}/" rel="canonical">"#)));
}

#[tokio::test]
async fn category_lists_its_subcategories_products_with_pagination() {
    let app = TestApp::spawn().await;
    let page = app.get("/c/clothing").await;
    assert_eq!(page.status, 200);
    let total = count_of(&page);
    assert!(total > 24, "clothing has {total}");
    let first = page.card_slugs();
    assert_eq!(first.len(), 24);
    // Products of subcategories (tees, hoodies, jackets) appear in the parent.
    assert!(page.body.contains("T-Shirts") && page.body.contains("Jackets"));

    let second = app.get("/c/clothing?page=2").await;
    assert_eq!(second.status, 200);
    let second_slugs = second.card_slugs();
    assert!(!second_slugs.is_empty());
    assert!(
        second_slugs.iter().all(|s| !first.contains(s)),
        "pages overlap"
    );
    assert!(second
        .body
        .contains(r#"aria-current="page" aria-label="Page 2""#));

    // A page past the end shows the last page and says so.
    let past = app.get("/c/clothing?page=99").await;
    assert_eq!(past.status, 200);
    assert!(
        past.body
            .contains("There is no page 99; showing the last page"),
        "{}",
        past.body.len()
    );
    assert!(!past.card_slugs().is_empty());
}

#[tokio::test]
async fn sorting_orders_by_price_name_and_newest() {
    let app = TestApp::spawn().await;
    let asc = app.get("/c/clothing?sort=price-asc").await.card_prices();
    assert_eq!(asc.len(), 24);
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    let desc = app.get("/c/clothing?sort=price-desc").await.card_prices();
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert!(desc[0] > asc[0]);

    let names = app.get("/c/shoes?sort=name").await;
    let slugs = names.card_slugs();
    let mut sorted = slugs.clone();
    sorted.sort();
    assert_eq!(slugs, sorted);

    // Newest first: creation times, read from the database, never increase down the page.
    let newest = app.get("/c/t-shirts?sort=newest").await.card_slugs();
    let pool = sqlx::PgPool::connect(&app.database_url)
        .await
        .expect("connect");
    let mut times = Vec::new();
    for slug in &newest {
        let t: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT created_at FROM products WHERE slug = $1")
                .bind(slug)
                .fetch_one(&pool)
                .await
                .expect("created_at");
        times.push(t);
    }
    assert_eq!(times.len(), 24);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

/// Every SKU of a product, from its JSON-LD offers.
async fn skus_of(app: &TestApp, slug: &str) -> Vec<String> {
    let page = app.get(&format!("/p/{slug}")).await;
    page.body
        .match_indices(r#""sku":""#)
        .filter_map(|(i, m)| {
            let rest = &page.body[i + m.len()..];
            rest.find('"').map(|j| rest[..j].to_owned())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The "N products" count of a listing.
fn count_of(page: &crate::helpers::Page) -> usize {
    page.texts("result-count")[0]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("count")
}

#[tokio::test]
async fn filters_by_price_range_and_stock() {
    let app = TestApp::spawn().await;
    let page = app
        .get("/c/clothing?min_price=50&max_price=99.99&in_stock=1")
        .await;
    assert_eq!(page.status, 200);
    let prices = page.card_prices();
    assert!(!prices.is_empty());
    assert!(
        prices.iter().all(|p| (5000..=9999).contains(p)),
        "{prices:?}"
    );
    assert!(!page.body.contains(">Sold out<"));
    // The form shows the filters that were applied.
    assert!(page.body.contains(r#"value="50""#) && page.body.contains(r#"value="99.99""#));

    // Sell out every variant of one product: it stays listed, marked "Sold out", and the
    // in-stock filter hides it.
    let slug = app
        .get("/c/jackets?sort=price-asc")
        .await
        .card_slugs()
        .remove(0);
    for sku in skus_of(&app, &slug).await {
        app.services
            .catalog
            .set_stock(&sku, 0)
            .await
            .expect("stock");
    }
    let all = app.get("/c/jackets?sort=price-asc").await;
    assert_eq!(all.card_slugs()[0], slug);
    assert!(all.body.contains(">Sold out<"));
    let in_stock = app.get("/c/jackets?sort=price-asc&in_stock=1").await;
    assert!(!in_stock.card_slugs().contains(&slug));
    assert!(!in_stock.body.contains(">Sold out<"));
    assert_eq!(count_of(&in_stock) + 1, count_of(&all));

    let none = app.get("/c/clothing?min_price=100000").await;
    assert_eq!(none.status, 200);
    assert!(none.body.contains("No products match these filters."));
}

#[tokio::test]
async fn malformed_query_parameters_get_a_400_page_with_a_message() {
    let app = TestApp::spawn().await;
    for (query, message) in [
        ("page=abc", "is not a page number"),
        ("page=0", "page must be between"),
        ("page=-1", "is not a page number"),
        (
            "sort=cheapest",
            "is not a sort order; use one of featured, newest",
        ),
        ("min_price=ten", "minimum price \"ten\" is not an amount"),
        ("max_price=1e9", "is not an amount"),
        ("in_stock=maybe", "is not yes or no"),
        (
            "min_price=50&max_price=10",
            "the minimum price is above the maximum price",
        ),
    ] {
        let page = app.get(&format!("/c/clothing?{query}")).await;
        assert_eq!(page.status, 400, "{query}");
        let msg = page.texts("error-message").join(" ");
        assert!(msg.contains(message), "{query}: {msg}");
    }
    // Unknown parameters and empty form fields are not errors.
    assert_eq!(
        app.get("/c/clothing?utm_source=mail&min_price=&max_price=")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unknown_pages_get_the_404_page() {
    let app = TestApp::spawn().await;
    for path in [
        "/c/no-such-category",
        "/p/no-such-product",
        "/p/Not_A_Slug",
        "/no/such/page",
        "/c/%00",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("Page not found"), "{path}");
        assert!(
            page.body.contains(r#"name="robots" content="noindex""#),
            "{path}"
        );
    }
}

#[tokio::test]
async fn product_page_has_variants_seo_and_structured_data() {
    let app = TestApp::spawn().await;
    let slug = app.get("/c/t-shirts").await.card_slugs().remove(0);
    let page = app.get(&format!("/p/{slug}")).await;
    assert_eq!(page.status, 200);
    let name = page.texts("product-name").remove(0);
    assert!(page
        .body
        .contains(&format!("<title>{name} · Emporium</title>")));
    assert!(page.body.contains(&format!(
        r#"<link href="{PUBLIC_URL}/p/{slug}" rel="canonical">"#
    )));
    assert!(page
        .body
        .contains(r#"<meta property="og:type" content="product""#));
    assert!(page
        .body
        .contains(r#"<meta property="og:image" content="http://shop.test/media/generated/"#));
    let ld_start = page
        .body
        .find(r#"<script type="application/ld+json">"#)
        .expect("json-ld")
        + 35;
    let ld_end = page.body[ld_start..].find("</script>").expect("end") + ld_start;
    let ld: serde_json::Value =
        serde_json::from_str(&page.body[ld_start..ld_end]).expect("valid json-ld");
    assert_eq!(ld["@type"], "Product");
    assert_eq!(ld["name"], name.as_str());
    let offers = ld["offers"].as_array().expect("offers");
    assert!(offers.len() >= 4, "colour x size variants");

    // Each variant can be linked to, and the page shows its SKU and price.
    let offer = &offers[offers.len() - 1];
    let sku = offer["sku"].as_str().expect("sku");
    let chosen = app.get(&format!("/p/{slug}?variant={sku}")).await;
    assert_eq!(chosen.texts("sku"), vec![sku.to_owned()]);
    let price =
        Money::parse_major(offer["price"].as_str().expect("price"), Currency::Usd).expect("money");
    assert_eq!(chosen.texts("price"), vec![price.to_string()]);
    // An unknown variant falls back to a default instead of failing.
    assert_eq!(
        app.get(&format!("/p/{slug}?variant=NOPE&image=99"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_catalog_change_is_visible_as_soon_as_it_returns() {
    let app = TestApp::spawn().await;
    let slug = app.get("/c/chargers").await.card_slugs().remove(0);
    let page = app.get(&format!("/p/{slug}")).await; // now cached
    let sku = page.texts("sku").remove(0);

    app.services
        .catalog
        .set_price(&sku, Money::new(123_456, Currency::Usd))
        .await
        .expect("price");
    let page = app.get(&format!("/p/{slug}?variant={sku}")).await;
    assert_eq!(page.texts("price"), vec!["$1,234.56".to_owned()]);

    app.services
        .catalog
        .set_stock(&sku, 0)
        .await
        .expect("stock");
    let page = app.get(&format!("/p/{slug}?variant={sku}")).await;
    assert_eq!(page.texts("stock"), vec!["Out of stock".to_owned()]);

    // Unpublishing removes it from the listing and the product page at once.
    assert!(app.get("/c/chargers").await.card_slugs().contains(&slug));
    app.services
        .catalog
        .set_published(&slug, false)
        .await
        .expect("unpublish");
    assert!(!app.get("/c/chargers").await.card_slugs().contains(&slug));
    assert_eq!(app.get(&format!("/p/{slug}")).await.status, 404);
    app.services
        .catalog
        .set_published(&slug, true)
        .await
        .expect("publish");
    assert_eq!(app.get(&format!("/p/{slug}")).await.status, 200);

    // Bad writes are refused with a reason, and unknown SKUs are not found.
    assert!(app.services.catalog.set_stock(&sku, -1).await.is_err());
    assert!(matches!(
        app.services.catalog.set_stock("NO-SUCH-SKU", 3).await,
        Err(services::catalog::CatalogError::NotFound(_))
    ));
}

#[tokio::test]
async fn seeding_again_adds_nothing_and_keeps_changes() {
    let app = TestApp::spawn().await;
    let catalog = &app.services.catalog;
    let slug = app.get("/c/mugs").await.card_slugs().remove(0);
    let sku = app.get(&format!("/p/{slug}")).await.texts("sku").remove(0);
    catalog.set_stock(&sku, 3).await.expect("stock");
    let data = services::catalog::seed::generate(services::catalog::seed::DEFAULT_PRODUCT_COUNT);
    let report = catalog
        .load_seed(&data, Currency::Usd, |_, _| {})
        .await
        .expect("seed");
    assert_eq!(
        (
            report.categories_created,
            report.products_created,
            report.products_skipped
        ),
        (0, 0, 520)
    );
    let page = app.get(&format!("/p/{slug}?variant={sku}")).await;
    assert_eq!(page.texts("stock"), vec!["Only 3 left".to_owned()]);
}

#[tokio::test]
async fn rendered_pages_are_reused_until_the_catalog_changes() {
    let app = TestApp::spawn().await;
    let slug = app.get("/c/lamps").await.card_slugs().remove(0);
    let url = format!("/p/{slug}");
    let first = app.get(&url).await;
    let sku = first.texts("sku").remove(0);
    let again = app.get(&url).await;
    assert_eq!(again.headers["x-page-cache"], "hit");
    assert_eq!(again.body, first.body);

    app.services
        .catalog
        .set_price(&sku, Money::new(4_200, Currency::Usd))
        .await
        .expect("price");
    let after = app.get(&url).await;
    assert_eq!(after.headers["x-page-cache"], "miss");
    assert_eq!(after.texts("price"), vec!["$42.00".to_owned()]);
    // The listing that shows the product is stale too, and re-rendered.
    let listing = app.get("/c/lamps").await;
    assert_eq!(listing.headers["x-page-cache"], "miss");

    // Errors are never kept; a cookie that is not a session changes nothing.
    for _ in 0..2 {
        let missing = app.get("/p/no-such-lamp").await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.headers["x-page-cache"], "uncached");
        assert!(
            missing.body.contains("Sign in"),
            "the 404 page has its header"
        );
    }
    let with_cookie = app.get_with(&url, &[("cookie", "session=abc")]).await;
    assert_eq!(with_cookie.status, 200);
    // From the shared copy ("miss" if the write's announcement made it stale once more).
    assert!(with_cookie.headers.get("x-page-cache").is_some());
    assert_eq!(
        with_cookie.header("cache-control"),
        Some("public, max-age=0, s-maxage=60, stale-while-revalidate=30"),
        "not personal"
    );
}

#[tokio::test]
async fn cached_pages_are_served_in_the_encoding_the_client_accepts() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    let plain = app.get("/c/pens").await;
    let plain_again = app.get("/c/pens").await;
    assert_eq!(plain_again.headers["x-page-cache"], "hit");
    assert!(plain_again.headers.get("content-encoding").is_none());

    let resp = app
        .client
        .get(format!("{}/c/pens", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["vary"], "accept-encoding, cookie");
    let bytes = resp.bytes().await.expect("body");
    let mut html = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut html)
        .expect("valid gzip");
    assert_eq!(html, plain.body);

    // Brotli is made once, after the first response: gzip until it is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let resp = loop {
        let resp = app
            .client
            .get(format!("{}/c/pens", app.base))
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .expect("get");
        if resp.headers()["content-encoding"] == "br" {
            break resp;
        }
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        assert!(std::time::Instant::now() < deadline, "never sent brotli");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let bytes = resp.bytes().await.expect("body");
    let mut html = String::new();
    brotli::Decompressor::new(&bytes[..], 4096)
        .read_to_string(&mut html)
        .expect("valid brotli");
    assert_eq!(html, plain.body);

    // A coding refused with q=0 is never used.
    let refused = app
        .get_with("/c/pens", &[("accept-encoding", "br;q=0, gzip")])
        .await;
    assert_eq!(refused.headers["content-encoding"], "gzip");
}

#[tokio::test]
async fn a_write_by_another_instance_reaches_this_ones_caches() {
    let app = TestApp::spawn().await;
    let slug = app.get("/c/notebooks").await.card_slugs().remove(0);
    let url = format!("/p/{slug}");
    let sku = app.get(&url).await.texts("sku").remove(0);
    assert_eq!(app.get(&url).await.headers["x-page-cache"], "hit");

    // Another instance: its own pool and cache on the same database.
    let pool = sqlx::PgPool::connect(&app.database_url)
        .await
        .expect("connect");
    let other = services::CatalogService::new(pool, Currency::Usd);
    other
        .set_price(&sku, Money::new(777, Currency::Usd))
        .await
        .expect("price");

    // Delivery through NOTIFY is asynchronous: wait for it, with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = app.get(&url).await;
        if page.texts("price") == vec!["$7.77".to_owned()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the change never reached this instance"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn server_functions_answer_with_the_errors_status() {
    let app = TestApp::spawn().await;
    let post = |path: &'static str, body: &'static str| {
        app.client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let ok = post("/api/listing", "slug=clothing").await.expect("post");
    assert_eq!(ok.status(), 200);
    let bad = post("/api/listing", "slug=clothing&page=abc")
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .unwrap_or_default()
        .contains("not a page number"));
    assert_eq!(
        post("/api/listing", "slug=no-such-category")
            .await
            .expect("post")
            .status(),
        404
    );
    assert_eq!(
        post("/api/product", "slug=no-such-product")
            .await
            .expect("post")
            .status(),
        404
    );
    assert_eq!(post("/api/product", "").await.expect("post").status(), 400);
}
