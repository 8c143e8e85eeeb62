//! Gateway protections: cross-site request refusal, the client address for throttling,
//! keeping personal pages out of shared caches, and the browser policy (CSP, HSTS,
//! Permissions-Policy).

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

/// What a shared cache (a CDN, a proxy) may keep, decided in one place for every response.
///
/// Personal: every page of a shopper's own (account, admin, cart, checkout, orders,
/// order lookup), every page or server-function answer to a request that carries a
/// session cookie, and every response that sets a cookie. These answer `Cache-Control:
/// private, no-store` and `Vary: Cookie`, so no cache anywhere keeps one shopper's page
/// for another. Shared: any other HTML page (what an anonymous visitor sees) may be kept
/// by a shared cache for a minute (`s-maxage`), never by the browser without asking
/// again, and varies by cookie and encoding; a CDN that cannot vary by cookie must
/// bypass its cache for requests carrying the session cookie (README, "Caching").
pub async fn cache_rules(
    State(session_cookie): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let personal_path = [
        "/account",
        "/admin",
        "/sign-in",
        "/register",
        "/reset-password",
        "/forgot-password",
        "/staff-invite",
        "/cart",
        "/checkout",
        "/order",
        "/api/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    let has_session = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| {
            c.trim()
                .split_once('=')
                .is_some_and(|(name, _)| name == session_cookie)
        });
    let is_get = request.method() == Method::GET || request.method() == Method::HEAD;
    let mut response = next.run(request).await;
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_page = content_type.starts_with("text/html");
    let is_answer = is_page || content_type.starts_with("application/json");
    let sets_cookie = response.headers().contains_key(header::SET_COOKIE);
    // Only a page that rendered may be kept by a CDN (not a 404, a 429 or a 503).
    let ok = response.status() == StatusCode::OK;
    let headers = response.headers_mut();
    if personal_path || sets_cookie || (has_session && is_answer) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        add_vary(headers, "cookie");
    } else if is_page && is_get && ok && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=0, s-maxage=60, stale-while-revalidate=30"),
        );
        add_vary(headers, "cookie");
    }
    response
}

/// Adds `name` to the response's `Vary` unless it is already there.
fn add_vary(headers: &mut HeaderMap, name: &str) {
    let current: Vec<String> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    if current.iter().any(|v| v == name || v == "*") {
        return;
    }
    let joined = current
        .into_iter()
        .chain(std::iter::once(name.to_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(header::VARY, value);
    }
}

/// The Content-Security-Policy and the other browser protections, built in one place:
/// the shop's own scripts only, each inline script of a page by its hash (cached pages are
/// stored whole, and a per-request nonce would have to be spliced into them), the wasm
/// (`'wasm-unsafe-eval'`), no framing, forms and connections to the shop only. A payment
/// provider adds its script, frame and API origins here when it is configured.
#[derive(Debug, Clone)]
pub struct BrowserPolicy {
    script_src: Vec<String>,
    frame_src: Vec<String>,
    connect_src: Vec<String>,
    /// HSTS: only when the shop is served over https.
    https: bool,
}

/// The nonce of a page's island loader: the first `<script>` inside `<head>`, a module
/// script rendered by the shop ahead of any content (so nothing a page shows can come
/// before it and name a nonce of its own).
fn loader_nonce(html: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(html).ok()?;
    let start = text.find("<head>").or_else(|| text.find("<head "))?;
    let rest = text.get(start..)?;
    let head = rest.get(..rest.find("</head>")?)?;
    let tag = &head[head.find("<script")?..];
    let attributes = &tag[..tag.find('>')?];
    if !attributes.contains(r#"type="module""#) {
        return None;
    }
    let start = attributes.find(r#"nonce=""#)? + r#"nonce=""#.len();
    let value = &attributes[start..];
    let value = &value[..value.find('"')?];
    let plausible = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+/=".contains(c));
    plausible.then(|| value.to_owned())
}

/// The CSP source for an inline script: `'sha256-…'` of its exact text.
pub fn inline_script_hash(script: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The response header in which a render names its nonce (removed before sending).
pub const RENDER_NONCE: &str = "x-render-nonce";

/// The hashes of the page's own inline scripts, each once: those carrying the render's
/// `nonce` (the island loader and Leptos's scripts). A script that reached the page any
/// other way (an HTML-injection bug) cannot know the nonce, so it is not allowed.
pub fn inline_script_hashes(html: &[u8], nonce: Option<&str>) -> Vec<String> {
    let Some(nonce) = nonce.filter(|n| !n.is_empty()) else {
        return Vec::new();
    };
    let marker = format!("nonce=\"{nonce}\"");
    let Ok(mut rest) = std::str::from_utf8(html) else {
        return Vec::new();
    };
    let mut hashes = Vec::new();
    while let Some(at) = rest.find("<script") {
        let after = &rest[at + "<script".len()..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let attributes = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(body_end) = body.find("</script>") else {
            break;
        };
        let content = &body[..body_end];
        let ours = attributes.split_ascii_whitespace().any(|a| a == marker);
        if ours && !attributes.contains("src=") && !content.is_empty() {
            let hash = inline_script_hash(content);
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
        rest = &body[body_end + "</script>".len()..];
    }
    hashes
}

impl BrowserPolicy {
    pub fn new(https: bool) -> Self {
        Self {
            script_src: vec!["'self'".to_owned(), "'wasm-unsafe-eval'".to_owned()],
            frame_src: Vec::new(),
            connect_src: vec!["'self'".to_owned()],
            https,
        }
    }

    /// Card payments by Stripe: Stripe.js, its frames and its API (or a local Stripe.js and
    /// the server it talks to, in tests). `None`: nothing is added.
    pub fn with_stripe(self, js_url: Option<&str>) -> Self {
        let Some(js_url) = js_url else {
            return self;
        };
        let origin = Origins::from_public_url(js_url).public_origin;
        let policy = self
            .allow_script(&origin)
            .allow_frame(&origin)
            .allow_connect(&origin);
        if origin == "https://js.stripe.com" {
            policy
                .allow_frame("https://hooks.stripe.com")
                .allow_connect("https://api.stripe.com")
        } else {
            policy
        }
    }

    /// Allows scripts from `origin` (a payment provider's library).
    pub fn allow_script(mut self, origin: &str) -> Self {
        self.script_src.push(origin.to_owned());
        self
    }

    /// Allows frames from `origin` (a payment provider's card fields).
    pub fn allow_frame(mut self, origin: &str) -> Self {
        self.frame_src.push(origin.to_owned());
        self
    }

    /// Allows the browser to call `origin` (a payment provider's API).
    pub fn allow_connect(mut self, origin: &str) -> Self {
        self.connect_src.push(origin.to_owned());
        self
    }

    /// The policy for a page whose inline scripts have `inline_hashes`.
    pub fn content_security_policy(&self, inline_hashes: &[String]) -> String {
        let frames = if self.frame_src.is_empty() {
            "'none'".to_owned()
        } else {
            self.frame_src.join(" ")
        };
        let scripts: Vec<&str> = self
            .script_src
            .iter()
            .chain(inline_hashes)
            .map(String::as_str)
            .collect();
        [
            "default-src 'self'".to_owned(),
            format!("script-src {}", scripts.join(" ")),
            "style-src 'self'".to_owned(),
            "img-src 'self' data:".to_owned(),
            "font-src 'self'".to_owned(),
            format!("connect-src {}", self.connect_src.join(" ")),
            format!("frame-src {frames}"),
            "frame-ancestors 'none'".to_owned(),
            "form-action 'self'".to_owned(),
            "base-uri 'self'".to_owned(),
            "object-src 'none'".to_owned(),
        ]
        .join("; ")
    }

    /// The CSP header of a page rendered with `nonce`: its own inline scripts by hash.
    pub fn csp_for_page(&self, html: &[u8], nonce: Option<&str>) -> HeaderValue {
        // The render names its nonce in a header; now and then (under load) a render's
        // header is lost, and its page would then lose every script. The nonce is then
        // read from the page's island loader: the first script of its <head>, which the
        // shop renders before anything the page holds.
        let found;
        let nonce = match nonce {
            Some(n) => Some(n),
            None => {
                found = loader_nonce(html);
                if found.is_some() {
                    tracing::debug!("a render named no nonce: the loader's is used");
                }
                found.as_deref()
            }
        };
        HeaderValue::from_str(&self.content_security_policy(&inline_script_hashes(html, nonce)))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
    }

    /// The headers every response carries, whatever it is.
    fn fixed_headers(&self) -> Vec<(header::HeaderName, HeaderValue)> {
        let mut headers = vec![(
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "camera=(), microphone=(), geolocation=(), usb=(), payment=(self)",
            ),
        )];
        if self.https {
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ));
        }
        headers
    }
}

/// Sets the browser policy on every response: an HTML page gets a CSP naming its own
/// inline scripts (a kept page comes with the one made when it was kept), anything else
/// the policy without inline scripts.
pub async fn browser_policy(
    State(policy): State<std::sync::Arc<BrowserPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in policy.fixed_headers() {
        response.headers_mut().entry(name).or_insert(value);
    }
    let nonce = response
        .headers_mut()
        .remove(RENDER_NONCE)
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    if response
        .headers()
        .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        return response;
    }
    let headers = response.headers();
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
        && !headers.contains_key(header::CONTENT_ENCODING);
    if !is_page {
        let csp = policy.csp_for_page(b"", None);
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
        return response;
    }
    // Pages are rendered whole (SsrMode::Async), so reading the body delays nothing.
    let (mut parts, body) = response.into_parts();
    match axum::body::to_bytes(body, 32 * 1024 * 1024).await {
        Ok(bytes) => {
            parts.headers.insert(
                header::CONTENT_SECURITY_POLICY,
                policy.csp_for_page(&bytes, nonce.as_deref()),
            );
            Response::from_parts(parts, axum::body::Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, "a page's body failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
                .into_response()
        }
    }
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

    #[test]
    fn vary_is_added_once() {
        let mut h = headers(&[("vary", "accept-encoding")]);
        add_vary(&mut h, "cookie");
        add_vary(&mut h, "cookie");
        assert_eq!(
            h.get("vary").and_then(|v| v.to_str().ok()),
            Some("accept-encoding, cookie")
        );
    }

    #[test]
    fn the_policy_names_the_inline_scripts_and_what_providers_add() {
        // The known SHA-256 of "alert(1)".
        assert_eq!(
            inline_script_hash("alert(1)"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
        // Only scripts with the render's nonce count: not the injected one, not one with a
        // guessed nonce, not external ones.
        let page = br#"<head><script type="module" nonce="n0nce">alert(1)</script><script src="/pkg/a.js" nonce="n0nce"></script></head>
            <p><script>evil()</script><script nonce="guess">evil()</script></p>
            <script nonce="n0nce">alert(1)</script><script nonce="n0nce">__INCOMPLETE_CHUNKS=[];</script>"#;
        let hashes = inline_script_hashes(page, Some("n0nce"));
        assert_eq!(hashes.len(), 2, "{hashes:?}");
        assert_eq!(hashes[0], inline_script_hash("alert(1)"));
        assert!(!hashes.contains(&inline_script_hash("evil()")));
        assert!(inline_script_hashes(page, None).is_empty());
        let plain = BrowserPolicy::new(false);
        let csp = plain.content_security_policy(&hashes);
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{csp}"
        );
        assert!(csp.contains("frame-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(!plain
            .fixed_headers()
            .iter()
            .any(|(n, _)| n == header::STRICT_TRANSPORT_SECURITY));
        // A render whose nonce header was lost: the loader's nonce is used, and only it.
        let page = br#"<html><head><meta charset="utf-8"><script type="module" nonce="abc123">load()</script></head><body><script nonce="abc123">x()</script><script nonce="evil">y()</script></body></html>"#;
        let csp = plain
            .csp_for_page(page, None)
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            csp.contains(&inline_script_hash("load()")) && csp.contains(&inline_script_hash("x()")),
            "{csp}"
        );
        assert!(!csp.contains(&inline_script_hash("y()")), "{csp}");
        // No loader in the head: nothing is allowed.
        let bare = br#"<html><head></head><body><script type="module" nonce="abc">x()</script></body></html>"#;
        assert!(!plain
            .csp_for_page(bare, None)
            .to_str()
            .expect("ascii")
            .contains("sha256"));
        let with_provider = BrowserPolicy::new(true)
            .allow_script("https://js.stripe.com")
            .allow_frame("https://js.stripe.com");
        let csp = with_provider.content_security_policy(&[]);
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval' https://js.stripe.com"),
            "{csp}"
        );
        assert!(csp.contains("frame-src https://js.stripe.com"), "{csp}");
        assert!(with_provider
            .fixed_headers()
            .iter()
            .any(|(n, _)| n == header::STRICT_TRANSPORT_SECURITY));
    }
}
