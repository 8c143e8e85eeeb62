//! The Emporium server: wiring of configuration, services, middleware and routes.
//! `main.rs` only parses the command line; tests build the same [`Application`].

pub mod config;
pub mod page_cache;
pub mod routes;
pub mod security;
mod session_store;
pub mod telemetry;
pub mod webhooks;

use anyhow::Context as _;
use app::{shell, App};
use axum::extract::FromRef;
use axum::http::{header, HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use config::{redact_url, Config};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use services::notifications::Mailer;
use services::{AuthService, CartService, CatalogService, OrderService, Services, ShopSettings};
use session_store::RedisSessionStore;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// State shared by every handler, behind one `Arc`: axum clones it for every request, and
/// cloning the settings and every service's handles each time (dozens of reference counts
/// shared between the worker threads) took a tenth of a cached page's CPU time.
#[derive(Clone)]
pub struct AppState(Arc<StateParts>);

pub struct StateParts {
    pub leptos_options: LeptosOptions,
    pub services: Arc<Services>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, services: Services) -> Self {
        Self(Arc::new(StateParts {
            leptos_options,
            services: Arc::new(services),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = StateParts;
    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// A dependency the server could not reach at start, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "cannot reach PostgreSQL at {url}: {cause}\n  \
         -> start the project's local database with `make services`, or set DATABASE_URL to a running server"
    )]
    Postgres { url: String, cause: String },
    #[error(
        "cannot reach Redis at {url}: {cause}\n  \
         -> start the project's local Redis with `make services`, or set REDIS_URL to a running server"
    )]
    Redis { url: String, cause: String },
}

/// Connects to PostgreSQL, failing fast with a message that names it.
pub async fn connect_postgres(config: &Config) -> Result<PgPool, StartupError> {
    PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&config.database_url)
        .await
        .map_err(|e| StartupError::Postgres {
            url: redact_url(&config.database_url),
            cause: e.to_string(),
        })
}

/// Connects to Redis, failing fast with a message that names it.
pub async fn connect_redis(config: &Config) -> Result<redis::aio::ConnectionManager, StartupError> {
    let err = |cause: String| StartupError::Redis {
        url: redact_url(&config.redis_url),
        cause,
    };
    let client = redis::Client::open(config.redis_url.as_str()).map_err(|e| err(e.to_string()))?;
    let manager = tokio::time::timeout(
        Duration::from_secs(5),
        redis::aio::ConnectionManager::new(client),
    )
    .await
    .map_err(|_| err("timed out after 5 s".into()))?
    .map_err(|e| err(e.to_string()))?;
    Ok(manager)
}

/// The accounts service as configured: its mailer (file outbox, or SMTP with
/// `SMTP_URL`), throttling limits and session lifetimes.
pub fn auth_service(
    config: &Config,
    pool: PgPool,
    redis: redis::aio::ConnectionManager,
    signer: services::signing::Signer,
) -> anyhow::Result<AuthService> {
    let mailer = match &config.smtp_url {
        Some(url) => Mailer::smtp(url, &config.mail_from),
        None => Mailer::outbox(&config.mail_outbox, &config.mail_from),
    }
    .context("setting up e-mail (MAIL_OUTBOX / SMTP_URL / MAIL_FROM)")?;
    Ok(AuthService::new(
        pool,
        services::limits::RateLimiter::new(redis, &config.redis_prefix),
        signer,
        mailer,
        config.auth.clone(),
        &config.shop_name,
        &config.public_url,
    ))
}

/// The configured search engine: Meilisearch when `MEILI_URL` is set, else the embedded
/// index under `SEARCH_INDEX_DIR`.
pub async fn search_engine(
    config: &Config,
) -> anyhow::Result<Arc<dyn services::search::SearchEngine>> {
    use services::search::{embedded::EmbeddedEngine, meili::MeiliEngine};
    if let Some(url) = &config.meili_url {
        let engine = MeiliEngine::new(url, config.meili_api_key.as_deref(), &config.meili_index)
            .context("MEILI_URL / MEILI_API_KEY")?;
        // Meilisearch being down must not keep the shop from starting; searches say
        // "temporarily unavailable" until it answers.
        match engine.prepare().await {
            Ok(()) => {
                tracing::info!(url = %redact_url(url), index = %config.meili_index, "search: Meilisearch")
            }
            Err(e) => {
                tracing::error!(error = %e, url = %redact_url(url), "search: Meilisearch is not answering; its index settings were not applied")
            }
        }
        return Ok(Arc::new(engine));
    }
    // An index that cannot be opened is replaced by one in memory (rebuilt at start),
    // with the reason logged.
    let engine = match EmbeddedEngine::open(&config.search_index_dir) {
        Ok(engine) => engine,
        Err(e) => {
            tracing::error!(error = %e, dir = %config.search_index_dir.display(), "cannot open the search index (SEARCH_INDEX_DIR); using one in memory");
            EmbeddedEngine::in_memory().context("creating an in-memory search index")?
        }
    };
    Ok(Arc::new(engine))
}

/// The search service on the configured engine, rebuilt from PostgreSQL when empty.
pub async fn open_search(
    config: &Config,
    catalog: &CatalogService,
    pool: PgPool,
) -> anyhow::Result<services::search::SearchService> {
    let search = services::search::SearchService::new(catalog, pool, search_engine(config).await?);
    // Rebuilt when empty or when it disagrees with the database (a reset or re-seeded
    // database, changes made while no worker ran).
    match search.is_in_step().await {
        Ok(true) => {}
        Ok(false) => {
            let started = std::time::Instant::now();
            match search.reindex().await {
                Ok(n) => tracing::info!(
                    products = n,
                    elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(0),
                    "search index built"
                ),
                Err(services::search::SearchError::RebuildRunning) => {
                    tracing::info!("another instance is rebuilding the shared search index")
                }
                Err(e) => {
                    tracing::error!(error = %e, "building the search index failed; search results may be incomplete")
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not compare the search index with the catalog")
        }
    }
    Ok(search)
}

/// Leptos settings from the variables cargo-leptos sets, with defaults for a binary that
/// is started directly from the workspace root.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let site_root = env("LEPTOS_SITE_ROOT", "target/site");
    // cargo-leptos writes the hashes of the bundle's file names next to the executable.
    let hash_file_name = env("LEPTOS_HASH_FILE_NAME", "hash.txt");
    let hashed = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&hash_file_name)))
        .is_some_and(|p| p.exists());
    LeptosOptions::builder()
        .output_name(env("LEPTOS_OUTPUT_NAME", "emporium"))
        .site_root(site_root)
        .site_pkg_dir(env("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.bind)
        .reload_port(
            env("LEPTOS_RELOAD_PORT", "3001")
                .parse::<u32>()
                .unwrap_or(3001),
        )
        .env(if env("LEPTOS_ENV", "PROD").eq_ignore_ascii_case("DEV") {
            leptos::config::Env::DEV
        } else {
            leptos::config::Env::PROD
        })
        .hash_file(hash_file_name.into())
        .hash_files(hashed)
        .build()
}

/// Cache rules: hashed bundles never change under one URL. Without hashing (a plain
/// `cargo run`), bundles are revalidated so new HTML never meets an old wasm.
async fn cache_headers(
    axum::extract::State(hashed): axum::extract::State<bool>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let value = if path.starts_with("/pkg/") {
        Some(if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        })
    } else if path == "/favicon.ico" {
        Some("public, max-age=86400")
    } else {
        None
    };
    if let (Some(v), true) = (value, response.status().is_success()) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(v));
    }
    response
}

/// Errors a server function raises before its body runs (missing or malformed arguments)
/// leave server_fn answering 500; the JSON body names the real error, so its status is used.
async fn server_fn_status(request: Request<axum::body::Body>, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = axum::http::StatusCode::from_u16(error.status()) {
            parts.status = status;
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// How the gateway treats sessions and clients.
#[derive(Clone)]
pub struct GatewaySettings {
    pub page_cache: bool,
    pub cookie_secure: bool,
    pub session_idle: Duration,
    pub redis_prefix: String,
    pub trust_proxy: bool,
    /// Stripe.js's address, when card payments are on (the CSP allows it then only).
    pub stripe_js_url: Option<String>,
}

impl GatewaySettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            page_cache: config.page_cache,
            cookie_secure: config.cookie_secure,
            session_idle: config.session_idle,
            redis_prefix: config.redis_prefix.clone(),
            trust_proxy: config.trust_proxy,
            stripe_js_url: config.stripe.as_ref().map(|s| s.js_url.clone()),
        }
    }
}

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "emporium_session";

/// The whole HTTP application.
pub fn router(state: AppState, gateway: GatewaySettings) -> Router {
    let sessions = tower_sessions::SessionManagerLayer::new(RedisSessionStore::new(
        state.services.redis.clone(),
        &gateway.redis_prefix,
    ))
    .with_name(SESSION_COOKIE)
    .with_http_only(true)
    .with_same_site(tower_sessions::cookie::SameSite::Lax)
    .with_secure(gateway.cookie_secure)
    .with_path("/")
    .with_expiry(tower_sessions::Expiry::OnInactivity(
        time::Duration::try_from(gateway.session_idle).unwrap_or(time::Duration::days(7)),
    ));
    let origins = security::Origins::from_public_url(&state.services.settings.public_url);
    let routes = generate_route_list(App);
    // CSP (each page's inline scripts by hash), HSTS and Permissions-Policy.
    let policy = Arc::new(
        security::BrowserPolicy::new(state.services.settings.public_url.starts_with("https://"))
            .with_stripe(gateway.stripe_js_url.as_deref()),
    );
    let browser_policy = middleware::from_fn_with_state(policy.clone(), security::browser_policy);
    let pages = page_cache::PageCache::new(state.services.clone(), policy);
    let hashed_assets = state.leptos_options.hash_files;
    let services = state.services.clone();
    let fallback_services = state.services.clone();
    // Behind an `Arc`: axum clones a route's handler, with what it captured, per request.
    let leptos_options = Arc::new(state.leptos_options.clone());
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/robots.txt", get(routes::robots))
        .route("/sitemap.xml", get(routes::sitemap))
        .route("/media/generated/{file}", get(routes::media))
        .route("/media/uploads/{*key}", get(routes::uploaded_media))
        .route(
            "/admin/products/{id}/images",
            axum::routing::post(routes::upload_image).layer(axum::extract::DefaultBodyLimit::max(
                services::media::MAX_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/admin/imports",
            axum::routing::post(routes::import_upload).layer(axum::extract::DefaultBodyLimit::max(
                domain::import::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/admin/products/export.csv", get(routes::catalog_export))
        .route("/admin/orders/export.csv", get(routes::orders_export))
        .route("/order/{number}/paypal", get(routes::paypal_return))
        .route(
            "/admin/customers/{id}/export.json",
            get(routes::customer_export),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || shell(LeptosOptions::clone(&leptos_options)),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(fallback_services.clone()), shell
        ))
        // Inside the session layer: a shared page is filled from the shopper's session.
        .layer(tower::util::option_layer(gateway.page_cache.then(|| {
            middleware::from_fn_with_state(pages, page_cache::middleware)
        })))
        .layer(middleware::from_fn_with_state(
            state.services.clone(),
            routes::old_addresses,
        ))
        .layer(sessions)
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn_with_state(
            gateway.trust_proxy,
            security::client_ip,
        ))
        .layer(middleware::from_fn_with_state(
            origins,
            security::refuse_cross_site,
        ))
        .layer(middleware::from_fn_with_state(
            SESSION_COOKIE,
            security::cache_rules,
        ))
        .layer(middleware::from_fn_with_state(hashed_assets, cache_headers))
        .layer(browser_policy)
        // Outside sessions, CSP and the cross-site check: callers are servers, and the
        // signature is the check.
        .route("/webhooks/stripe", axum::routing::post(webhooks::stripe))
        .route("/webhooks/paypal", axum::routing::post(webhooks::paypal))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(
            TraceLayer::new_for_http()
                // The path only: query strings can carry secrets (reset tokens).
                .make_span_with(|request: &Request<axum::body::Body>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

/// A built, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    services: Services,
    change_listener: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    worker: Option<services::events::EventWorker>,
    scheduler: Option<services::jobs::Scheduler>,
    event_workers: usize,
}

impl Application {
    /// Connects to PostgreSQL and Redis, migrates, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = connect_postgres(&config).await?;
        let redis = connect_redis(&config).await?;
        services::MIGRATOR
            .run(&pool)
            .await
            .context("running database migrations")?;
        let signer = services::signing::Signer::load(&pool, config.secret_key.as_deref())
            .await
            .context("loading the key that signs links")?;
        let auth = auth_service(&config, pool.clone(), redis.clone(), signer.clone())?;
        tracing::info!("{}", auth.mailer().describe());
        let catalog = CatalogService::new(pool.clone(), config.currency);
        let mut methods: Vec<Arc<dyn services::payments::PaymentProvider>> = Vec::new();
        if let Some(stripe) = &config.stripe {
            let client = services::payments::stripe::StripeClient::new(stripe.clone())
                .map_err(anyhow::Error::msg)?;
            tracing::info!(api = %stripe.api_url, "card payments by Stripe are on");
            methods.push(Arc::new(services::payments::stripe::StripeCard { client }));
        }
        if let Some(paypal) = &config.paypal {
            let client = services::payments::paypal::PayPalClient::new(paypal.clone())
                .map_err(anyhow::Error::msg)?;
            tracing::info!(api = %paypal.api_url, "PayPal is on");
            methods.push(Arc::new(services::payments::paypal::PayPal { client }));
        }
        methods.push(Arc::new(services::payments::BankTransfer {
            shop_name: config.shop_name.clone(),
            expires_after: Some(config.bank_transfer_expiry),
        }));
        methods.push(Arc::new(services::payments::PayOnDelivery));
        let payments = services::payments::Payments::new(methods);
        let limits = services::limits::RateLimiter::new(redis.clone(), &config.redis_prefix);
        let orders = OrderService::new(
            pool.clone(),
            catalog.clone(),
            payments,
            limits.clone(),
            config.checkout.clone(),
            signer,
        );
        let search = open_search(&config, &catalog, pool.clone()).await?;
        let worker = services::events::EventWorker::new(
            pool.clone(),
            vec![
                Arc::new(services::events::consumers::OrderConfirmationEmail {
                    orders: orders.clone(),
                    mailer: auth.mailer().clone(),
                    shop_name: config.shop_name.clone(),
                    public_url: config.public_url.clone(),
                }),
                Arc::new(services::events::consumers::SearchIndexer {
                    search: search.clone(),
                }),
                Arc::new(services::events::consumers::SecurityEmails {
                    auth: auth.clone(),
                    mailer: auth.mailer().clone(),
                }),
                Arc::new(services::events::consumers::OrderPaymentEmails {
                    orders: orders.clone(),
                    mailer: auth.mailer().clone(),
                    shop_name: config.shop_name.clone(),
                    public_url: config.public_url.clone(),
                }),
                Arc::new(services::events::consumers::StripeEvents {
                    orders: orders.clone(),
                    pool: pool.clone(),
                }),
                Arc::new(services::events::consumers::PayPalEvents {
                    orders: orders.clone(),
                }),
            ],
        );
        let minute = Duration::from_secs(60);
        let scheduler = services::jobs::Scheduler::new(
            pool.clone(),
            vec![
                Arc::new(services::orders::ReconcileJob {
                    orders: orders.clone(),
                    older_than: config.reconcile_after,
                    every: minute,
                }),
                Arc::new(services::orders::ExpiryJob {
                    orders: orders.clone(),
                    every: minute,
                }),
            ],
        );
        let customers = services::customers::CustomerService::new(
            pool.clone(),
            orders.clone(),
            auth.clone(),
            auth.mailer().clone(),
            config.currency,
        );
        let media = media_store(&config)?;
        tracing::info!(store = media.kind, "uploaded images");
        let services = Services {
            media,
            cart: CartService::new(redis.clone(), &config.redis_prefix, catalog.clone()),
            catalog,
            orders,
            search,
            auth,
            audit: services::audit::AuditService::new(pool.clone()),
            customers,
            limits,
            redis,
            settings: Arc::new(ShopSettings {
                shop_name: config.shop_name.clone(),
                public_url: config.public_url.clone(),
                currency: config.currency,
                lookup: services::orders::LookupLimits::default(),
                import_fetch: config.import_fetch.clone(),
            }),
        };
        let change_listener = Box::pin(
            services
                .catalog
                .clone()
                .change_listener(
                    config.database_url.clone(),
                    services.search.follow_changes(),
                )
                .await
                .context("subscribing to catalog changes")?,
        );
        let listener = TcpListener::bind(config.bind).await.with_context(|| {
            format!("binding {} (is another server running there?)", config.bind)
        })?;
        let state = AppState::new(leptos_options(&config), services.clone());
        Ok(Self {
            listener,
            router: router(state, GatewaySettings::from_config(&config)),
            services,
            change_listener,
            worker: config.event_worker.then_some(worker),
            scheduler: config.scheduler.then_some(scheduler),
            event_workers: config.event_workers,
        })
    }

    /// The port actually bound (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tokio::spawn(self.change_listener);
        if let Some(worker) = self.worker {
            tokio::spawn(worker.run_many(self.event_workers));
        }
        if let Some(scheduler) = self.scheduler {
            tokio::spawn(scheduler.run());
        }
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The store of uploaded images the configuration names: an S3-compatible bucket, else a
/// folder on disk.
pub fn media_store(config: &Config) -> anyhow::Result<services::media::MediaStore> {
    Ok(match &config.media_s3 {
        Some(s3) => services::media::MediaStore::s3(s3, &config.media_guard)
            .map_err(|e| anyhow::anyhow!("MEDIA_S3_*: {e}"))?,
        None => services::media::MediaStore::disk(&config.media_dir, &config.media_guard)
            .with_context(|| format!("MEDIA_DIR {}", config.media_dir.display()))?,
    })
}
