//! What a Shopify product CSV does to the catalog: a dry run that tells what would be
//! created, changed and left alone (and every bad row), and an apply that does exactly
//! that: one transaction for a file of up to 10,000 rows, above that batches of about
//! 1,000 rows (a product's rows never split), each committing on its own. A product the
//! file has written is remembered with the file's SHA-256 in the same transaction, so
//! running the file again finishes what is missing and changes nothing else. Stock moves
//! as `import` movements keyed by the file. An import creates and changes products; it
//! never deletes one.

use super::editing::{first_free, sanitise_description, sku_for, Unique};
use super::image_editing::store_image;
use super::shopify_csv::{self, CsvImage, CsvProduct, Status};
use super::{announce_products, CatalogError, CatalogService};
use crate::audit::{self, Actor, Changes};
use crate::fetch::{self, FetchPolicy};
use crate::media::MediaStore;
use domain::import::{
    ImageToUpload, ImportReport, ImportRun, ImportState, Outcome, PlannedProduct, RowProblem,
    BATCH_ROWS, SINGLE_TRANSACTION_ROWS,
};
use domain::staff::Permission;
use domain::stock::StockReason;
use domain::{Money, Slug};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres, Transaction};
use std::collections::{HashMap, HashSet};

/// Images the file names, fetched from their addresses (only when the merchant asks).
pub struct ImageFetching<'a> {
    pub store: &'a MediaStore,
    pub policy: FetchPolicy,
}

/// How an import runs.
pub struct ImportOptions<'a> {
    /// The shop's own address: an image address under it is one of the shop's own (an
    /// export's), found by its path.
    pub public_url: &'a str,
    /// `None`: images not yet in the catalog are listed for the merchant to upload.
    pub images: Option<ImageFetching<'a>>,
    pub batching: Batching,
}

/// How many rows a file may have to be applied in one transaction, and the size of the
/// batches a larger one is applied in (smaller in tests, to see batches at work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    pub single_transaction_rows: usize,
    pub batch_rows: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            single_transaction_rows: SINGLE_TRANSACTION_ROWS,
            batch_rows: BATCH_ROWS,
        }
    }
}

/// Told after each batch commits: (batches done, batches in all).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// The file's SHA-256 in hex: its identity for "already imported".
pub fn file_key(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The category a product is to be in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Id(i64),
    /// A path none of whose last levels exist yet.
    New(Vec<String>),
}

/// The products in stock a file names, as the database has them.
#[derive(Debug)]
struct Known {
    products: HashMap<String, KnownProduct>,
    /// Every SKU the file names that exists: its product.
    sku_owner: HashMap<String, (i64, String)>,
    /// Products an earlier run of this file wrote.
    done: HashSet<i64>,
    categories: Vec<(i64, Option<i64>, String)>,
}

/// A product as the database has it, with its variants (archived ones too) and images.
#[derive(Debug)]
struct KnownProduct {
    row: ProductRow,
    variants: Vec<KnownVariant>,
    images: Vec<KnownImage>,
}

impl std::ops::Deref for KnownProduct {
    type Target = ProductRow;

    fn deref(&self) -> &ProductRow {
        &self.row
    }
}

#[derive(Debug)]
struct KnownImage {
    id: i64,
    product_id: i64,
    url: String,
    source_url: Option<String>,
    alt: String,
}

#[derive(Debug)]
struct ProductRow {
    id: i64,
    slug: String,
    name: String,
    description: String,
    brand: String,
    category_id: i64,
    tags: Vec<String>,
    published: bool,
    archived: bool,
    option_names: Vec<String>,
    seo_title: String,
    seo_description: String,
}

#[derive(Debug)]
struct KnownVariant {
    id: i64,
    product_id: i64,
    sku: String,
    option_values: Vec<String>,
    price_minor: i64,
    compare_at_minor: Option<i64>,
    weight_grams: Option<i32>,
    barcode: String,
    stock_on_hand: i32,
    position: i32,
    archived: bool,
}

impl Known {
    /// The category at `path` (names, case aside), if every level exists.
    fn find(&self, path: &[String]) -> Option<i64> {
        let mut parent: Option<i64> = None;
        for name in path {
            parent = Some(
                self.categories
                    .iter()
                    .find(|(_, p, n)| *p == parent && n.eq_ignore_ascii_case(name))?
                    .0,
            );
        }
        parent
    }

    /// A category's path of names, from the top.
    fn path(&self, id: i64) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = Some(id);
        while let Some(c) = cursor {
            let Some((_, parent, name)) = self.categories.iter().find(|(i, _, _)| *i == c) else {
                break;
            };
            out.push(name.clone());
            cursor = *parent;
            if out.len() > 64 {
                break;
            }
        }
        out.reverse();
        out
    }
}

/// Reads what the database has of `products` (locked for update when `lock`, products
/// then variants, each in id order, as the editor locks them).
async fn load(
    conn: &mut PgConnection,
    products: &[&CsvProduct],
    key: &str,
    lock: bool,
) -> Result<Known, sqlx::Error> {
    let slugs: Vec<String> = products.iter().map(|p| p.handle.clone()).collect();
    let rows: Vec<ProductRow> = if lock {
        sqlx::query_as!(
            ProductRow,
            r#"SELECT id, slug, name, description, brand, category_id, tags, published,
                      archived_at IS NOT NULL AS "archived!", option_names, seo_title, seo_description
               FROM products WHERE slug = ANY($1) ORDER BY id FOR UPDATE"#,
            &slugs
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            ProductRow,
            r#"SELECT id, slug, name, description, brand, category_id, tags, published,
                      archived_at IS NOT NULL AS "archived!", option_names, seo_title, seo_description
               FROM products WHERE slug = ANY($1) ORDER BY id"#,
            &slugs
        )
        .fetch_all(&mut *conn)
        .await?
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let variants: Vec<KnownVariant> = if lock {
        sqlx::query_as!(
            KnownVariant,
            r#"SELECT id, product_id, sku, option_values, price_minor, compare_at_minor, weight_grams,
                      barcode, stock_on_hand, position, archived_at IS NOT NULL AS "archived!"
               FROM variants WHERE product_id = ANY($1) ORDER BY id FOR UPDATE"#,
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            KnownVariant,
            r#"SELECT id, product_id, sku, option_values, price_minor, compare_at_minor, weight_grams,
                      barcode, stock_on_hand, position, archived_at IS NOT NULL AS "archived!"
               FROM variants WHERE product_id = ANY($1) ORDER BY id"#,
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
    };
    let images = sqlx::query_as!(
        KnownImage,
        "SELECT id, product_id, url, source_url, alt FROM product_images
         WHERE product_id = ANY($1) ORDER BY position, id",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let skus: Vec<String> = products
        .iter()
        .flat_map(|p| p.variants.iter().filter_map(|v| v.sku.clone()))
        .collect();
    let owners = sqlx::query!(
        "SELECT v.sku, v.product_id, p.slug FROM variants v JOIN products p ON p.id = v.product_id
         WHERE v.sku = ANY($1)",
        &skus
    )
    .fetch_all(&mut *conn)
    .await?;
    let done = sqlx::query_scalar!(
        "SELECT product_id FROM catalog_import_products WHERE file_sha256 = $1 AND product_id = ANY($2)",
        key,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let categories = sqlx::query!("SELECT id, parent_id, name FROM categories ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;

    let mut by_id: HashMap<i64, KnownProduct> = rows
        .into_iter()
        .map(|row| {
            (
                row.id,
                KnownProduct {
                    row,
                    variants: Vec::new(),
                    images: Vec::new(),
                },
            )
        })
        .collect();
    for v in variants {
        if let Some(p) = by_id.get_mut(&v.product_id) {
            p.variants.push(v);
        }
    }
    for i in images {
        if let Some(p) = by_id.get_mut(&i.product_id) {
            p.images.push(i);
        }
    }
    let products_by_slug = by_id.into_values().map(|p| (p.slug.clone(), p)).collect();
    Ok(Known {
        products: products_by_slug,
        sku_owner: owners
            .into_iter()
            .map(|o| (o.sku, (o.product_id, o.slug)))
            .collect(),
        done: done.into_iter().collect(),
        categories: categories
            .into_iter()
            .map(|c| (c.id, c.parent_id, c.name))
            .collect(),
    })
}

/// One variant of the file against what exists.
struct VariantStep<'a> {
    csv: &'a shopify_csv::CsvVariant,
    /// Its match among the known product's variants.
    existing: Option<usize>,
    /// The existing one differs from the file (or is archived).
    changed: bool,
    /// What its stock moves by (the file's figure minus the one on hand).
    stock_delta: i32,
}

/// What the file does to one product.
struct Plan<'a> {
    csv: &'a CsvProduct,
    outcome: Outcome,
    changes: Vec<String>,
    audit: Changes,
    /// The product's own row differs (or is new).
    product_changed: bool,
    target: Target,
    description: String,
    variants: Vec<VariantStep<'a>>,
    new_images: Vec<&'a CsvImage>,
    alt_updates: Vec<(i64, String)>,
}

/// A product's new variants, column by column, for one insert (-1: none, for the
/// compare-at price and the weight).
#[derive(Default)]
struct NewVariants {
    skus: Vec<String>,
    values: [Vec<String>; 3],
    prices: Vec<i64>,
    positions: Vec<i32>,
    compare_at: Vec<i64>,
    grams: Vec<i32>,
    barcodes: Vec<String>,
    stock: Vec<i32>,
}

impl NewVariants {
    fn push(&mut self, sku: &str, v: &shopify_csv::CsvVariant, position: i32, stock: i32) {
        self.skus.push(sku.to_owned());
        for (i, column) in self.values.iter_mut().enumerate() {
            column.push(v.option_values.get(i).cloned().unwrap_or_default());
        }
        self.prices.push(v.price.amount_minor());
        self.positions.push(position);
        self.compare_at
            .push(v.compare_at.map_or(-1, Money::amount_minor));
        self.grams.push(v.grams.unwrap_or(-1));
        self.barcodes.push(v.barcode.clone());
        self.stock.push(stock);
    }
}

/// `url` as an address outside the shop: its own paths under `public_url`.
fn absolute(public_url: &str, url: &str) -> String {
    if url.starts_with('/') {
        format!("{}{url}", public_url.trim_end_matches('/'))
    } else {
        url.to_owned()
    }
}

fn money(minor: i64, currency: domain::Currency) -> String {
    Money::new(minor, currency).to_major_string()
}

/// Compares a product of the file with what the database has, adding any row the database
/// makes bad (a SKU of another product) to `problems`.
fn plan<'a>(
    csv: &'a CsvProduct,
    known: &Known,
    public_url: &str,
    fetching: bool,
    problems: &mut Vec<RowProblem>,
) -> Plan<'a> {
    let existing = known.products.get(&csv.handle);
    let description = sanitise_description(&csv.body_html);
    if description.chars().count() > 20_000 {
        problems.push(RowProblem::new(
            csv.line,
            "Body (HTML)",
            "A description is at most 20,000 characters (once cut down to the text and markup the shop shows).",
        ));
    }
    let archived = csv.status == Status::Archived;
    let target = match (csv.category_path.is_empty(), existing) {
        (true, Some(p)) => Target::Id(p.category_id),
        (true, None) => known
            .find(&["Imported".to_owned()])
            .map_or_else(|| Target::New(vec!["Imported".into()]), Target::Id),
        (false, _) => known
            .find(&csv.category_path)
            .map_or_else(|| Target::New(csv.category_path.clone()), Target::Id),
    };
    let mut changes: Vec<String> = Vec::new();
    let mut audit = Changes::new();
    let mut product_changed = existing.is_none();
    if let Some(p) = existing {
        let path_before = known.path(p.category_id).join(" > ");
        let path_after = match &target {
            Target::Id(id) => known.path(*id).join(" > "),
            Target::New(path) => path.join(" > "),
        };
        let mut field =
            |label: &str, name: &str, before: serde_json::Value, after: serde_json::Value| {
                if before != after {
                    changes.push(label.to_owned());
                    audit = std::mem::take(&mut audit).field(name, before, after);
                    product_changed = true;
                }
            };
        use serde_json::json;
        field("title", "name", json!(p.name), json!(csv.title));
        field(
            "description",
            "description",
            json!(p.description),
            json!(description),
        );
        field("vendor", "brand", json!(p.brand), json!(csv.vendor));
        field(
            &format!("category: {path_before} → {path_after}"),
            "category",
            json!(path_before),
            json!(path_after),
        );
        field("tags", "tags", json!(p.tags), json!(csv.tags));
        field(
            if csv.published {
                "published"
            } else {
                "unpublished"
            },
            "published",
            json!(p.published),
            json!(csv.published),
        );
        field(
            if archived {
                "archived"
            } else {
                "restored from the archive"
            },
            "archived",
            json!(p.archived),
            json!(archived),
        );
        field(
            "options",
            "option_names",
            json!(p.option_names),
            json!(csv.option_names),
        );
        field(
            "SEO title",
            "seo_title",
            json!(p.seo_title),
            json!(csv.seo_title),
        );
        field(
            "SEO description",
            "seo_description",
            json!(p.seo_description),
            json!(csv.seo_description),
        );
    }

    // Variants: by SKU within the product, else by option values.
    let known_variants: &[KnownVariant] = existing.map_or(&[], |p| p.variants.as_slice());
    let mut taken: HashSet<usize> = HashSet::new();
    let mut matches: Vec<Option<usize>> = csv
        .variants
        .iter()
        .map(|v| {
            let i = v
                .sku
                .as_ref()
                .and_then(|sku| known_variants.iter().position(|k| &k.sku == sku))?;
            taken.insert(i);
            Some(i)
        })
        .collect();
    for (n, v) in csv.variants.iter().enumerate() {
        if matches[n].is_some() {
            continue;
        }
        // A SKU that exists elsewhere is another product's; a new one may rename a
        // variant found by its option values.
        if let Some(sku) = &v.sku {
            if let Some((owner, handle)) = known.sku_owner.get(sku) {
                if existing.is_none_or(|p| p.id != *owner) {
                    problems.push(RowProblem::new(
                        v.line,
                        "Variant SKU",
                        format!("The SKU {sku} belongs to another product ({handle})."),
                    ));
                    continue;
                }
            }
        }
        if let Some(i) = known_variants
            .iter()
            .enumerate()
            .position(|(i, k)| !taken.contains(&i) && k.option_values == v.option_values)
        {
            taken.insert(i);
            matches[n] = Some(i);
        }
    }
    let currency = csv
        .variants
        .first()
        .map_or(domain::Currency::Usd, |v| v.price.currency());
    let mut variants = Vec::with_capacity(csv.variants.len());
    let mut created_variants = 0;
    for (v, m) in csv.variants.iter().zip(matches) {
        let name = v.sku.clone().unwrap_or_else(|| v.option_values.join(" / "));
        let mut changed = false;
        let stock_delta;
        match m.map(|i| &known_variants[i]) {
            Some(k) => {
                let mut differ = |label: String| {
                    changes.push(label);
                    changed = true;
                };
                if v.sku.as_ref().is_some_and(|s| s != &k.sku) {
                    differ(format!("SKU {} → {}", k.sku, name));
                }
                if k.option_values != v.option_values {
                    differ(format!("options of {name}"));
                }
                if k.price_minor != v.price.amount_minor() {
                    differ(format!(
                        "price of {name}: {} → {}",
                        money(k.price_minor, currency),
                        v.price.to_major_string()
                    ));
                }
                if k.compare_at_minor != v.compare_at.map(Money::amount_minor) {
                    differ(format!("compare-at price of {name}"));
                }
                if v.grams.is_some() && k.weight_grams != v.grams {
                    differ(format!("weight of {name}"));
                }
                if k.barcode != v.barcode {
                    differ(format!("barcode of {name}"));
                }
                if k.archived {
                    differ(format!("{name} back on sale"));
                }
                stock_delta = v.stock.map_or(0, |q| q - k.stock_on_hand);
                if stock_delta != 0 {
                    changes.push(format!(
                        "stock of {name}: {} → {}",
                        k.stock_on_hand,
                        v.stock.unwrap_or_default()
                    ));
                }
            }
            None => {
                created_variants += 1;
                if existing.is_some() {
                    changes.push(format!("new variant {name}"));
                }
                stock_delta = v.stock.unwrap_or(0);
            }
        }
        variants.push(VariantStep {
            csv: v,
            existing: m,
            changed,
            stock_delta,
        });
    }

    // Images: one of the shop's own (an export's) or one fetched before is found by its
    // address; the rest are new.
    let known_images: &[KnownImage] = existing.map_or(&[], |p| p.images.as_slice());
    let mut new_images = Vec::new();
    let mut alt_updates = Vec::new();
    for img in &csv.images {
        match known_images.iter().find(|k| {
            k.source_url.as_deref() == Some(img.src.as_str())
                || absolute(public_url, &k.url) == img.src
        }) {
            Some(k) if k.alt != img.alt => {
                changes.push("an image's alt text".into());
                alt_updates.push((k.id, img.alt.clone()));
            }
            Some(_) => {}
            None => new_images.push(img),
        }
    }
    if fetching && !new_images.is_empty() && existing.is_some() {
        changes.push(format!("{} new images", new_images.len()));
    }

    let outcome = match existing {
        None => Outcome::Create,
        Some(p) if known.done.contains(&p.id) => Outcome::AlreadyImported,
        Some(_)
            if product_changed
                || variants.iter().any(|v| v.changed || v.stock_delta != 0)
                || created_variants > 0
                || !alt_updates.is_empty()
                || (fetching && !new_images.is_empty()) =>
        {
            Outcome::Change
        }
        Some(_) => Outcome::Unchanged,
    };
    if outcome == Outcome::AlreadyImported {
        changes.clear();
    }
    Plan {
        csv,
        outcome,
        changes,
        audit,
        product_changed,
        target,
        description,
        variants,
        new_images,
        alt_updates,
    }
}

/// `csv` with what an existing product has for the columns the file lacks.
fn with_kept(csv: &CsvProduct, known: &Known, absent: &[&str], public_url: &str) -> CsvProduct {
    let mut out = csv.clone();
    let Some(p) = known.products.get(&csv.handle) else {
        return out;
    };
    let lacks = |c: &str| absent.contains(&c);
    if lacks("Body (HTML)") {
        out.body_html = p.description.clone();
    }
    if lacks("Vendor") {
        out.vendor = p.brand.clone();
    }
    if lacks("Tags") {
        out.tags = p.tags.clone();
    }
    if lacks("Status") {
        // Published alone (older exports) publishes or hides; it never takes a product out
        // of the archive, and neither column leaves it all as it is.
        if lacks("Published") {
            out.published = p.published;
        }
        out.status = if p.archived {
            Status::Archived
        } else if out.published {
            Status::Active
        } else {
            Status::Draft
        };
        out.published &= !p.archived;
    }
    if lacks("Image Alt Text") {
        for img in &mut out.images {
            if let Some(k) = p.images.iter().find(|k| {
                k.source_url.as_deref() == Some(img.src.as_str())
                    || absolute(public_url, &k.url) == img.src
            }) {
                img.alt = k.alt.clone();
            }
        }
    }
    if lacks("SEO Title") {
        out.seo_title = p.seo_title.clone();
    }
    if lacks("SEO Description") {
        out.seo_description = p.seo_description.clone();
    }
    for v in &mut out.variants {
        // Found as `plan` finds it: by SKU, else by option values.
        let Some(k) = v
            .sku
            .as_ref()
            .and_then(|sku| p.variants.iter().find(|k| &k.sku == sku))
            .or_else(|| {
                p.variants
                    .iter()
                    .find(|k| k.option_values == v.option_values)
            })
        else {
            continue;
        };
        if lacks("Variant Compare At Price") {
            v.compare_at = k
                .compare_at_minor
                .map(|m| Money::new(m, v.price.currency()));
        }
        if lacks("Variant Barcode") {
            v.barcode = k.barcode.clone();
        }
    }
    out
}

/// The file read and each product planned against the database, in batches.
struct Checked<'a> {
    report: ImportReport,
    batches: Vec<Vec<&'a CsvProduct>>,
}

/// Splits products into the batches an apply commits: all of them when the file is small.
fn batches(products: &[CsvProduct], rows: usize, batching: Batching) -> Vec<Vec<&CsvProduct>> {
    if rows <= batching.single_transaction_rows {
        return vec![products.iter().collect()];
    }
    let mut out: Vec<Vec<&CsvProduct>> = Vec::new();
    let mut current: Vec<&CsvProduct> = Vec::new();
    let mut in_current = 0;
    for p in products {
        if in_current > 0 && in_current + p.rows > batching.batch_rows {
            out.push(std::mem::take(&mut current));
            in_current = 0;
        }
        in_current += p.rows;
        current.push(p);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Adds a product's plan to the report: its outcome, its changes, its images.
fn report_plan(
    report: &mut ImportReport,
    plan: &Plan<'_>,
    fetching: bool,
    new_categories: &mut HashSet<String>,
) {
    if let Target::New(path) = &plan.target {
        if plan.outcome != Outcome::AlreadyImported && new_categories.insert(path.join(" > ")) {
            report.new_categories.push(path.join(" > "));
        }
    }
    if !fetching {
        for img in &plan.new_images {
            report.images_to_upload.push(ImageToUpload {
                line: img.line,
                handle: plan.csv.handle.clone(),
                url: img.src.clone(),
                reason: "fetching images is off: upload it on the product's page".into(),
            });
        }
    }
    report.plan(PlannedProduct {
        line: plan.csv.line,
        handle: plan.csv.handle.clone(),
        title: plan.csv.title.clone(),
        outcome: plan.outcome,
        changes: plan.changes.clone(),
        variants: plan.csv.variants.len(),
    });
}

impl CatalogService {
    /// Reads the file and tells what applying it would do, writing nothing.
    #[tracing::instrument(skip(self, actor, bytes, options), fields(bytes = bytes.len()))]
    pub async fn import_dry_run(
        &self,
        actor: &Actor,
        bytes: &[u8],
        options: &ImportOptions<'_>,
    ) -> Result<ImportReport, CatalogError> {
        actor.require(Permission::Catalog)?;
        let parsed = shopify_csv::parse(bytes, self.currency);
        let checked = self.check(bytes, &parsed, options).await?;
        Ok(checked.report)
    }

    async fn check<'a>(
        &self,
        bytes: &[u8],
        parsed: &'a shopify_csv::Parsed,
        options: &ImportOptions<'_>,
    ) -> Result<Checked<'a>, CatalogError> {
        let key = file_key(bytes);
        let fetching = options.images.is_some();
        let mut report = ImportReport {
            rows: parsed.rows,
            products: parsed.products.len(),
            variants: parsed.products.iter().map(|p| p.variants.len()).sum(),
            ..Default::default()
        };
        for p in &parsed.problems {
            report.problem(p.clone());
        }
        let batches = batches(&parsed.products, parsed.rows, options.batching);
        report.batches = batches.len();
        let mut new_categories = HashSet::new();
        let mut conn = self.pool.acquire().await?;
        for batch in &batches {
            for chunk in batch.chunks(BATCH_ROWS) {
                let known = load(&mut conn, chunk, &key, false).await?;
                let mut problems = Vec::new();
                for p in chunk {
                    let p = with_kept(p, &known, &parsed.absent, options.public_url);
                    let plan = plan(&p, &known, options.public_url, fetching, &mut problems);
                    report_plan(&mut report, &plan, fetching, &mut new_categories);
                }
                for p in problems {
                    report.problem(p);
                }
            }
        }
        report.problems.sort_by_key(|p| p.line);
        Ok(Checked { report, batches })
    }

    /// Applies the file: refused (with the report) while it has bad rows. `progress`
    /// hears of each batch that commits. Images are fetched after their products commit,
    /// when the options allow.
    #[tracing::instrument(skip(self, actor, bytes, options, progress), fields(bytes = bytes.len()))]
    pub async fn import_apply(
        &self,
        actor: &Actor,
        bytes: &[u8],
        options: &ImportOptions<'_>,
        progress: Progress<'_>,
    ) -> Result<ImportReport, CatalogError> {
        actor.require(Permission::Catalog)?;
        let parsed = shopify_csv::parse(bytes, self.currency);
        let checked = self.check(bytes, &parsed, options).await?;
        if checked.report.has_problems() {
            return Ok(checked.report);
        }
        let key = file_key(bytes);
        let fetching = options.images.is_some();
        let mut report = ImportReport {
            rows: checked.report.rows,
            products: checked.report.products,
            variants: checked.report.variants,
            batches: checked.batches.len(),
            ..Default::default()
        };
        let mut new_categories = HashSet::new();
        let mut to_fetch: Vec<(i64, String, CsvImage)> = Vec::new();
        let total = checked.batches.len();
        // Every SKU the file names: a SKU made for a variant without one takes none of them.
        let named: HashSet<String> = parsed
            .products
            .iter()
            .flat_map(|p| p.variants.iter().filter_map(|v| v.sku.clone()))
            .collect();
        for (n, batch) in checked.batches.iter().enumerate() {
            let mut tx = self.pool.begin().await?;
            actor
                .confirm::<CatalogError>(&mut tx, Permission::Catalog)
                .await?;
            let mut known = load(&mut tx, batch, &key, true).await?;
            let mut problems = Vec::new();
            let filled: Vec<CsvProduct> = batch
                .iter()
                .map(|p| with_kept(p, &known, &parsed.absent, options.public_url))
                .collect();
            let plans: Vec<Plan<'_>> = filled
                .iter()
                .map(|p| plan(p, &known, options.public_url, fetching, &mut problems))
                .collect();

            if !problems.is_empty() {
                // The catalog changed since the check (another product took a SKU).
                for p in problems {
                    report.problem(p);
                }
                return Ok(report);
            }
            let mut touched: Vec<i64> = Vec::new();
            let mut moves: Vec<(i64, i32)> = Vec::new();
            let mut all: Vec<i64> = Vec::new();
            for plan in &plans {
                report_plan(&mut report, plan, fetching, &mut new_categories);
                if plan.outcome == Outcome::AlreadyImported {
                    // Written before; its images may still be missing (not fetched then).
                    if let (true, Some(p)) = (fetching, known.products.get(&plan.csv.handle)) {
                        to_fetch.extend(
                            plan.new_images
                                .iter()
                                .map(|i| (p.id, plan.csv.handle.clone(), (*i).clone())),
                        );
                    }
                    continue;
                }
                let id = self
                    .write_plan(&mut tx, actor, plan, &mut known, &named, &mut moves)
                    .await?;
                all.push(id);
                if matches!(plan.outcome, Outcome::Create | Outcome::Change) {
                    touched.push(id);
                }
                if fetching {
                    to_fetch.extend(
                        plan.new_images
                            .iter()
                            .map(|i| (id, plan.csv.handle.clone(), (*i).clone())),
                    );
                }
            }
            let by = actor.stored_label();
            let cause = crate::stock::Cause {
                actor_id: actor.user_id,
                import_key: Some(&key),
                ..crate::stock::Cause::new(StockReason::Import, &by)
            };
            let wanted = moves.iter().filter(|(_, d)| *d != 0).count();
            let moved = crate::stock::apply(&mut tx, &moves, &cause).await?;
            if moved.len() != wanted {
                return Err(CatalogError::Clash(
                    "A variant's stock changed while the import ran: run it again.".into(),
                ));
            }
            sqlx::query!(
                "INSERT INTO catalog_import_products (file_sha256, product_id)
                 SELECT $1, id FROM unnest($2::bigint[]) AS id ON CONFLICT DO NOTHING",
                key,
                &all
            )
            .execute(&mut *tx)
            .await?;
            if !touched.is_empty() {
                announce_products(&mut tx, &touched).await?;
            }
            tx.commit().await?;
            self.invalidate_cache();
            progress(n + 1, total);
        }
        if let Some(fetching) = &options.images {
            for (product_id, handle, img) in to_fetch {
                // Still alive: a run fetching for long is not taken for an abandoned one.
                progress(total, total);
                match self.fetch_image(actor, fetching, product_id, &img).await {
                    Ok(true) => report.images_fetched += 1,
                    Ok(false) => {}
                    Err(reason) => report.images_to_upload.push(ImageToUpload {
                        line: img.line,
                        handle,
                        url: img.src.clone(),
                        reason,
                    }),
                }
            }
        }
        report.applied = true;
        let mut tx = self.pool.begin().await?;
        audit::record(
            &mut tx,
            actor,
            "import",
            &key[..16],
            "apply",
            Changes::new()
                .set("rows", report.rows)
                .set("created", report.created)
                .set("changed", report.changed)
                .set("unchanged", report.unchanged)
                .set("images fetched", report.images_fetched),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Writes one product's plan inside the batch's transaction; returns its id. Stock
    /// deltas are added to `moves` (applied once for the batch).
    async fn write_plan(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        actor: &Actor,
        plan: &Plan<'_>,
        known: &mut Known,
        named: &HashSet<String>,
        moves: &mut Vec<(i64, i32)>,
    ) -> Result<i64, CatalogError> {
        let csv = plan.csv;
        let existing = known.products.get(&csv.handle);
        if plan.outcome == Outcome::Unchanged {
            return Ok(existing.map_or(0, |p| p.id));
        }
        let category_id = match &plan.target {
            Target::Id(id) => *id,
            Target::New(path) => self.make_category(tx, actor, known, path).await?,
        };
        let existing = known.products.get(&csv.handle);
        let archived = csv.status == Status::Archived;
        // A new product starts at version 1; an existing one moves on below.
        let (id, created_version) = match existing {
            None => {
                // Its address is no longer an old address of another product.
                let row = sqlx::query!(
                    r#"WITH gone AS (
                           DELETE FROM slug_redirects WHERE kind = 'product' AND old_slug = $2
                       )
                       INSERT INTO products (category_id, slug, name, description, brand, option_names,
                                             published, seo_title, seo_description, updated_by, tags,
                                             archived_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                               CASE WHEN $12 THEN now() END)
                       RETURNING id, version"#,
                    category_id,
                    csv.handle,
                    csv.title,
                    plan.description,
                    csv.vendor,
                    &csv.option_names,
                    csv.published,
                    csv.seo_title,
                    csv.seo_description,
                    actor.user_id,
                    &csv.tags,
                    archived
                )
                .fetch_one(&mut **tx)
                .await
                .map_err(super::editing::constraint_error)?;
                (row.id, Some(row.version))
            }
            Some(p) => {
                if plan.product_changed {
                    sqlx::query!(
                        r#"UPDATE products SET name = $2, description = $3, brand = $4, category_id = $5,
                                  tags = $6, published = $7,
                                  archived_at = CASE WHEN $8 THEN COALESCE(archived_at, now()) END,
                                  option_names = $9, seo_title = $10, seo_description = $11
                           WHERE id = $1"#,
                        p.id,
                        csv.title,
                        plan.description,
                        csv.vendor,
                        category_id,
                        &csv.tags,
                        csv.published,
                        archived,
                        &csv.option_names,
                        csv.seo_title,
                        csv.seo_description
                    )
                    .execute(&mut **tx)
                    .await
                    .map_err(super::editing::constraint_error)?;
                }
                (p.id, None)
            }
        };
        let known_variants: &[KnownVariant] = existing.map_or(&[], |p| p.variants.as_slice());
        let mut position = known_variants
            .iter()
            .map(|v| v.position + 1)
            .max()
            .unwrap_or(0);
        let mut skus: HashSet<String> = known_variants.iter().map(|v| v.sku.clone()).collect();
        skus.extend(named.iter().cloned());
        let mut new = NewVariants::default();
        for step in &plan.variants {
            let v = step.csv;
            match step.existing.map(|i| &known_variants[i]) {
                Some(k) => {
                    if step.changed {
                        sqlx::query!(
                            "UPDATE variants SET sku = $2, option_values = $3, price_minor = $4,
                                    compare_at_minor = $5, weight_grams = COALESCE($6, weight_grams),
                                    barcode = $7, archived_at = NULL, updated_at = now()
                             WHERE id = $1",
                            k.id,
                            v.sku.as_deref().unwrap_or(&k.sku),
                            &v.option_values,
                            v.price.amount_minor(),
                            v.compare_at.map(Money::amount_minor),
                            v.grams,
                            v.barcode
                        )
                        .execute(&mut **tx)
                        .await
                        .map_err(super::editing::constraint_error)?;
                    }
                    moves.push((k.id, step.stock_delta));
                }
                None => {
                    let sku = match &v.sku {
                        Some(s) => s.clone(),
                        None => {
                            first_free(
                                tx,
                                Unique::Sku,
                                &sku_for(&csv.handle, &v.option_values),
                                &skus,
                            )
                            .await?
                        }
                    };
                    skus.insert(sku.clone());
                    new.push(&sku, v, position, step.stock_delta);
                    position += 1;
                }
            }
        }
        if !new.skus.is_empty() {
            // One statement for all of them (a file of new products is mostly these).
            let made = sqlx::query!(
                r#"INSERT INTO variants (product_id, sku, option_values, price_minor, currency,
                                         stock_on_hand, position, compare_at_minor, weight_grams, barcode)
                   SELECT $1, x.sku, (ARRAY[x.o1, x.o2, x.o3])[1:$2::int], x.price, $3, 0, x.pos,
                          NULLIF(x.compare, -1), NULLIF(x.grams, -1), x.barcode
                   FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::int[],
                               $10::bigint[], $11::int[], $12::text[])
                        AS x(sku, o1, o2, o3, price, pos, compare, grams, barcode)
                   RETURNING id, sku"#,
                id,
                csv.option_names.len() as i32,
                self.currency.code(),
                &new.skus,
                &new.values[0],
                &new.values[1],
                &new.values[2],
                &new.prices,
                &new.positions,
                &new.compare_at,
                &new.grams,
                &new.barcodes
            )
            .fetch_all(&mut **tx)
            .await
            .map_err(super::editing::constraint_error)?;
            for m in made {
                if let Some(i) = new.skus.iter().position(|s| *s == m.sku) {
                    moves.push((m.id, new.stock[i]));
                }
            }
        }
        for (image, alt) in &plan.alt_updates {
            sqlx::query!(
                "UPDATE product_images SET alt = $2 WHERE id = $1",
                image,
                alt
            )
            .execute(&mut **tx)
            .await?;
        }
        // Stock and alt text are not what an open product form edits: they leave its
        // version (and any form open on it) as it is.
        let edits_form = plan.product_changed
            || plan
                .variants
                .iter()
                .any(|v| v.changed || v.existing.is_none());
        let version = match created_version {
            Some(v) => Some(v),
            None if !edits_form => None,
            None => Some(
                sqlx::query_scalar!(
                    "UPDATE products SET version = version + 1, updated_at = now(), updated_by = $2
                     WHERE id = $1 RETURNING version",
                    id,
                    actor.user_id
                )
                .fetch_one(&mut **tx)
                .await?,
            ),
        };
        let changes = if plan.outcome == Outcome::Create {
            Changes::new()
                .set("name", &csv.title)
                .set("slug", &csv.handle)
                .set("variants", csv.variants.len())
        } else {
            plan.audit.clone().set("import", &plan.changes)
        };
        audit::record(
            tx,
            actor,
            "product",
            &id.to_string(),
            if plan.outcome == Outcome::Create {
                "import create"
            } else {
                "import update"
            },
            changes.set("version", version),
        )
        .await?;
        Ok(id)
    }

    /// Makes the missing levels of a category path (each at the end of its parent's
    /// list), remembering them in `known` for the rest of the batch.
    async fn make_category(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        actor: &Actor,
        known: &mut Known,
        path: &[String],
    ) -> Result<i64, CatalogError> {
        let mut parent: Option<i64> = None;
        for (depth, name) in path.iter().enumerate() {
            if let Some(id) = known.find(&path[..=depth]) {
                parent = Some(id);
                continue;
            }
            let base = Slug::from_name(name)
                .map(|s| s.to_string())
                .unwrap_or_else(|_| "category".into());
            let mut slug = base.clone();
            for n in 2.. {
                let used = sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM categories WHERE slug = $1) AS "used!""#,
                    slug
                )
                .fetch_one(&mut **tx)
                .await?;
                if !used || n > 1000 {
                    break;
                }
                let cut: String = base.chars().take(110).collect();
                slug = format!("{}-{n}", cut.trim_end_matches('-'));
            }
            let id = sqlx::query_scalar!(
                "INSERT INTO categories (parent_id, slug, name, position)
                 VALUES ($1, $2, $3, COALESCE((SELECT max(position) + 1 FROM categories
                                               WHERE parent_id IS NOT DISTINCT FROM $1), 0))
                 RETURNING id",
                parent,
                slug,
                name
            )
            .fetch_one(&mut **tx)
            .await
            .map_err(super::editing::constraint_error)?;
            audit::record(
                tx,
                actor,
                "category",
                &id.to_string(),
                "import create",
                Changes::new().set("name", name).set("slug", &slug),
            )
            .await?;
            known.categories.push((id, parent, name.clone()));
            parent = Some(id);
        }
        let id = parent.ok_or_else(|| CatalogError::Invalid("an empty category path".into()))?;
        super::announce_catalog(tx).await?;
        Ok(id)
    }

    /// Fetches one image the file names and adds it to the product (`false`: another run
    /// added it meanwhile); the reason it could not be, in words.
    async fn fetch_image(
        &self,
        actor: &Actor,
        fetching: &ImageFetching<'_>,
        product_id: i64,
        img: &CsvImage,
    ) -> Result<bool, String> {
        let bytes = fetch::fetch(&img.src, &fetching.policy)
            .await
            .map_err(|e| format!("not fetched: {e}"))?;
        let image = store_image(fetching.store, product_id, bytes)
            .await
            .map_err(|e| format!("not an image the shop can use: {e}"))?;
        let saved = async {
            let mut tx = self.pool.begin().await?;
            let id = super::image_editing::record_image(
                &mut tx,
                product_id,
                &image,
                &img.alt,
                Some(&img.src),
            )
            .await?;
            let Some(id) = id else {
                return Ok(false);
            };
            // Without its query: a signed address's token is not kept in the log for ever.
            let from = img.src.split(['?', '#']).next().unwrap_or_default();
            audit::record(
                &mut tx,
                actor,
                "product",
                &product_id.to_string(),
                "image imported",
                Changes::new().set("image", id).set("from", from),
            )
            .await?;
            self.finish_write(tx, product_id).await?;
            Ok::<bool, CatalogError>(true)
        }
        .await;
        match saved {
            Ok(true) => Ok(true),
            Ok(false) => {
                super::image_editing::forget(fetching.store, &image.stored).await;
                Ok(false)
            }
            Err(e) => {
                tracing::warn!(error = %e, "an imported image could not be recorded");
                super::image_editing::forget(fetching.store, &image.stored).await;
                Err("fetched, but could not be recorded just now: run the import again".into())
            }
        }
    }
}

/// A row of `catalog_imports`.
struct RunRow {
    id: i64,
    file_name: String,
    rows: i32,
    state: String,
    fetch_images: bool,
    batches_total: i32,
    batches_done: i32,
    report: serde_json::Value,
    error: String,
    at: String,
}

impl From<RunRow> for ImportRun {
    fn from(r: RunRow) -> Self {
        ImportRun {
            id: r.id,
            file_name: r.file_name,
            rows: r.rows.max(0) as usize,
            state: ImportState::parse(&r.state).unwrap_or(ImportState::Failed),
            fetch_images: r.fetch_images,
            batches_total: r.batches_total.max(0) as u32,
            batches_done: r.batches_done.max(0) as u32,
            report: serde_json::from_value(r.report).unwrap_or_default(),
            error: r.error,
            created_at: r.at,
        }
    }
}

/// How long an apply may go without progress before its run counts as abandoned (its
/// instance stopped) and may be started again.
const STALE_APPLY_MINUTES: i32 = 10;

impl CatalogService {
    /// The whole catalog (archived products too, archived variants not) in the format the
    /// import reads: importing it back changes nothing.
    #[tracing::instrument(skip(self, actor))]
    pub async fn export_csv(
        &self,
        actor: &Actor,
        public_url: &str,
    ) -> Result<Vec<u8>, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut conn = self.pool.acquire().await?;
        let products = sqlx::query!(
            r#"SELECT id, slug, name, description, brand, category_id, tags, published,
                      archived_at IS NOT NULL AS "archived!", option_names, seo_title, seo_description
               FROM products ORDER BY id"#
        )
        .fetch_all(&mut *conn)
        .await?;
        let variants = sqlx::query!(
            "SELECT product_id, sku, option_values, price_minor, currency, compare_at_minor,
                    weight_grams, barcode, stock_on_hand
             FROM variants WHERE archived_at IS NULL ORDER BY product_id, position, id"
        )
        .fetch_all(&mut *conn)
        .await?;
        let images = sqlx::query!(
            "SELECT product_id, url, alt FROM product_images ORDER BY product_id, position, id"
        )
        .fetch_all(&mut *conn)
        .await?;
        let categories = sqlx::query!("SELECT id, parent_id, name FROM categories ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
        drop(conn);
        let known = Known {
            products: HashMap::new(),
            sku_owner: HashMap::new(),
            done: HashSet::new(),
            categories: categories
                .into_iter()
                .map(|c| (c.id, c.parent_id, c.name))
                .collect(),
        };
        let mut by_id: HashMap<i64, usize> = HashMap::new();
        let mut out: Vec<CsvProduct> = Vec::with_capacity(products.len());
        for p in products {
            by_id.insert(p.id, out.len());
            out.push(CsvProduct {
                line: 0,
                handle: p.slug,
                title: p.name,
                body_html: p.description,
                vendor: p.brand,
                category_path: known.path(p.category_id),
                tags: p.tags,
                published: p.published,
                status: if p.archived {
                    Status::Archived
                } else if p.published {
                    Status::Active
                } else {
                    Status::Draft
                },
                option_names: p.option_names,
                variants: Vec::new(),
                images: Vec::new(),
                seo_title: p.seo_title,
                seo_description: p.seo_description,
                rows: 0,
            });
        }
        for v in variants {
            let Some(&i) = by_id.get(&v.product_id) else {
                continue;
            };
            let currency = domain::Currency::parse(v.currency.trim()).unwrap_or(self.currency);
            out[i].variants.push(shopify_csv::CsvVariant {
                line: 0,
                sku: Some(v.sku),
                option_values: v.option_values,
                grams: v.weight_grams,
                stock: Some(v.stock_on_hand),
                price: Money::new(v.price_minor, currency),
                compare_at: v.compare_at_minor.map(|m| Money::new(m, currency)),
                barcode: v.barcode,
            });
        }
        for img in images {
            let Some(&i) = by_id.get(&img.product_id) else {
                continue;
            };
            out[i].images.push(CsvImage {
                line: 0,
                src: absolute(public_url, &img.url),
                alt: img.alt,
                position: None,
            });
        }
        // A product whose variants are all archived has no row to carry it.
        out.retain(|p| !p.variants.is_empty());
        let mut bytes = Vec::new();
        shopify_csv::write(&mut bytes, &out)
            .map_err(|e| CatalogError::Invalid(format!("the export could not be written: {e}")))?;
        Ok(bytes)
    }

    /// Checks an uploaded file and keeps it, with its dry run's report, as an import run
    /// waiting to be applied from its page. Returns the run's id.
    pub async fn import_check(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: Vec<u8>,
        fetch_images: bool,
        options: &ImportOptions<'_>,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let report = self.import_dry_run(actor, &bytes, options).await?;
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(255)
            .collect();
        let keep = (!report.has_problems()).then_some(bytes.as_slice());
        // Files checked long ago and never applied are not kept for ever.
        sqlx::query!(
            "UPDATE catalog_imports SET file = NULL
             WHERE file IS NOT NULL AND state IN ('checked', 'failed')
               AND updated_at < now() - interval '7 days'"
        )
        .execute(&self.pool)
        .await?;
        let id = sqlx::query_scalar!(
            "INSERT INTO catalog_imports (file_sha256, file_name, file, rows, state, fetch_images,
                                          batches_total, report, created_by)
             VALUES ($1, $2, $3, $4, 'checked', $5, $6, $7, $8) RETURNING id",
            file_key(&bytes),
            name,
            keep,
            report.rows as i32,
            fetch_images,
            report.batches as i32,
            serde_json::to_value(&report).unwrap_or_default(),
            actor.user_id
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// An import run as its page shows it.
    pub async fn import_run(&self, actor: &Actor, id: i64) -> Result<ImportRun, CatalogError> {
        actor.require(Permission::Catalog)?;
        let r = sqlx::query_as!(
            RunRow,
            r#"SELECT id, file_name, rows, state, fetch_images, batches_total, batches_done, report,
                      error, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "at!"
               FROM catalog_imports WHERE id = $1"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(CatalogError::NotFound("import"))?;
        Ok(r.into())
    }

    /// Marks a checked run as applying and hands back its file and whether to fetch its
    /// images; refused when it had bad rows, is applied, or is being applied (unless that
    /// apply stopped making progress long ago).
    pub async fn import_claim(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(Vec<u8>, bool), CatalogError> {
        actor.require(Permission::Catalog)?;
        let claimed = sqlx::query!(
            r#"UPDATE catalog_imports SET state = 'applying', batches_done = 0, error = '', updated_at = now()
               WHERE id = $1 AND file IS NOT NULL
                 AND (state IN ('checked', 'failed')
                      OR (state = 'applying' AND updated_at < now() - make_interval(mins => $2)))
               RETURNING file AS "file!", fetch_images"#,
            id,
            STALE_APPLY_MINUTES
        )
        .fetch_optional(&self.pool)
        .await?;
        match claimed {
            Some(r) => Ok((r.file, r.fetch_images)),
            None => {
                let run = self.import_run(actor, id).await?;
                Err(CatalogError::Clash(match run.state {
                    ImportState::Applied => "This import is applied already.".into(),
                    ImportState::Applying => "This import is being applied.".into(),
                    _ => "The file has bad rows: fix them and import it again.".into(),
                }))
            }
        }
    }

    /// Applies a claimed run, recording its progress and its outcome on the run.
    pub async fn import_apply_run(
        &self,
        actor: &Actor,
        id: i64,
        bytes: &[u8],
        options: &ImportOptions<'_>,
    ) -> Result<ImportReport, CatalogError> {
        let pool = self.pool.clone();
        let progress = move |done: usize, _total: usize| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query!(
                    "UPDATE catalog_imports SET batches_done = GREATEST(batches_done, $2), updated_at = now()
                     WHERE id = $1",
                    id,
                    done as i32
                )
                .execute(&pool)
                .await;
            });
        };
        let result = self.import_apply(actor, bytes, options, &progress).await;
        let (state, report, error) = match &result {
            Ok(r) if r.applied => ("applied", Some(r), String::new()),
            Ok(r) => ("failed", Some(r), "The catalog changed since the check: look at the rows below, then import the file again.".to_owned()),
            Err(e) => ("failed", None, e.to_string()),
        };
        sqlx::query!(
            "UPDATE catalog_imports SET state = $2, report = COALESCE($3, report), error = $4,
                    file = CASE WHEN $2 = 'applied' THEN NULL ELSE file END,
                    batches_done = CASE WHEN $2 = 'applied' THEN batches_total ELSE batches_done END,
                    updated_at = now()
             WHERE id = $1",
            id,
            state,
            report.map(|r| serde_json::to_value(r).unwrap_or_default()),
            error
        )
        .execute(&self.pool)
        .await?;
        result
    }
}

impl CatalogService {
    /// Claims a checked run and applies it on a task of its own (a page that goes away
    /// does not stop it); its page follows the progress.
    pub async fn import_start(
        &self,
        actor: &Actor,
        id: i64,
        store: MediaStore,
        policy: FetchPolicy,
        public_url: String,
    ) -> Result<(), CatalogError> {
        let (bytes, fetch_images) = self.import_claim(actor, id).await?;
        let catalog = self.clone();
        let actor = actor.clone();
        tokio::spawn(async move {
            let options = ImportOptions {
                public_url: &public_url,
                images: fetch_images.then_some(ImageFetching {
                    store: &store,
                    policy,
                }),
                batching: Batching::default(),
            };
            if let Err(e) = catalog.import_apply_run(&actor, id, &bytes, &options).await {
                tracing::warn!(import = id, error = %e, "an import stopped");
            }
        });
        Ok(())
    }

    /// The most recent import runs, newest first (their reports left out).
    pub async fn import_runs(&self, actor: &Actor) -> Result<Vec<ImportRun>, CatalogError> {
        actor.require(Permission::Catalog)?;
        let rows = sqlx::query_as!(
            RunRow,
            r#"SELECT id, file_name, rows, state, fetch_images, batches_total, batches_done,
                      '{}'::jsonb AS "report!", error,
                      to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "at!"
               FROM catalog_imports ORDER BY id DESC LIMIT 20"#
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ImportRun::from).collect())
    }
}
