//! Health, readiness, SEO files, images, headers and start-up failures.

use crate::helpers::{fresh_database, test_config, TestApp, PUBLIC_URL};
use server::Application;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    let json: serde_json::Value = serde_json::from_str(&ready.body).expect("json");
    assert_eq!(json, serde_json::json!({ "postgres": "ok", "redis": "ok" }));
}

#[tokio::test]
async fn robots_and_sitemap_list_published_pages_only() {
    let app = TestApp::spawn().await;
    let robots = app.get("/robots.txt").await;
    assert_eq!(robots.status, 200);
    assert!(robots
        .body
        .contains(&format!("Sitemap: {PUBLIC_URL}/sitemap.xml")));

    let listed = app.get("/c/t-shirts").await.card_slugs();
    let (hidden, shown) = (&listed[0], &listed[1]);
    app.services
        .catalog
        .set_published(hidden, false)
        .await
        .expect("unpublish");
    let sitemap = app.get("/sitemap.xml").await;
    assert_eq!(sitemap.status, 200);
    assert!(sitemap.headers["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("application/xml"));
    assert!(sitemap
        .body
        .contains(&format!("<loc>{PUBLIC_URL}/c/t-shirts</loc>")));
    assert!(sitemap
        .body
        .contains(&format!("<loc>{PUBLIC_URL}/p/{shown}</loc>")));
    assert!(
        !sitemap.body.contains(&format!("/p/{hidden}</loc>")),
        "unpublished product listed"
    );
    let urls = sitemap.body.matches("<url>").count();
    assert!(urls > 500, "only {urls} urls");
}

#[tokio::test]
async fn generated_images_are_svg_and_cached_for_a_year() {
    let app = TestApp::spawn().await;
    let img = app.get("/media/generated/mug-navy-2.svg").await;
    assert_eq!(img.status, 200);
    assert_eq!(img.headers["content-type"], "image/svg+xml");
    assert!(img.headers["cache-control"]
        .to_str()
        .unwrap_or("")
        .contains("immutable"));
    assert!(img.body.starts_with("<svg"));
    assert_eq!(app.get("/media/generated/mug-teal-2.svg").await.status, 404);
    assert_eq!(
        app.get("/media/generated/..%2F..%2Fetc%2Fpasswd")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn pages_are_compressed_and_carry_security_headers() {
    let app = TestApp::spawn().await;
    let page = app
        .get_with("/c/clothing", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-encoding"], "gzip");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn start_up_names_the_service_that_is_down() {
    let url = fresh_database().await;

    let mut no_redis = test_config(url.clone());
    no_redis.redis_url = "redis://127.0.0.1:1/0".into();
    let err = Application::build(no_redis)
        .await
        .err()
        .expect("must fail without Redis")
        .to_string();
    assert!(
        err.contains("cannot reach Redis") && err.contains("REDIS_URL"),
        "{err}"
    );

    let mut no_pg = test_config(url);
    no_pg.database_url = "postgres://emporium:secret@127.0.0.1:1/emporium".into();
    let err = Application::build(no_pg)
        .await
        .err()
        .expect("must fail without PostgreSQL")
        .to_string();
    assert!(
        err.contains("cannot reach PostgreSQL") && err.contains("DATABASE_URL"),
        "{err}"
    );
    assert!(
        !err.contains("secret"),
        "password leaked into the message: {err}"
    );
}
