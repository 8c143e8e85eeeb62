//! Server-only services of Emporium. Each module owns its tables, its SQL and its
//! adapters to outside systems; `app` reaches them only under its `ssr` feature.

pub mod audit;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod customers;
pub mod events;
pub mod fetch;
pub mod jobs;
pub mod limits;
pub mod media;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod random;
pub mod recency;
pub mod resilience;
pub mod search;
pub mod signing;
pub mod stock;

use std::sync::Arc;

/// `s` with LIKE's own characters (`%`, `_`, `\\`) escaped, so a search for it finds
/// them as themselves.
pub(crate) fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub use auth::AuthService;
pub use cart::CartService;
pub use catalog::CatalogService;
pub use orders::OrderService;

/// Every service, cheap to clone, handed to request handlers and server functions.
#[derive(Clone)]
pub struct Services {
    pub catalog: CatalogService,
    /// Where uploaded images are kept (local disk or S3).
    pub media: media::MediaStore,
    pub auth: AuthService,
    pub audit: audit::AuditService,
    pub customers: customers::CustomerService,
    pub cart: CartService,
    pub orders: OrderService,
    pub search: search::SearchService,
    /// The shared rate limiter (Redis), for limits outside one service (order lookup).
    pub limits: limits::RateLimiter,
    pub redis: redis::aio::ConnectionManager,
    pub settings: Arc<ShopSettings>,
}

/// Shop-wide settings that pages need (name, public URL, currency).
#[derive(Debug, Clone)]
pub struct ShopSettings {
    pub shop_name: String,
    /// Public base URL without a trailing slash, for canonical links and the sitemap.
    pub public_url: String,
    pub currency: domain::Currency,
    pub lookup: orders::LookupLimits,
    /// What the CSV import may fetch images from.
    pub import_fetch: fetch::FetchPolicy,
}

/// Embedded migrations, run by `server migrate`, `server serve` and the tests.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
