//! Search benchmark: generates N products (default 100,000) with the demo catalog's
//! generator, indexes them into the embedded engine (an on-disk tantivy index) and, when
//! `MEILI_URL` is set, into Meilisearch; then times typo'd two-word queries (every query
//! also counts all facets; half of them filter by a category and "in stock"). Prints
//! indexing time and p50/p99 query latency per engine.
//!
//!   bench/search.sh                 # 100,000 products, 2,000 queries
//!   PRODUCTS=20000 QUERIES=500 bench/search.sh

use domain::search::SearchQuery;
use domain::{Currency, Money};
use services::catalog::seed;
use services::search::embedded::EmbeddedEngine;
use services::search::meili::MeiliEngine;
use services::search::{SearchDocument, SearchEngine};
use std::collections::HashMap;
use std::time::Instant;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let products = env_num("PRODUCTS", 100_000);
    let queries = env_num("QUERIES", 2_000);
    let started = Instant::now();
    let data = seed::generate(products);
    let parents: HashMap<&str, Option<&str>> = data
        .categories
        .iter()
        .map(|c| (c.slug.as_str(), c.parent.as_deref()))
        .collect();
    let names: HashMap<&str, &str> = data
        .categories
        .iter()
        .map(|c| (c.slug.as_str(), c.name.as_str()))
        .collect();
    let docs: Vec<SearchDocument> = data
        .products
        .iter()
        .enumerate()
        .filter(|(_, p)| p.published && !p.variants.is_empty())
        .map(|(i, p)| {
            let mut path = vec![p.category.clone()];
            let mut at = p.category.as_str();
            while let Some(Some(parent)) = parents.get(at) {
                path.push((*parent).to_owned());
                at = parent;
            }
            let option = |name: &str| -> Vec<String> {
                let Some(n) = p.option_names.iter().position(|o| o == name) else {
                    return Vec::new();
                };
                let mut v: Vec<String> = p
                    .variants
                    .iter()
                    .filter_map(|v| v.options.get(n).cloned())
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            SearchDocument {
                product_id: i as i64 + 1,
                slug: p.slug.clone(),
                name: p.name.clone(),
                brand: p.brand.clone(),
                description: p.description.clone(),
                category_slug: p.category.clone(),
                category_names: path
                    .iter()
                    .map(|s| {
                        names
                            .get(s.as_str())
                            .copied()
                            .unwrap_or_default()
                            .to_owned()
                    })
                    .collect(),
                category_path: path,
                attributes: p
                    .attributes
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect(),
                colours: option("Colour"),
                sizes: option("Size"),
                min_price: Money::new(
                    p.variants.iter().map(|v| v.price_minor).min().unwrap_or(0),
                    Currency::Usd,
                ),
                in_stock: p.variants.iter().any(|v| v.stock > 0),
                image_url: p.images.first().map(|i| i.0.clone()).unwrap_or_default(),
                created_unix: p.created_at.timestamp(),
            }
        })
        .collect();
    let generated = started.elapsed();

    let dir = std::env::temp_dir().join(format!("emporium-search-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let embedded = EmbeddedEngine::open(&dir)?;
    println!(
        "search benchmark: {} products (generated in {:.1} s), {queries} typo'd two-word queries, all facets counted, half filtered by a category and in stock",
        docs.len(),
        generated.as_secs_f64()
    );
    println!();
    println!("| engine | indexing | products/s | p50 | p99 | queries with results | target product on page 1 |");
    println!("|---|---|---|---|---|---|---|");
    let result = run("embedded (tantivy, on disk)", &embedded, &docs, queries).await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    match std::env::var("MEILI_URL") {
        Ok(url) => {
            let uid = format!("emporium-bench-{}", std::process::id());
            let meili =
                MeiliEngine::new(&url, std::env::var("MEILI_API_KEY").ok().as_deref(), &uid)?;
            meili.prepare().await?;
            let result = run("Meilisearch", &meili, &docs, queries).await;
            meili.delete_index().await?;
            result?;
        }
        Err(_) => println!("| Meilisearch | skipped: MEILI_URL is not set | | | | | |"),
    }
    Ok(())
}

/// Indexes `docs` into `engine`, then times the queries; prints one table row.
async fn run(
    label: &str,
    engine: &dyn SearchEngine,
    docs: &[SearchDocument],
    queries: usize,
) -> anyhow::Result<()> {
    let t = Instant::now();
    engine
        .replace_all(docs.to_vec(), std::sync::Arc::new(|_, _| {}))
        .await?;
    let indexing = t.elapsed();

    // Typo'd two-word queries from product names: the first word of 5+ letters gets two
    // neighbouring letters swapped.
    let mut latencies = Vec::with_capacity(queries);
    let mut found = 0usize;
    let mut answered = 0usize;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0usize;
    while latencies.len() < queries {
        i += 1;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let d = &docs[(rng % docs.len() as u64) as usize];
        // The last two words of the name (letters only, so a "No. 2" suffix is not one).
        let words: Vec<String> = d
            .name
            .split_whitespace()
            .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '-'))
            .map(str::to_lowercase)
            .collect();
        let mut q: Vec<String> = words.iter().rev().take(2).rev().cloned().collect();
        // One typo: two different neighbouring letters of a 5+ letter word swapped (not
        // in a hyphenated word: the engines read "dual-port" as two short words).
        let Some(w) = q.iter_mut().find(|w| w.len() >= 5 && !w.contains('-')) else {
            continue;
        };
        let mut c: Vec<char> = w.chars().collect();
        let at = (1..c.len() - 1).find(|&k| c[k] != c[k + 1]).unwrap_or(1);
        c.swap(at, at + 1);
        *w = c.into_iter().collect();
        let mut query = SearchQuery {
            text: q.join(" "),
            page: 1,
            ..Default::default()
        };
        if i % 2 == 1 {
            query
                .categories
                .push(d.category_path.last().cloned().unwrap_or_default());
            query.in_stock_only = true;
        }
        let t = Instant::now();
        let r = engine.search(&query).await?;
        latencies.push(t.elapsed().as_micros() as u64);
        if r.total > 0 {
            answered += 1;
        }
        if r.hits.iter().any(|h| h.product_id == d.product_id) {
            found += 1;
        }
    }
    let asked = latencies.len();
    let (p50, p99) = percentiles(latencies);
    println!(
        "| {label} | {:.1} s | {:.0} | {p50:.2} ms | {p99:.2} ms | {answered} of {asked} | {found} |",
        indexing.as_secs_f64(),
        docs.len() as f64 / indexing.as_secs_f64(),
    );
    // Browsing everything (the empty query): every product matches and every facet is
    // counted over all of them.
    let mut browse = Vec::new();
    for page in 1..=100 {
        let query = SearchQuery {
            page,
            ..Default::default()
        };
        let t = Instant::now();
        engine.search(&query).await?;
        browse.push(t.elapsed().as_micros() as u64);
    }
    let (p50, p99) = percentiles(browse);
    println!(
        "| {label}, browse all (empty query, 100 pages) | | | {p50:.2} ms | {p99:.2} ms | | |"
    );
    Ok(())
}

/// (p50, p99) in milliseconds of latencies in microseconds.
fn percentiles(mut latencies: Vec<u64>) -> (f64, f64) {
    latencies.sort_unstable();
    let pct =
        |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    (pct(0.50), pct(0.99))
}
