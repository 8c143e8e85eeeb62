//! Catalog editing in the admin: who may, the variant matrix, saves over newer saves,
//! old addresses, archive and delete, bulk prices, the category tree that cannot loop,
//! and a change on one instance seen on another at once.

use crate::helpers::TestApp;
use crate::orders::order_for;
use domain::Role;

/// Some leaf category's id.
async fn a_category(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT id FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)
         ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.pool().await)
    .await
    .expect("category")
}

async fn product_id(app: &TestApp, slug: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.pool().await)
        .await
        .expect("product")
}

async fn version(app: &TestApp, id: i64) -> String {
    let v: i64 = sqlx::query_scalar("SELECT version FROM products WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool().await)
        .await
        .expect("version");
    v.to_string()
}

/// Creates a product through the admin's form; returns its id.
async fn create(
    app: &TestApp,
    browser: &reqwest::Client,
    name: &str,
    slug: &str,
    options: &str,
    price: &str,
) -> i64 {
    let category = a_category(app).await.to_string();
    let page = app
        .call(
            browser,
            "/api/admin_product_create",
            &[
                ("name", name),
                ("slug", slug),
                (
                    "description",
                    "<p>Soft <strong>linen</strong>.</p><script>alert(1)</script>",
                ),
                ("brand", "Loomwell"),
                ("category_id", &category),
                ("seo_title", ""),
                ("seo_description", ""),
                ("attributes", "Material: linen"),
                ("options", options),
                ("price", price),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "create: {}", page.body);
    product_id(app, slug).await
}

/// The product form's fields for a save, from what the product has now with `changes`.
async fn save(
    app: &TestApp,
    browser: &reqwest::Client,
    id: i64,
    version: &str,
    changes: &[(&str, &str)],
) -> crate::helpers::Page {
    let row: (String, String, String, String, i64, bool) = sqlx::query_as(
        "SELECT name, slug, description, brand, category_id, published FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool().await)
    .await
    .expect("product");
    let id = id.to_string();
    let category = row.4.to_string();
    let mut form: Vec<(&str, &str)> = vec![
        ("id", &id),
        ("version", version),
        ("name", &row.0),
        ("slug", &row.1),
        ("description", &row.2),
        ("brand", &row.3),
        ("category_id", &category),
        ("seo_title", ""),
        ("seo_description", ""),
        ("attributes", ""),
    ];
    if row.5 {
        form.push(("published", "on"));
    }
    for (k, v) in changes {
        form.retain(|(f, _)| f != k);
        if !v.is_empty() {
            form.push((k, v));
        }
    }
    app.call(browser, "/api/admin_product_save", &form).await
}

#[tokio::test]
async fn catalog_staff_make_a_product_with_a_variant_matrix_and_publish_it() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (support, _) = app.staff("support@shop.test", Role::Support).await;
    let refused = app
        .call(&support, "/api/admin_products", &[("query[q]", "")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    // A whole, valid form: refused for who sends it, not for what it holds.
    let category = a_category(&app).await.to_string();
    let form = [
        ("name", "Not Theirs"),
        ("slug", "not-theirs"),
        ("description", ""),
        ("brand", ""),
        ("category_id", category.as_str()),
        ("seo_title", ""),
        ("seo_description", ""),
        ("attributes", ""),
        ("options", ""),
        ("price", "10"),
    ];
    let shopper = app.browser();
    let anonymous = app.call(&shopper, "/api/admin_product_create", &form).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let by_support = app.call(&support, "/api/admin_product_create", &form).await;
    assert_eq!(by_support.status, 403, "{}", by_support.body);
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE slug = 'not-theirs'")
        .fetch_one(&app.pool().await)
        .await
        .expect("count");
    assert_eq!(made, 0);

    let (catalog, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let id = create(
        &app,
        &catalog,
        "Harbour Linen Shirt",
        "harbour-linen-shirt",
        "Colour: Red, Blue, Green\nSize: S, M",
        "49.90",
    )
    .await;
    let variants: Vec<(String, Vec<String>, i64, i32)> = sqlx::query_as(
        "SELECT sku, option_values, price_minor, stock_on_hand FROM variants WHERE product_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&app.pool().await)
    .await
    .expect("variants");
    assert_eq!(variants.len(), 6);
    assert_eq!(variants[0].0, "HARBOUR-LINEN-SHIRT-RED-S");
    assert_eq!(variants[5].1, vec!["Green".to_owned(), "M".to_owned()]);
    assert!(variants.iter().all(|v| v.2 == 4990 && v.3 == 0));
    let description: String = sqlx::query_scalar("SELECT description FROM products WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool().await)
        .await
        .expect("description");
    assert_eq!(description, "<p>Soft <strong>linen</strong>.</p>");

    // A draft is not in the shop; published, it is, with its rich text.
    assert_eq!(app.get("/p/harbour-linen-shirt").await.status, 404);
    let v = version(&app, id).await;
    let saved = save(&app, &catalog, id, &v, &[("published", "on")]).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let page = app.get("/p/harbour-linen-shirt").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Harbour Linen Shirt"));
    assert!(page.body.contains("Soft <strong>linen</strong>."));

    // The variants' own fields; a bad one is a 422 naming it, and nothing is saved.
    let vid: i64 = sqlx::query_scalar(
        "SELECT id FROM variants WHERE product_id = $1 ORDER BY position LIMIT 1",
    )
    .bind(id)
    .fetch_one(&app.pool().await)
    .await
    .expect("variant");
    let (id_s, vid_s) = (id.to_string(), vid.to_string());
    let v = version(&app, id).await;
    let bad = app
        .call(
            &catalog,
            "/api/admin_product_variants",
            &[
                ("id", &id_s),
                ("version", &v),
                ("variants[0][id]", &vid_s),
                ("variants[0][sku]", "HARBOUR-RED-S"),
                ("variants[0][price]", "12.345"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("HARBOUR-RED-S"), "{}", bad.body);
    let unchanged: String = sqlx::query_scalar("SELECT sku FROM variants WHERE id = $1")
        .bind(vid)
        .fetch_one(&app.pool().await)
        .await
        .expect("sku");
    assert_eq!(unchanged, "HARBOUR-LINEN-SHIRT-RED-S");
    let good = app
        .call(
            &catalog,
            "/api/admin_product_variants",
            &[
                ("id", &id_s),
                ("version", &v),
                ("variants[0][id]", &vid_s),
                ("variants[0][sku]", "harbour-red-s"),
                ("variants[0][price]", "39.50"),
                ("variants[0][compare_at]", "49.90"),
                ("variants[0][weight_grams]", "240"),
                ("variants[0][barcode]", "4006381333931"),
            ],
        )
        .await;
    assert_eq!(good.status, 200, "{}", good.body);
    let row: (String, i64, Option<i64>, Option<i32>) = sqlx::query_as(
        "SELECT sku, price_minor, compare_at_minor, weight_grams FROM variants WHERE id = $1",
    )
    .bind(vid)
    .fetch_one(&app.pool().await)
    .await
    .expect("variant");
    assert_eq!(row, ("HARBOUR-RED-S".into(), 3950, Some(4990), Some(240)));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity = 'product' AND entity_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&app.pool().await)
    .await
    .expect("audit");
    assert_eq!(audited, 3, "create, publish, variants");
}

#[tokio::test]
async fn a_save_over_a_newer_save_is_refused_and_says_what_changed() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (ann, _) = app.staff("ann@shop.test", Role::Catalog).await;
    let (bob, _) = app.staff("bob@shop.test", Role::Admin).await;
    let id = create(&app, &ann, "Quay Mug", "quay-mug", "", "12.00").await;
    let opened = version(&app, id).await;
    let first = save(&app, &ann, id, &opened, &[("name", "Quay Mug, Large")]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = save(&app, &bob, id, &opened, &[("brand", "Other brand")]).await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert!(second.body.contains("ann@shop.test"), "{}", second.body);
    assert!(
        second.body.contains("name (now “Quay Mug, Large”)"),
        "{}",
        second.body
    );
    let now: (String, String) = sqlx::query_as("SELECT name, brand FROM products WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool().await)
        .await
        .expect("product");
    assert_eq!(now, ("Quay Mug, Large".into(), "Loomwell".into()));
    // Made from the version it shows now, the save goes through.
    let fresh = version(&app, id).await;
    let third = save(&app, &bob, id, &fresh, &[("brand", "Other brand")]).await;
    assert_eq!(third.status, 200, "{}", third.body);
}

#[tokio::test]
async fn changed_slugs_send_old_links_to_the_new_address() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let slug: String =
        sqlx::query_scalar("SELECT slug FROM products WHERE published ORDER BY id LIMIT 1")
            .fetch_one(&app.pool().await)
            .await
            .expect("slug");
    let id = product_id(&app, &slug).await;
    assert_eq!(app.get(&format!("/p/{slug}")).await.status, 200);
    let v = version(&app, id).await;
    let saved = save(&app, &staff, id, &v, &[("slug", "renamed-product")]).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let old = app.get(&format!("/p/{slug}?variant=X")).await;
    assert_eq!(old.status, 301);
    assert_eq!(old.header("location"), Some("/p/renamed-product?variant=X"));
    assert_eq!(app.get("/p/renamed-product").await.status, 200);
    assert_eq!(app.get("/p/never-was-a-product").await.status, 404);

    // Categories too.
    let (cid, cslug, cname): (i64, String, String) =
        sqlx::query_as("SELECT id, slug, name FROM categories ORDER BY id LIMIT 1")
            .fetch_one(&app.pool().await)
            .await
            .expect("category");
    let cid_s = cid.to_string();
    let moved = app
        .call(
            &staff,
            "/api/admin_category_update",
            &[
                ("id", &cid_s),
                ("name", &cname),
                ("slug", "new-home-of-things"),
            ],
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let old = app.get(&format!("/c/{cslug}")).await;
    assert_eq!(old.status, 301);
    assert_eq!(old.header("location"), Some("/c/new-home-of-things"));
}

#[tokio::test]
async fn archived_products_leave_the_shop_and_only_unordered_ones_can_be_deleted() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let ordered = create(
        &app,
        &staff,
        "Ordered Lamp",
        "ordered-lamp",
        "Colour: Ochre, Sky",
        "80",
    )
    .await;
    let v = version(&app, ordered).await;
    assert_eq!(
        save(&app, &staff, ordered, &v, &[("published", "on")])
            .await
            .status,
        200
    );
    sqlx::query("UPDATE variants SET stock_on_hand = 5 WHERE product_id = $1")
        .bind(ordered)
        .execute(&app.pool().await)
        .await
        .expect("stock");
    let placed = app
        .services
        .orders
        .place(&order_for("archive-key-000001", "ORDERED-LAMP-OCHRE", 1))
        .await
        .expect("place");

    let id_s = ordered.to_string();
    let refused = app
        .call(
            &staff,
            "/api/admin_product_delete",
            &[("id", &id_s), ("confirm", "on")],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("archive it instead"),
        "{}",
        refused.body
    );

    // Removing the ordered value archives its variant; the other value's is deleted.
    let v = version(&app, ordered).await;
    let reshaped = app
        .call(
            &staff,
            "/api/admin_product_options",
            &[("id", &id_s), ("version", &v), ("options", "Colour: Plum")],
        )
        .await;
    assert_eq!(reshaped.status, 200, "{}", reshaped.body);
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT sku, archived_at IS NOT NULL FROM variants WHERE product_id = $1 ORDER BY sku",
    )
    .bind(ordered)
    .fetch_all(&app.pool().await)
    .await
    .expect("variants");
    assert_eq!(
        rows,
        vec![
            ("ORDERED-LAMP-OCHRE".into(), true),
            ("ORDERED-LAMP-PLUM".into(), false)
        ]
    );
    // The archived variant is not for sale; the order still shows what was bought.
    let page = app.get("/p/ordered-lamp").await;
    assert!(page.body.contains("ORDERED-LAMP-PLUM") && !page.body.contains("ORDERED-LAMP-OCHRE"));
    let again = app
        .services
        .orders
        .place(&order_for("archive-key-000002", "ORDERED-LAMP-OCHRE", 1))
        .await;
    assert!(
        again
            .as_ref()
            .is_err_and(|e| e.to_string().contains("no longer available")),
        "an archived variant was sold: {again:?}"
    );

    // A copy: a draft with new SKUs, no stock, its own address.
    let copied = app
        .call(&staff, "/api/admin_product_duplicate", &[("id", &id_s)])
        .await;
    assert_eq!(copied.status, 200, "{}", copied.body);
    let copy: (i64, String, bool) =
        sqlx::query_as("SELECT id, name, published FROM products WHERE slug = 'ordered-lamp-copy'")
            .fetch_one(&app.pool().await)
            .await
            .expect("copy");
    assert_eq!((copy.1.as_str(), copy.2), ("Ordered Lamp (copy)", false));
    let copy_variants: Vec<(String, i32)> =
        sqlx::query_as("SELECT sku, stock_on_hand FROM variants WHERE product_id = $1")
            .bind(copy.0)
            .fetch_all(&app.pool().await)
            .await
            .expect("copy variants");
    assert_eq!(
        copy_variants,
        vec![("ORDERED-LAMP-PLUM-COPY".to_owned(), 0)]
    );

    let archived = app
        .call(
            &staff,
            "/api/admin_product_archive",
            &[("id", &id_s), ("archive", "true")],
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert_eq!(app.get("/p/ordered-lamp").await.status, 404);
    let lines: Vec<String> = sqlx::query_scalar(
        "SELECT l.sku FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.number = $1",
    )
    .bind(&placed.number)
    .fetch_all(&app.pool().await)
    .await
    .expect("lines");
    assert_eq!(lines, vec!["ORDERED-LAMP-OCHRE".to_owned()]);
    // An archived product cannot be published without being restored first.
    let v = version(&app, ordered).await;
    let publish = save(&app, &staff, ordered, &v, &[("published", "on")]).await;
    assert_eq!(publish.status, 422, "{}", publish.body);

    let unordered = create(&app, &staff, "Never Sold", "never-sold", "", "5").await;
    let un_s = unordered.to_string();
    let without_confirm = app
        .call(&staff, "/api/admin_product_delete", &[("id", &un_s)])
        .await;
    assert_eq!(without_confirm.status, 400);
    let deleted = app
        .call(
            &staff,
            "/api/admin_product_delete",
            &[("id", &un_s), ("confirm", "on")],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE id = $1")
        .bind(unordered)
        .fetch_one(&app.pool().await)
        .await
        .expect("count");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn bulk_price_changes_round_to_the_cent_and_publishing_skips_the_archived() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let a = create(&app, &staff, "Bulk A", "bulk-a", "Size: S, M, L", "1").await;
    let b = create(&app, &staff, "Bulk B", "bulk-b", "", "1").await;
    let pool = app.pool().await;
    for (sku, price) in [
        ("BULK-A-S", 1999),
        ("BULK-A-M", 5),
        ("BULK-A-L", 15),
        ("BULK-B", 1000),
    ] {
        sqlx::query("UPDATE variants SET price_minor = $2 WHERE sku = $1")
            .bind(sku)
            .bind(price)
            .execute(&pool)
            .await
            .expect("price");
    }
    let (a_s, b_s) = (a.to_string(), b.to_string());
    let back = "/admin/products?q=bulk";
    let changed = app
        .call(
            &staff,
            "/api/admin_products_bulk",
            &[
                ("ids[0]", &a_s),
                ("ids[3]", &b_s),
                ("action", "prices"),
                ("percent", "-10"),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let prices: Vec<(String, i64)> = sqlx::query_as(
        "SELECT sku, price_minor FROM variants WHERE sku LIKE 'BULK-%' ORDER BY sku",
    )
    .fetch_all(&pool)
    .await
    .expect("prices");
    assert_eq!(
        prices,
        vec![
            ("BULK-A-L".into(), 14),
            ("BULK-A-M".into(), 5),
            ("BULK-A-S".into(), 1799),
            ("BULK-B".into(), 900)
        ]
    );
    let bad = app
        .call(
            &staff,
            "/api/admin_products_bulk",
            &[
                ("ids[0]", &a_s),
                ("action", "prices"),
                ("percent", "-150"),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let none = app
        .call(
            &staff,
            "/api/admin_products_bulk",
            &[("action", "publish"), ("back", back)],
        )
        .await;
    assert_eq!(none.status, 422, "{}", none.body);

    app.call(
        &staff,
        "/api/admin_product_archive",
        &[("id", &b_s), ("archive", "true")],
    )
    .await;
    let published = app
        .call(
            &staff,
            "/api/admin_products_bulk",
            &[
                ("ids[0]", &a_s),
                ("ids[1]", &b_s),
                ("action", "publish"),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let states: Vec<(String, bool)> = sqlx::query_as(
        "SELECT slug, published FROM products WHERE slug LIKE 'bulk-%' ORDER BY slug",
    )
    .fetch_all(&pool)
    .await
    .expect("states");
    assert_eq!(
        states,
        vec![("bulk-a".into(), true), ("bulk-b".into(), false)]
    );

    // The list finds them by name and by SKU, filtered by state.
    let list = app
        .services
        .catalog
        .admin_products(
            &services::audit::Actor::command_line(),
            &domain::product_admin::ProductQuery {
                q: "bulk-a-".into(),
                status: domain::product_admin::StatusFilter::Published,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        list.rows
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["Bulk A"]
    );
    assert_eq!(list.rows[0].stock, 0);
}

#[tokio::test]
async fn the_category_tree_cannot_be_made_to_loop() {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (staff, _) = app.staff("catalog@shop.test", Role::Catalog).await;
    let pool = app.pool().await;
    let (child, parent): (i64, i64) = sqlx::query_as(
        "SELECT id, parent_id FROM categories WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("child");
    // The database itself refuses, whatever writes it.
    let direct = sqlx::query("UPDATE categories SET parent_id = $1 WHERE id = $2")
        .bind(child)
        .bind(parent)
        .execute(&pool)
        .await;
    assert!(
        direct.is_err_and(|e| e.to_string().contains("cannot be moved under itself")),
        "a loop was written"
    );
    // The form says so in words (422), and nothing changes.
    let parent_name: String = sqlx::query_scalar("SELECT name FROM categories WHERE id = $1")
        .bind(parent)
        .fetch_one(&pool)
        .await
        .expect("name");
    let (p_s, c_s) = (parent.to_string(), child.to_string());
    let refused = app
        .call(
            &staff,
            "/api/admin_category_update",
            &[
                ("id", &p_s),
                ("name", &parent_name),
                ("slug", ""),
                ("parent_id", &c_s),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("cannot be moved under itself"),
        "{}",
        refused.body
    );

    // Two moves that are each fine alone, at once: A under B and B under A. One wins.
    let made = |name: &'static str| {
        let staff = staff.clone();
        let app = &app;
        async move {
            app.call(
                &staff,
                "/api/admin_category_create",
                &[("name", name), ("slug", "")],
            )
            .await
        }
    };
    assert_eq!(made("Loop A").await.status, 200);
    assert_eq!(made("Loop B").await.status, 200);
    let a: i64 = sqlx::query_scalar("SELECT id FROM categories WHERE slug = 'loop-a'")
        .fetch_one(&pool)
        .await
        .expect("a");
    let b: i64 = sqlx::query_scalar("SELECT id FROM categories WHERE slug = 'loop-b'")
        .fetch_one(&pool)
        .await
        .expect("b");
    for _ in 0..5 {
        let (a_s, b_s) = (a.to_string(), b.to_string());
        let a_under_b = [
            ("id", a_s.as_str()),
            ("name", "Loop A"),
            ("slug", "loop-a"),
            ("parent_id", &b_s),
        ];
        let b_under_a = [
            ("id", b_s.as_str()),
            ("name", "Loop B"),
            ("slug", "loop-b"),
            ("parent_id", &a_s),
        ];
        let (one, two) = tokio::join!(
            app.call(&staff, "/api/admin_category_update", &a_under_b),
            app.call(&staff, "/api/admin_category_update", &b_under_a),
        );
        let mut statuses = [one.status, two.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 422],
            "exactly one move stands: {} {}",
            one.body,
            two.body
        );
        // Back to the top level for the next round.
        sqlx::query("UPDATE categories SET parent_id = NULL WHERE id = ANY($1)")
            .bind(vec![a, b])
            .execute(&pool)
            .await
            .expect("reset");
    }

    // Reordering: with A and B the last two of the top level, B one place up comes
    // before A.
    sqlx::query("UPDATE categories SET position = 1000 + (id = $2)::int WHERE id = ANY($1)")
        .bind(vec![a, b])
        .bind(b)
        .execute(&pool)
        .await
        .expect("positions");
    let position = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i32>("SELECT position FROM categories WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("position")
        }
    };
    assert!(position(a).await < position(b).await);
    let b_s = b.to_string();
    let up = app
        .call(
            &staff,
            "/api/admin_category_reorder",
            &[("id", &b_s), ("up", "true")],
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert!(position(b).await < position(a).await);
}

#[tokio::test]
async fn a_change_on_one_instance_is_on_the_other_at_once() {
    let first = TestApp::spawn_with(|c| c.event_worker = false).await;
    let second = TestApp::spawn_beside(&first, |c| c.event_worker = false).await;
    let (staff, _) = first.staff("catalog@shop.test", Role::Catalog).await;
    let slug: String =
        sqlx::query_scalar("SELECT slug FROM products WHERE published ORDER BY id LIMIT 1")
            .fetch_one(&first.pool().await)
            .await
            .expect("slug");
    let id = product_id(&first, &slug).await;
    // The second instance has the page (and the listing) cached.
    for _ in 0..2 {
        assert_eq!(second.get(&format!("/p/{slug}")).await.status, 200);
    }
    let v = version(&first, id).await;
    let saved = save(
        &first,
        &staff,
        id,
        &v,
        &[("name", "Renamed On The First Instance")],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let mut seen = false;
    for _ in 0..40 {
        if second
            .get(&format!("/p/{slug}"))
            .await
            .body
            .contains("Renamed On The First Instance")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        seen,
        "the second instance still shows the old name after 2 s"
    );
}
