//! The Meilisearch engine, used when `MEILI_URL` is set: one index of products whose
//! settings (searchable, filterable and sortable attributes, typo tolerance, ranking rules)
//! are applied at start. Every write is awaited as a Meilisearch task, so a change is
//! searchable when [`SearchEngine::apply`] returns. A rebuild fills a new index and swaps
//! it in, so searches never see a half-built one; it first deletes what an earlier,
//! unfinished rebuild left.
//!
//! Its behaviour matches the embedded engine's: every word must match (matching strategy
//! "all"), typo budgets of one from 5 letters and two from 9, the last word as a prefix,
//! facet counts over the filtered results (a group with a selection counted
//! without its own selection), unknown facet values ignored, and query syntax
//! (quotes, a leading `-`) searched as text.

use super::{
    facet_values, marked_html, price_facet_values, Expiring, Progress, SearchDocument,
    SearchEngine, SearchError,
};
use domain::search::{
    price_bucket, FacetCounts, SearchHit, SearchQuery, SearchResults, SearchSort, MAX_QUERY_WORDS,
    SEARCH_PER_PAGE,
};
use domain::{Currency, Money};
use meilisearch_sdk::client::{Client, SwapIndexes};
use meilisearch_sdk::indexes::{Index, IndexesQuery};
use meilisearch_sdk::search::{MatchingStrategies, Selectors};
use meilisearch_sdk::settings::{
    FacetingSettings, MinWordSizeForTypos, PaginationSetting, Settings, TypoToleranceSettings,
};
use meilisearch_sdk::task_info::TaskInfo;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A search or a small read waits at most this long for Meilisearch.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// A write task (settings, a batch of documents) may take this long to be processed.
const TASK_TIMEOUT: Duration = Duration::from_secs(300);
const BATCH: usize = 5_000;
/// Exhaustive counts up to this many hits.
const MAX_TOTAL_HITS: usize = 100_000;
/// The set of facet values the index holds is re-read at most this often (and after
/// every write from this process).
const KNOWN_VALUES_TTL: Duration = Duration::from_secs(30);
/// Highlight markers that never occur in shop text; replaced by `<mark>` after escaping.
const PRE: &str = "\u{2}";
const POST: &str = "\u{3}";

/// Filterable facet attributes, in the order the query's groups are read.
const FACETS: [&str; 5] = [
    "category_path",
    "colours",
    "sizes",
    "price_bucket",
    "in_stock",
];
const RETRIEVED: [&str; 9] = [
    "id", "slug", "name", "brand", "category", "image", "price", "currency", "in_stock",
];

/// A product as Meilisearch stores it.
#[derive(Serialize)]
struct MeiliDocument<'a> {
    id: i64,
    slug: &'a str,
    name: &'a str,
    brand: &'a str,
    description: &'a str,
    category: &'a str,
    category_path: &'a [String],
    category_names: &'a [String],
    attributes: &'a [String],
    colours: &'a [String],
    sizes: &'a [String],
    price: i64,
    currency: &'a str,
    price_bucket: &'a str,
    in_stock: bool,
    image: &'a str,
    created: i64,
}

impl<'a> From<&'a SearchDocument> for MeiliDocument<'a> {
    fn from(d: &'a SearchDocument) -> Self {
        MeiliDocument {
            id: d.product_id,
            slug: &d.slug,
            name: &d.name,
            brand: &d.brand,
            description: &d.description,
            category: &d.category_slug,
            category_path: &d.category_path,
            category_names: &d.category_names,
            attributes: &d.attributes,
            colours: &d.colours,
            sizes: &d.sizes,
            price: d.min_price.amount_minor(),
            currency: d.min_price.currency().code(),
            price_bucket: price_bucket(d.min_price.amount_minor()),
            in_stock: d.in_stock,
            image: &d.image_url,
            created: d.created_unix,
        }
    }
}

/// The fields a result needs.
#[derive(Deserialize)]
struct Hit {
    id: i64,
    slug: String,
    name: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    image: String,
    price: i64,
    currency: String,
    in_stock: bool,
}

type KnownValues = HashMap<String, HashSet<String>>;

/// The Meilisearch engine; cheap to clone.
#[derive(Clone)]
pub struct MeiliEngine {
    client: Client,
    uid: String,
    known: Expiring<KnownValues>,
    /// The index exists with its settings (checked at start; until it succeeds, before
    /// every request, so a Meilisearch that was down at start is set up when it returns).
    ready: Arc<AtomicBool>,
}

fn engine_error(e: impl std::fmt::Display) -> SearchError {
    SearchError::Engine(format!("meilisearch: {e}"))
}

/// Runs a request, giving up after `limit`.
async fn bounded<T, E: std::fmt::Display>(
    limit: Duration,
    request: impl Future<Output = Result<T, E>>,
) -> Result<T, SearchError> {
    match tokio::time::timeout(limit, request).await {
        Ok(result) => result.map_err(engine_error),
        Err(_) => Err(engine_error(format!(
            "no answer within {} s",
            limit.as_secs()
        ))),
    }
}

/// Text as Meilisearch should search it: quotes (phrase search) and a leading `-`
/// (exclusion) are not operators here, the words are searched as typed; at most
/// [`MAX_QUERY_WORDS`] words.
fn plain_text(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '"')
        .map(|w| w.trim_start_matches('-'))
        .filter(|w| !w.is_empty())
        .take(MAX_QUERY_WORDS)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A string literal in Meilisearch's filter syntax, which unescapes `\"` only: values
/// holding a backslash cannot be written and are left out (as unknown values are).
fn quoted(value: &str) -> Option<String> {
    (!value.contains('\\')).then(|| format!("\"{}\"", value.replace('"', "\\\"")))
}

fn settings() -> Settings {
    Settings::new()
        .with_searchable_attributes([
            "name",
            "brand",
            "category_names",
            "attributes",
            "description",
        ])
        .with_filterable_attributes(FACETS)
        .with_sortable_attributes(["price", "created", "id"])
        // Meilisearch's default rules, then the product id: equal results keep one order,
        // so pages never overlap.
        .with_ranking_rules([
            "words",
            "typo",
            "proximity",
            "attribute",
            "sort",
            "exactness",
            "id:asc",
        ])
        .with_typo_tolerance(TypoToleranceSettings {
            enabled: Some(true),
            min_word_size_for_typos: Some(MinWordSizeForTypos {
                one_typo: Some(5),
                two_typos: Some(9),
            }),
            ..Default::default()
        })
        .with_pagination(PaginationSetting {
            max_total_hits: MAX_TOTAL_HITS,
        })
        .with_faceting(FacetingSettings {
            max_values_per_facet: 1_000,
            sort_facet_values_by: None,
        })
}

impl MeiliEngine {
    /// A client for the index `uid` at `url`. Nothing is sent until [`prepare`](Self::prepare).
    pub fn new(url: &str, api_key: Option<&str>, uid: &str) -> Result<Self, SearchError> {
        let client = Client::new(url.trim_end_matches('/'), api_key.map(str::to_owned))
            .map_err(engine_error)?;
        Ok(Self {
            client,
            uid: uid.to_owned(),
            known: Expiring::new(KNOWN_VALUES_TTL),
            ready: Arc::new(AtomicBool::new(false)),
        })
    }

    fn index(&self) -> Index {
        self.client.index(&self.uid)
    }

    async fn wait(&self, task: TaskInfo) -> Result<(), SearchError> {
        let task = bounded(
            TASK_TIMEOUT + Duration::from_secs(5),
            task.wait_for_completion(
                &self.client,
                Some(Duration::from_millis(20)),
                Some(TASK_TIMEOUT),
            ),
        )
        .await?;
        if task.is_failure() {
            return Err(engine_error(task.unwrap_failure()));
        }
        Ok(())
    }

    /// Creates `uid` (primary key `id`) unless it exists, and applies the settings.
    async fn set_up(&self, uid: &str) -> Result<(), SearchError> {
        let exists = bounded(REQUEST_TIMEOUT, self.client.get_raw_index(uid))
            .await
            .is_ok();
        if !exists {
            let task = bounded(REQUEST_TIMEOUT, self.client.create_index(uid, Some("id"))).await?;
            // Another instance may have created it meanwhile: that is fine.
            let _ = self.wait(task).await;
        }
        let task = bounded(
            REQUEST_TIMEOUT,
            self.client.index(uid).set_settings(&settings()),
        )
        .await?;
        self.wait(task).await
    }

    /// Creates the index if needed and applies the settings (at start).
    pub async fn prepare(&self) -> Result<(), SearchError> {
        self.set_up(&self.uid).await?;
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    /// [`prepare`](Self::prepare) unless that has succeeded already.
    async fn ensure_ready(&self) -> Result<(), SearchError> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        self.prepare().await
    }

    /// Deletes the index (tests).
    pub async fn delete_index(&self) -> Result<(), SearchError> {
        let task = bounded(REQUEST_TIMEOUT, self.client.delete_index(&self.uid)).await?;
        self.wait(task).await
    }

    async fn add(&self, index: &Index, docs: &[SearchDocument]) -> Result<(), SearchError> {
        let docs: Vec<MeiliDocument<'_>> = docs.iter().map(MeiliDocument::from).collect();
        let task = bounded(
            REQUEST_TIMEOUT * 10,
            index.add_or_replace(&docs, Some("id")),
        )
        .await?;
        self.wait(task).await
    }

    /// Deletes indexes left by rebuilds that never finished (a process that died
    /// mid-way). Called by a rebuild, which runs on one instance at a time.
    async fn remove_abandoned_rebuilds(&self) -> Result<(), SearchError> {
        let prefix = format!("{}-rebuild-", self.uid);
        let mut query = IndexesQuery::new(&self.client);
        query.with_limit(1_000);
        let indexes = bounded(REQUEST_TIMEOUT, self.client.list_all_indexes_with(&query)).await?;
        for index in indexes.results {
            if index.uid.starts_with(&prefix) {
                tracing::info!(index = %index.uid, "deleting an unfinished search index rebuild");
                let task = bounded(REQUEST_TIMEOUT, self.client.delete_index(&index.uid)).await?;
                self.wait(task).await?;
            }
        }
        Ok(())
    }

    fn forget_known_values(&self) {
        self.known.clear();
    }

    /// Every facet value the index holds, by attribute (cached briefly).
    async fn known_values(&self) -> Result<Arc<KnownValues>, SearchError> {
        if let Some(values) = self.known.get() {
            return Ok(values);
        }
        let index = self.index();
        let mut query = index.search();
        query
            .with_query("")
            .with_limit(0)
            .with_facets(Selectors::Some(&FACETS));
        let results = bounded(REQUEST_TIMEOUT, query.execute::<serde_json::Value>()).await?;
        let values: KnownValues = results
            .facet_distribution
            .unwrap_or_default()
            .into_iter()
            .map(|(attribute, counts)| (attribute, counts.into_keys().collect()))
            .collect();
        let values = Arc::new(values);
        self.known.put(Arc::clone(&values));
        Ok(values)
    }

    /// The filters of a query's selections, each with its attribute, leaving out values
    /// the index has never seen.
    async fn filters(&self, q: &SearchQuery) -> Result<Vec<(&'static str, String)>, SearchError> {
        let groups = [&q.categories, &q.colours, &q.sizes, &q.prices];
        let mut parts = Vec::new();
        if groups.iter().any(|values| !values.is_empty()) {
            let known = self.known_values().await?;
            for (attribute, values) in FACETS.iter().zip(groups) {
                let seen = known.get(*attribute);
                let values: Vec<String> = values
                    .iter()
                    .take(20)
                    .filter(|v| seen.is_some_and(|seen| seen.contains(*v)))
                    .filter_map(|v| quoted(v))
                    .collect();
                if !values.is_empty() {
                    parts.push((
                        *attribute,
                        format!("{attribute} IN [{}]", values.join(", ")),
                    ));
                }
            }
        }
        if q.in_stock_only {
            parts.push(("in_stock", "in_stock = true".to_owned()));
        }
        Ok(parts)
    }
}

/// The filters joined, leaving out those on `skip`.
fn joined(filters: &[(&'static str, String)], skip: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = filters
        .iter()
        .filter(|(attribute, _)| Some(*attribute) != skip)
        .map(|(_, filter)| filter.as_str())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

#[async_trait::async_trait]
impl SearchEngine for MeiliEngine {
    fn name(&self) -> &'static str {
        "meilisearch"
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        self.ensure_ready().await?;
        let text = plain_text(&q.text);
        let filters = self.filters(q).await?;
        let filter = joined(&filters, None);
        // A group with a selection is counted without its own selection, so its other
        // values show what choosing them too would add (values of a group are OR-ed).
        let own: Vec<(&'static str, Option<String>)> = filters
            .iter()
            .filter(|(attribute, _)| *attribute != "in_stock")
            .map(|(attribute, _)| (*attribute, joined(&filters, Some(attribute))))
            .collect();
        let page = q.page.max(1);
        let sort: &[&str] = match q.sort {
            SearchSort::Relevance => &[],
            SearchSort::PriceAsc => &["price:asc"],
            SearchSort::PriceDesc => &["price:desc"],
            SearchSort::Newest => &["created:desc"],
        };
        let index = self.index();
        let mut query = index.search();
        query
            .with_query(&text)
            .with_page(page)
            .with_hits_per_page(SEARCH_PER_PAGE)
            .with_matching_strategy(MatchingStrategies::ALL)
            .with_facets(Selectors::Some(&FACETS))
            .with_attributes_to_retrieve(Selectors::Some(&RETRIEVED))
            .with_attributes_to_highlight(Selectors::Some(&["name"]))
            .with_highlight_pre_tag(PRE)
            .with_highlight_post_tag(POST);
        if let Some(filter) = filter.as_deref() {
            query.with_filter(filter);
        }
        if !sort.is_empty() {
            query.with_sort(sort);
        }
        let mut multi = self.client.multi_search();
        multi.with_search_query(query.build());
        for (attribute, filter) in &own {
            let mut counts = index.search();
            counts
                .with_query(&text)
                .with_limit(0)
                .with_matching_strategy(MatchingStrategies::ALL)
                .with_facets(Selectors::Some(std::slice::from_ref(attribute)));
            if let Some(filter) = filter.as_deref() {
                counts.with_filter(filter);
            }
            multi.with_search_query(counts.build());
        }
        let mut responses = bounded(REQUEST_TIMEOUT, multi.execute::<Hit>())
            .await?
            .results
            .into_iter();
        let results = responses
            .next()
            .ok_or_else(|| engine_error("an empty multi-search answer"))?;
        let mut distribution = results.facet_distribution.unwrap_or_default();
        for ((attribute, _), response) in own.iter().zip(responses) {
            let counts = response
                .facet_distribution
                .and_then(|mut d| d.remove(*attribute))
                .unwrap_or_default();
            distribution.insert((*attribute).to_owned(), counts);
        }
        let hits = results
            .hits
            .into_iter()
            .map(|r| {
                let h = r.result;
                let highlighted = r
                    .formatted_result
                    .as_ref()
                    .and_then(|f| f.get("name"))
                    .and_then(|v| v.as_str())
                    .unwrap_or(&h.name);
                let currency = Currency::parse(&h.currency).unwrap_or(Currency::Usd);
                SearchHit {
                    product_id: h.id,
                    slug: h.slug,
                    name_html: marked_html(highlighted, PRE, POST),
                    name: h.name,
                    brand: h.brand,
                    category: h.category,
                    image_url: h.image,
                    min_price: Money::new(h.price, currency),
                    in_stock: h.in_stock,
                }
            })
            .collect();
        let mut counts = |attribute: &str| -> Vec<(String, u64)> {
            distribution
                .remove(attribute)
                .unwrap_or_default()
                .into_iter()
                .map(|(value, n)| (value, u64::try_from(n).unwrap_or(0)))
                .collect()
        };
        let categories = facet_values(counts("category_path"));
        let colours = facet_values(counts("colours"));
        let sizes = facet_values(counts("sizes"));
        let prices = price_facet_values(counts("price_bucket"));
        let in_stock = counts("in_stock")
            .into_iter()
            .find(|(value, _)| value == "true")
            .map_or(0, |(_, n)| n);
        Ok(SearchResults {
            hits,
            total: u64::try_from(results.total_hits.unwrap_or(0)).unwrap_or(0),
            facets: FacetCounts {
                categories,
                colours,
                sizes,
                prices,
                in_stock,
            },
            page,
            suggestion: None,
            popular: Vec::new(),
        })
    }

    async fn apply(
        &self,
        upserts: Vec<SearchDocument>,
        deleted: Vec<i64>,
    ) -> Result<(), SearchError> {
        self.ensure_ready().await?;
        let index = self.index();
        if !deleted.is_empty() {
            let task = bounded(REQUEST_TIMEOUT, index.delete_documents(&deleted)).await?;
            self.wait(task).await?;
        }
        if !upserts.is_empty() {
            self.add(&index, &upserts).await?;
        }
        self.forget_known_values();
        Ok(())
    }

    async fn replace_all(
        &self,
        docs: Vec<SearchDocument>,
        progress: Progress,
    ) -> Result<(), SearchError> {
        self.remove_abandoned_rebuilds().await?;
        let suffix = crate::random::hex(6).map_err(engine_error)?;
        let fresh = format!("{}-rebuild-{suffix}", self.uid);
        let build = async {
            self.set_up(&fresh).await?;
            let index = self.client.index(&fresh);
            let mut done = 0;
            for batch in docs.chunks(BATCH) {
                self.add(&index, batch).await?;
                done += batch.len();
                progress(done, docs.len());
            }
            progress(docs.len(), docs.len());
            // Swapping needs both indexes to exist.
            self.prepare().await?;
            let swap = SwapIndexes {
                indexes: (self.uid.clone(), fresh.clone()),
                rename: None,
            };
            let task = bounded(REQUEST_TIMEOUT, self.client.swap_indexes([&swap])).await?;
            self.wait(task).await
        };
        let built = build.await;
        // The new index now has the old documents (or the build failed): either way it goes.
        if let Ok(task) = bounded(REQUEST_TIMEOUT, self.client.delete_index(&fresh)).await {
            let _ = self.wait(task).await;
        }
        self.forget_known_values();
        built
    }

    async fn document_count(&self) -> Result<u64, SearchError> {
        self.ensure_ready().await?;
        let stats = bounded(REQUEST_TIMEOUT, self.index().get_stats()).await?;
        Ok(u64::try_from(stats.number_of_documents).unwrap_or(0))
    }

    fn shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_is_searched_as_text() {
        assert_eq!(plain_text("\"blue shirt"), "blue shirt");
        assert_eq!(plain_text("shirt -red --x"), "shirt red x");
        assert_eq!(plain_text("  a   b "), "a b");
        assert_eq!(
            plain_text(&"w ".repeat(40)).split(' ').count(),
            MAX_QUERY_WORDS
        );
    }

    #[test]
    fn filter_values_are_quoted() {
        assert_eq!(quoted("Navy").as_deref(), Some("\"Navy\""));
        assert_eq!(quoted("12\" vinyl").as_deref(), Some("\"12\\\" vinyl\""));
        assert_eq!(quoted("a\\b"), None);
    }
}
