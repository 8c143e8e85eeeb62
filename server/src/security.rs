//! Gateway protections: cross-site request refusal, the client address for throttling,
//! and keeping personal pages out of shared caches.

use app::ClientIp;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Settings of [`refuse_cross_site`].
#[derive(Clone)]
pub struct Origins {
    /// `scheme://host[:port]` of PUBLIC_URL.
    pub public_origin: String,
}

impl Origins {
    pub fn from_public_url(public_url: &str) -> Self {
        let origin = match public_url.find("://") {
            Some(i) => {
                let rest = &public_url[i + 3..];
                let host_end = rest.find('/').unwrap_or(rest.len());
                format!("{}{}", &public_url[..i + 3], &rest[..host_end])
            }
            None => public_url.to_owned(),
        };
        Self {
            public_origin: origin.to_ascii_lowercase(),
        }
    }
}

/// True when the browser says the request comes from another site.
///
/// Browsers send `Sec-Fetch-Site` on every request and `Origin` on every POST; a request
/// with neither comes from a program, which holds no victim's cookies and so cannot be
/// a cross-site forgery. The session cookie's `SameSite=Lax` is a second line.
fn is_cross_site(headers: &HeaderMap, origins: &Origins) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let origin = origin.to_ascii_lowercase();
    if origin == origins.public_origin {
        return false;
    }
    // The Host the browser used (the server may be reached by another name than
    // PUBLIC_URL, e.g. 127.0.0.1 vs localhost).
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    match (origin.split_once("://"), host) {
        (Some((_, origin_host)), Some(host)) => origin_host != host,
        _ => true,
    }
}

/// Refuses state-changing requests (anything but GET, HEAD, OPTIONS) sent from another
/// site, with 403 and a message.
pub async fn refuse_cross_site(
    State(origins): State<Origins>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_site(request.headers(), &origins) {
        tracing::warn!(
            path = %request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            "refused a cross-site request"
        );
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused. If you were using the shop, reload the page and try again.",
        )
            .into_response();
    }
    next.run(request).await
}

/// Puts the client's address into the request for throttling: the peer address, or with
/// `trust_proxy` the last `X-Forwarded-For` entry (the one our own proxy appended).
pub async fn client_ip(
    State(trust_proxy): State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = trust_proxy
        .then(|| {
            request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(|ip| ip.trim().to_owned())
                .filter(|ip| !ip.is_empty())
        })
        .flatten();
    let ip = forwarded
        .or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

/// Responses that set a cookie, and every page of a shopper's own (account, admin, cart,
/// checkout, orders), are private: no shared cache (a CDN, a proxy) may keep them.
pub async fn private_when_personal(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let personal_path = [
        "/account",
        "/admin",
        "/sign-in",
        "/register",
        "/reset-password",
        "/forgot-password",
        "/cart",
        "/checkout",
        "/order",
        "/api/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    let mut response = next.run(request).await;
    if personal_path || response.headers().contains_key(header::SET_COOKIE) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_rules() {
        let o = Origins::from_public_url("https://shop.example.com/");
        assert_eq!(o.public_origin, "https://shop.example.com");
        // Programs without browser headers pass.
        assert!(!is_cross_site(&headers(&[]), &o));
        // Fetch metadata decides when present.
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &o
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            &o
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &o
        ));
        // Origin: the public origin, or the Host the browser used.
        assert!(!is_cross_site(
            &headers(&[("origin", "https://shop.example.com")]),
            &o
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            &o
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            &o
        ));
        assert!(is_cross_site(
            &headers(&[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:3000")
            ]),
            &o
        ));
        assert!(is_cross_site(&headers(&[("origin", "null")]), &o));
    }
}
