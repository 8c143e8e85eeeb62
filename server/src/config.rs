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
        let cache_raw = var("PAGE_CACHE", "on");
        let page_cache = match cache_raw.as_str() {
            "on" | "true" | "1" => true,
            "off" | "false" | "0" => false,
            _ => {
                return Err(ConfigError {
                    name: "PAGE_CACHE",
                    value: cache_raw,
                    reason: "use on or off".into(),
                })
            }
        };
        let public_url = var("PUBLIC_URL", &format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            database_url: var(
                "DATABASE_URL",
                "postgres://emporium@127.0.0.1:54329/emporium",
            ),
            redis_url: var("REDIS_URL", "redis://127.0.0.1:63799/0"),
            bind,
            public_url,
            shop_name: var("SHOP_NAME", "Emporium"),
            currency,
            db_max_connections,
            log_format,
            page_cache,
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
