//! Catalog reads for the storefront, each served from the cache when it can be.

use super::tree::{CategoryNode, CategoryTree};
use super::{CatalogError, CatalogService};
use domain::listing::page_count;
use domain::{
    CategoryCard, CategoryRef, Currency, HomePage, ImageView, ListingPage, ListingQuery, Money,
    ProductCard, ProductDetail, VariantView, PER_PAGE,
};
use std::sync::Arc;

const HOME_PRODUCTS: i64 = 8;

/// A row of the listing queries.
struct CardRow {
    slug: String,
    name: String,
    category: String,
    min_price: i64,
    max_price: i64,
    currency: String,
    in_stock: bool,
    image_url: Option<String>,
    image_alt: Option<String>,
}

impl CardRow {
    fn into_card(self, fallback: Currency) -> ProductCard {
        let currency = Currency::parse(&self.currency).unwrap_or(fallback);
        ProductCard {
            image_alt: self.image_alt.unwrap_or_else(|| self.name.clone()),
            slug: self.slug,
            name: self.name,
            category: self.category,
            price_from: Money::new(self.min_price, currency),
            price_varies: self.min_price != self.max_price,
            image_url: self.image_url.unwrap_or_default(),
            in_stock: self.in_stock,
        }
    }
}

/// A published product for the sitemap.
#[derive(Debug, Clone)]
pub struct SitemapEntry {
    pub slug: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl CatalogService {
    /// The category tree with product counts.
    #[tracing::instrument(skip(self))]
    pub async fn tree(&self) -> Result<Arc<CategoryTree>, CatalogError> {
        if let Some(tree) = self.cache.tree() {
            return Ok(tree);
        }
        let generation = self.cache.generation();
        let rows = sqlx::query!(
            r#"SELECT c.id, c.parent_id, c.slug, c.name, c.description, c.image_url,
                      (SELECT count(*) FROM product_summaries s
                        WHERE s.category_id = c.id AND s.published) AS "direct_count!"
               FROM categories c
               ORDER BY c.position, c.name"#
        )
        .fetch_all(&self.pool)
        .await?;
        let nodes = rows
            .into_iter()
            .map(|r| CategoryNode {
                id: r.id,
                parent_id: r.parent_id,
                slug: r.slug,
                name: r.name,
                description: r.description,
                image_url: r.image_url,
                product_count: r.direct_count,
            })
            .collect();
        let tree = Arc::new(CategoryTree::new(nodes));
        self.cache.put_tree(generation, tree.clone());
        Ok(tree)
    }

    /// Top-level categories for the header and the home page.
    pub async fn top_categories(&self) -> Result<Vec<CategoryCard>, CatalogError> {
        let tree = self.tree().await?;
        Ok(tree
            .roots()
            .map(|n| CategoryCard {
                slug: n.slug.clone(),
                name: n.name.clone(),
                description: n.description.clone(),
                image_url: n.image_url.clone(),
                product_count: n.product_count,
                children: tree.children(n.id).map(CategoryNode::to_ref).collect(),
            })
            .collect())
    }

    /// Featured products, new arrivals and the top-level categories.
    #[tracing::instrument(skip(self))]
    pub async fn home(&self) -> Result<Arc<HomePage>, CatalogError> {
        if let Some(home) = self.cache.home() {
            return Ok(home);
        }
        let generation = self.cache.generation();
        let categories = self.top_categories().await?;
        let featured = sqlx::query_as!(
            CardRow,
            r#"SELECT s.slug AS "slug!", s.name AS "name!", s.category AS "category!",
                      s.min_price AS "min_price!", s.max_price AS "max_price!",
                      s.currency AS "currency!", s.in_stock AS "in_stock!",
                      s.image_url AS "image_url?", s.image_alt AS "image_alt?"
               FROM product_cards s
               WHERE s.published AND s.featured
               ORDER BY s.in_stock DESC, s.created_at DESC, s.id
               LIMIT $1"#,
            HOME_PRODUCTS
        )
        .fetch_all(&self.pool)
        .await?;
        let new_arrivals = sqlx::query_as!(
            CardRow,
            r#"SELECT s.slug AS "slug!", s.name AS "name!", s.category AS "category!",
                      s.min_price AS "min_price!", s.max_price AS "max_price!",
                      s.currency AS "currency!", s.in_stock AS "in_stock!",
                      s.image_url AS "image_url?", s.image_alt AS "image_alt?"
               FROM product_cards s
               WHERE s.published
               ORDER BY s.created_at DESC, s.id
               LIMIT $1"#,
            HOME_PRODUCTS
        )
        .fetch_all(&self.pool)
        .await?;
        let home = Arc::new(HomePage {
            featured: featured
                .into_iter()
                .map(|r| r.into_card(self.currency))
                .collect(),
            new_arrivals: new_arrivals
                .into_iter()
                .map(|r| r.into_card(self.currency))
                .collect(),
            categories,
        });
        self.cache.put_home(generation, home.clone());
        Ok(home)
    }

    /// The best-selling products in stock over the last 90 days (cancelled orders left
    /// out), topped up with featured and then the newest products.
    #[tracing::instrument(skip(self))]
    pub async fn popular(&self, limit: i64) -> Result<Vec<ProductCard>, CatalogError> {
        let rows = sqlx::query_as!(
            CardRow,
            r#"WITH sales AS (
                   SELECT v.product_id, sum(l.quantity) AS sold
                   FROM order_lines l
                   JOIN orders o ON o.id = l.order_id
                   JOIN variants v ON v.id = l.variant_id
                   WHERE o.created_at > now() - interval '90 days' AND o.order_status <> 'cancelled'
                   GROUP BY v.product_id
               ),
               -- Ranked on the summaries alone; the cards (with their images) are then
               -- read for the few chosen.
               ranked AS (
                   SELECT s.id, COALESCE(sales.sold, 0) AS sold, s.featured, s.created_at
                   FROM product_summaries s
                   LEFT JOIN sales ON sales.product_id = s.id
                   WHERE s.published AND s.in_stock
                   ORDER BY 2 DESC, s.featured DESC, s.created_at DESC, s.id
                   LIMIT $1
               )
               SELECT s.slug AS "slug!", s.name AS "name!", s.category AS "category!",
                      s.min_price AS "min_price!", s.max_price AS "max_price!",
                      s.currency AS "currency!", s.in_stock AS "in_stock!",
                      s.image_url AS "image_url?", s.image_alt AS "image_alt?"
               FROM ranked JOIN product_cards s ON s.id = ranked.id
               ORDER BY ranked.sold DESC, ranked.featured DESC, ranked.created_at DESC, ranked.id"#,
            limit
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_card(self.currency))
            .collect())
    }

    /// One page of a category's published products, including those of its subcategories.
    /// A page past the end is clamped to the last page, and the listing says so.
    #[tracing::instrument(skip(self))]
    pub async fn listing(
        &self,
        slug: &str,
        query: &ListingQuery,
    ) -> Result<Arc<ListingPage>, CatalogError> {
        if let Some(page) = self.cache.listing(slug, query) {
            return Ok(page);
        }
        let generation = self.cache.generation();
        let tree = self.tree().await?;
        let node = tree
            .by_slug(slug)
            .ok_or(CatalogError::NotFound("category"))?;
        let ids = tree.subtree_ids(node.id);
        let total = sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM product_summaries s
               WHERE s.published AND s.category_id = ANY($1)
                 AND ($2::BIGINT IS NULL OR s.min_price >= $2)
                 AND ($3::BIGINT IS NULL OR s.min_price <= $3)
                 AND (NOT $4 OR s.in_stock)"#,
            &ids,
            query.min_price,
            query.max_price,
            query.in_stock
        )
        .fetch_one(&self.pool)
        .await?;
        let total = u64::try_from(total).unwrap_or(0);
        let pages = page_count(total);
        let (applied, clamped_from) = if query.page > pages {
            (query.with_page(pages), Some(query.page))
        } else {
            (query.clone(), None)
        };
        let rows = sqlx::query_as!(
            CardRow,
            r#"SELECT s.slug AS "slug!", s.name AS "name!", s.category AS "category!",
                      s.min_price AS "min_price!", s.max_price AS "max_price!",
                      s.currency AS "currency!", s.in_stock AS "in_stock!",
                      s.image_url AS "image_url?", s.image_alt AS "image_alt?"
               FROM product_cards s
               WHERE s.published AND s.category_id = ANY($1)
                 AND ($2::BIGINT IS NULL OR s.min_price >= $2)
                 AND ($3::BIGINT IS NULL OR s.min_price <= $3)
                 AND (NOT $4 OR s.in_stock)
               ORDER BY
                 CASE WHEN $5 = 'price-asc' THEN s.min_price END ASC,
                 CASE WHEN $5 = 'price-desc' THEN s.min_price END DESC,
                 CASE WHEN $5 = 'name' THEN s.name END ASC,
                 CASE WHEN $5 = 'featured' THEN s.featured END DESC,
                 s.created_at DESC,
                 s.id
               LIMIT $6 OFFSET $7"#,
            &ids,
            query.min_price,
            query.max_price,
            query.in_stock,
            applied.sort.as_param(),
            i64::from(PER_PAGE),
            applied.offset()
        )
        .fetch_all(&self.pool)
        .await?;
        let page = Arc::new(ListingPage {
            slug: node.slug.clone(),
            name: node.name.clone(),
            description: node.description.clone(),
            ancestors: tree.ancestors(node.id),
            children: tree.children(node.id).map(CategoryNode::to_ref).collect(),
            products: rows
                .into_iter()
                .map(|r| r.into_card(self.currency))
                .collect(),
            total,
            page_count: pages,
            query: applied,
            clamped_from,
            currency: self.currency,
        });
        self.cache
            .put_listing(generation, slug, query, page.clone());
        Ok(page)
    }

    /// A published product with its variants, images and attributes.
    #[tracing::instrument(skip(self))]
    pub async fn product(&self, slug: &str) -> Result<Arc<Option<ProductDetail>>, CatalogError> {
        if let Some(p) = self.cache.product(slug) {
            return Ok(p);
        }
        let generation = self.cache.generation();
        let detail = self.load_product(slug).await?;
        let detail = Arc::new(detail);
        self.cache.put_product(generation, slug, detail.clone());
        Ok(detail)
    }

    async fn load_product(&self, slug: &str) -> Result<Option<ProductDetail>, CatalogError> {
        let Some(p) = sqlx::query!(
            r#"SELECT id, category_id, slug, name, description, brand, option_names, seo_title,
                      seo_description
               FROM products WHERE slug = $1 AND published"#,
            slug
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let variants = sqlx::query!(
            r#"SELECT sku, option_values, price_minor, currency, stock_on_hand
               FROM variants WHERE product_id = $1 AND archived_at IS NULL ORDER BY position, id"#,
            p.id
        )
        .fetch_all(&self.pool)
        .await?;
        if variants.is_empty() {
            return Ok(None); // nothing to buy: not shown, like in listings
        }
        let images = sqlx::query!(
            "SELECT url, alt, storage_key, widths, option_value FROM product_images
             WHERE product_id = $1 ORDER BY position, id",
            p.id
        )
        .fetch_all(&self.pool)
        .await?;
        let attributes = sqlx::query!(
            "SELECT name, value FROM product_attributes WHERE product_id = $1 ORDER BY position, name",
            p.id
        )
        .fetch_all(&self.pool)
        .await?;
        let tree = self.tree().await?;
        let category = tree
            .by_id(p.category_id)
            .map(CategoryNode::to_ref)
            .unwrap_or(CategoryRef {
                slug: String::new(),
                name: String::new(),
            });
        let summary = super::description_text(&p.description);
        Ok(Some(ProductDetail {
            slug: p.slug,
            meta_title: if p.seo_title.is_empty() {
                p.name.clone()
            } else {
                p.seo_title
            },
            meta_description: if p.seo_description.is_empty() {
                summary
            } else {
                p.seo_description
            },
            name: p.name.clone(),
            description: p.description,
            brand: p.brand,
            ancestors: tree.ancestors(p.category_id),
            category,
            option_names: p.option_names,
            variants: variants
                .into_iter()
                .map(|v| VariantView {
                    sku: v.sku,
                    options: v.option_values,
                    price: Money::new(
                        v.price_minor,
                        Currency::parse(&v.currency).unwrap_or(self.currency),
                    ),
                    stock: v.stock_on_hand,
                })
                .collect(),
            images: images
                .into_iter()
                .map(|i| ImageView {
                    srcset: i
                        .storage_key
                        .as_deref()
                        .map(|key| {
                            i.widths
                                .iter()
                                .map(|w| format!("{} {w}w", crate::media::file_url(key, *w as u32)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default(),
                    url: i.url,
                    alt: i.alt,
                    option_value: i.option_value,
                })
                .collect(),
            attributes: attributes.into_iter().map(|a| (a.name, a.value)).collect(),
        }))
    }

    /// Every published product, for `sitemap.xml`.
    pub async fn sitemap(&self) -> Result<Vec<SitemapEntry>, CatalogError> {
        Ok(sqlx::query_as!(
            SitemapEntry,
            r#"SELECT p.slug, p.updated_at FROM products p
               WHERE p.published AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id)
               ORDER BY p.id"#
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), CatalogError> {
        sqlx::query_scalar!("SELECT 1 AS \"one!\"")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }
}
