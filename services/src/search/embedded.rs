//! The embedded search engine: a tantivy index on local disk (or in memory for tests).
//!
//! Text fields are analysed with English stemming. Each word of the query must match
//! (in the name, brand, category, attributes or description); words of 5 or more
//! characters may carry one typo and of 9 or more two, like Meilisearch's defaults; the
//! last word also matches as a prefix, for search-as-you-type. Facets are one tantivy
//! facet field holding `/category/<slug>`, `/colour/<value>`, `/size/<value>`,
//! `/price/<bucket>` and `/stock/in`, counted over the filtered results.

use super::{
    edit_distance, facet_values, price_facet_values, typo_budget, Progress, SearchDocument,
    SearchEngine, SearchError,
};
use domain::search::{
    price_bucket, FacetCounts, FacetValue, SearchHit, SearchQuery, SearchResults, SearchSort,
    MAX_QUERY_WORDS, SEARCH_PER_PAGE,
};
use domain::{Currency, Money};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value,
    FAST, INDEXED, STORED,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

const WRITER_THREADS: usize = 2;
const WRITER_HEAP: usize = 40_000_000;
/// The index lives in this subfolder of the configured directory, so a schema change
/// (a new version) never touches anything else there.
const SCHEMA_VERSION: &str = "v2";

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    slug: Field,
    name: Field,
    /// The name without stemming, for prefixes typed so far ("runnin" → "running") and
    /// typos.
    name_raw: Field,
    /// Every searchable text without stemming, for typos: a typo is counted against the
    /// words as written ("tbale" is one typo from "table", but two from its stem "tabl").
    all_raw: Field,
    brand: Field,
    category: Field,
    category_name: Field,
    attributes: Field,
    description: Field,
    image: Field,
    price: Field,
    currency: Field,
    created: Field,
    in_stock: Field,
    facets: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            opts.set_stored()
        } else {
            opts
        }
    };
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | STORED | FAST),
        slug: b.add_text_field("slug", STORED),
        name: b.add_text_field("name", text(true)),
        name_raw: b.add_text_field(
            "name_raw",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        ),
        all_raw: b.add_text_field(
            "all_raw",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
        brand: b.add_text_field("brand", text(true)),
        category: b.add_text_field("category", STORED),
        category_name: b.add_text_field("category_name", text(true)),
        attributes: b.add_text_field("attributes", text(false)),
        description: b.add_text_field("description", text(false)),
        image: b.add_text_field("image", STORED),
        price: b.add_u64_field("price", STORED | FAST),
        currency: b.add_text_field("currency", STORED),
        created: b.add_i64_field("created", FAST),
        in_stock: b.add_u64_field("in_stock", STORED | FAST),
        facets: b.add_facet_field("facets", FacetOptions::default()),
    };
    (b.build(), fields)
}

/// The tantivy engine; cheap to clone.
#[derive(Clone)]
pub struct EmbeddedEngine {
    index: Index,
    reader: IndexReader,
    writer: Arc<Mutex<IndexWriter>>,
    fields: Fields,
}

fn engine_error(e: impl std::fmt::Display) -> SearchError {
    SearchError::Engine(e.to_string())
}

impl EmbeddedEngine {
    /// Opens the index under `dir` (in its own versioned subfolder), creating it as
    /// needed. An index that tantivy cannot read (corrupt, or another schema) is replaced;
    /// an I/O error (permissions, a full disk) is reported, never "fixed" by deleting.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        let own = dir.join(SCHEMA_VERSION);
        std::fs::create_dir_all(&own).map_err(engine_error)?;
        let open = || -> tantivy::Result<Index> {
            let directory = tantivy::directory::MmapDirectory::open(&own)?;
            Index::open_or_create(directory, schema.clone())
        };
        let index = match open() {
            Ok(index) => index,
            Err(
                e @ (tantivy::TantivyError::IoError(_) | tantivy::TantivyError::LockFailure(..)),
            ) => {
                return Err(engine_error(e));
            }
            Err(e) => {
                tracing::warn!(error = %e, dir = %own.display(), "search index unreadable; rebuilding it");
                std::fs::remove_dir_all(&own).map_err(engine_error)?;
                std::fs::create_dir_all(&own).map_err(engine_error)?;
                open().map_err(engine_error)?
            }
        };
        Self::with_index(index, fields)
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Self, SearchError> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(engine_error)?;
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_HEAP)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => SearchError::Engine(
                    "the search index is in use by another process (a running server?): stop it first"
                        .into(),
                ),
                e => engine_error(e),
            })?;
        Ok(Self {
            index,
            reader,
            writer: Arc::new(Mutex::new(writer)),
            fields,
        })
    }

    pub fn count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn to_tantivy(&self, d: &SearchDocument) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.id, u64::try_from(d.product_id).unwrap_or(0));
        doc.add_text(f.slug, &d.slug);
        doc.add_text(f.name, &d.name);
        doc.add_text(f.name_raw, &d.name);
        for text in [&d.name, &d.brand, &d.description]
            .into_iter()
            .chain(&d.category_names)
            .chain(&d.attributes)
        {
            doc.add_text(f.all_raw, text);
        }
        doc.add_text(f.brand, &d.brand);
        doc.add_text(f.category, &d.category_slug);
        doc.add_text(f.category_name, d.category_names.join(" "));
        doc.add_text(f.attributes, d.attributes.join(" "));
        doc.add_text(f.description, &d.description);
        doc.add_text(f.image, &d.image_url);
        doc.add_u64(
            f.price,
            u64::try_from(d.min_price.amount_minor()).unwrap_or(0),
        );
        doc.add_text(f.currency, d.min_price.currency().code());
        doc.add_i64(f.created, d.created_unix);
        doc.add_u64(f.in_stock, u64::from(d.in_stock));
        for slug in &d.category_path {
            doc.add_facet(f.facets, Facet::from_path(["category", slug.as_str()]));
        }
        for c in &d.colours {
            doc.add_facet(f.facets, Facet::from_path(["colour", c.as_str()]));
        }
        for s in &d.sizes {
            doc.add_facet(f.facets, Facet::from_path(["size", s.as_str()]));
        }
        doc.add_facet(
            f.facets,
            Facet::from_path(["price", price_bucket(d.min_price.amount_minor())]),
        );
        if d.in_stock {
            doc.add_facet(f.facets, Facet::from_path(["stock", "in"]));
        }
        doc
    }

    /// Writes documents (replacing any with the same product id) and removes `deleted`,
    /// then makes the change visible to searches before returning.
    pub fn apply_now(
        &self,
        upserts: &[SearchDocument],
        deleted: &[i64],
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(engine_error)?;
        for id in deleted.iter().chain(upserts.iter().map(|d| &d.product_id)) {
            writer.delete_term(Term::from_field_u64(
                self.fields.id,
                u64::try_from(*id).unwrap_or(0),
            ));
        }
        for d in upserts {
            writer
                .add_document(self.to_tantivy(d))
                .map_err(engine_error)?;
        }
        writer.commit().map_err(engine_error)?;
        drop(writer);
        self.reader.reload().map_err(engine_error)
    }

    /// Replaces the whole index with `docs`, reporting progress as (done, total).
    pub fn replace_all_now(
        &self,
        docs: &[SearchDocument],
        progress: &dyn Fn(usize, usize),
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(engine_error)?;
        writer.delete_all_documents().map_err(engine_error)?;
        for (i, d) in docs.iter().enumerate() {
            writer
                .add_document(self.to_tantivy(d))
                .map_err(engine_error)?;
            if i % 1000 == 999 {
                progress(i + 1, docs.len());
            }
        }
        progress(docs.len(), docs.len());
        writer.commit().map_err(engine_error)?;
        // One segment: a query then walks each term dictionary once, not once per
        // segment the indexing threads wrote. (Small segments from later refreshes are
        // merged by tantivy's merge policy.)
        let segments = self.index.searchable_segment_ids().map_err(engine_error)?;
        if segments.len() > 1 {
            if let Err(e) = writer.merge(&segments).wait() {
                tracing::warn!(error = %e, "merging the search index's segments failed; searches stay correct, only slower");
            }
        }
        drop(writer);
        self.reader.reload().map_err(engine_error)
    }

    /// The words of `text` as `field` analyses them (lower-cased; stemmed for the
    /// stemmed fields), at most [`MAX_QUERY_WORDS`].
    fn words(&self, field: Field, text: &str) -> Result<Vec<String>, SearchError> {
        let mut analyzer = self
            .index
            .tokenizer_for_field(field)
            .map_err(engine_error)?;
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            if !token.text.is_empty() && words.len() < MAX_QUERY_WORDS {
                words.push(token.text.clone());
            }
        }
        Ok(words)
    }

    /// The query's words, stemmed and as typed (typo budgets count what was typed, and
    /// prefixes match the unstemmed name).
    fn query_words(&self, text: &str) -> Result<QueryWords, SearchError> {
        Ok(QueryWords {
            stemmed: self.words(self.fields.name, text)?,
            raw: self.words(self.fields.name_raw, text)?,
        })
    }

    fn text_query(&self, query: &QueryWords) -> Result<Box<dyn Query>, SearchError> {
        let (words, raw) = (&query.stemmed, &query.raw);
        if words.is_empty() {
            return Ok(Box::new(AllQuery));
        }
        let f = self.fields;
        let weighted = [
            (f.name, 4.0_f32),
            (f.brand, 2.0),
            (f.category_name, 2.0),
            (f.attributes, 1.0),
            (f.description, 0.5),
        ];
        let last = words.len() - 1;
        let mut per_word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let typed = raw.get(i).unwrap_or(word);
            let typos = typo_budget(typed);
            let mut any_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            // Exact (stemmed) matches score by BM25 per field and rank above typo'd ones.
            for (field, weight) in weighted {
                let term = Term::from_field_text(field, word);
                any_field.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                        weight * 2.0,
                    )),
                ));
            }
            // Typos against the words as written: in the name (ranked higher) or anywhere.
            if typos > 0 {
                for (field, weight) in [(f.name_raw, 2.0), (f.all_raw, 0.5)] {
                    any_field.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(
                                Term::from_field_text(field, typed),
                                typos,
                                true,
                            )),
                            weight,
                        )),
                    ));
                }
            }
            if i == last {
                let term = Term::from_field_text(f.name_raw, typed);
                any_field.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new_prefix(term, typos.min(1), true)),
                        2.0,
                    )),
                ));
            }
            per_word.push((Occur::Must, Box::new(BooleanQuery::new(any_field))));
        }
        Ok(Box::new(BooleanQuery::new(per_word)))
    }

    /// Any of `values` in `group`. Values no product in the index has are ignored (a stale
    /// link or a typo in the URL does not empty the results); none left, no filter.
    fn facet_filter(
        &self,
        searcher: &tantivy::Searcher,
        group: &str,
        values: &[String],
    ) -> Option<Box<dyn Query>> {
        let any: Vec<(Occur, Box<dyn Query>)> = values
            .iter()
            .take(20)
            .map(|v| Term::from_facet(self.fields.facets, &Facet::from_path([group, v.as_str()])))
            // The term's frequency still counts deleted documents not yet merged away; a
            // value it lists is counted over live documents.
            .filter(|term| searcher.doc_freq(term).is_ok_and(|n| n > 0))
            .map(|term| TermQuery::new(term, IndexRecordOption::Basic))
            .filter(|query| searcher.search(query, &Count).is_ok_and(|n| n > 0))
            .map(|query| (Occur::Should, Box::new(query) as Box<dyn Query>))
            .collect();
        (!any.is_empty()).then(|| Box::new(BooleanQuery::new(any)) as Box<dyn Query>)
    }

    pub fn search_now(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let words = self.query_words(&q.text)?;
        let text = self.text_query(&words)?;
        let mut filters: Vec<(&str, Box<dyn Query>)> = Vec::new();
        for (group, values) in [
            ("category", &q.categories),
            ("colour", &q.colours),
            ("size", &q.sizes),
            ("price", &q.prices),
        ] {
            if let Some(filter) = self.facet_filter(&searcher, group, values) {
                filters.push((group, filter));
            }
        }
        if q.in_stock_only {
            let term = Term::from_facet(self.fields.facets, &Facet::from_path(["stock", "in"]));
            filters.push((
                "stock",
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
            ));
        }
        // The text and every filter except those of `skip`.
        let combined = |skip: Option<&str>| {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text.box_clone())];
            clauses.extend(
                filters
                    .iter()
                    .filter(|(group, _)| Some(*group) != skip)
                    .map(|(_, filter)| (Occur::Must, filter.box_clone())),
            );
            BooleanQuery::new(clauses)
        };
        let query = combined(None);
        let page = q.page.max(1);
        let top = TopDocs::with_limit(SEARCH_PER_PAGE).and_offset((page - 1) * SEARCH_PER_PAGE);
        let mut facets = FacetCollector::for_field("facets");
        for root in ["/category", "/colour", "/size", "/price", "/stock"] {
            facets.add_facet(root);
        }
        let (total, addresses, facet_counts) = match q.sort {
            SearchSort::Relevance => {
                let (n, hits, fc) = searcher
                    .search(&query, &(Count, top.order_by_score(), facets))
                    .map_err(engine_error)?;
                (
                    n,
                    hits.into_iter()
                        .map(|(_, a)| a)
                        .collect::<Vec<DocAddress>>(),
                    fc,
                )
            }
            SearchSort::PriceAsc | SearchSort::PriceDesc => {
                let order = if q.sort == SearchSort::PriceAsc {
                    Order::Asc
                } else {
                    Order::Desc
                };
                let (n, hits, fc) = searcher
                    .search(
                        &query,
                        &(
                            Count,
                            top.order_by_fast_field::<u64>("price", order),
                            facets,
                        ),
                    )
                    .map_err(engine_error)?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), fc)
            }
            SearchSort::Newest => {
                let (n, hits, fc) = searcher
                    .search(
                        &query,
                        &(
                            Count,
                            top.order_by_fast_field::<i64>("created", Order::Desc),
                            facets,
                        ),
                    )
                    .map_err(engine_error)?;
                (n, hits.into_iter().map(|(_, a)| a).collect(), fc)
            }
        };
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.fields.name)
            .map_err(engine_error)?;
        let f = self.fields;
        let mut hits = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address).map_err(engine_error)?;
            let text_of = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let num = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
            let name = text_of(f.name);
            let name_html = highlight(&mut analyzer, &name, &words);
            let currency = Currency::parse(&text_of(f.currency)).unwrap_or(Currency::Usd);
            hits.push(SearchHit {
                product_id: i64::try_from(num(f.id)).unwrap_or(0),
                slug: text_of(f.slug),
                name,
                name_html,
                brand: text_of(f.brand),
                category: text_of(f.category),
                image_url: text_of(f.image),
                min_price: Money::new(i64::try_from(num(f.price)).unwrap_or(0), currency),
                in_stock: num(f.in_stock) == 1,
            });
        }
        // A group with a selection is counted without its own selection, so its other
        // values show what choosing them too would add (values of a group are OR-ed).
        let mut own: Vec<(String, Vec<(String, u64)>)> = Vec::new();
        for (group, _) in filters.iter().filter(|(group, _)| *group != "stock") {
            let root = format!("/{group}");
            let mut collector = FacetCollector::for_field("facets");
            collector.add_facet(root.as_str());
            let counts = searcher
                .search(&combined(Some(group)), &collector)
                .map_err(engine_error)?;
            own.push((root.clone(), facet_pairs(&counts, &root)));
        }
        let counts = |root: &str| -> Vec<(String, u64)> {
            own.iter()
                .find(|(r, _)| r == root)
                .map_or_else(|| facet_pairs(&facet_counts, root), |(_, c)| c.clone())
        };
        let group = |root: &str| -> Vec<FacetValue> { facet_values(counts(root)) };
        let prices = price_facet_values(counts("/price"));
        let in_stock = counts("/stock").iter().map(|(_, n)| n).sum();
        Ok(SearchResults {
            hits,
            total: u64::try_from(total).unwrap_or(0),
            facets: FacetCounts {
                categories: group("/category"),
                colours: group("/colour"),
                sizes: group("/size"),
                prices,
                in_stock,
            },
            page,
            suggestion: None,
            popular: Vec::new(),
        })
    }
}

/// The (value, count) pairs under `root` (`/colour` → ("Blue", 12), …).
fn facet_pairs(counts: &tantivy::collector::FacetCounts, root: &str) -> Vec<(String, u64)> {
    counts
        .get(root)
        .map(|(facet, count)| {
            let value = facet
                .to_path()
                .last()
                .map(|s| (*s).to_owned())
                .unwrap_or_default();
            (value, count)
        })
        .collect()
}

/// A query's words as the name field analyses them (stemmed) and as typed.
struct QueryWords {
    stemmed: Vec<String>,
    raw: Vec<String>,
}

/// `name` as HTML with the words that match the query in `<mark>`: the same word (after
/// stemming), a word within the typo budget of a query word, or, for the last query word,
/// the part of a word it is a prefix of.
fn highlight(analyzer: &mut TextAnalyzer, name: &str, query: &QueryWords) -> String {
    let last = query.raw.len().saturating_sub(1);
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut stream = analyzer.token_stream(name);
    while let Some(token) = stream.next() {
        let (from, to) = (token.offset_from, token.offset_to);
        let Some(original) = name.get(from..to) else {
            continue;
        };
        let typed = original.to_lowercase();
        let whole = query.raw.iter().enumerate().any(|(i, raw)| {
            query.stemmed.get(i) == Some(&token.text)
                || (typo_budget(raw) > 0
                    && edit_distance(raw, &typed) <= usize::from(typo_budget(raw)))
        });
        if whole {
            marks.push((from, to));
        } else if let Some(prefix) = query
            .raw
            .get(last)
            .map(String::as_str)
            .filter(|p| typed.starts_with(*p))
        {
            // The same number of characters of the original word.
            let n = prefix.chars().count();
            let end = original.char_indices().nth(n).map_or(to, |(i, _)| from + i);
            marks.push((from, end));
        }
    }
    let mut html = String::with_capacity(name.len() + marks.len() * 13);
    let mut at = 0;
    for (from, to) in marks {
        html.push_str(&domain::escape_markup(&name[at..from]));
        html.push_str("<mark>");
        html.push_str(&domain::escape_markup(&name[from..to]));
        html.push_str("</mark>");
        at = to;
    }
    html.push_str(&domain::escape_markup(&name[at..]));
    html
}

/// Runs blocking index work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(engine_error)?
}

#[async_trait::async_trait]
impl SearchEngine for EmbeddedEngine {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, SearchError> {
        let (engine, query) = (self.clone(), query.clone());
        blocking(move || engine.search_now(&query)).await
    }

    async fn apply(
        &self,
        upserts: Vec<SearchDocument>,
        deleted: Vec<i64>,
    ) -> Result<(), SearchError> {
        let engine = self.clone();
        blocking(move || engine.apply_now(&upserts, &deleted)).await
    }

    async fn replace_all(
        &self,
        docs: Vec<SearchDocument>,
        progress: Progress,
    ) -> Result<(), SearchError> {
        let engine = self.clone();
        blocking(move || engine.replace_all_now(&docs, &*progress)).await
    }

    async fn document_count(&self) -> Result<u64, SearchError> {
        Ok(self.count())
    }

    fn shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(name: &str, query: &str) -> String {
        let engine = EmbeddedEngine::in_memory().expect("engine");
        let words = engine.query_words(query).expect("words");
        let mut analyzer = engine
            .index
            .tokenizer_for_field(engine.fields.name)
            .expect("analyzer");
        highlight(&mut analyzer, name, &words)
    }

    #[test]
    fn highlights_exact_stemmed_typo_and_prefix_matches() {
        assert_eq!(
            marked("Linen Shirts & <Co>", "shirt"),
            "Linen <mark>Shirts</mark> &amp; &lt;Co&gt;"
        );
        assert_eq!(
            marked("Waterproof Jacket", "jakcet"),
            "Waterproof <mark>Jacket</mark>"
        );
        assert_eq!(
            marked("Waterproof Jacket", "wate"),
            "<mark>Wate</mark>rproof Jacket"
        );
        assert_eq!(marked("Wool Hat", "boots"), "Wool Hat");
    }
}
