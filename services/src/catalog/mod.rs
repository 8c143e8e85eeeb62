//! Product catalog: categories, products, variants, images and attributes.
//!
//! Reads go through an in-process cache; every write clears it before returning, so a
//! shopper never sees data older than the last write made through this service. Other
//! instances hear of the write through PostgreSQL `NOTIFY catalog_changed`.

mod cache;
mod editing;
mod image_editing;
pub mod images;
mod import;
mod lookup;
mod reads;
pub mod seed;
pub mod shopify_csv;
mod stock_editing;
mod tree;
mod tree_editing;
mod writes;

use cache::CatalogCache;

impl From<domain::FieldError> for CatalogError {
    fn from(e: domain::FieldError) -> Self {
        CatalogError::Field(e)
    }
}
use domain::Currency;
use sqlx::PgPool;
use std::sync::Arc;

pub use editing::{description_text, sanitise_description, BULK_LIMIT};
pub use image_editing::UploadError;
pub use import::{file_key, Batching, ImageFetching, ImportOptions, Progress};
pub use lookup::VariantSnapshot;
pub use tree::CategoryTree;
pub use writes::{announce_catalog, announce_change, announce_products};

/// Channel on which catalog writes are announced to other instances.
pub const CHANGE_CHANNEL: &str = "catalog_changed";
/// The payload of a change no product's own data shows.
const CATALOG_WIDE: &str = "*";

/// Why a catalog call failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Not allowed for this member of staff's role.
    #[error("{0}")]
    Refused(#[from] domain::staff::Refused),
    /// A form field broke a rule.
    #[error("{0}")]
    Field(domain::FieldError),
    /// Someone saved the product after the version this save was made from.
    #[error("{}", .0.message())]
    Conflict(Box<domain::product_admin::SaveConflict>),
    /// What the change needs is not so (orders refer to it, a loop in the tree…).
    #[error("{0}")]
    Clash(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Handle to the catalog; cheap to clone.
#[derive(Clone)]
pub struct CatalogService {
    pool: PgPool,
    cache: Arc<CatalogCache>,
    currency: Currency,
}

impl CatalogService {
    pub fn new(pool: PgPool, currency: Currency) -> Self {
        Self {
            pool,
            cache: Arc::new(CatalogCache::default()),
            currency,
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// A number that changes whenever the catalog changes. Anything derived from catalog
    /// reads (such as a rendered page) is fresh while this number stays the same.
    pub fn generation(&self) -> u64 {
        self.cache.generation()
    }

    /// Drops every cached read. Called after each write, and when another instance
    /// announces one.
    pub fn invalidate_cache(&self) {
        self.cache.invalidate();
    }

    /// Subscribes to writes made by other instances and returns the task that clears the
    /// cache on each one and tells `on_product` which product changed (`None`: anything
    /// may have changed, after a reload of the catalog or a lost connection). Subscribing before
    /// the server starts serving means no write can slip between the first cached read
    /// and the subscription. The listener has its own connection, so a busy pool cannot
    /// starve it.
    pub async fn change_listener(
        self,
        database_url: String,
        on_product: impl Fn(Option<i64>) + Send + 'static,
    ) -> Result<impl std::future::Future<Output = ()>, CatalogError> {
        let mut listener = Self::subscribe(&database_url).await?;
        Ok(async move {
            loop {
                match listener.try_recv().await {
                    // `*`: the catalog changed in a way no product shows (the menu's order).
                    Ok(Some(notification)) if notification.payload() == CATALOG_WIDE => {
                        self.invalidate_cache();
                    }
                    Ok(Some(notification)) => {
                        self.invalidate_cache();
                        on_product(notification.payload().parse().ok());
                    }
                    // The connection dropped; sqlx reconnects on the next call, and
                    // notifications sent meanwhile are lost, so nothing cached is trusted.
                    Ok(None) => {
                        self.invalidate_cache();
                        on_product(None);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "catalog change listener lost PostgreSQL; resubscribing");
                        // Until the new subscription stands, any write could be missed: keep
                        // clearing, and clear once more after it is in place.
                        loop {
                            self.invalidate_cache();
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            if let Ok(l) = Self::subscribe(&database_url).await {
                                listener = l;
                                self.invalidate_cache();
                                on_product(None);
                                break;
                            }
                        }
                    }
                }
            }
        })
    }

    async fn subscribe(database_url: &str) -> Result<sqlx::postgres::PgListener, CatalogError> {
        let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
        listener.listen(CHANGE_CHANNEL).await?;
        Ok(listener)
    }
}
