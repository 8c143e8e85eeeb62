//! Uploaded product images: read by their content, refused when too big, too many pixels
//! or not an image (a clear 4xx each), kept at their widths and served; stored in an
//! S3-compatible bucket (the local moto server) when one is configured.

use crate::helpers::TestApp;
use domain::Role;

/// A PNG of `width` x `height` in two colours.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        let c = if (y / 20) % 2 == 0 {
            [40, 90, 160]
        } else {
            [220, 200, 150]
        };
        for _ in 0..width {
            pixels.extend_from_slice(&c);
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .expect("png");
    out
}

/// A lossless WebP of `width` x `height`.
fn webp(width: u32, height: u32) -> Vec<u8> {
    let picture = image::load_from_memory(&png(width, height)).expect("png");
    let mut out = Vec::new();
    picture
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
        .expect("webp");
    assert_eq!(
        image::guess_format(&out).ok(),
        Some(image::ImageFormat::WebP)
    );
    out
}

/// The start of a PNG that says it is `width` x `height` (a tiny file, a huge image).
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // The start of its pixel data (a zlib stream's first bytes), then the file just ends.
    let mut idat = b"IDAT".to_vec();
    idat.extend_from_slice(&[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00]);
    out.extend_from_slice(&6u32.to_be_bytes());
    out.extend_from_slice(&idat);
    out.extend_from_slice(&crc32(&idat).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

async fn upload(
    app: &TestApp,
    browser: &reqwest::Client,
    product: i64,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> crate::helpers::Page {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("alt", "A linen shirt, folded")
        .part("file", part);
    crate::helpers::Page::read(
        browser
            .post(format!("{}/admin/products/{product}/images", app.base))
            .multipart(form)
            .send()
            .await
            .expect("upload"),
    )
    .await
}

async fn a_product(app: &TestApp) -> (i64, String) {
    sqlx::query_as("SELECT id, slug FROM products WHERE published ORDER BY id LIMIT 1")
        .fetch_one(&app.pool().await)
        .await
        .expect("product")
}

#[tokio::test]
async fn an_upload_is_read_by_its_content_kept_at_its_widths_and_shown_in_the_shop() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let (id, slug) = a_product(&app).await;
    // Its drawn images gone, so the page's main image is the upload.
    sqlx::query("DELETE FROM product_images WHERE product_id = $1")
        .bind(id)
        .execute(&app.pool().await)
        .await
        .expect("clear images");
    // A PNG called .jpg and sent as image/jpeg is read as the PNG it is.
    let page = upload(&app, &staff, id, "shirt.jpg", "image/jpeg", png(900, 600)).await;
    assert_eq!(page.status, 201, "{}", page.body);
    let (url, widths, alt, key): (String, Vec<i32>, String, String) = sqlx::query_as(
        "SELECT url, widths, alt, storage_key FROM product_images WHERE product_id = $1 AND storage_key IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&app.pool().await)
    .await
    .expect("image row");
    assert_eq!(widths, vec![320, 640, 900]);
    assert_eq!(alt, "A linen shirt, folded");
    // Cards and thumbnails show the 640 file; the page picks from all three.
    assert_eq!(url, format!("/media/uploads/{key}/640.jpg"));
    for w in [320, 640, 900] {
        let file = app.get(&format!("/media/uploads/{key}/{w}.jpg")).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.header("content-type"), Some("image/jpeg"));
    }
    let bytes = reqwest::get(format!("{}/media/uploads/{key}/640.jpg", app.base))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let back = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!((back.width(), back.height()), (640, 427));
    // Nothing outside the store's own keys, however the path is written.
    for path in [
        "/media/uploads/products/%2e%2e/%2e%2e/etc/passwd.jpg",
        "/media/uploads/products%2F..%2F..%2Fetc%2Fpasswd.jpg",
        "/media/uploads/products/1/x/../../../secret.jpg",
    ] {
        assert_eq!(app.get(path).await.status, 404, "{path}");
    }
    let served = app.get(&format!("/media/uploads/{key}/320.jpg")).await;
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));

    // The shop shows it with its widths (after the product's drawn images).
    let shop = app.get(&format!("/p/{slug}")).await;
    assert!(
        shop.body
            .contains(&format!("srcset=\"/media/uploads/{key}/320.jpg 320w, /media/uploads/{key}/640.jpg 640w, /media/uploads/{key}/900.jpg 900w\"")),
        "no srcset on the product page"
    );

    // Removing it removes its files too.
    let image_id: i64 = sqlx::query_scalar("SELECT id FROM product_images WHERE storage_key = $1")
        .bind(&key)
        .fetch_one(&app.pool().await)
        .await
        .expect("id");
    let (product_s, image_s) = (id.to_string(), image_id.to_string());
    let removed = app
        .call(
            &staff,
            "/api/admin_product_image_remove",
            &[("product", &product_s), ("image", &image_s)],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        app.get(&format!("/media/uploads/{key}/320.jpg"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn uploads_too_big_too_many_pixels_or_not_images_get_a_clear_4xx() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let (id, _) = a_product(&app).await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "notes.jpg",
            b"this is a text file, not a picture".to_vec(),
            415,
            "not a JPEG, PNG or WebP",
        ),
        (
            "huge.png",
            png_header(20_000, 20_000),
            422,
            "40 million pixels",
        ),
        (
            "big.jpg",
            // Just over the limit: what is left to send after the refusal fits in the
            // socket buffers, so the client never writes into a closed connection.
            vec![0xFF; 20 * 1024 * 1024 + 64 * 1024],
            413,
            "larger than 20 MB",
        ),
        (
            "broken.png",
            png(50, 50)[..60].to_vec(),
            422,
            "damaged or incomplete",
        ),
    ];
    for (name, bytes, status, says) in cases {
        let page = upload(&app, &staff, id, name, "image/jpeg", bytes).await;
        assert_eq!(page.status, status, "{name}: {}", page.body);
        assert!(page.body.contains(says), "{name}: {}", page.body);
    }
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM product_images WHERE storage_key IS NOT NULL")
            .fetch_one(&app.pool().await)
            .await
            .expect("count");
    assert_eq!(kept, 0);
    // A browser's form post goes back to the page, which says what was wrong.
    let part = reqwest::multipart::Part::bytes(b"plain text".to_vec()).file_name("a.txt");
    let from_browser = crate::helpers::Page::read(
        staff
            .post(format!("{}/admin/products/{id}/images", app.base))
            .header("accept", "text/html")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("upload"),
    )
    .await;
    assert_eq!(from_browser.status, 303);
    assert_eq!(
        from_browser.header("location"),
        Some(format!("/admin/products/{id}?image_error=not-an-image#images").as_str())
    );
    // Another site cannot make a signed-in member of staff upload.
    let part = reqwest::multipart::Part::bytes(png(40, 40)).file_name("a.png");
    let cross = crate::helpers::Page::read(
        staff
            .post(format!("{}/admin/products/{id}/images", app.base))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://elsewhere.example")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("upload"),
    )
    .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    // Support may not add images.
    let (support, _) = app.staff("support@shop.test", Role::Support).await;
    let refused = upload(&app, &support, id, "ok.png", "image/png", png(40, 40)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[tokio::test]
async fn images_go_to_the_s3_bucket_when_one_is_configured() {
    let moto = std::env::var("MOTO_URL").expect(
        "MOTO_URL is not set: start the local S3 server with scripts/moto.sh start (make test does)",
    );
    let bucket = format!("emporium-test-{}", std::process::id());
    // A bucket of its own on the local S3 server.
    let made = reqwest::Client::new()
        .put(format!("{moto}/{bucket}"))
        .send()
        .await
        .expect("create bucket");
    assert!(made.status().is_success(), "{}", made.status());
    let endpoint = moto.clone();
    let bucket_for_app = bucket.clone();
    let app = TestApp::spawn_with(move |c| {
        c.event_worker = false;
        c.media_s3 = Some(services::media::S3Settings {
            bucket: bucket_for_app,
            region: "us-east-1".into(),
            endpoint,
            access_key: "test-key".into(),
            secret_key: "test-secret".into(),
        });
    })
    .await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let (id, _) = a_product(&app).await;
    let page = upload(
        &app,
        &staff,
        id,
        "swatch.webp",
        "image/webp",
        webp(500, 300),
    )
    .await;
    assert_eq!(page.status, 201, "{}", page.body);
    let key: String =
        sqlx::query_scalar("SELECT storage_key FROM product_images WHERE storage_key IS NOT NULL")
            .fetch_one(&app.pool().await)
            .await
            .expect("key");
    // In the bucket itself, as S3 lists it, and served by the shop from there.
    let listing = reqwest::get(format!("{moto}/{bucket}?list-type=2"))
        .await
        .expect("list")
        .text()
        .await
        .expect("listing");
    for w in [320, 500] {
        assert!(
            listing.contains(&format!("<Key>{key}/{w}.jpg</Key>")),
            "{listing}"
        );
        let file = app.get(&format!("/media/uploads/{key}/{w}.jpg")).await;
        assert_eq!(file.status, 200);
    }
}
