//! Search: full text over the catalog with typo tolerance, prefixes, facets, filters,
//! sorting and highlights.
//!
//! Two engines behind one trait, held to one conformance suite: the embedded engine
//! (tantivy, an index on local disk) is the default and needs nothing installed;
//! Meilisearch is used when `MEILI_URL` is set. Search documents are built from
//! PostgreSQL here, so every engine indexes the same facts.

pub mod embedded;
mod fallback;
pub mod meili;

use crate::catalog::CatalogService;
use domain::search::{FacetValue, SearchQuery, SearchResults, PRICE_BUCKETS};
use domain::{Currency, Money};
use sqlx::PgPool;
use std::sync::Arc;

/// Progress of a rebuild: (documents written, total).
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// What a search engine does. Every engine has the same behaviour: each query word must
/// match (one typo from 5 typed letters, two from 9), the last word also as a prefix;
/// facet counts over the filtered results, where a group with a selection is counted
/// without its own selection (its values are OR-ed, so the counts say what adding one
/// would add); facet values the index has never seen are
/// ignored; names highlighted with `<mark>` and HTML-escaped otherwise.
#[async_trait::async_trait]
pub trait SearchEngine: Send + Sync {
    /// "embedded" or "meilisearch", for logs and the conformance suite.
    fn name(&self) -> &'static str;
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError>;
    /// Writes documents (replacing those with the same product id) and removes `deleted`;
    /// the change is visible to searches when this returns.
    async fn apply(
        &self,
        upserts: Vec<SearchDocument>,
        deleted: Vec<i64>,
    ) -> Result<(), SearchError>;
    /// Replaces the whole index with `docs`; searches see the old index until the new one
    /// is complete.
    async fn replace_all(
        &self,
        docs: Vec<SearchDocument>,
        progress: Progress,
    ) -> Result<(), SearchError>;
    async fn document_count(&self) -> Result<u64, SearchError>;
    /// Whether every instance of the shop uses this one index (Meilisearch), rather than
    /// an index of its own (embedded).
    fn shared(&self) -> bool;
}

/// A value and when it was kept.
type Kept<T> = Option<(std::time::Instant, Arc<T>)>;

/// A value kept for a while, shared by clones.
pub(crate) struct Expiring<T> {
    slot: Arc<std::sync::Mutex<Kept<T>>>,
    ttl: std::time::Duration,
}

impl<T> Clone for Expiring<T> {
    fn clone(&self) -> Self {
        Self {
            slot: Arc::clone(&self.slot),
            ttl: self.ttl,
        }
    }
}

impl<T> Expiring<T> {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            slot: Arc::default(),
            ttl,
        }
    }

    /// The value, unless none was kept or it is older than the time to live.
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        let slot = self.slot.lock().ok()?;
        slot.as_ref()
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, value)| Arc::clone(value))
    }

    pub(crate) fn put(&self, value: Arc<T>) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((std::time::Instant::now(), value));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = None;
        }
    }
}

/// Facet values ordered by count (most first), then value.
pub(crate) fn facet_values(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<FacetValue> {
    let mut values: Vec<FacetValue> = counts
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(value, count)| FacetValue {
            label: value.clone(),
            value,
            count,
        })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    values
}

/// Price bucket facet values in bucket order, labelled ("$25 to $50").
pub(crate) fn price_facet_values(
    counts: impl IntoIterator<Item = (String, u64)>,
) -> Vec<FacetValue> {
    let mut prices = facet_values(counts);
    prices.sort_by_key(|v| PRICE_BUCKETS.iter().position(|(k, ..)| *k == v.value));
    for p in &mut prices {
        if let Some((_, label, ..)) = PRICE_BUCKETS.iter().find(|(k, ..)| *k == p.value) {
            p.label = (*label).to_owned();
        }
    }
    prices
}

/// Typos allowed in a word as typed: none up to 4 characters, one from 5, two from 9
/// (Meilisearch's defaults).
pub(crate) fn typo_budget(typed: &str) -> u8 {
    match typed.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two
/// neighbouring letters as one each.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// Text with matches between `open` and `close` markers (which never occur in shop text)
/// as HTML: escaped, with the matches in `<mark>`.
pub(crate) fn marked_html(text: &str, open: &str, close: &str) -> String {
    domain::escape_markup(text)
        .replace(open, "<mark>")
        .replace(close, "</mark>")
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search engine: {0}")]
    Engine(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("another instance is rebuilding the search index")]
    RebuildRunning,
}

/// Changes committed this long before a rebuild read the catalog are refreshed again
/// after it, so a transaction that was still open then is not lost.
const REBUILD_MARGIN_SECS: f64 = 60.0;

/// A product as the search engines index it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDocument {
    pub product_id: i64,
    pub slug: String,
    pub name: String,
    pub brand: String,
    pub description: String,
    /// The product's own category.
    pub category_slug: String,
    /// Its category and every ancestor, by slug (a filter on a parent finds it).
    pub category_path: Vec<String>,
    /// Names of the same categories, searchable as text.
    pub category_names: Vec<String>,
    /// "name value" pairs and option values, searchable as text.
    pub attributes: Vec<String>,
    pub colours: Vec<String>,
    pub sizes: Vec<String>,
    pub min_price: Money,
    pub in_stock: bool,
    pub image_url: String,
    pub created_unix: i64,
}

/// What wakes the task that keeps an instance's own index in step.
enum Wake {
    /// A product changed (`None`: anything may have).
    Changed(Option<i64>),
    /// Try again what failed.
    Retry,
}

/// Search over the catalog; cheap to clone.
#[derive(Clone)]
pub struct SearchService {
    pool: PgPool,
    engine: Arc<dyn SearchEngine>,
    catalog: CatalogService,
    fallback: fallback::Fallback,
    currency: Currency,
    /// Counts changes applied to the index through this service (see [`Self::generation`]).
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl SearchService {
    pub fn new(catalog: &CatalogService, pool: PgPool, engine: Arc<dyn SearchEngine>) -> Self {
        Self {
            pool,
            engine,
            catalog: catalog.clone(),
            fallback: fallback::Fallback::default(),
            currency: catalog.currency(),
            generation: Arc::default(),
        }
    }

    /// A number that changes after every change to the index made through this service,
    /// once searches can see it. Results read while it stays the same are current — for
    /// an index of this instance's own ([`Self::index_is_shared`] false), which only this
    /// service writes.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether every instance uses one index (Meilisearch), which other instances change
    /// without this one knowing when.
    pub fn index_is_shared(&self) -> bool {
        self.engine.shared()
    }

    fn changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The engine's name ("embedded", "meilisearch").
    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    /// Search documents for published products: all of them, or those in `ids` (the
    /// returned list then leaves out ids that are gone or unpublished).
    pub async fn documents(&self, ids: Option<&[i64]>) -> Result<Vec<SearchDocument>, SearchError> {
        let rows = sqlx::query!(
            r#"WITH RECURSIVE path AS (
                   SELECT c.id AS leaf, c.id, c.parent_id, c.slug, c.name, 0 AS depth FROM categories c
                   UNION ALL
                   SELECT path.leaf, p.id, p.parent_id, p.slug, p.name, path.depth + 1
                   FROM path JOIN categories p ON p.id = path.parent_id
                   WHERE path.depth < 10
               )
               SELECT p.id, p.slug, p.name, p.brand, p.description, p.created_at,
                      c.slug AS category_slug,
                      ARRAY(SELECT slug FROM path WHERE leaf = p.category_id ORDER BY depth) AS "category_path!",
                      ARRAY(SELECT name FROM path WHERE leaf = p.category_id ORDER BY depth) AS "category_names!",
                      ARRAY(SELECT a.name || ' ' || a.value FROM product_attributes a WHERE a.product_id = p.id ORDER BY a.position) AS "attributes!",
                      array_remove(ARRAY(SELECT DISTINCT v.option_values[i.n] FROM variants v,
                              LATERAL (SELECT array_position(p.option_names, 'Colour') AS n) i
                            WHERE v.product_id = p.id AND v.archived_at IS NULL AND i.n IS NOT NULL), NULL) AS "colours!",
                      array_remove(ARRAY(SELECT DISTINCT v.option_values[i.n] FROM variants v,
                              LATERAL (SELECT array_position(p.option_names, 'Size') AS n) i
                            WHERE v.product_id = p.id AND v.archived_at IS NULL AND i.n IS NOT NULL), NULL) AS "sizes!",
                      (SELECT min(v.price_minor) FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL) AS "min_price!",
                      EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL AND v.stock_on_hand > 0) AS "in_stock!",
                      COALESCE((SELECT i.url FROM product_images i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1), '') AS "image_url!"
               FROM products p JOIN categories c ON c.id = p.category_id
               WHERE p.published AND ($1::bigint[] IS NULL OR p.id = ANY($1))
                 AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL)
               ORDER BY p.id"#,
            ids
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SearchDocument {
                product_id: r.id,
                slug: r.slug,
                name: r.name,
                brand: r.brand,
                description: crate::catalog::description_text(&r.description),
                category_slug: r.category_slug,
                category_path: r.category_path,
                category_names: r.category_names,
                attributes: r.attributes,
                colours: r.colours,
                sizes: r.sizes,
                min_price: Money::new(r.min_price, self.currency),
                in_stock: r.in_stock,
                image_url: r.image_url,
                created_unix: r.created_at.timestamp(),
            })
            .collect())
    }

    /// Whether the index holds as many products as PostgreSQL has searchable ones.
    pub async fn is_in_step(&self) -> Result<bool, SearchError> {
        let published: i64 = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM products p
               WHERE p.published AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.archived_at IS NULL)"#
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(published).unwrap_or(0) == self.engine.document_count().await?)
    }

    /// Rebuilds the whole index from PostgreSQL; returns the number of products indexed.
    pub async fn reindex(&self) -> Result<usize, SearchError> {
        self.reindex_with_progress(Arc::new(|_, _| {})).await
    }

    /// [`reindex`](Self::reindex), reporting (done, total) as it goes.
    /// A shared index (Meilisearch) is rebuilt by one instance at a time (a PostgreSQL
    /// advisory lock; another instance gets [`SearchError::RebuildRunning`]). Products
    /// that change while the rebuild runs are refreshed after it.
    pub async fn reindex_with_progress(&self, progress: Progress) -> Result<usize, SearchError> {
        // A connection of its own, closed at the end: the lock can never stay behind in
        // the pool, and ends with the session if this process dies.
        let mut lock = None;
        if self.engine.shared() {
            let mut conn = self.pool.acquire().await?.detach();
            let locked = sqlx::query_scalar!(
                r#"SELECT pg_try_advisory_lock(hashtext('emporium.search.rebuild')) AS "locked!""#
            )
            .fetch_one(&mut conn)
            .await?;
            if !locked {
                return Err(SearchError::RebuildRunning);
            }
            lock = Some(conn);
        }
        let started: f64 = sqlx::query_scalar!(
            r#"SELECT extract(epoch FROM clock_timestamp())::float8 AS "now!""#
        )
        .fetch_one(&self.pool)
        .await?;
        let rebuilt = async {
            let docs = self.documents(None).await?;
            let n = docs.len();
            let replaced = self.engine.replace_all(docs, progress).await;
            self.changed();
            replaced?;
            // Changes the rebuild may have missed: committed while it ran, or by a
            // transaction that began shortly before it.
            let changed = sqlx::query_scalar!(
                r#"SELECT DISTINCT (payload->>'product_id')::bigint AS "id!"
                   FROM event_log
                   WHERE topic = 'product.changed'
                     AND created_at >= to_timestamp($1::float8)
                     AND payload ? 'product_id'"#,
                started - REBUILD_MARGIN_SECS
            )
            .fetch_all(&self.pool)
            .await?;
            if !changed.is_empty() {
                self.refresh(&changed).await?;
            }
            Ok(n)
        }
        .await;
        if let Some(conn) = lock {
            // Closing the session releases the lock.
            let _ = sqlx::Connection::close(conn).await;
        }
        rebuilt
    }

    /// Brings the given products up to date in the index (removing those that are gone or
    /// unpublished).
    pub async fn refresh(&self, product_ids: &[i64]) -> Result<(), SearchError> {
        let docs = self.documents(Some(product_ids)).await?;
        let found: std::collections::HashSet<i64> = docs.iter().map(|d| d.product_id).collect();
        let gone: Vec<i64> = product_ids
            .iter()
            .copied()
            .filter(|id| !found.contains(id))
            .collect();
        let applied = self.engine.apply(docs, gone).await;
        // Also after a failure: part of the change may have become visible.
        self.changed();
        applied
    }

    /// Keeps this instance's own index in step with changes announced by any instance
    /// (PostgreSQL NOTIFY): returns a function taking the changed product's id (`None`:
    /// anything may have changed), which refreshes the products changed within 100 ms in
    /// one batch, or rebuilds the index after a `None`. A failed refresh is retried with
    /// the next batch. For a shared index (Meilisearch) the event worker's refresh is
    /// enough, and the function does nothing.
    pub fn follow_changes(&self) -> impl Fn(Option<i64>) + Send + 'static {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Wake>();
        if !self.engine.shared() {
            let search = self.clone();
            let retry = tx.downgrade();
            tokio::spawn(async move {
                let mut ids = std::collections::BTreeSet::new();
                let mut everything = false;
                while let Some(first) = rx.recv().await {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    let more = std::iter::from_fn(|| rx.try_recv().ok());
                    for wake in std::iter::once(first).chain(more) {
                        match wake {
                            Wake::Changed(Some(id)) => {
                                ids.insert(id);
                            }
                            Wake::Changed(None) => everything = true,
                            Wake::Retry => {}
                        }
                    }
                    if ids.is_empty() && !everything {
                        continue;
                    }
                    let done = if everything {
                        search.reindex().await.map(|_| ())
                    } else {
                        search
                            .refresh(&ids.iter().copied().collect::<Vec<_>>())
                            .await
                    };
                    match done {
                        Ok(()) => {
                            ids.clear();
                            everything = false;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, products = ids.len(), "updating the search index after a catalog change failed; retrying in 2 s");
                            let retry = retry.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                                if let Some(tx) = retry.upgrade() {
                                    let _ = tx.send(Wake::Retry);
                                }
                            });
                        }
                    }
                }
            });
        }
        move |change| {
            let _ = tx.send(Wake::Changed(change));
        }
    }

    /// A search for the results page: when nothing matches, the results carry a spelling
    /// suggestion (if the corrected query finds something) and popular products.
    /// A page past the end shows the last page.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        let mut results = self.engine.search(query).await?;
        let pages = usize::try_from(results.total)
            .unwrap_or(usize::MAX)
            .div_ceil(domain::search::SEARCH_PER_PAGE);
        if results.hits.is_empty() && pages > 0 && query.page > pages {
            let last = SearchQuery {
                page: pages,
                ..query.clone()
            };
            results = self.engine.search(&last).await?;
        }
        if results.total == 0 {
            self.help(query, &mut results).await;
        }
        self.name_categories(&mut results).await;
        Ok(results)
    }

    /// Category facets come from the index as slugs; shoppers read the category's name.
    /// Without the category tree (database down) the slugs stay, and the page still works.
    async fn name_categories(&self, results: &mut SearchResults) {
        if results.facets.categories.is_empty() {
            return;
        }
        match self.catalog.tree().await {
            Ok(tree) => {
                for facet in &mut results.facets.categories {
                    if let Some(node) = tree.by_slug(&facet.value) {
                        facet.label.clone_from(&node.name);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "category facets keep their slugs: no category tree")
            }
        }
    }

    /// A search without the no-results help (suggestions while typing).
    pub async fn suggest(&self, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        self.engine.search(query).await
    }

    /// Fills the no-results help; a failure leaves it out (the page still says nothing
    /// matched).
    async fn help(&self, query: &SearchQuery, results: &mut SearchResults) {
        if !query.text.is_empty() {
            match self.fallback.correct(&self.pool, &query.text).await {
                Ok(Some(corrected)) => {
                    let retry = SearchQuery {
                        text: corrected.clone(),
                        page: 1,
                        ..query.clone()
                    };
                    if self.engine.search(&retry).await.is_ok_and(|r| r.total > 0) {
                        results.suggestion = Some(corrected);
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "no spelling suggestion"),
            }
        }
        match self.fallback.popular(&self.catalog).await {
            Ok(products) => results.popular = products.to_vec(),
            Err(e) => tracing::warn!(error = %e, "no popular products"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("shirt", "shirt"), 0);
        assert_eq!(edit_distance("shrit", "shirt"), 1);
        assert_eq!(edit_distance("shit", "shirt"), 1);
        assert_eq!(edit_distance("jackte", "jacket"), 1);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn typo_budgets_follow_the_typed_length() {
        assert_eq!(typo_budget("shoe"), 0);
        assert_eq!(typo_budget("shoes"), 1);
        assert_eq!(typo_budget("raincoats"), 2);
    }
}
