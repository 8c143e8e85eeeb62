//! A product's uploaded images: upload (checked, made upright, resized, kept in the media
//! store), alt text, the option value an image shows, order, removal. Each write is
//! audited and announced like every other catalog write.

use super::{announce_change, CatalogError, CatalogService};
use crate::audit::{self, Actor, Changes};
use crate::media::{self, MediaError, MediaStore};
use domain::product_admin::ImageEdit;
use domain::staff::Permission;
use domain::text::has_control_chars;
use domain::FieldError;

/// Why an upload did not become an image of the product.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    Media(#[from] MediaError),
    #[error("{0}")]
    Catalog(#[from] CatalogError),
}

fn clean_alt(alt: &str) -> Result<String, FieldError> {
    let alt = alt.trim();
    if alt.chars().count() > 300 || has_control_chars(alt) {
        return Err(FieldError::new(
            "alt",
            "Alt text is up to 300 characters, without control characters.",
        ));
    }
    Ok(alt.to_owned())
}

/// An image made ready and kept in the media store, not yet a row of the product.
pub(super) struct StoredImage {
    pub prepared: media::Prepared,
    /// The image's folder in the store.
    pub key: String,
    pub widths: Vec<i32>,
    /// The address cards and thumbnails use: the 640 file (or the widest below it); the
    /// product page picks from `srcset`.
    pub url: String,
    /// The stored files' keys (to remove them if the row is never written).
    pub stored: Vec<String>,
}

/// Reads `bytes` as an image, makes its files and keeps them under a new key of the product.
pub(super) async fn store_image(
    store: &MediaStore,
    product_id: i64,
    bytes: Vec<u8>,
) -> Result<StoredImage, MediaError> {
    let prepared = media::prepare_off_runtime(bytes).await?;
    let key = format!(
        "products/{product_id}/{}",
        crate::random::hex(12).map_err(|_| MediaError::Unreadable)?
    );
    let mut stored = Vec::new();
    for (width, file) in &prepared.files {
        let file_key = media::file_key(&key, *width);
        if let Err(e) = store.put(&file_key, file.clone()).await {
            forget(store, &stored).await;
            return Err(MediaError::from(e));
        }
        stored.push(file_key);
    }
    let widths: Vec<i32> = prepared.files.iter().map(|(w, _)| *w as i32).collect();
    let shown = prepared
        .files
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| *w <= 640)
        .max()
        .unwrap_or_default();
    Ok(StoredImage {
        url: media::file_url(&key, shown),
        prepared,
        key,
        widths,
        stored,
    })
}

/// Locks the product an image belongs to (products before their images, as every catalog
/// write takes them, so two writes cannot deadlock) and returns its id.
async fn lock_image_product(
    conn: &mut sqlx::PgConnection,
    image_id: i64,
) -> Result<i64, CatalogError> {
    let product_id = sqlx::query_scalar!(
        "SELECT product_id FROM product_images WHERE id = $1",
        image_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CatalogError::NotFound("image"))?;
    sqlx::query!(
        "SELECT id FROM products WHERE id = $1 FOR UPDATE",
        product_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(product_id)
}

/// Records a stored image at the end of the product's gallery; `source_url` is where an
/// imported image was fetched from. `None` when the product has an image from that
/// address already (two runs fetched it at once).
pub(super) async fn record_image(
    conn: &mut sqlx::PgConnection,
    product_id: i64,
    image: &StoredImage,
    alt: &str,
    source_url: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO product_images (product_id, url, alt, position, storage_key, widths, source_url)
           VALUES ($1, $2, $3,
                   COALESCE((SELECT max(position) + 1 FROM product_images WHERE product_id = $1), 0),
                   $4, $5, $6)
           ON CONFLICT (product_id, source_url) WHERE source_url IS NOT NULL DO NOTHING
           RETURNING id"#,
        product_id,
        image.url,
        alt,
        image.key,
        &image.widths,
        source_url
    )
    .fetch_optional(conn)
    .await
}

impl CatalogService {
    /// Adds an uploaded image to the end of the product's gallery.
    pub async fn add_image(
        &self,
        actor: &Actor,
        store: &MediaStore,
        product_id: i64,
        bytes: Vec<u8>,
        alt: &str,
    ) -> Result<i64, UploadError> {
        actor
            .require(Permission::Catalog)
            .map_err(CatalogError::from)?;
        let alt = clean_alt(alt).map_err(CatalogError::from)?;
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM products WHERE id = $1) AS "exists!""#,
            product_id
        )
        .fetch_one(&self.pool)
        .await
        .map_err(CatalogError::from)?;
        if !exists {
            return Err(CatalogError::NotFound("product").into());
        }
        let image = store_image(store, product_id, bytes).await?;
        let (prepared, stored) = (&image.prepared, &image.stored);

        let saved = async {
            let mut tx = self.pool.begin().await?;
            actor
                .confirm::<CatalogError>(&mut tx, Permission::Catalog)
                .await?;
            let id = record_image(&mut tx, product_id, &image, &alt, None)
                .await?
                .ok_or(CatalogError::Clash(
                    "The image could not be added: try again.".into(),
                ))?;
            audit::record(
                &mut tx,
                actor,
                "product",
                &product_id.to_string(),
                "image added",
                Changes::new()
                    .set("image", id)
                    .set("size", format!("{} x {}", prepared.width, prepared.height))
                    .set("alt", &alt),
            )
            .await?;
            self.touch(&mut tx, actor, product_id).await?;
            announce_change(&mut tx, product_id).await?;
            tx.commit().await?;
            Ok::<i64, CatalogError>(id)
        }
        .await;
        match saved {
            Ok(id) => {
                self.invalidate_cache();
                Ok(id)
            }
            Err(e) => {
                forget(store, stored).await;
                Err(e.into())
            }
        }
    }

    /// The product's images in gallery order.
    pub async fn images(
        &self,
        actor: &Actor,
        product_id: i64,
    ) -> Result<Vec<ImageEdit>, CatalogError> {
        actor.require(Permission::Catalog)?;
        Ok(sqlx::query_as!(
            ImageEdit,
            "SELECT id, url, alt, option_value FROM product_images WHERE product_id = $1 ORDER BY position, id",
            product_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets an image's alt text and the option value it shows (none: every variant).
    pub async fn update_image(
        &self,
        actor: &Actor,
        image_id: i64,
        alt: &str,
        option_value: Option<&str>,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let alt = clean_alt(alt)?;
        let value = option_value.map(str::trim).filter(|v| !v.is_empty());
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        lock_image_product(&mut tx, image_id).await?;
        let old = sqlx::query!(
            "SELECT product_id, alt, option_value FROM product_images WHERE id = $1 FOR UPDATE",
            image_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("image"))?;
        if let Some(v) = value {
            let known = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM variants WHERE product_id = $1 AND $2 = ANY(option_values)
                                  AND archived_at IS NULL) AS "known!""#,
                old.product_id,
                v
            )
            .fetch_one(&mut *tx)
            .await?;
            if !known {
                return Err(FieldError::new(
                    "option_value",
                    format!("No variant of this product has the value “{v}”."),
                )
                .into());
            }
        }
        sqlx::query!(
            "UPDATE product_images SET alt = $2, option_value = $3 WHERE id = $1",
            image_id,
            alt,
            value
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "product",
            &old.product_id.to_string(),
            "image changed",
            Changes::new()
                .set("image", image_id)
                .field("alt", &old.alt, &alt)
                .field("option value", &old.option_value, value),
        )
        .await?;
        self.finish_image_write(tx, actor, old.product_id).await
    }

    /// Moves an image one place earlier or later in its product's gallery.
    pub async fn move_image(
        &self,
        actor: &Actor,
        image_id: i64,
        earlier: bool,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        // Two moves in one gallery take turns.
        let product_id = lock_image_product(&mut tx, image_id).await?;
        let mut order = sqlx::query_scalar!(
            "SELECT id FROM product_images WHERE product_id = $1 ORDER BY position, id",
            product_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let at = order
            .iter()
            .position(|i| *i == image_id)
            .ok_or(CatalogError::NotFound("image"))?;
        let to = if earlier {
            at.checked_sub(1)
        } else {
            Some(at + 1).filter(|t| *t < order.len())
        };
        let Some(to) = to else {
            return Ok(0);
        };
        order.swap(at, to);
        let positions: Vec<i32> = (0..order.len() as i32).collect();
        sqlx::query!(
            "UPDATE product_images i SET position = n.position
             FROM unnest($1::bigint[], $2::int[]) AS n(id, position) WHERE i.id = n.id",
            &order,
            &positions
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "product",
            &product_id.to_string(),
            "image moved",
            Changes::new()
                .set("image", image_id)
                .field("position", at, to),
        )
        .await?;
        self.finish_image_write(tx, actor, product_id).await
    }

    /// Removes an image from its product (and its files from the store).
    pub async fn delete_image(
        &self,
        actor: &Actor,
        store: &MediaStore,
        image_id: i64,
    ) -> Result<i64, CatalogError> {
        actor.require(Permission::Catalog)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CatalogError>(&mut tx, Permission::Catalog)
            .await?;
        let gone = sqlx::query!(
            r#"DELETE FROM product_images WHERE id = $1 RETURNING product_id, storage_key, widths, url"#,
            image_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(CatalogError::NotFound("image"))?;
        audit::record(
            &mut tx,
            actor,
            "product",
            &gone.product_id.to_string(),
            "image removed",
            Changes::new()
                .field("image", image_id, serde_json::Value::Null)
                .field("url", &gone.url, ""),
        )
        .await?;
        let version = self.finish_image_write(tx, actor, gone.product_id).await?;
        // Only once the row is gone for good: a failed removal leaves an orphan file,
        // never a missing one.
        if let Some(key) = gone.storage_key {
            let files: Vec<String> = gone
                .widths
                .iter()
                .map(|w| media::file_key(&key, *w as u32))
                .collect();
            forget(store, &files).await;
        }
        Ok(version)
    }

    /// Marks the product updated. Its version stays: the gallery is not part of what the
    /// product's forms save, so an upload never makes someone's open form out of date.
    async fn touch(
        &self,
        conn: &mut sqlx::PgConnection,
        actor: &Actor,
        product_id: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(
            "UPDATE products SET updated_at = now(), updated_by = $2 WHERE id = $1 RETURNING version",
            product_id,
            actor.user_id
        )
        .fetch_one(conn)
        .await
    }

    async fn finish_image_write(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        actor: &Actor,
        product_id: i64,
    ) -> Result<i64, CatalogError> {
        let version = self.touch(&mut tx, actor, product_id).await?;
        announce_change(&mut tx, product_id).await?;
        tx.commit().await?;
        self.invalidate_cache();
        Ok(version)
    }
}

pub(super) async fn forget(store: &MediaStore, keys: &[String]) {
    store.forget(keys).await;
}
