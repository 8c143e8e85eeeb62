//! Search conformance suite: what every search engine must do, checked against the seeded
//! catalog in PostgreSQL. It runs on the embedded engine always, and on Meilisearch when
//! `MEILI_URL` (and `MEILI_API_KEY` if the server has a key) is set.

use crate::helpers::TestApp;
use domain::search::{SearchQuery, SearchSort};
use services::events::consumers::SearchIndexer;
use services::events::EventWorker;
use services::search::embedded::EmbeddedEngine;
use services::search::meili::MeiliEngine;
use services::search::{SearchEngine, SearchService};
use std::sync::Arc;

async fn indexed(app: &TestApp, engine: Arc<dyn SearchEngine>) -> (SearchService, sqlx::PgPool) {
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    let search = SearchService::new(&app.services.catalog, pool.clone(), engine);
    let n = search.reindex().await.expect("reindex");
    assert!(n > 400, "indexed {n}");
    assert!(search.is_in_step().await.expect("count"));
    (search, pool)
}

/// [`product_with_long_word`]'s name and slug.
async fn product_with_slug(pool: &sqlx::PgPool) -> (String, String) {
    let (id, name, _) = product_with_long_word(pool, 6).await;
    let slug = sqlx::query_scalar("SELECT slug FROM products WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("slug");
    (name, slug)
}

/// Whether the product leaves the results of a search for its name within 5 s; every
/// page on the way is a working results page.
async fn leaves_results(app: &TestApp, name: &str, slug: &str) -> bool {
    let browser = app.browser();
    let link = format!("href=\"/p/{slug}\"");
    for _ in 0..50 {
        let page = app.visit(&browser, &query(name).url(1)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("data-testid=\"search-total\""));
        if !page.body.contains(&link) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// Processes pending events with the search indexer, as the worker does.
async fn process_events(pool: &sqlx::PgPool, search: &SearchService) {
    let worker = EventWorker::new(
        pool.clone(),
        vec![Arc::new(SearchIndexer {
            search: search.clone(),
        })],
    );
    while worker.run_once().await.expect("events") > 0 {}
}

fn query(text: &str) -> SearchQuery {
    SearchQuery::from_pairs([("q", text)])
}

/// A published, in-stock product whose name has a word of at least `min` letters.
async fn product_with_long_word(pool: &sqlx::PgPool, min: usize) -> (i64, String, String) {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM products WHERE published ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("products");
    rows.into_iter()
        .find_map(|(id, name)| {
            let word = name
                .split_whitespace()
                .find(|w| w.len() >= min && w.chars().all(|c| c.is_ascii_alphabetic()))?
                .to_lowercase();
            Some((id, name, word))
        })
        .expect("a product with a long word")
}

#[tokio::test]
async fn embedded_engine_conformance() {
    println!("search conformance: embedded engine");
    conformance(Arc::new(EmbeddedEngine::in_memory().expect("engine"))).await;
}

#[tokio::test]
async fn meilisearch_engine_conformance() {
    let Ok(url) = std::env::var("MEILI_URL") else {
        println!("search conformance: Meilisearch SKIPPED (MEILI_URL is not set)");
        return;
    };
    println!("search conformance: Meilisearch at {url}");
    let key = std::env::var("MEILI_API_KEY").ok();
    let uid = format!(
        "emporium-test-{}",
        services::random::hex(6).expect("random")
    );
    let engine = MeiliEngine::new(&url, key.as_deref(), &uid).expect("client");
    engine
        .prepare()
        .await
        .expect("Meilisearch answers at MEILI_URL");
    // What a rebuild that died mid-way leaves behind; the next rebuild deletes it.
    let leftover = format!("{uid}-rebuild-left");
    MeiliEngine::new(&url, key.as_deref(), &leftover)
        .expect("client")
        .prepare()
        .await
        .expect("leftover index");
    conformance(Arc::new(engine.clone())).await;
    let mut request = reqwest::Client::new().get(format!("{url}/indexes/{leftover}"));
    if let Some(key) = &key {
        request = request.bearer_auth(key);
    }
    let status = request.send().await.expect("Meilisearch").status();
    assert_eq!(status, 404, "the unfinished rebuild's index is gone");
    engine.delete_index().await.expect("delete the test index");
}

/// What every engine must do.
async fn conformance(engine: Arc<dyn SearchEngine>) {
    let app = TestApp::spawn_with(|c| c.event_worker = false).await;
    let (search, pool) = indexed(&app, engine).await;

    // A typo'd word finds the product (one typo from 5 letters).
    let (id, name, word) = product_with_long_word(&pool, 6).await;
    let mut typo: Vec<char> = word.chars().collect();
    typo.swap(2, 3);
    let typo: String = typo.into_iter().collect();
    assert_ne!(typo, word, "the swap makes a typo");
    // The whole name with that word misspelt: the product must be among the first hits.
    let misspelt = name.to_lowercase().replace(&word, &typo);
    let found = search.search(&query(&misspelt)).await.expect("search");
    assert!(
        found.hits.iter().take(5).any(|h| h.product_id == id),
        "{misspelt:?} (for {name:?}) found {:?}",
        found.hits.iter().map(|h| &h.name).collect::<Vec<_>>()
    );
    // Typos count against the words as written, not their stems ("tbale" is one typo
    // from "table"; from its stem "tabl" it would be two): names with the second and
    // third letters of a word swapped still find their product (each distinct word of
    // the catalog's names once).
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM products p WHERE published
           AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id) ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("products");
    let mut seen = std::collections::HashSet::new();
    let mut checked = 0;
    for (product, product_name) in rows {
        let lower = product_name.to_lowercase();
        for word in lower
            .split_whitespace()
            .filter(|w| w.len() >= 5 && w.chars().all(|c| c.is_ascii_alphabetic()))
        {
            if !seen.insert(word.to_owned()) {
                continue;
            }
            let mut letters: Vec<char> = word.chars().collect();
            if letters[1] == letters[2] {
                continue;
            }
            letters.swap(1, 2);
            let typo: String = letters.into_iter().collect();
            let text = lower.replace(word, &typo);
            let r = search.search(&query(&text)).await.expect("search");
            assert!(
                r.hits.iter().any(|h| h.product_id == product),
                "{text:?} finds {product_name:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "checked {checked} words");

    // The misspelt word alone matches products containing the right one.
    let alone = search.search(&query(&typo)).await.expect("search");
    assert!(alone.total > 0, "{typo:?}");
    let exact = search.search(&query(&name)).await.expect("search");
    assert_eq!(exact.hits[0].product_id, id, "the exact name ranks first");
    assert!(
        exact.hits[0].name_html.contains("<mark>"),
        "{}",
        exact.hits[0].name_html
    );

    // Prefix matching for search-as-you-type.
    let prefix: String = word.chars().take(4).collect();
    let by_prefix = search.search(&query(&prefix)).await.expect("search");
    assert!(by_prefix.total > 0, "prefix {prefix:?}");
    assert!(by_prefix
        .hits
        .iter()
        .any(|h| h.name.to_lowercase().contains(&prefix)));

    // Facet counts agree with PostgreSQL.
    let all = search.search(&query("")).await.expect("browse all");
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM products p WHERE published AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id)",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(all.total, u64::try_from(published).expect("count"));
    let in_stock: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM products p WHERE published AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.stock_on_hand > 0)",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(all.facets.in_stock, u64::try_from(in_stock).expect("count"));
    let clothing = all
        .facets
        .categories
        .iter()
        .find(|f| f.value == "clothing")
        .expect("clothing facet");
    let in_clothing: i64 = sqlx::query_scalar(
        "WITH RECURSIVE sub AS (SELECT id FROM categories WHERE slug = 'clothing'
                               UNION ALL SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id)
         SELECT count(*) FROM products p WHERE published AND category_id IN (SELECT id FROM sub)
           AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id)",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(clothing.count, u64::try_from(in_clothing).expect("count"));
    // Shoppers read the category's name, not its slug.
    let clothing_name: String =
        sqlx::query_scalar("SELECT name FROM categories WHERE slug = 'clothing'")
            .fetch_one(&pool)
            .await
            .expect("name");
    assert_eq!(clothing.label, clothing_name);
    assert_ne!(clothing.label, clothing.value);

    // Filters: a category (with its subcategories), a colour, in stock; counts follow.
    let mut filtered = SearchQuery::from_pairs([("category", "clothing"), ("in_stock", "1")]);
    let r = search.search(&filtered).await.expect("search");
    assert!(r.total > 0 && r.total <= clothing.count);
    assert!(r.hits.iter().all(|h| h.in_stock));
    let colour = r.facets.colours.first().expect("a colour facet").clone();
    filtered.colours.push(colour.value.clone());
    let by_colour = search.search(&filtered).await.expect("search");
    assert_eq!(by_colour.total, colour.count);
    // The colour group is counted without its own selection: the other colours keep the
    // counts they had, so adding one shows what it adds. Other groups follow the colour.
    assert_eq!(by_colour.facets.colours, r.facets.colours);
    assert!(by_colour.facets.colours.len() > 1, "more than one colour");
    let second = by_colour.facets.colours[1].clone();
    filtered.colours.push(second.value.clone());
    let either = search.search(&filtered).await.expect("search");
    assert!(either.total >= colour.count.max(second.count));
    assert!(either.total <= colour.count + second.count);
    let sizes_in_colour: u64 = by_colour.facets.sizes.iter().map(|s| s.count).sum();
    let sizes_in_all: u64 = r.facets.sizes.iter().map(|s| s.count).sum();
    assert!(
        sizes_in_colour < sizes_in_all,
        "sizes are counted within the colour"
    );
    assert_eq!(by_colour.facets.in_stock, by_colour.total);
    filtered.colours.pop();
    // An unknown facet value is ignored: the same results as without it.
    let unknown = search
        .search(&SearchQuery::from_pairs([("colour", "Ultraviolet-Plaid")]))
        .await
        .expect("search");
    assert_eq!(unknown.total, all.total);
    let mixed = search
        .search(&SearchQuery::from_pairs([
            ("colour", "Ultraviolet-Plaid"),
            ("colour", &colour.value),
        ]))
        .await
        .expect("search");
    assert!(mixed.total > 0 && mixed.total < all.total);

    // Typo budgets count the letters typed, not the stem: a 9+ letter word may carry two.
    let (long_id, long_name, long_word) = product_with_long_word(&pool, 9).await;
    let mut two: Vec<char> = long_word.chars().collect();
    two.swap(1, 2);
    two.swap(5, 6);
    let two: String = two.into_iter().collect();
    assert_eq!(
        services::search::edit_distance(&two, &long_word),
        2,
        "{two} is two typos from {long_word}"
    );
    let misspelt_twice = long_name.to_lowercase().replace(&long_word, &two);
    let r = search
        .search(&query(&misspelt_twice))
        .await
        .expect("search");
    assert!(
        r.hits.iter().take(5).any(|h| h.product_id == long_id),
        "{misspelt_twice:?} for {long_name:?}"
    );
    // A long query of many words is cut to the first ten, not an error.
    let many = "shirt ".repeat(60);
    search.search(&query(&many)).await.expect("many words");

    // Sorts.
    for (sort, ascending) in [(SearchSort::PriceAsc, true), (SearchSort::PriceDesc, false)] {
        let mut q = query("");
        q.sort = sort;
        let prices: Vec<i64> = search
            .search(&q)
            .await
            .expect("search")
            .hits
            .iter()
            .map(|h| h.min_price.amount_minor())
            .collect();
        assert!(
            prices.windows(2).all(|w| if ascending {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }),
            "{sort:?}: {prices:?}"
        );
    }

    // Pagination is stable and pages do not overlap.
    let page = |n: &str| SearchQuery::from_pairs([("q", ""), ("sort", "price-asc"), ("page", n)]);
    let p1 = search.search(&page("1")).await.expect("p1");
    let p1_again = search.search(&page("1")).await.expect("p1");
    let p2 = search.search(&page("2")).await.expect("p2");
    let ids =
        |r: &domain::search::SearchResults| r.hits.iter().map(|h| h.product_id).collect::<Vec<_>>();
    assert_eq!(ids(&p1), ids(&p1_again));
    assert_eq!(p1.hits.len(), 24);
    assert!(ids(&p2).iter().all(|id| !ids(&p1).contains(id)));

    // Query syntax is searched as text, never an error.
    for odd in [
        "\"unbalanced",
        "AND OR NOT",
        "*",
        "name:shirt",
        "(((",
        "a -b +c",
        "\\",
        "🙂",
    ] {
        search
            .search(&query(odd))
            .await
            .unwrap_or_else(|e| panic!("{odd:?}: {e}"));
    }

    // Stock to zero: once its event is processed the product leaves "in stock" results.
    let in_stock_name = SearchQuery::from_pairs([("q", name.as_str()), ("in_stock", "1")]);
    let before = search.search(&in_stock_name).await.expect("search");
    assert!(
        before.hits.iter().any(|h| h.product_id == id),
        "{name} is in stock"
    );
    let skus: Vec<String> = sqlx::query_scalar("SELECT sku FROM variants WHERE product_id = $1")
        .bind(id)
        .fetch_all(&pool)
        .await
        .expect("skus");
    for sku in &skus {
        app.services.catalog.set_stock(sku, 0).await.expect("stock");
    }
    process_events(&pool, &search).await;
    let sold_out = search.search(&in_stock_name).await.expect("search");
    assert!(sold_out.hits.iter().all(|h| h.product_id != id));
    let still_listed = search.search(&query(&name)).await.expect("search");
    let hit = still_listed.hits.iter().find(|h| h.product_id == id);
    assert!(hit.is_some_and(|h| !h.in_stock), "listed as out of stock");

    // An unpublished product disappears once its event is processed.
    app.services
        .catalog
        .set_published(&exact.hits[0].slug, false)
        .await
        .expect("unpublish");
    process_events(&pool, &search).await;
    let gone = search.search(&query(&name)).await.expect("search");
    assert!(gone.hits.iter().all(|h| h.product_id != id));
    assert!(
        search.is_in_step().await.expect("count"),
        "index count follows the catalog"
    );
}

/// Two instances behind a load balancer, each with its own embedded index: a change made
/// on one reaches the other's search results, though only the first runs the worker.
#[tokio::test]
async fn a_change_reaches_every_instance_index() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_beside(&first, |c| c.event_worker = false).await;
    let pool = sqlx::PgPool::connect(&first.database_url)
        .await
        .expect("db");
    let (name, slug) = product_with_slug(&pool).await;
    let link = format!("href=\"/p/{slug}\"");
    let path = query(&name).url(1);
    let browser = second.browser();
    assert!(second.visit(&browser, &path).await.body.contains(&link));
    first
        .services
        .catalog
        .set_published(&slug, false)
        .await
        .expect("unpublish");
    assert!(
        leaves_results(&second, &name, &slug).await,
        "the second instance's index dropped the unpublished product"
    );
}

#[tokio::test]
async fn search_pages_suggestions_and_catalog_events() {
    let app = TestApp::spawn().await;
    let pool = sqlx::PgPool::connect(&app.database_url).await.expect("db");
    let (name, slug) = product_with_slug(&pool).await;
    let browser = app.browser();
    let page = app
        .visit(&browser, &format!("/search?q={}", name.replace(' ', "+")))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("href=\"/p/{slug}\"")));
    assert!(page.body.contains("data-testid=\"facet-form\""));

    // Odd and oversized input is searched, never a 500.
    let long = "a".repeat(400);
    for q in [
        "%22unbalanced",
        "AND+OR",
        "*",
        "name%3Ashirt",
        "(((",
        long.as_str(),
    ] {
        let page = app.visit(&browser, &format!("/search?q={q}")).await;
        assert_eq!(page.status, 200, "{q}");
    }
    let nothing = app.visit(&browser, "/search?q=zzzzqqqqxxxx").await;
    assert_eq!(nothing.status, 200);
    assert_eq!(nothing.blocks("no-results", "</div>").len(), 1);
    // Nothing found: popular products to go on with, and no suggestion for gibberish.
    assert!(nothing.body.contains("data-testid=\"popular\""));
    assert!(nothing.body.matches("data-testid=\"product-card\"").count() >= 4);
    assert!(!nothing.body.contains("did-you-mean"));
    // A word misspelt beyond the search's typo budget (three letters wrong in a long
    // word) finds nothing, but the page suggests a correction that does find something.
    let (_, _, long_word) = product_with_long_word(&pool, 9).await;
    let mut mangled: Vec<char> = long_word.chars().collect();
    for (i, c) in [(1, 'q'), (4, 'x'), (7, 'z')] {
        mangled[i] = if mangled[i] == c { 'j' } else { c };
    }
    let mangled: String = mangled.into_iter().collect();
    let misspelt = app.visit(&browser, &format!("/search?q={mangled}")).await;
    assert_eq!(
        misspelt.blocks("no-results", "</div>").len(),
        1,
        "{mangled}"
    );
    let suggested = misspelt.blocks("did-you-mean", "</a>");
    assert_eq!(suggested.len(), 1, "{mangled} for {long_word}");
    let corrected = app
        .visit(
            &browser,
            &format!("/search?q={}", suggested[0].replace(' ', "+")),
        )
        .await;
    assert!(
        corrected.body.contains("data-testid=\"search-hit\""),
        "{}",
        suggested[0]
    );
    assert!(corrected.blocks("no-results", "</div>").is_empty());
    // A page past the end shows the last page, not "nothing matches".
    let past_the_end = app.visit(&browser, "/search?q=&page=999").await;
    assert_eq!(past_the_end.status, 200);
    assert!(past_the_end.body.contains("data-testid=\"search-hit\""));
    assert!(past_the_end.blocks("no-results", "</div>").is_empty());
    let unknown_facet = app.visit(&browser, "/search?q=&colour=Ultraviolet").await;
    assert_eq!(unknown_facet.status, 200);

    // The results page after hydration asks the server function, whose form encoding
    // leaves empty lists out.
    let answer = app
        .call(
            &browser,
            "/api/search",
            &[("query[text]", &name), ("query[page]", "1")],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let results: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    assert!(results["total"].as_u64().is_some_and(|n| n > 0));

    // Suggestions while typing.
    let prefix: String = name.chars().take(5).collect();
    let list: Vec<serde_json::Value> = serde_json::from_str(
        &app.call(&browser, "/api/suggest", &[("q", &prefix)])
            .await
            .body,
    )
    .expect("json");
    assert!(!list.is_empty() && list.len() <= 6);

    // Unpublishing writes an event; the worker takes the product out of the index.
    app.services
        .catalog
        .set_published(&slug, false)
        .await
        .expect("unpublish");
    assert!(
        leaves_results(&app, &name, &slug).await,
        "the unpublished product left the search results"
    );
}

/// A search engine that does not answer (here: Meilisearch configured at a closed port)
/// gives a clear message on the search page and in suggestions, while the rest of the
/// shop works.
#[tokio::test]
async fn a_dead_search_engine_says_so_and_the_shop_still_works() {
    let app = TestApp::spawn_with(|c| {
        c.meili_url = Some("http://127.0.0.1:9".into());
        c.meili_api_key = Some("a-secret-key-never-shown".into());
    })
    .await;
    let browser = app.browser();
    let page = app.visit(&browser, "/search?q=shirt").await;
    assert_eq!(page.status, 503);
    assert!(
        page.body.contains("Search is temporarily unavailable"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("a-secret-key-never-shown"));
    let suggest = app.call(&browser, "/api/suggest", &[("q", "shirt")]).await;
    assert_eq!(suggest.status, 503);
    assert!(suggest.body.contains("temporarily unavailable"));
    for path in ["/", "/c/clothing"] {
        assert_eq!(app.visit(&browser, path).await.status, 200, "{path}");
    }
}
