//! Product catalog: categories, products, variants, images and attributes.
//!
//! Reads go through an in-process cache; every write clears it before returning, so a
//! shopper never sees data older than the last write made through this service. Other
//! instances hear of the write through PostgreSQL `NOTIFY catalog_changed`.

mod cache;
pub mod images;
mod reads;
pub mod seed;
mod tree;
mod writes;

use cache::CatalogCache;
use domain::Currency;
use sqlx::PgPool;
use std::sync::Arc;

pub use tree::CategoryTree;

/// Channel on which catalog writes are announced to other instances.
pub const CHANGE_CHANNEL: &str = "catalog_changed";

/// Why a catalog call failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input: {0}")]
    Invalid(String),
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

    /// Listens for writes made by other instances and clears the cache on each one.
    /// Runs until the connection cannot be re-established.
    pub async fn listen_for_changes(self) {
        loop {
            match sqlx::postgres::PgListener::connect_with(&self.pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANGE_CHANNEL).await {
                        tracing::warn!(error = %e, "could not LISTEN for catalog changes");
                    } else {
                        // A missed notification during a reconnect could leave stale data.
                        self.invalidate_cache();
                        while let Ok(_n) = listener.recv().await {
                            self.invalidate_cache();
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "catalog change listener cannot connect"),
            }
            self.invalidate_cache();
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
