//! The admin's category tree: create, rename, move and reorder. A move that would put a
//! category under itself is refused by the database's own trigger (whatever writes it);
//! here it becomes a sentence. A changed slug keeps the old address working.

use super::editing::{choices, remember_old_slug};
use super::{announce_catalog, announce_products, CatalogError, CatalogService};
use crate::audit::{self, Actor, Changes};
use domain::product_admin::{CategoryAdminNode, CategoryScreen};
use domain::staff::Permission;
use domain::text::has_control_chars;
use domain::{FieldError, Slug};
use sqlx::{PgConnection, Postgres, Transaction};

/// A category's name and slug, checked.
fn clean(name: &str, slug: &str) -> Result<(String, String), FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || has_control_chars(name) {
        return Err(FieldError::new(
            "name",
            "Give the category a name of 1 to 200 characters.",
        ));
    }
    let slug = if slug.trim().is_empty() {
        Slug::from_name(name)
    } else {
        Slug::parse(slug.trim())
    }
    .map_err(|e| FieldError::new("slug", format!("The web address: {e}.")))?;
    Ok((name.to_owned(), slug.to_string()))
}

/// The trigger's refusal (or the foreign key's) in words.
fn tree_error(e: sqlx::Error) -> CatalogError {
    if let sqlx::Error::Database(db) = &e {
        match db.constraint() {
            Some("categories_no_loop") | Some("categories_check") => {
                return FieldError::new(
                    "parent_id",
                    "A category cannot be moved under itself or one of its own subcategories.",
                )
                .into()
            }
            Some("categories_slug_key") => {
                return FieldError::new("slug", "Another category has this web address.").into()
            }
            Some("categories_parent_id_fkey") => {
                return FieldError::new("parent_id", "Choose a parent category that exists.").into()
            }
            _ => {}
        }
    }
    CatalogError::Database(e)
}

/// The products in the category and everything under it.
async fn products_under(conn: &mut PgConnection, id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE down (id) AS (
               SELECT $1::bigint
               UNION
               SELECT c.id FROM categories c JOIN down ON c.parent_id = down.id
           )
           SELECT p.id FROM products p JOIN down ON p.category_id = down.id"#,
        id
    )
    .fetch_all(conn)
    .await
}

impl CatalogService {
    /// The category screen: every category depth-first with its published products.
    pub async fn category_screen(&self, actor: &Actor) -> Result<CategoryScreen, CatalogError> {
        actor.require(Permission::Catalog)?;
        let tree = self.tree().await?;
        let order = tree.depth_first();
        let nodes = order
            .iter()
            .map(|(n, depth)| {
                let siblings: Vec<i64> = match n.parent_id {
                    Some(p) => tree.children(p).map(|c| c.id).collect(),
                    None => tree.roots().map(|c| c.id).collect(),
                };
                CategoryAdminNode {
                    id: n.id,
                    parent_id: n.parent_id,
                    name: n.name.clone(),
                    slug: n.slug.clone(),
                    depth: *depth,
                    products: n.product_count,
                    first: siblings.first() == Some(&n.id),
                    last: siblings.last() == Some(&n.id),
                }
            })
            .collect();
        Ok(CategoryScreen {
            nodes,
            choices: choices(&tree),
            may_edit: true,
        })
    }

    /// A new category at the end of its parent's (or the top level's) list.
    pub async fn create_category(
        &self,
        actor: &Actor,
        name: &str,
        slug: &str,
        parent: Option<i64>,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let (name, slug) = clean(name, slug)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        let id = sqlx::query_scalar!(
            r#"INSERT INTO categories (parent_id, slug, name, position)
               VALUES ($1, $2, $3, COALESCE((SELECT max(position) + 1 FROM categories
                                             WHERE parent_id IS NOT DISTINCT FROM $1), 0))
               RETURNING id"#,
            parent,
            slug,
            name
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(tree_error)?;
        sqlx::query!(
            "DELETE FROM slug_redirects WHERE kind = 'category' AND old_slug = $1",
            slug
        )
        .execute(&mut *tx)
        .await?;
        let changes = Changes::new()
            .set("name", &name)
            .set("slug", &slug)
            .set("parent_id", parent);
        audit::record(
            &mut tx,
            actor,
            "category",
            &id.to_string(),
            "create",
            changes,
        )
        .await?;
        self.finish_tree(tx, &[]).await?;
        Ok(id)
    }

    /// Renames and moves a category (a new parent puts it at the end of that list).
    pub async fn update_category(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        slug: &str,
        parent: Option<i64>,
    ) -> Result<(), CatalogError> {
        actor.require(Permission::Catalog)?;
        let (name, slug) = clean(name, slug)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        // The tree's one lock first (the loop trigger takes it too): tree edits take
        // turns, so two moves cannot wait on each other's rows.
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('categories.tree'))")
            .execute(&mut *tx)
            .await?;
        let old = sqlx::query!(
            "SELECT name, slug, parent_id FROM categories WHERE id = $1 FOR NO KEY UPDATE",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("category"))?;
        let moved = old.parent_id != parent;
        sqlx::query!(
            r#"UPDATE categories SET name = $2, slug = $3, parent_id = $4,
                      position = CASE WHEN $5 THEN COALESCE((SELECT max(position) + 1 FROM categories
                                                            WHERE parent_id IS NOT DISTINCT FROM $4), 0)
                                      ELSE position END
               WHERE id = $1"#,
            id,
            name,
            slug,
            parent,
            moved
        )
        .execute(&mut *tx)
        .await
        .map_err(tree_error)?;
        if old.slug != slug {
            remember_old_slug(&mut tx, "category", &old.slug, &slug, id).await?;
        }
        let changes = Changes::new()
            .field("name", &old.name, &name)
            .field("slug", &old.slug, &slug)
            .field("parent_id", old.parent_id, parent);
        if changes.is_empty() {
            return Ok(());
        }
        audit::record(
            &mut tx,
            actor,
            "category",
            &id.to_string(),
            "update",
            changes,
        )
        .await?;
        // Its products' cards, pages and search entries show its name and place.
        let products = products_under(&mut tx, id).await?;
        self.finish_tree(tx, &products).await
    }

    /// Moves a category one place up or down among its siblings.
    pub async fn reorder_category(
        &self,
        actor: &Actor,
        id: i64,
        up: bool,
    ) -> Result<(), CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        // The one tree lock (the loop trigger's), so two reorders of one list take turns.
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('categories.tree'))")
            .execute(&mut *tx)
            .await?;
        let parent = sqlx::query_scalar!("SELECT parent_id FROM categories WHERE id = $1", id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CatalogError::NotFound("category"))?;
        let mut siblings = sqlx::query_scalar!(
            "SELECT id FROM categories WHERE parent_id IS NOT DISTINCT FROM $1 ORDER BY position, name",
            parent
        )
        .fetch_all(&mut *tx)
        .await?;
        let Some(at) = siblings.iter().position(|s| *s == id) else {
            return Err(CatalogError::NotFound("category"));
        };
        let to = if up {
            at.checked_sub(1)
        } else {
            Some(at + 1).filter(|t| *t < siblings.len())
        };
        let Some(to) = to else {
            return Ok(()); // already first (or last)
        };
        siblings.swap(at, to);
        let positions: Vec<i32> = (0..siblings.len() as i32).collect();
        sqlx::query!(
            "UPDATE categories c SET position = n.position
             FROM unnest($1::bigint[], $2::int[]) AS n(id, position) WHERE c.id = n.id",
            &siblings,
            &positions
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "category",
            &id.to_string(),
            if up { "move up" } else { "move down" },
            Changes::new().field("position", at, to),
        )
        .await?;
        self.finish_tree(tx, &[]).await
    }

    /// Announces a tree change (the products it touched, or the menu alone), commits,
    /// and clears this instance's cache.
    async fn finish_tree(
        &self,
        mut tx: Transaction<'_, Postgres>,
        products: &[i64],
    ) -> Result<(), CatalogError> {
        if products.is_empty() {
            announce_catalog(&mut tx).await?;
        } else {
            announce_products(&mut tx, products).await?;
        }
        tx.commit().await?;
        self.invalidate_cache();
        Ok(())
    }
}
