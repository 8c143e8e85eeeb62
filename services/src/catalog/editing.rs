//! The admin's product screens: the list, the edit screen, and every write to products and
//! their variants. Each write checks the role against the database, refuses a save made
//! from an older version of the product, records itself in the audit log and announces
//! the change (caches on every instance, the search index), all in its own transaction.

use super::{announce_change, CatalogError, CatalogService, CategoryTree};
use crate::audit::{self, Actor, Changes};
use domain::product_admin::{
    change_by_bps, format_options, parse_options, variant_matrix, BulkAction, CategoryChoice,
    OptionSpec, ProductEdit, ProductFields, ProductList, ProductQuery, ProductRow, SaveConflict,
    SortColumn, StatusFilter, StockFilter, VariantEdit, VariantInput, PRODUCTS_PER_PAGE,
};
use domain::staff::Permission;
use domain::text::has_control_chars;
use domain::{Currency, FieldError, Money, Slug};
use sqlx::{PgConnection, Postgres, QueryBuilder, Transaction};
use std::collections::HashSet;

/// The most products one bulk action changes.
pub const BULK_LIMIT: usize = 500;

/// The category choices of a form: every category by its path, depth-first.
pub(super) fn choices(tree: &CategoryTree) -> Vec<CategoryChoice> {
    tree.depth_first()
        .into_iter()
        .map(|(n, _)| CategoryChoice {
            id: n.id,
            path: tree.path(n.id),
        })
        .collect()
}

/// A product's fields, checked and cleaned.
struct CleanFields {
    name: String,
    slug: String,
    description: String,
    brand: String,
    category_id: i64,
    published: bool,
    featured: bool,
    seo_title: String,
    seo_description: String,
    attributes: Vec<(String, String)>,
}

/// `text` trimmed, at most `max` characters and without control characters.
fn plain(field: &str, label: &str, text: &str, max: usize) -> Result<String, FieldError> {
    let t = text.trim();
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("{label} is at most {max} characters."),
        ));
    }
    if has_control_chars(t) {
        return Err(FieldError::new(
            field,
            format!("{label} cannot hold control characters."),
        ));
    }
    Ok(t.to_owned())
}

/// A description cut down to the rich text the shop shows: paragraphs, line breaks,
/// emphasis, lists, small headings, quotes and links (which get `rel="noopener
/// nofollow"`). Everything else (scripts, styles, event handlers, images, frames) is
/// removed, so a description can never run code in a shopper's browser.
pub fn sanitise_description(html: &str) -> String {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "strong",
        "em",
        "b",
        "i",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "h4",
        "blockquote",
        "a",
        "code",
        "pre",
    ]
    .into_iter()
    .collect();
    ammonia::Builder::default()
        .tags(tags)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener nofollow"))
        .clean(html)
        .to_string()
}

/// The text of a sanitised description, for meta tags and structured data.
pub fn description_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    // `&amp;` last, so a typed "&lt;" stays "&lt;" (not decoded twice).
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_fields(f: &ProductFields) -> Result<CleanFields, FieldError> {
    let name = plain("name", "A name", &f.name, 200)?;
    if name.is_empty() {
        return Err(FieldError::new("name", "Give the product a name."));
    }
    let slug = if f.slug.trim().is_empty() {
        Slug::from_name(&name)
    } else {
        Slug::parse(f.slug.trim())
    }
    .map_err(|e| FieldError::new("slug", format!("The web address: {e}.")))?;
    let description = sanitise_description(&f.description);
    if description.chars().count() > 20_000 {
        return Err(FieldError::new(
            "description",
            "A description is at most 20,000 characters.",
        ));
    }
    let mut attributes: Vec<(String, String)> = Vec::new();
    for line in f
        .attributes
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let Some((n, v)) = line.split_once(':') else {
            return Err(FieldError::new(
                "attributes",
                format!("Write each attribute as “Name: value” (“{line}” has no colon)."),
            ));
        };
        let n = plain("attributes", "An attribute's name", n, 100)?;
        let v = plain("attributes", "An attribute's value", v, 500)?;
        if n.is_empty() {
            return Err(FieldError::new("attributes", "An attribute needs a name."));
        }
        if attributes.iter().any(|(x, _)| x.eq_ignore_ascii_case(&n)) {
            return Err(FieldError::new(
                "attributes",
                format!("The attribute “{n}” is there twice."),
            ));
        }
        attributes.push((n, v));
    }
    if attributes.len() > 30 {
        return Err(FieldError::new(
            "attributes",
            "A product has at most 30 attributes.",
        ));
    }
    Ok(CleanFields {
        name,
        slug: slug.to_string(),
        description,
        brand: plain("brand", "A brand", &f.brand, 100)?,
        category_id: f.category_id,
        published: f.published,
        featured: f.featured,
        seo_title: plain("seo_title", "An SEO title", &f.seo_title, 200)?,
        seo_description: plain(
            "seo_description",
            "An SEO description",
            &f.seo_description,
            500,
        )?,
        attributes,
    })
}

/// A SKU made from a product's slug and a variant's option values: `LINEN-SHIRT-RED-M`.
pub(super) fn sku_for(slug: &str, values: &[String]) -> String {
    let mut raw = slug.to_owned();
    for v in values {
        raw.push('-');
        raw.push_str(v);
    }
    let mut out = String::new();
    let mut hyphen = false;
    for ch in raw.chars() {
        if ch.is_ascii_alphanumeric() {
            if hyphen && !out.is_empty() {
                out.push('-');
            }
            hyphen = false;
            out.push(ch.to_ascii_uppercase());
        } else {
            hyphen = true;
        }
    }
    out.truncate(56);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "SKU".into()
    } else {
        out
    }
}

/// What a made-up name must not share with another: a variant's SKU, a product's slug.
#[derive(Debug, Clone, Copy)]
pub(super) enum Unique {
    Sku,
    Slug,
}

/// `base`, or `base-2`, `base-3`… whichever nothing has yet (nor one of `taken`); a slug
/// is not one that is some product's old address either. `base` is cut to leave room for
/// the suffix within the column's length.
pub(super) async fn first_free(
    conn: &mut PgConnection,
    unique: Unique,
    base: &str,
    taken: &HashSet<String>,
) -> Result<String, sqlx::Error> {
    let max = match unique {
        Unique::Sku => 64,
        Unique::Slug => domain::slug::MAX_SLUG_LEN,
    };
    let cut: String = base.chars().take(max - 7).collect();
    let base = cut.trim_end_matches('-');
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        if taken.contains(&candidate) {
            continue;
        }
        let used = match unique {
            Unique::Sku => {
                sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM variants WHERE sku = $1) AS "used!""#,
                    candidate
                )
                .fetch_one(&mut *conn)
                .await?
            }
            Unique::Slug => {
                sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM products WHERE slug = $1)
                           OR EXISTS (SELECT 1 FROM slug_redirects WHERE kind = 'product' AND old_slug = $1)
                           AS "used!""#,
                    candidate
                )
                .fetch_one(&mut *conn)
                .await?
            }
        };
        if !used {
            return Ok(candidate);
        }
    }
    let tail = crate::random::hex(3).unwrap_or_default();
    Ok(match unique {
        Unique::Sku => format!("{base}-{}", tail.to_uppercase()),
        Unique::Slug => format!("{base}-{tail}"),
    })
}

/// A unique-constraint or foreign-key failure told in words; other errors as they are.
pub(super) fn constraint_error(e: sqlx::Error) -> CatalogError {
    if let sqlx::Error::Database(db) = &e {
        match db.constraint() {
            Some("products_slug_key") => {
                return FieldError::new("slug", "Another product has this web address.").into()
            }
            Some("categories_slug_key") => {
                return FieldError::new("slug", "Another category has this web address.").into()
            }
            Some("variants_sku_key") => {
                return FieldError::new("variants", "Two variants cannot share a SKU.").into()
            }
            Some("products_category_id_fkey") | Some("categories_parent_id_fkey") => {
                return FieldError::new("category_id", "Choose a category that exists.").into()
            }
            Some("categories_no_loop") | Some("categories_check") => {
                return FieldError::new(
                    "parent_id",
                    "A category cannot be moved under itself or one of its own subcategories.",
                )
                .into()
            }
            Some("order_lines_variant_id_fkey") => {
                return CatalogError::Clash(
                    "Orders refer to this product, so it cannot be deleted: archive it instead."
                        .into(),
                )
            }
            _ => {}
        }
    }
    CatalogError::Database(e)
}

/// A short form of a value for the conflict message.
fn shown(value: &serde_json::Value) -> String {
    let s = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let text = description_text(&s);
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

impl CatalogService {
    /// The product's row locked for a write, checked against the version the save was
    /// made from (`None`: an action that applies to whatever is there, such as archive).
    async fn lock_product(
        &self,
        conn: &mut PgConnection,
        id: i64,
        expected: Option<i64>,
    ) -> Result<i64, CatalogError> {
        let version =
            sqlx::query_scalar!("SELECT version FROM products WHERE id = $1 FOR UPDATE", id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(CatalogError::NotFound("product"))?;
        match expected {
            Some(v) if v != version => Err(self.conflict(conn, id, v).await?),
            _ => Ok(version),
        }
    }

    /// What changed since version `since`, from the audit log (each save records the
    /// version it made).
    async fn conflict(
        &self,
        conn: &mut PgConnection,
        id: i64,
        since: i64,
    ) -> Result<CatalogError, CatalogError> {
        let rows = sqlx::query!(
            r#"SELECT a.changes, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "at!",
                      COALESCE(u.email, a.actor) AS "by!"
               FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
               WHERE a.entity = 'product' AND a.entity_id = $1::bigint::text
                 AND COALESCE((a.changes->'version'->>'after')::bigint, 0) > $2
               ORDER BY a.id"#,
            id,
            since
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut changes: Vec<(String, String)> = Vec::new();
        for r in &rows {
            if let serde_json::Value::Object(map) = &r.changes {
                for (field, change) in map {
                    if field == "version" {
                        continue;
                    }
                    let after = shown(change.get("after").unwrap_or(&serde_json::Value::Null));
                    match changes.iter_mut().find(|(f, _)| f == field) {
                        Some(entry) => entry.1 = after,
                        None => changes.push((field.clone(), after)),
                    }
                }
            }
        }
        let (by, at) = rows
            .last()
            .map(|r| (r.by.clone(), r.at.clone()))
            .unwrap_or_else(|| ("Someone".into(), "a moment ago".into()));
        Ok(CatalogError::Conflict(Box::new(SaveConflict {
            by,
            at,
            changes,
        })))
    }

    /// Moves the product's version on, records the write and announces it; then commits
    /// and clears this instance's cache.
    async fn finish_edit(
        &self,
        mut tx: Transaction<'_, Postgres>,
        actor: &Actor,
        id: i64,
        action: &str,
        changes: Changes,
    ) -> Result<i64, CatalogError> {
        let version = sqlx::query_scalar!(
            "UPDATE products SET version = version + 1, updated_at = now(), updated_by = $2
             WHERE id = $1 RETURNING version",
            id,
            actor.user_id
        )
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "product",
            &id.to_string(),
            action,
            changes.set("version", version),
        )
        .await?;
        announce_change(&mut tx, id).await?;
        tx.commit().await?;
        self.invalidate_cache();
        Ok(version)
    }

    /// One page of the admin's product list.
    #[tracing::instrument(skip(self, actor))]
    pub async fn admin_products(
        &self,
        actor: &Actor,
        query: &ProductQuery,
    ) -> Result<ProductList, CatalogError> {
        actor.require(Permission::Catalog)?;
        let q = query.q.trim();
        if has_control_chars(q) || q.chars().count() > 100 {
            return Err(
                FieldError::new("q", "Search for up to 100 letters, digits and signs.").into(),
            );
        }
        let tree = self.tree().await?;
        let per = i64::from(PRODUCTS_PER_PAGE);
        let page = query.page().min(10_000);
        // Only the conditions in use are written, so each combination gets a plan of its
        // own (a generic plan cannot see which optional filters are off).
        let order = match (query.sort, query.descending()) {
            (SortColumn::Updated, true) => "p.updated_at DESC, p.id DESC",
            (SortColumn::Updated, false) => "p.updated_at, p.id",
            (SortColumn::Name, false) => "p.name, p.id",
            (SortColumn::Name, true) => "p.name DESC, p.id DESC",
            (SortColumn::Created, true) => "p.created_at DESC, p.id DESC",
            (SortColumn::Created, false) => "p.created_at, p.id",
        };
        let (limit, offset) = (per + 1, i64::from(page - 1) * per);
        let like = (!q.is_empty()).then(|| {
            (
                format!("%{}%", crate::like_escaped(&q.to_lowercase())),
                format!("{}%", crate::like_escaped(&q.to_uppercase())),
            )
        });
        // The filters other than the category. Only those in use are written, so each
        // combination gets a plan of its own (a generic plan cannot see which are off).
        let filters = |qb: &mut QueryBuilder<Postgres>| {
            if let Some((name, sku)) = &like {
                qb.push(" AND p.id IN (SELECT id FROM products WHERE lower(name) LIKE ")
                    .push_bind(name.clone())
                    .push(" UNION SELECT product_id FROM variants WHERE sku LIKE ")
                    .push_bind(sku.clone())
                    .push(")");
            }
            qb.push(match query.status {
                StatusFilter::Active => " AND p.archived_at IS NULL",
                StatusFilter::Published => " AND p.published",
                StatusFilter::Draft => " AND NOT p.published AND p.archived_at IS NULL",
                StatusFilter::Archived => " AND p.archived_at IS NOT NULL",
                StatusFilter::All => "",
            });
            // A variant on sale with stock (the partial index `variants_on_sale_stock_idx`).
            let on_sale = "EXISTS (SELECT 1 FROM variants s WHERE s.product_id = p.id \
                           AND s.stock_on_hand > 0 AND s.archived_at IS NULL)";
            match query.stock {
                StockFilter::Any => {}
                StockFilter::InStock => {
                    qb.push(" AND ").push(on_sale);
                }
                StockFilter::OutOfStock => {
                    qb.push(" AND NOT ").push(on_sale);
                }
            }
        };
        let subtree = query.category.map(|c| tree.subtree_ids(c));
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("");
        match subtree {
            // A category (and those under it): one ordered index scan per category,
            // each stopping at the page's end, merged. A single scan of the whole sort
            // order that filters by category reads every product of the others first
            // when a category's products sit late in that order.
            Some(ids) if ids.len() <= 24 => {
                qb.push("SELECT id FROM (");
                for (n, id) in ids.iter().enumerate() {
                    if n > 0 {
                        qb.push(" UNION ALL ");
                    }
                    qb.push("(SELECT p.id, p.name, p.updated_at, p.created_at FROM products p WHERE p.category_id = ")
                        .push_bind(*id);
                    filters(&mut qb);
                    qb.push(" ORDER BY ")
                        .push(order)
                        .push(" LIMIT ")
                        .push_bind(offset + limit)
                        .push(")");
                }
                qb.push(") p");
            }
            Some(ids) => {
                qb.push("SELECT p.id FROM products p WHERE p.category_id = ANY(")
                    .push_bind(ids)
                    .push(")");
                filters(&mut qb);
            }
            None => {
                qb.push("SELECT p.id FROM products p WHERE TRUE");
                filters(&mut qb);
            }
        }
        qb.push(" ORDER BY ")
            .push(order)
            .push(" LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let mut ids: Vec<i64> = qb.build_query_scalar().fetch_all(&self.pool).await?;
        let has_next = ids.len() as i64 > per;
        ids.truncate(per as usize);
        let rows = sqlx::query!(
            r#"SELECT p.id, p.name, p.slug, c.name AS category, p.published,
                      p.archived_at IS NOT NULL AS "archived!",
                      to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "updated!",
                      to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS "created!",
                      v.variants AS "variants!", v.min_price, v.currency, v.stock AS "stock!"
               FROM products p
               JOIN categories c ON c.id = p.category_id
               CROSS JOIN LATERAL (
                   SELECT count(*) AS variants,
                          min(price_minor) FILTER (WHERE archived_at IS NULL) AS min_price,
                          min(currency) AS currency,
                          COALESCE(sum(stock_on_hand) FILTER (WHERE archived_at IS NULL), 0)::bigint AS stock
                   FROM variants WHERE product_id = p.id) v
               WHERE p.id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<ProductRow> = rows
            .into_iter()
            .map(|r| ProductRow {
                id: r.id,
                name: r.name,
                slug: r.slug,
                category: r.category,
                variants: r.variants,
                price_from: r.min_price.map(|m| {
                    let currency = r
                        .currency
                        .as_deref()
                        .and_then(|c| Currency::parse(c.trim()).ok())
                        .unwrap_or(self.currency);
                    Money::new(m, currency)
                }),
                stock: r.stock,
                published: r.published,
                archived: r.archived,
                updated: r.updated,
                created: r.created,
            })
            .collect();
        out.sort_by_key(|r| ids.iter().position(|i| *i == r.id));
        Ok(ProductList {
            rows: out,
            page,
            has_next,
            categories: choices(&tree),
            may_edit: actor.require(Permission::Catalog).is_ok(),
        })
    }

    /// A product as its edit screen shows it.
    #[tracing::instrument(skip(self, actor))]
    pub async fn product_for_edit(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<ProductEdit, CatalogError> {
        actor.require(Permission::Catalog)?;
        let p = sqlx::query!(
            r#"SELECT p.version, p.name, p.slug, p.description, p.brand, p.category_id, p.published,
                      p.featured, p.seo_title, p.seo_description, p.option_names,
                      p.archived_at IS NOT NULL AS "archived!",
                      to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "updated!",
                      u.email AS "updated_by?",
                      NOT EXISTS (SELECT 1 FROM order_lines l JOIN variants v ON v.id = l.variant_id
                                  WHERE v.product_id = p.id) AS "deletable!"
               FROM products p LEFT JOIN users u ON u.id = p.updated_by
               WHERE p.id = $1"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(CatalogError::NotFound("product"))?;
        let attributes = sqlx::query!(
            "SELECT name, value FROM product_attributes WHERE product_id = $1 ORDER BY position, name",
            id
        )
        .fetch_all(&self.pool)
        .await?;
        let variants = sqlx::query!(
            r#"SELECT id, sku, option_values, price_minor, currency, compare_at_minor, weight_grams,
                      barcode, stock_on_hand, archived_at IS NOT NULL AS "archived!"
               FROM variants WHERE product_id = $1 ORDER BY archived_at IS NOT NULL, position, id"#,
            id
        )
        .fetch_all(&self.pool)
        .await?;
        let currency = variants
            .first()
            .and_then(|v| Currency::parse(v.currency.trim()).ok())
            .unwrap_or(self.currency);
        let major = |m: i64| Money::new(m, currency).to_major_string();
        let mut options: Vec<OptionSpec> = p
            .option_names
            .iter()
            .map(|n| OptionSpec {
                name: n.clone(),
                values: Vec::new(),
            })
            .collect();
        for v in variants.iter().filter(|v| !v.archived) {
            for (i, value) in v.option_values.iter().enumerate() {
                if let Some(o) = options.get_mut(i) {
                    if !o.values.contains(value) {
                        o.values.push(value.clone());
                    }
                }
            }
        }
        let tree = self.tree().await?;
        Ok(ProductEdit {
            id,
            version: p.version,
            fields: ProductFields {
                name: p.name,
                slug: p.slug,
                description: p.description,
                brand: p.brand,
                category_id: p.category_id,
                published: p.published,
                featured: p.featured,
                seo_title: p.seo_title,
                seo_description: p.seo_description,
                attributes: attributes
                    .into_iter()
                    .map(|a| format!("{}: {}", a.name, a.value))
                    .collect::<Vec<_>>()
                    .join("\n"),
            },
            archived: p.archived,
            currency,
            options,
            variants: variants
                .into_iter()
                .map(|v| VariantEdit {
                    id: v.id,
                    sku: v.sku,
                    options: v.option_values,
                    price: major(v.price_minor),
                    compare_at: v.compare_at_minor.map(major).unwrap_or_default(),
                    weight_grams: v.weight_grams.map(|w| w.to_string()).unwrap_or_default(),
                    barcode: v.barcode,
                    stock: v.stock_on_hand,
                    archived: v.archived,
                })
                .collect(),
            categories: choices(&tree),
            deletable: p.deletable,
            updated: p.updated,
            updated_by: p.updated_by.unwrap_or_else(|| "the shop".into()),
            may_edit: true,
            may_read_history: actor.require(Permission::ReadAudit).is_ok(),
            images: self.images(actor, id).await?,
        })
    }

    /// Creates a product (unpublished unless asked) with a variant for every combination
    /// of `options` (one per line, `Colour: Red, Blue`), each at `price` with no stock.
    #[tracing::instrument(skip(self, actor, fields))]
    pub async fn create_product(
        &self,
        actor: &Actor,
        fields: &ProductFields,
        options: &str,
        price: &str,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let f = clean_fields(fields)?;
        let options = parse_options(options).map_err(|m| FieldError::new("options", m))?;
        let price = Money::parse_major(price, self.currency)
            .map_err(|_| FieldError::new("price", "Give the price as an amount, such as 19.90."))?;
        if price.amount_minor() < 0 {
            return Err(FieldError::new("price", "A price cannot be negative.").into());
        }
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        let names: Vec<String> = options.iter().map(|o| o.name.clone()).collect();
        let id = sqlx::query_scalar!(
            r#"INSERT INTO products (category_id, slug, name, description, brand, option_names, published,
                                     featured, seo_title, seo_description, updated_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"#,
            f.category_id,
            f.slug,
            f.name,
            f.description,
            f.brand,
            &names,
            f.published,
            f.featured,
            f.seo_title,
            f.seo_description,
            actor.user_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(constraint_error)?;
        sqlx::query!(
            "DELETE FROM slug_redirects WHERE kind = 'product' AND old_slug = $1",
            f.slug
        )
        .execute(&mut *tx)
        .await?;
        write_attributes(&mut tx, id, &f.attributes).await?;
        let mut taken = HashSet::new();
        for (pos, values) in variant_matrix(&options).iter().enumerate() {
            let sku = first_free(&mut tx, Unique::Sku, &sku_for(&f.slug, values), &taken).await?;
            taken.insert(sku.clone());
            insert_variant(&mut tx, id, &sku, values, price, pos).await?;
        }
        let changes = Changes::new()
            .set("name", &f.name)
            .set("slug", &f.slug)
            .set("category_id", f.category_id)
            .set("published", f.published)
            .set("options", format_options(&options))
            .set("variants", taken.len());
        self.finish_edit(tx, actor, id, "create", changes).await?;
        Ok(id)
    }

    /// Saves the product's own fields, made from `version` of it.
    #[tracing::instrument(skip(self, actor, fields))]
    pub async fn update_product(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        fields: &ProductFields,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let f = clean_fields(fields)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        self.lock_product(&mut tx, id, Some(version)).await?;
        let old = sqlx::query!(
            r#"SELECT name, slug, description, brand, category_id, published, featured, seo_title,
                      seo_description, archived_at IS NOT NULL AS "archived!",
                      COALESCE((SELECT string_agg(name || ': ' || value, E'\n' ORDER BY position, name)
                                FROM product_attributes WHERE product_id = $1), '') AS "attributes!"
               FROM products WHERE id = $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        if old.archived && f.published {
            return Err(FieldError::new(
                "published",
                "An archived product cannot be published: restore it from the archive first.",
            )
            .into());
        }
        sqlx::query!(
            r#"UPDATE products SET name = $2, slug = $3, description = $4, brand = $5, category_id = $6,
                      published = $7, featured = $8, seo_title = $9, seo_description = $10
               WHERE id = $1"#,
            id,
            f.name,
            f.slug,
            f.description,
            f.brand,
            f.category_id,
            f.published,
            f.featured,
            f.seo_title,
            f.seo_description
        )
        .execute(&mut *tx)
        .await
        .map_err(constraint_error)?;
        if old.slug != f.slug {
            remember_old_slug(&mut tx, "product", &old.slug, &f.slug, id).await?;
        }
        let attributes = f
            .attributes
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        if attributes != old.attributes {
            sqlx::query!("DELETE FROM product_attributes WHERE product_id = $1", id)
                .execute(&mut *tx)
                .await?;
            write_attributes(&mut tx, id, &f.attributes).await?;
        }
        let changes = Changes::new()
            .field("name", &old.name, &f.name)
            .field("slug", &old.slug, &f.slug)
            .field("description", &old.description, &f.description)
            .field("brand", &old.brand, &f.brand)
            .field("category_id", old.category_id, f.category_id)
            .field("published", old.published, f.published)
            .field("featured", old.featured, f.featured)
            .field("seo_title", &old.seo_title, &f.seo_title)
            .field("seo_description", &old.seo_description, &f.seo_description)
            .field("attributes", &old.attributes, &attributes);
        self.finish_edit(tx, actor, id, "update", changes).await
    }

    /// Sets the product's options (one per line, `Colour: Red, Blue`) and makes its
    /// variants the matrix of their values: a variant whose values remain is kept as it
    /// is; a new combination gets a variant (a new SKU, the product's lowest price, no
    /// stock); a variant whose values went is deleted, or archived when orders refer to it.
    #[tracing::instrument(skip(self, actor))]
    pub async fn set_options(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        options: &str,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let options = parse_options(options).map_err(|m| FieldError::new("options", m))?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        self.lock_product(&mut tx, id, Some(version)).await?;
        let product = sqlx::query!("SELECT slug, option_names FROM products WHERE id = $1", id)
            .fetch_one(&mut *tx)
            .await?;
        // Locked in id order, as checkout locks them, so the two cannot deadlock.
        let mut existing = sqlx::query!(
            r#"SELECT v.id, v.sku, v.option_values, v.price_minor, v.currency, v.position,
                      v.archived_at IS NOT NULL AS "archived!"
               FROM variants v WHERE v.product_id = $1 ORDER BY v.id FOR UPDATE"#,
            id
        )
        .fetch_all(&mut *tx)
        .await?;
        existing.sort_by_key(|v| (v.position, v.id));
        // Read once the locks are held, in a statement of its own, so it sees an order
        // that committed while this waited for them.
        let ordered: HashSet<i64> = ordered_variants(&mut tx, id).await?.into_iter().collect();
        let price = existing
            .iter()
            .filter(|v| !v.archived)
            .map(|v| v.price_minor)
            .min()
            .or_else(|| existing.iter().map(|v| v.price_minor).min())
            .unwrap_or(0);
        let currency = existing
            .first()
            .and_then(|v| Currency::parse(v.currency.trim()).ok())
            .unwrap_or(self.currency);
        let matrix = variant_matrix(&options);
        let (mut created, mut restored, mut archived, mut deleted) = (0, 0, 0, 0);
        let mut taken: HashSet<String> = existing.iter().map(|v| v.sku.clone()).collect();
        for (pos, values) in matrix.iter().enumerate() {
            match existing.iter().find(|v| &v.option_values == values) {
                Some(v) => {
                    if v.archived {
                        restored += 1;
                    }
                    sqlx::query!(
                        "UPDATE variants SET position = $2, archived_at = NULL, updated_at = now() WHERE id = $1",
                        v.id,
                        pos as i32
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    let sku = first_free(
                        &mut tx,
                        Unique::Sku,
                        &sku_for(&product.slug, values),
                        &taken,
                    )
                    .await?;
                    taken.insert(sku.clone());
                    insert_variant(&mut tx, id, &sku, values, Money::new(price, currency), pos)
                        .await?;
                    created += 1;
                }
            }
        }
        for v in existing
            .iter()
            .filter(|v| !matrix.contains(&v.option_values))
        {
            if ordered.contains(&v.id) {
                if !v.archived {
                    sqlx::query!(
                        "UPDATE variants SET archived_at = now(), updated_at = now() WHERE id = $1",
                        v.id
                    )
                    .execute(&mut *tx)
                    .await?;
                    archived += 1;
                }
            } else {
                sqlx::query!("DELETE FROM variants WHERE id = $1", v.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(constraint_error)?;
                deleted += 1;
            }
        }
        let names: Vec<String> = options.iter().map(|o| o.name.clone()).collect();
        sqlx::query!(
            "UPDATE products SET option_names = $2 WHERE id = $1",
            id,
            &names
        )
        .execute(&mut *tx)
        .await?;
        let before = self.options_text(
            &product.option_names,
            &existing
                .iter()
                .filter(|v| !v.archived)
                .map(|v| v.option_values.clone())
                .collect::<Vec<_>>(),
        );
        let changes = Changes::new()
            .field("options", before, format_options(&options))
            .field("variants created", 0, created)
            .field("variants restored", 0, restored)
            .field("variants archived", 0, archived)
            .field("variants deleted", 0, deleted);
        self.finish_edit(tx, actor, id, "options", changes).await
    }

    /// Options as text from names and the value rows of the variants on sale.
    fn options_text(&self, names: &[String], rows: &[Vec<String>]) -> String {
        let specs: Vec<OptionSpec> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut values: Vec<String> = Vec::new();
                for r in rows {
                    if let Some(v) = r.get(i) {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
                OptionSpec {
                    name: n.clone(),
                    values,
                }
            })
            .collect();
        format_options(&specs)
    }

    /// Saves the variants' SKU, price, compare-at price, weight and barcode, made from
    /// `version` of the product.
    #[tracing::instrument(skip(self, actor, rows))]
    pub async fn update_variants(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        rows: &[VariantInput],
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        self.lock_product(&mut tx, id, Some(version)).await?;
        let existing = sqlx::query!(
            r#"SELECT id, sku, price_minor, currency, compare_at_minor, weight_grams, barcode
               FROM variants WHERE product_id = $1 ORDER BY id FOR UPDATE"#,
            id
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut changes = Changes::new();
        let mut seen = HashSet::new();
        for row in rows {
            let Some(old) = existing.iter().find(|v| v.id == row.id) else {
                return Err(FieldError::new(
                    "variants",
                    "A variant in the form is not this product's any more: reload the page.",
                )
                .into());
            };
            let sku = row.sku.trim().to_uppercase();
            domain::product_admin::check_sku(&sku)
                .map_err(|m| FieldError::new("variants", format!("{}: {m}", old.sku)))?;
            if !seen.insert(sku.clone()) {
                return Err(
                    FieldError::new("variants", format!("The SKU {sku} is there twice.")).into(),
                );
            }
            let currency = Currency::parse(old.currency.trim()).unwrap_or(self.currency);
            let money = |field: &str, text: &str| -> Result<Option<i64>, FieldError> {
                if text.trim().is_empty() {
                    return Ok(None);
                }
                Money::parse_major(text, currency)
                    .map(|m| Some(m.amount_minor()))
                    .map_err(|_| {
                        FieldError::new(
                            "variants",
                            format!("{sku}: give the {field} as an amount, such as 19.90."),
                        )
                    })
            };
            let price = money("price", &row.price)?
                .ok_or_else(|| FieldError::new("variants", format!("{sku}: give it a price.")))?;
            let compare_at = money("compare-at price", &row.compare_at)?;
            if compare_at.is_some_and(|c| c <= price) {
                return Err(FieldError::new("variants", format!("{sku}: a compare-at price is the higher price it was; leave it empty or make it more than the price.")).into());
            }
            let weight = if row.weight_grams.trim().is_empty() {
                None
            } else {
                Some(
                    row.weight_grams
                        .trim()
                        .parse::<i32>()
                        .ok()
                        .filter(|w| (0..=1_000_000).contains(w))
                        .ok_or_else(|| {
                            FieldError::new(
                                "variants",
                                format!("{sku}: give the weight in whole grams, 0 to 1,000,000."),
                            )
                        })?,
                )
            };
            let barcode = row.barcode.trim().to_owned();
            if barcode.len() > 40
                || !barcode
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(FieldError::new(
                    "variants",
                    format!("{sku}: a barcode is up to 40 letters, digits and hyphens."),
                )
                .into());
            }
            if sku == old.sku
                && price == old.price_minor
                && compare_at == old.compare_at_minor
                && weight == old.weight_grams
                && barcode == old.barcode
            {
                continue;
            }
            sqlx::query!(
                r#"UPDATE variants SET sku = $2, price_minor = $3, compare_at_minor = $4, weight_grams = $5,
                          barcode = $6, updated_at = now() WHERE id = $1"#,
                row.id,
                sku,
                price,
                compare_at,
                weight,
                barcode
            )
            .execute(&mut *tx)
            .await
            .map_err(constraint_error)?;
            let label = |f: &str| format!("{} {f}", old.sku);
            let major = |m: Option<i64>| m.map(|m| Money::new(m, currency).to_major_string());
            changes = changes
                .field(&label("sku"), &old.sku, &sku)
                .field(
                    &label("price"),
                    major(Some(old.price_minor)),
                    major(Some(price)),
                )
                .field(
                    &label("compare-at price"),
                    major(old.compare_at_minor),
                    major(compare_at),
                )
                .field(&label("weight (g)"), old.weight_grams, weight)
                .field(&label("barcode"), &old.barcode, &barcode);
        }
        self.finish_edit(tx, actor, id, "variants", changes).await
    }

    /// A copy of the product: unpublished, " (copy)" after its name, a new web address,
    /// its attributes and images, and its variants with new SKUs and no stock.
    #[tracing::instrument(skip(self, actor))]
    pub async fn duplicate_product(&self, actor: &Actor, id: i64) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        let p = sqlx::query!("SELECT name, slug FROM products WHERE id = $1", id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        let base = format!("{}-copy", p.slug.chars().take(105).collect::<String>());
        let slug = first_free(
            &mut tx,
            Unique::Slug,
            base.trim_end_matches('-'),
            &HashSet::new(),
        )
        .await?;
        let name: String = format!("{} (copy)", p.name.chars().take(192).collect::<String>());
        let copy = sqlx::query_scalar!(
            r#"INSERT INTO products (category_id, slug, name, description, brand, option_names, published,
                                     featured, seo_title, seo_description, updated_by)
               SELECT category_id, $2, $3, description, brand, option_names, FALSE, FALSE, seo_title,
                      seo_description, $4
               FROM products WHERE id = $1 RETURNING id"#,
            id,
            slug,
            name,
            actor.user_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(constraint_error)?;
        sqlx::query!(
            "INSERT INTO product_attributes (product_id, name, value, position)
             SELECT $2, name, value, position FROM product_attributes WHERE product_id = $1",
            id,
            copy
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            // Uploaded images stay the original's (their files go when it removes them);
            // the copy gets its own by upload.
            "INSERT INTO product_images (product_id, url, alt, position)
             SELECT $2, url, alt, position FROM product_images
             WHERE product_id = $1 AND storage_key IS NULL",
            id,
            copy
        )
        .execute(&mut *tx)
        .await?;
        let variants = sqlx::query!(
            r#"SELECT sku, option_values, price_minor, currency, compare_at_minor, weight_grams, barcode, position
               FROM variants WHERE product_id = $1 AND archived_at IS NULL ORDER BY position, id"#,
            id
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut taken = HashSet::new();
        for v in &variants {
            let base: String = v.sku.chars().take(50).collect();
            let sku = first_free(
                &mut tx,
                Unique::Sku,
                &format!("{}-COPY", base.trim_end_matches('-')),
                &taken,
            )
            .await?;
            taken.insert(sku.clone());
            sqlx::query!(
                r#"INSERT INTO variants (product_id, sku, option_values, price_minor, currency, compare_at_minor,
                                         weight_grams, barcode, stock_on_hand, position)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, $8)"#,
                copy,
                sku,
                &v.option_values,
                v.price_minor,
                v.currency,
                v.compare_at_minor,
                v.weight_grams,
                v.position
            )
            .execute(&mut *tx)
            .await
            .map_err(constraint_error)?;
        }
        let changes = Changes::new()
            .set("copied from", id)
            .set("name", &name)
            .set("slug", &slug)
            .set("variants", variants.len());
        self.finish_edit(tx, actor, copy, "duplicate", changes)
            .await?;
        Ok(copy)
    }

    /// Archives the product (hidden from the shop, kept for the orders that refer to it)
    /// or restores it from the archive (as a draft).
    #[tracing::instrument(skip(self, actor))]
    pub async fn archive_product(
        &self,
        actor: &Actor,
        id: i64,
        archive: bool,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        self.lock_product(&mut tx, id, None).await?;
        let was = sqlx::query!(
            r#"SELECT archived_at IS NOT NULL AS "archived!", published FROM products WHERE id = $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            r#"UPDATE products SET archived_at = CASE WHEN $2 THEN COALESCE(archived_at, now()) END,
                      published = published AND NOT $2
               WHERE id = $1"#,
            id,
            archive
        )
        .execute(&mut *tx)
        .await?;
        let changes = Changes::new()
            .field("archived", was.archived, archive)
            .field("published", was.published, was.published && !archive);
        self.finish_edit(
            tx,
            actor,
            id,
            if archive { "archive" } else { "restore" },
            changes,
        )
        .await
    }

    /// Deletes the product, only when no order refers to it (else it can be archived).
    /// Returns the files of its uploaded images, for the caller to remove from the media
    /// store once the product is gone for good.
    #[tracing::instrument(skip(self, actor))]
    pub async fn delete_product(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<String>, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        self.lock_product(&mut tx, id, None).await?;
        // The variants' rows held (in id order, as checkout takes them): an order being
        // placed for one of them waits for this transaction (and then finds the variant
        // gone), or this waits for it and then, in a statement of its own, sees its lines.
        // The foreign key refuses the delete anyway should one slip through.
        sqlx::query!(
            "SELECT id FROM variants WHERE product_id = $1 ORDER BY id FOR UPDATE",
            id
        )
        .fetch_all(&mut *tx)
        .await?;
        if !ordered_variants(&mut tx, id).await?.is_empty() {
            return Err(CatalogError::Clash(
                "Orders refer to this product, so it cannot be deleted: archive it instead.".into(),
            ));
        }
        let p = sqlx::query!("SELECT name, slug FROM products WHERE id = $1", id)
            .fetch_one(&mut *tx)
            .await?;
        let files: Vec<String> = sqlx::query!(
            r#"SELECT storage_key AS "key!", widths FROM product_images
               WHERE product_id = $1 AND storage_key IS NOT NULL"#,
            id
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .flat_map(|i| {
            i.widths
                .into_iter()
                .map(move |w| crate::media::file_key(&i.key, w as u32))
        })
        .collect();
        sqlx::query!("DELETE FROM products WHERE id = $1", id)
            .execute(&mut *tx)
            .await
            .map_err(constraint_error)?;
        audit::record(
            &mut tx,
            actor,
            "product",
            &id.to_string(),
            "delete",
            Changes::new()
                .field("name", &p.name, "")
                .field("slug", &p.slug, ""),
        )
        .await?;
        announce_change(&mut tx, id).await?;
        tx.commit().await?;
        self.invalidate_cache();
        Ok(files)
    }

    /// Applies one action to a selection of products in one transaction; returns how
    /// many products it changed. Publishing leaves archived products alone.
    #[tracing::instrument(skip(self, actor))]
    pub async fn bulk_edit(
        &self,
        actor: &Actor,
        ids: &[i64],
        action: &BulkAction,
    ) -> Result<u64, CatalogError> {
        actor.require(Permission::Catalog)?;
        if ids.is_empty() {
            return Err(FieldError::new("ids", "Choose the products to change first.").into());
        }
        if ids.len() > BULK_LIMIT {
            return Err(FieldError::new(
                "ids",
                format!("Change at most {BULK_LIMIT} products at once."),
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        // Locked in id order, so two bulk actions over overlapping selections cannot
        // deadlock.
        let locked = sqlx::query!(
            r#"SELECT id, published, category_id, archived_at IS NOT NULL AS "archived!"
               FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE"#,
            ids
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut changed: Vec<(i64, Changes)> = Vec::new();
        match action {
            BulkAction::Publish | BulkAction::Unpublish => {
                let publish = matches!(action, BulkAction::Publish);
                for p in locked
                    .iter()
                    .filter(|p| p.published != publish && !(publish && p.archived))
                {
                    sqlx::query!(
                        "UPDATE products SET published = $2 WHERE id = $1",
                        p.id,
                        publish
                    )
                    .execute(&mut *tx)
                    .await?;
                    changed.push((
                        p.id,
                        Changes::new().field("published", p.published, publish),
                    ));
                }
            }
            BulkAction::MoveTo(category) => {
                let exists = sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM categories WHERE id = $1) AS "exists!""#,
                    category
                )
                .fetch_one(&mut *tx)
                .await?;
                if !exists {
                    return Err(
                        FieldError::new("category_id", "Choose a category that exists.").into(),
                    );
                }
                for p in locked.iter().filter(|p| p.category_id != *category) {
                    sqlx::query!(
                        "UPDATE products SET category_id = $2 WHERE id = $1",
                        p.id,
                        category
                    )
                    .execute(&mut *tx)
                    .await?;
                    changed.push((
                        p.id,
                        Changes::new().field("category_id", p.category_id, category),
                    ));
                }
            }
            BulkAction::ChangePrices(bps) => {
                if !(domain::product_admin::MIN_PRICE_CHANGE_BPS
                    ..=domain::product_admin::MAX_PRICE_CHANGE_BPS)
                    .contains(bps)
                    || *bps == 0
                {
                    return Err(FieldError::new(
                        "percent",
                        "A price can go down by at most 100 % and up by at most 900 %.",
                    )
                    .into());
                }
                let variants = sqlx::query!(
                    "SELECT id, product_id, price_minor, compare_at_minor FROM variants
                     WHERE product_id = ANY($1) ORDER BY id FOR UPDATE",
                    ids
                )
                .fetch_all(&mut *tx)
                .await?;
                // A compare-at price moves with its price (the same rule), so it stays
                // the higher one.
                let too_large =
                    || FieldError::new("percent", "That change makes a price too large.");
                let mut var_ids = Vec::new();
                let mut prices = Vec::new();
                let mut compare_at: Vec<Option<i64>> = Vec::new();
                for v in &variants {
                    var_ids.push(v.id);
                    prices.push(change_by_bps(v.price_minor, *bps).ok_or_else(too_large)?);
                    compare_at.push(match v.compare_at_minor {
                        Some(c) => Some(change_by_bps(c, *bps).ok_or_else(too_large)?),
                        None => None,
                    });
                }
                sqlx::query!(
                    "UPDATE variants v SET price_minor = n.price, compare_at_minor = n.compare_at,
                            updated_at = now()
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS n(id, price, compare_at)
                     WHERE v.id = n.id",
                    &var_ids,
                    &prices,
                    &compare_at as &[Option<i64>]
                )
                .execute(&mut *tx)
                .await?;
                for p in &locked {
                    let count = variants.iter().filter(|v| v.product_id == p.id).count();
                    if count > 0 {
                        changed.push((
                            p.id,
                            Changes::new()
                                .set("prices changed by (basis points)", bps)
                                .set("variants", count),
                        ));
                    }
                }
            }
        }
        let n = changed.len() as u64;
        for (id, changes) in changed {
            let version = sqlx::query_scalar!(
                "UPDATE products SET version = version + 1, updated_at = now(), updated_by = $2
                 WHERE id = $1 RETURNING version",
                id,
                actor.user_id
            )
            .fetch_one(&mut *tx)
            .await?;
            audit::record(
                &mut tx,
                actor,
                "product",
                &id.to_string(),
                "bulk",
                changes.set("version", version),
            )
            .await?;
            announce_change(&mut tx, id).await?;
        }
        tx.commit().await?;
        self.invalidate_cache();
        Ok(n)
    }

    /// Where an old web address of a product or category leads now (its current slug),
    /// when its slug changed since.
    pub async fn redirect_for(
        &self,
        kind: &str,
        old_slug: &str,
    ) -> Result<Option<String>, CatalogError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT COALESCE(p.slug, c.slug) AS "slug!"
               FROM slug_redirects r
               LEFT JOIN products p ON p.id = r.product_id
               LEFT JOIN categories c ON c.id = r.category_id
               WHERE r.kind = $1 AND r.old_slug = $2
                 -- A draft's or an archived product's new address is not told.
                 AND (r.kind <> 'product' OR (p.published AND p.archived_at IS NULL))"#,
            kind,
            old_slug
        )
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// Keeps `old` leading to the product or category `id` (now at `new`); an old address
/// that `new` takes back is no longer a redirect.
pub(super) async fn remember_old_slug(
    conn: &mut PgConnection,
    kind: &str,
    old: &str,
    new: &str,
    id: i64,
) -> Result<(), sqlx::Error> {
    let (product, category) = if kind == "product" {
        (Some(id), None)
    } else {
        (None, Some(id))
    };
    sqlx::query!(
        "INSERT INTO slug_redirects (kind, old_slug, product_id, category_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, old_slug) DO UPDATE
         SET product_id = EXCLUDED.product_id, category_id = EXCLUDED.category_id, created_at = now()",
        kind,
        old,
        product,
        category
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM slug_redirects WHERE kind = $1 AND old_slug = $2",
        kind,
        new
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The product's variants that an order refers to.
async fn ordered_variants(conn: &mut PgConnection, product: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT l.variant_id AS "id!" FROM order_lines l JOIN variants v ON v.id = l.variant_id
           WHERE v.product_id = $1"#,
        product
    )
    .fetch_all(conn)
    .await
}

async fn write_attributes(
    conn: &mut PgConnection,
    id: i64,
    attributes: &[(String, String)],
) -> Result<(), sqlx::Error> {
    for (pos, (name, value)) in attributes.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO product_attributes (product_id, name, value, position) VALUES ($1, $2, $3, $4)",
            id,
            name,
            value,
            pos as i32
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_variant(
    conn: &mut PgConnection,
    product: i64,
    sku: &str,
    values: &[String],
    price: Money,
    position: usize,
) -> Result<(), CatalogError> {
    sqlx::query!(
        r#"INSERT INTO variants (product_id, sku, option_values, price_minor, currency, stock_on_hand, position)
           VALUES ($1, $2, $3, $4, $5, 0, $6)"#,
        product,
        sku,
        values,
        price.amount_minor(),
        price.currency().code(),
        position as i32
    )
    .execute(&mut *conn)
    .await
    .map_err(constraint_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_rich_text_and_lose_code() {
        let clean = sanitise_description(
            r#"<p onclick="x()">Soft <strong>linen</strong></p><script>alert(1)</script><img src=x onerror=y><a href="javascript:alert(1)">a</a><a href="https://example.com">b</a>"#,
        );
        assert!(
            clean.contains("<p>Soft <strong>linen</strong></p>"),
            "{clean}"
        );
        assert!(
            !clean.contains("script") && !clean.contains("onerror") && !clean.contains("onclick")
        );
        assert!(!clean.contains("javascript:"));
        assert!(
            clean.contains(r#"<a href="https://example.com" rel="noopener nofollow">b</a>"#),
            "{clean}"
        );
        assert_eq!(
            description_text("<p>Soft &amp; <b>light</b></p><p>linen</p>"),
            "Soft & light linen"
        );
    }

    #[test]
    fn skus_are_made_from_the_slug_and_values() {
        assert_eq!(
            sku_for("linen-shirt", &["Red".into(), "XL".into()]),
            "LINEN-SHIRT-RED-XL"
        );
        assert_eq!(sku_for("mug", &["500 ml".into()]), "MUG-500-ML");
        assert_eq!(sku_for("", &[]), "SKU");
        assert!(sku_for(&"a".repeat(120), &[]).len() <= 56);
    }
}
