//! Full-page cache for storefront pages.
//!
//! Rendering a page costs far more than serving its bytes, and every catalog page is the
//! same for every visitor (no sessions yet). A rendered `200 text/html` page is kept per
//! path and query, tagged with the catalog generation it was rendered under; a catalog
//! write changes the generation, so no page older than the last write is ever served.
//! A render that overlapped a write is not stored. Each page is kept with its gzip and
//! brotli encodings, compressed once, since compressing on every request would cost
//! more than rendering. Set `PAGE_CACHE=off` to disable.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use services::CatalogService;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Bytes of pages kept (all encodings). Query strings are chosen by visitors, so the
/// number of distinct pages is unbounded; the cache is emptied when it is full.
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Pages larger than this are served but not kept.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Largest body this middleware will buffer at all.
const MAX_BUFFER_BYTES: usize = 64 * 1024 * 1024;

/// A rendered page in each encoding a client may accept.
struct Page {
    generation: u64,
    identity: Bytes,
    gzip: Bytes,
    brotli: Bytes,
}

/// Rendered pages by path and query.
#[derive(Clone)]
pub struct PageCache {
    catalog: CatalogService,
    pages: Arc<RwLock<Pages>>,
}

#[derive(Default)]
struct Pages {
    by_key: HashMap<String, Arc<Page>>,
    bytes: usize,
}

impl Page {
    fn size(&self) -> usize {
        self.identity.len() + self.gzip.len() + self.brotli.len()
    }
}

/// Content codings in the order we prefer them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

/// The best coding the `Accept-Encoding` header allows (q=0 refuses a coding).
fn preferred_coding(request: &Request) -> Coding {
    let Some(accept) = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Coding::Identity;
    };
    let accepts = |name: &str| {
        accept.split(',').any(|part| {
            let mut fields = part.trim().split(';');
            let coding = fields.next().unwrap_or("").trim();
            let refused = fields.any(|f| {
                matches!(
                    f.trim().replace(' ', "").as_str(),
                    "q=0" | "q=0.0" | "q=0.00" | "q=0.000"
                )
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if accepts("br") {
        Coding::Brotli
    } else if accepts("gzip") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn compress(body: &[u8]) -> std::io::Result<(Bytes, Bytes)> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::default(),
    );
    gz.write_all(body)?;
    let gzip = gz.finish()?;
    let mut br = Vec::with_capacity(body.len() / 4);
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 9, 22);
        writer.write_all(body)?;
    }
    Ok((Bytes::from(gzip), Bytes::from(br)))
}

impl PageCache {
    pub fn new(catalog: CatalogService) -> Self {
        Self {
            catalog,
            pages: Arc::default(),
        }
    }

    fn get(&self, key: &str, generation: u64) -> Option<Arc<Page>> {
        let pages = self
            .pages
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pages
            .by_key
            .get(key)
            .filter(|p| p.generation == generation)
            .cloned()
    }

    fn put(&self, key: String, page: Arc<Page>) {
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.catalog.generation() != page.generation {
            return; // the catalog changed while this page rendered
        }
        if pages.bytes + page.size() > MAX_BYTES {
            *pages = Pages::default();
        }
        pages.bytes += page.size();
        if let Some(old) = pages.by_key.insert(key, page) {
            pages.bytes -= old.size();
        }
    }
}

/// Storefront pages: the home page, categories and products.
fn cacheable(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::GET
        && (path == "/" || path.starts_with("/c/") || path.starts_with("/p/"))
        && !request.headers().contains_key(header::COOKIE)
        && !request.headers().contains_key(header::AUTHORIZATION)
}

fn html(page: &Page, coding: Coding, hit: bool) -> Response {
    let body = match coding {
        Coding::Brotli => page.brotli.clone(),
        Coding::Gzip => page.gzip.clone(),
        Coding::Identity => page.identity.clone(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    match coding {
        Coding::Brotli => headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br")),
        Coding::Gzip => headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
        Coding::Identity => None,
    };
    headers.insert(
        "x-page-cache",
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    response
}

/// The rendered response as it was, with its body already read.
fn as_rendered(mut parts: axum::http::response::Parts, body: Bytes) -> Response {
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Serves a page from the cache, or renders and keeps it.
pub async fn middleware(State(cache): State<PageCache>, request: Request, next: Next) -> Response {
    if !cacheable(&request) {
        return next.run(request).await;
    }
    let key = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let generation = cache.catalog.generation();
    let coding = preferred_coding(&request);
    if let Some(page) = cache.get(&key, generation) {
        return html(&page, coding, true);
    }
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // A response that sets a cookie is somebody's own and is never shared.
    if response.status() != StatusCode::OK
        || !is_html
        || response.headers().contains_key(header::SET_COOKIE)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let identity = match to_bytes(body, MAX_BUFFER_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "page too large to cache or body failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Body::from("The page could not be rendered."),
            )
                .into_response();
        }
    };
    if identity.len() > MAX_PAGE_BYTES {
        return as_rendered(parts, identity);
    }
    let rendered = identity.clone();
    let Ok(Ok((gzip, brotli))) = tokio::task::spawn_blocking(move || compress(&rendered)).await
    else {
        // Compression failed: serve this render as it is, keep nothing.
        return as_rendered(parts, identity);
    };
    let page = Arc::new(Page {
        generation,
        identity,
        gzip,
        brotli,
    });
    let mut response = html(&page, coding, false);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    cache.put(key, page);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> PageCache {
        // The generation counter needs no database connection.
        let pool =
            sqlx::PgPool::connect_lazy("postgres://unused@127.0.0.1:1/unused").expect("lazy pool");
        PageCache::new(CatalogService::new(pool, domain::Currency::Usd))
    }

    fn page(generation: u64, len: usize) -> Arc<Page> {
        let body = Bytes::from(vec![b'x'; len]);
        Arc::new(Page {
            generation,
            identity: body.clone(),
            gzip: body.clone(),
            brotli: body,
        })
    }

    #[tokio::test]
    async fn stays_within_its_byte_budget() {
        let cache = cache();
        let generation = cache.catalog.generation();
        let one_mib = 1024 * 1024 / 3;
        for i in 0..200 {
            cache.put(format!("/c/x?utm={i}"), page(generation, one_mib));
            let bytes = cache.pages.read().map(|p| p.bytes).unwrap_or(usize::MAX);
            assert!(bytes <= MAX_BYTES, "{bytes} bytes kept after {i} pages");
        }
        // Replacing a page counts its size once.
        cache.put("/same".into(), page(generation, 10));
        let before = cache.pages.read().map(|p| p.bytes).unwrap_or(0);
        cache.put("/same".into(), page(generation, 10));
        assert_eq!(cache.pages.read().map(|p| p.bytes).unwrap_or(0), before);
    }

    #[tokio::test]
    async fn a_page_rendered_before_a_write_is_not_kept_or_served() {
        let cache = cache();
        let before = cache.catalog.generation();
        cache.put("/p/a".into(), page(before, 10));
        assert!(cache.get("/p/a", before).is_some());
        cache.catalog.invalidate_cache();
        let after = cache.catalog.generation();
        assert!(cache.get("/p/a", after).is_none(), "stale page served");
        cache.put("/p/b".into(), page(before, 10));
        assert!(
            cache.get("/p/b", before).is_none(),
            "a render that overlapped a write was kept"
        );
    }
}
