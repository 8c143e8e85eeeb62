//! Configuration from environment variables, each with a default for local use.
//! The README's configuration table lists them; `.env.example` shows them set.

use domain::Currency;
use std::net::SocketAddr;

/// Everything the server reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub redis_url: String,
    pub bind: SocketAddr,
    pub public_url: String,
    pub shop_name: String,
    pub currency: Currency,
    pub db_max_connections: u32,
    pub log_format: LogFormat,
    /// Keep rendered storefront pages (see `page_cache`).
    pub page_cache: bool,
    /// Prepended to every Redis key (sessions, counters), so several shops or test runs
    /// can share one Redis.
    pub redis_prefix: String,
    /// Where e-mail is written when `smtp_url` is unset.
    pub mail_outbox: std::path::PathBuf,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Session cookies carry `Secure` (on by default when PUBLIC_URL is https).
    pub cookie_secure: bool,
    pub session_idle: std::time::Duration,
    pub auth: services::auth::AuthSettings,
    /// Key that signs order links (a secret: never logged). Unset: one is made at first
    /// start and kept in the database, shared by every instance.
    pub secret_key: Option<String>,
    /// Checkout throttles and the cap on open unpaid orders.
    pub checkout: services::orders::CheckoutLimits,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a proxy).
    pub trust_proxy: bool,
    /// Run the event worker in this process (off when workers run elsewhere).
    pub event_worker: bool,
    /// Folder of the embedded search index.
    pub search_index_dir: std::path::PathBuf,
    /// Search with Meilisearch at this URL instead of the embedded index.
    pub meili_url: Option<String>,
    /// Meilisearch API key (a secret: never logged).
    pub meili_api_key: Option<String>,
    /// Name of the Meilisearch index.
    pub meili_index: String,
    /// Card payments by Stripe, when its keys are set (secrets inside: never logged).
    pub stripe: Option<services::payments::stripe::StripeSettings>,
    /// PayPal, when its client id, secret and webhook id are set (secret: never logged).
    pub paypal: Option<services::payments::paypal::PayPalSettings>,
    /// Folder of uploaded images when no S3 bucket is configured.
    pub media_dir: std::path::PathBuf,
    /// Uploaded images in an S3-compatible bucket (keys inside: never logged).
    pub media_s3: Option<services::media::S3Settings>,
    /// Timeout and breaker of the media store.
    pub media_guard: services::resilience::GuardSettings,
    /// What the CSV import may fetch `Image Src` addresses from: private and loopback
    /// addresses only when IMPORT_ALLOW_PRIVATE_URLS is on (a shop whose images are on its
    /// own network, tests); time and size limits always.
    pub import_fetch: services::fetch::FetchPolicy,
    /// Unpaid bank transfers are cancelled after this long.
    pub bank_transfer_expiry: std::time::Duration,
    /// Card payments still open after this long are checked with Stripe.
    pub reconcile_after: std::time::Duration,
    /// Run the scheduled jobs (reconciliation, expiry) in this process.
    pub scheduler: bool,
    /// Event worker loops in this process (they share the log without taking the same
    /// event).
    pub event_workers: usize,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name} = {value:?} is invalid: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    let raw = var(name, if default { "on" } else { "off" });
    match raw.as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError {
            name,
            value: raw,
            reason: "use on or off".into(),
        }),
    }
}

fn number(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    let raw = var(name, &default.to_string());
    raw.parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError {
            name,
            value: raw,
            reason: "must be a whole number above 0".into(),
        })
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

impl Config {
    /// Reads the environment. Unset variables take their defaults; malformed ones are errors.
    pub fn from_env() -> Result<Self, ConfigError> {
        let bind_raw = var("BIND_ADDR", &var("LEPTOS_SITE_ADDR", "127.0.0.1:3000"));
        let bind: SocketAddr =
            bind_raw
                .parse()
                .map_err(|e: std::net::AddrParseError| ConfigError {
                    name: "BIND_ADDR",
                    value: bind_raw.clone(),
                    reason: e.to_string(),
                })?;
        let currency_raw = var("SHOP_CURRENCY", "USD");
        let currency = Currency::parse(&currency_raw).map_err(|e| ConfigError {
            name: "SHOP_CURRENCY",
            value: currency_raw.clone(),
            reason: e.to_string(),
        })?;
        let max_raw = var("DATABASE_MAX_CONNECTIONS", "16");
        let db_max_connections =
            max_raw
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError {
                    name: "DATABASE_MAX_CONNECTIONS",
                    value: max_raw.clone(),
                    reason: "must be a whole number above 0".into(),
                })?;
        let log_raw = var("LOG_FORMAT", "pretty");
        let log_format = match log_raw.as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError {
                    name: "LOG_FORMAT",
                    value: log_raw,
                    reason: "use pretty or json".into(),
                })
            }
        };
        let page_cache = flag("PAGE_CACHE", true)?;
        let public_url = var("PUBLIC_URL", &format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        let smtp_url = std::env::var("SMTP_URL")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let days = |n: u64| std::time::Duration::from_secs(n * 24 * 3600);
        let defaults = services::auth::AuthSettings::default();
        let auth = services::auth::AuthSettings {
            sign_in_per_account: u32::try_from(number("AUTH_MAX_ATTEMPTS", 5)?).unwrap_or(u32::MAX),
            sign_in_per_ip: u32::try_from(number("AUTH_MAX_ATTEMPTS_PER_IP", 30)?)
                .unwrap_or(u32::MAX),
            throttle_window: std::time::Duration::from_secs(number("AUTH_WINDOW_SECS", 900)?),
            session_absolute: days(number("SESSION_ABSOLUTE_DAYS", 30)?),
            slow_down_after: u32::try_from(number("AUTH_SLOW_DOWN_AFTER", 5)?).unwrap_or(u32::MAX),
            ..defaults
        };
        let per_minute = |name: &'static str, default: u64| -> Result<_, ConfigError> {
            Ok(services::limits::Rate::per_minute(
                u32::try_from(number(name, default)?).unwrap_or(u32::MAX),
            ))
        };
        let count = |name: &'static str, default: u64| -> Result<i64, ConfigError> {
            Ok(i64::try_from(number(name, default)?).unwrap_or(i64::MAX))
        };
        let checkout = services::orders::CheckoutLimits {
            per_network: per_minute("CHECKOUT_PER_IP_PER_MINUTE", 10)?,
            per_email: per_minute("CHECKOUT_PER_EMAIL_PER_MINUTE", 5)?,
            per_session: per_minute("CHECKOUT_PER_SESSION_PER_MINUTE", 5)?,
            unpaid_per_email: count("UNPAID_ORDERS_PER_EMAIL", 5)?,
            unpaid_per_network: count("UNPAID_ORDERS_PER_IP", 20)?,
        };
        let stripe_keys = (
            set("STRIPE_SECRET_KEY"),
            set("STRIPE_PUBLISHABLE_KEY"),
            set("STRIPE_WEBHOOK_SECRET"),
        );
        let stripe = match stripe_keys {
            (None, None, None) => None,
            (Some(secret_key), Some(publishable_key), Some(webhook)) => {
                let capture = var("STRIPE_CAPTURE", "automatic");
                let manual_capture = match capture.as_str() {
                    "automatic" => false,
                    "manual" => true,
                    _ => {
                        return Err(ConfigError {
                            name: "STRIPE_CAPTURE",
                            value: capture,
                            reason: "use automatic or manual".into(),
                        })
                    }
                };
                let guard = services::resilience::GuardSettings {
                    timeout: std::time::Duration::from_secs(number("STRIPE_TIMEOUT_SECS", 10)?),
                    open_for: std::time::Duration::from_secs(number("STRIPE_BREAKER_OPEN_SECS", 30)?),
                    ..Default::default()
                };
                Some(services::payments::stripe::StripeSettings {
                    secret_key,
                    publishable_key,
                    // Several, comma-separated, while a secret is being rolled.
                    webhook_secrets: webhook
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    api_url: var("STRIPE_API_URL", "https://api.stripe.com"),
                    js_url: var("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
                    manual_capture,
                    expires_after: std::time::Duration::from_secs(
                        60 * number("PAYMENT_EXPIRY_CARD_MINUTES", 30)?,
                    ),
                    guard,
                })
            }
            _ => {
                return Err(ConfigError {
                    name: "STRIPE_SECRET_KEY",
                    value: "(hidden)".into(),
                    reason: "set all three of STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET, or none".into(),
                })
            }
        };
        let paypal = match (
            set("PAYPAL_CLIENT_ID"),
            set("PAYPAL_SECRET"),
            set("PAYPAL_WEBHOOK_ID"),
        ) {
            (None, None, None) => None,
            (Some(client_id), Some(secret), Some(webhook_id)) => {
                Some(services::payments::paypal::PayPalSettings {
                    client_id,
                    secret,
                    webhook_id,
                    api_url: var("PAYPAL_API_URL", "https://api-m.paypal.com"),
                    public_url: public_url.clone(),
                    expires_after: std::time::Duration::from_secs(
                        60 * number("PAYMENT_EXPIRY_PAYPAL_MINUTES", 180)?,
                    ),
                    guard: services::resilience::GuardSettings {
                        timeout: std::time::Duration::from_secs(number("PAYPAL_TIMEOUT_SECS", 10)?),
                        open_for: std::time::Duration::from_secs(number("PAYPAL_BREAKER_OPEN_SECS", 30)?),
                        ..Default::default()
                    },
                })
            }
            _ => {
                return Err(ConfigError {
                    name: "PAYPAL_CLIENT_ID",
                    value: "(hidden)".into(),
                    reason: "set all three of PAYPAL_CLIENT_ID, PAYPAL_SECRET and PAYPAL_WEBHOOK_ID, or none".into(),
                })
            }
        };
        let media_s3 = std::env::var("MEDIA_S3_BUCKET")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .map(|bucket| services::media::S3Settings {
                bucket,
                region: var("MEDIA_S3_REGION", "us-east-1"),
                endpoint: var("MEDIA_S3_ENDPOINT", ""),
                access_key: var("MEDIA_S3_ACCESS_KEY_ID", ""),
                secret_key: var("MEDIA_S3_SECRET_ACCESS_KEY", ""),
            });
        let media_guard = services::resilience::GuardSettings {
            timeout: std::time::Duration::from_secs(number("MEDIA_TIMEOUT_SECS", 10)?),
            ..Default::default()
        };
        Ok(Self {
            media_dir: var("MEDIA_DIR", ".data/media").into(),
            media_s3,
            media_guard,
            import_fetch: services::fetch::FetchPolicy {
                allow_private: flag("IMPORT_ALLOW_PRIVATE_URLS", false)?,
                timeout: std::time::Duration::from_secs(number("IMPORT_FETCH_TIMEOUT_SECS", 15)?),
                ..Default::default()
            },
            stripe,
            paypal,
            bank_transfer_expiry: std::time::Duration::from_secs(
                3600 * number("PAYMENT_EXPIRY_BANK_TRANSFER_HOURS", 72)?,
            ),
            reconcile_after: std::time::Duration::from_secs(
                60 * number("PAYMENT_RECONCILE_AFTER_MINUTES", 10)?,
            ),
            scheduler: flag("SCHEDULER", true)?,
            event_workers: usize::try_from(number("EVENT_WORKERS", 4)?).unwrap_or(4),
            database_url: var(
                "DATABASE_URL",
                "postgres://emporium@127.0.0.1:54329/emporium",
            ),
            redis_url: var("REDIS_URL", "redis://127.0.0.1:63799/0"),
            bind,
            shop_name: var("SHOP_NAME", "Emporium"),
            currency,
            db_max_connections,
            log_format,
            page_cache,
            redis_prefix: var("REDIS_KEY_PREFIX", "emporium:"),
            mail_outbox: var("MAIL_OUTBOX", ".data/outbox").into(),
            smtp_url,
            mail_from: var("MAIL_FROM", "Emporium <shop@localhost>"),
            cookie_secure: flag("COOKIE_SECURE", public_url.starts_with("https://"))?,
            session_idle: days(number("SESSION_IDLE_DAYS", 7)?),
            auth,
            checkout,
            secret_key: set("SECRET_KEY"),
            trust_proxy: flag("TRUST_PROXY", false)?,
            event_worker: flag("EVENT_WORKER", true)?,
            search_index_dir: var("SEARCH_INDEX_DIR", ".data/search-index").into(),
            meili_url: set("MEILI_URL"),
            meili_api_key: set("MEILI_API_KEY"),
            meili_index: var("MEILI_INDEX", "products"),
            public_url,
        })
    }
}

/// Hides the password in a connection URL before it is logged: the `user:password@`
/// part and any `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = redact_userinfo(base);
    match query {
        None => base,
        Some(q) => {
            let params: Vec<String> = q
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=pw"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://u:pw@h/db?application_name=x"),
            "postgres://u:***@h/db?application_name=x"
        );
    }
}
