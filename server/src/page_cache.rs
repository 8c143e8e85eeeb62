//! Page cache for storefront pages, shared by every shopper.
//!
//! Rendering a page costs far more than serving its bytes, and a storefront page (home,
//! category, product, search results) is the same for every visitor except a few personal
//! parts (the header's account menu and mini-cart; see `app::components::personal`).
//!
//! - **One rendering for everyone.** A page is rendered as a [`app::SharedRender`]: with
//!   no cookies and no session, each personal part written as a marker. It is kept per
//!   path and query, cut at the markers, and tagged with the catalog generation (and, for
//!   search results, the search index's) it was rendered under; a change to either makes
//!   it stale, so no page older than the last write is ever served, and a render that
//!   overlapped a write is not kept.
//! - **Personal parts per request.** A visitor without a session gets the page with the
//!   signed-out parts, compressed once (gzip, and brotli once the page is asked for
//!   again: most search queries are asked for once). A shopper with a session gets
//!   the same page with their own parts rendered into the markers (their session read
//!   from Redis). The page's gzip encoding is kept in pieces that end on a byte boundary
//!   (deflate sync flushes), so a shopper's page is the kept pieces with their parts in
//!   between as stored deflate blocks: nothing is compressed per request. Brotli streams
//!   cannot be joined that way, so shoppers with a session are sent gzip. Their pages are
//!   `Cache-Control: private, no-store`.
//!
//! Search pages are kept only with an index of this instance's own (embedded): a shared
//! index (Meilisearch) is changed by other instances without this one knowing when.
//! Set `PAGE_CACHE=off` to render every page whole.

use app::{Personal, Slot};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::search::SearchQuery;
use domain::{Currency, ListingQuery};
use services::recency::RecencyMap;
use services::Services;
use std::sync::{Arc, RwLock};
use tower_sessions::Session;

/// Bytes of pages kept (all encodings). Query strings are chosen by visitors, so the
/// number of distinct pages is unbounded; the cache is emptied when it is full.
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Pages larger than this are served but not kept.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// How long a kept search results page may be reused at most (see [`Tag`]).
const SEARCH_PERIOD_SECS: u64 = 300;
/// Largest body this middleware will buffer at all.
const MAX_BUFFER_BYTES: usize = 64 * 1024 * 1024;

/// What a kept page was rendered from: the catalog's generation and, for search results,
/// the search index's and the 5-minute period (0 for other pages): a results page without
/// results shows popular products and spelling suggestions, which the search service keeps
/// for 5 minutes without hearing of catalog writes, so a kept results page is never older
/// than its period.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Tag {
    catalog: u64,
    search: u64,
    period: u64,
}

/// A stretch of a shared page between personal parts.
struct Text {
    raw: Bytes,
    /// `raw` as raw deflate blocks ending in a sync flush (byte-aligned, not final).
    deflate: Bytes,
}

/// A shared page cut at its personal parts.
enum Piece {
    Text(Text),
    Part(Slot),
}

/// A rendered page as kept.
struct Page {
    tag: Tag,
    /// Its Content-Security-Policy (its inline scripts by hash; personal parts have none).
    csp: HeaderValue,
    pieces: Vec<Piece>,
    /// The page with the signed-out parts, in each coding.
    anonymous: Encoded,
}

struct Encoded {
    identity: Bytes,
    gzip: Bytes,
    /// Made once a kept page is asked for again (quality 9 costs more than rendering, and
    /// many pages, such as most search queries, are asked for once); until then, gzip.
    brotli: std::sync::OnceLock<Bytes>,
    brotli_started: std::sync::atomic::AtomicBool,
}

impl Encoded {
    fn new(identity: Bytes, gzip: Bytes) -> Self {
        Self {
            identity,
            gzip,
            brotli: std::sync::OnceLock::new(),
            brotli_started: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Makes the page's brotli encoding in the background, the first time this is called.
fn compress_later(page: &Arc<Page>) {
    if page
        .anonymous
        .brotli_started
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        return;
    }
    let page = page.clone();
    tokio::task::spawn_blocking(move || match brotli(&page.anonymous.identity) {
        Ok(encoded) => {
            let _ = page.anonymous.brotli.set(encoded);
        }
        Err(e) => tracing::warn!(error = %e, "brotli failed; the page is sent as gzip"),
    });
}

impl Page {
    fn size(&self) -> usize {
        let pieces: usize = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.raw.len() + t.deflate.len(),
                Piece::Part(_) => 0,
            })
            .sum();
        pieces
            + self.anonymous.identity.len()
            + self.anonymous.gzip.len()
            // brotli is added later; counted as what it usually is.
            + self.anonymous.identity.len() / 5
    }
}

/// Shared pages with the services that say whether they are fresh and whose session
/// fills them.
#[derive(Clone)]
pub struct PageCache {
    services: Arc<Services>,
    policy: Arc<crate::security::BrowserPolicy>,
    store: Arc<Store>,
    parts: Arc<Parts>,
}

/// Rendered pages by canonical address, within a byte budget; when full, the pages
/// asked for least recently go first.
struct Store {
    pages: RwLock<RecencyMap<String, Arc<Page>>>,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            pages: RwLock::new(RecencyMap::new(MAX_BYTES)),
        }
    }
}

impl Store {
    fn get(&self, key: &str, tag: Tag) -> Option<Arc<Page>> {
        let pages = self
            .pages
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pages.get(key).filter(|p| p.tag == tag).cloned()
    }

    /// Keeps `page` unless what it was rendered from changed meanwhile (`now` is the tag
    /// read after the render).
    fn put(&self, key: String, page: Arc<Page>, now: impl FnOnce() -> Tag) {
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Read under the lock: a write that lands after this check makes a later `get`
        // compare against a newer tag, so the page is never served stale.
        if now() != page.tag {
            return;
        }
        let size = page.size();
        pages.insert(key, page, size);
    }
}

/// The address a storefront page is kept under and rendered from: only the parameters
/// its page reads, in a fixed order, so `/?x=1`, `/?x=2` … are all the home page and
/// cost one render. `None` for a listing query that does not parse (its error page is
/// rendered, not kept).
fn canonical_uri(path: &str, query: Option<&str>, currency: Currency) -> Option<String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let borrowed = || pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let with = |query: String| {
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    };
    if path.starts_with("/c/") {
        let listing = ListingQuery::parse(borrowed(), currency).ok()?;
        return Some(with(listing.to_query_string(currency)));
    }
    if path == "/search" {
        let search = SearchQuery::from_pairs(borrowed()).cleaned();
        return Some(search.url(search.page));
    }
    if path.starts_with("/p/") {
        // A product page reads which variant and image to show first.
        let variant = borrowed()
            .find(|(k, _)| *k == "variant")
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty() && v.len() <= 64)
            .map(|v| {
                format!(
                    "variant={}",
                    form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            });
        let image = borrowed()
            .find(|(k, _)| *k == "image")
            .and_then(|(_, v)| v.trim().parse::<u8>().ok())
            .map(|i| format!("image={i}"));
        let query: Vec<String> = variant.into_iter().chain(image).collect();
        return Some(with(query.join("&")));
    }
    Some(path.to_owned())
}

/// Content codings in the order we prefer them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Coding {
    Brotli,
    Gzip,
    Identity,
}

/// Which codings the `Accept-Encoding` header allows (q=0 refuses a coding): brotli, gzip.
fn accepted_codings(headers: &HeaderMap) -> (bool, bool) {
    let Some(accept) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return (false, false);
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
    (accepts("br"), accepts("gzip"))
}

/// `body` in brotli (quality 9: compressed once per kept page).
fn brotli(body: &[u8]) -> std::io::Result<Bytes> {
    use std::io::Write;
    let mut br = Vec::with_capacity(body.len() / 4);
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 9, 22);
        writer.write_all(body)?;
    }
    Ok(Bytes::from(br))
}

/// `raw` as raw deflate ending in a sync flush: byte-aligned and not final, so other
/// blocks may follow.
fn deflate_synced(raw: &[u8]) -> std::io::Result<Bytes> {
    let mut compressor = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(raw.len() / 3 + 64);
    loop {
        let read = usize::try_from(compressor.total_in()).unwrap_or(usize::MAX);
        compressor
            .compress_vec(
                &raw[read.min(raw.len())..],
                &mut out,
                flate2::FlushCompress::Sync,
            )
            .map_err(std::io::Error::other)?;
        let done = usize::try_from(compressor.total_in()).unwrap_or(0) == raw.len();
        // The flush is complete once the output did not fill the space it was given.
        if done && out.len() < out.capacity() {
            return Ok(Bytes::from(out));
        }
        out.reserve(4096);
    }
}

/// gzip member header: deflate, no name, no time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// An empty final stored block: ends the deflate stream.
const DEFLATE_END: [u8; 5] = [1, 0, 0, 0xff, 0xff];

/// `bytes` as stored (uncompressed) deflate blocks, starting on a byte boundary.
fn stored_blocks(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.chunks(usize::from(u16::MAX)) {
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.push(0); // not final, stored; the rest of the byte is padding
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

/// The page with a shopper's parts (`part`) in its slots, as is.
fn splice_identity(pieces: &[Piece], part: &dyn Fn(Slot) -> Arc<str>) -> Bytes {
    let mut out = Vec::with_capacity(spliced_len(pieces));
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.extend_from_slice(&text.raw),
            Piece::Part(slot) => out.extend_from_slice(part(*slot).as_bytes()),
        }
    }
    Bytes::from(out)
}

/// The page with a shopper's parts (`part`) in its slots, gzip: the kept deflate pieces
/// with each part between them as stored blocks.
fn splice_gzip(pieces: &[Piece], part: &dyn Fn(Slot) -> Arc<str>) -> Bytes {
    let mut out = Vec::with_capacity(spliced_len(pieces) / 3 + 64);
    out.extend_from_slice(&GZIP_HEADER);
    let mut crc = crc32fast::Hasher::new();
    let mut len: usize = 0;
    for piece in pieces {
        match piece {
            Piece::Text(text) => {
                out.extend_from_slice(&text.deflate);
                crc.update(&text.raw);
                len += text.raw.len();
            }
            Piece::Part(slot) => {
                let html = part(*slot);
                stored_blocks(html.as_bytes(), &mut out);
                crc.update(html.as_bytes());
                len += html.len();
            }
        }
    }
    out.extend_from_slice(&DEFLATE_END);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the length modulo 2^32.
    out.extend_from_slice(&((len & 0xffff_ffff) as u32).to_le_bytes());
    Bytes::from(out)
}

fn spliced_len(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.raw.len(),
            Piece::Part(_) => 512,
        })
        .sum()
}

/// A shared render cut at its markers.
fn cut(body: &[u8]) -> std::io::Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = body;
    let text = |raw: &[u8], pieces: &mut Vec<Piece>| -> std::io::Result<()> {
        if !raw.is_empty() {
            pieces.push(Piece::Text(Text {
                raw: Bytes::copy_from_slice(raw),
                deflate: deflate_synced(raw)?,
            }));
        }
        Ok(())
    };
    loop {
        let next = Slot::ALL
            .iter()
            .filter_map(|slot| find(rest, slot.marker().as_bytes()).map(|at| (at, *slot)))
            .min_by_key(|(at, _)| *at);
        let Some((at, slot)) = next else {
            text(rest, &mut pieces)?;
            return Ok(pieces);
        };
        text(&rest[..at], &mut pieces)?;
        pieces.push(Piece::Part(slot));
        rest = &rest[at + slot.marker().len()..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Rendered parts by the shopper state they show (a part depends on nothing else), so a
/// shopper browsing renders their header once, not on every page. Emptied when full.
struct Parts {
    by_state: RwLock<RecencyMap<Personal, [Option<Arc<str>>; Slot::ALL.len()]>>,
}

impl Default for Parts {
    fn default() -> Self {
        Self {
            by_state: RwLock::new(RecencyMap::new(MAX_PART_STATES)),
        }
    }
}

/// Shopper states whose parts are kept.
const MAX_PART_STATES: usize = 10_000;

impl Parts {
    fn get(&self, personal: &Personal, slot: Slot) -> Arc<str> {
        let kept = self
            .by_state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(personal)
            .and_then(|parts| parts[slot.index()].clone());
        if let Some(html) = kept {
            return html;
        }
        let html: Arc<str> = Arc::from(app::render_part(slot, personal));
        let mut states = self
            .by_state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(parts) = states.get_mut_or_insert_with(personal.clone(), 1, Default::default) {
            parts[slot.index()] = Some(html.clone());
        }
        html
    }
}

impl PageCache {
    pub fn new(services: Arc<Services>, policy: Arc<crate::security::BrowserPolicy>) -> Self {
        Self {
            services,
            policy,
            store: Arc::default(),
            parts: Arc::default(),
        }
    }

    fn tag(&self, path: &str) -> Tag {
        let catalog = self.services.catalog.generation();
        if path != "/search" {
            return Tag {
                catalog,
                search: 0,
                period: 0,
            };
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Tag {
            catalog,
            search: self.services.search.generation(),
            period: now / SEARCH_PERIOD_SECS,
        }
    }

    /// Storefront pages: the home page, categories, products and (with an index of this
    /// instance's own) search results. API clients (`Authorization`) are never served
    /// from here.
    fn cacheable(&self, request: &Request) -> bool {
        let path = request.uri().path();
        request.method() == Method::GET
            && (path == "/"
                || path.starts_with("/c/")
                || path.starts_with("/p/")
                || (path == "/search" && !self.services.search.index_is_shared()))
            && !request.headers().contains_key(header::AUTHORIZATION)
    }
}

/// A page's response with `body` in `coding`; `personal` when it holds a shopper's parts.
fn html(body: Bytes, coding: Coding, personal: bool, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // What a browser or proxy cache must tell apart: the same URL is another page with
    // another session cookie.
    headers.insert(
        header::VARY,
        HeaderValue::from_static("accept-encoding, cookie"),
    );
    match coding {
        Coding::Brotli => headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br")),
        Coding::Gzip => headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
        Coding::Identity => None,
    };
    if personal {
        // Never kept by any cache (the gateway's cache rules say the same for every
        // response to a shopper with a session).
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    headers.insert("x-page-cache", HeaderValue::from_static(cache));
    response
}

/// The page for this visitor: the anonymous encodings, or their own parts spliced in.
fn respond(
    page: &Page,
    personal: Option<&Personal>,
    parts: &Parts,
    accepts: (bool, bool),
    cache: &'static str,
) -> Response {
    let (brotli, gzip) = accepts;
    match personal {
        None if brotli && page.anonymous.brotli.get().is_some() => html(
            page.anonymous.brotli.get().cloned().unwrap_or_default(),
            Coding::Brotli,
            false,
            cache,
        ),
        None if gzip => html(page.anonymous.gzip.clone(), Coding::Gzip, false, cache),
        None => html(
            page.anonymous.identity.clone(),
            Coding::Identity,
            false,
            cache,
        ),
        Some(personal) => {
            let parts = |slot| parts.get(personal, slot);
            if gzip {
                html(splice_gzip(&page.pieces, &parts), Coding::Gzip, true, cache)
            } else {
                html(
                    splice_identity(&page.pieces, &parts),
                    Coding::Identity,
                    true,
                    cache,
                )
            }
        }
    }
}

/// The page shared by everyone, from the cache or rendered now (and kept); the response
/// itself when it is not a page that can be kept.
enum Shared {
    Page(Arc<Page>, &'static str, Option<axum::http::response::Parts>),
    Other(Response),
}

async fn shared_page(
    cache: &PageCache,
    key: &str,
    path: &str,
    mut request: Request,
    next: Next,
) -> Shared {
    let tag = cache.tag(path);
    if let Some(page) = cache.store.get(key, tag) {
        compress_later(&page);
        return Shared::Page(page, "hit", None);
    }
    // Rendered for everyone: no cookies and no session, whoever asked.
    request.headers_mut().remove(header::COOKIE);
    request.extensions_mut().remove::<Session>();
    request.extensions_mut().insert(app::SharedRender);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return Shared::Other(response);
    }
    let (mut parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_BUFFER_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "page too large to cache or body failed");
            return Shared::Other(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Body::from("The page could not be rendered."),
                )
                    .into_response(),
            );
        }
    };
    // Kept: complete pages that set no cookie (a shared render has no session to set one
    // for; if one did, it is nobody's to share).
    let keep = parts.status == StatusCode::OK
        && !parts.headers.contains_key(header::SET_COOKIE)
        && body.len() <= MAX_PAGE_BYTES;
    let parts_cache = cache.parts.clone();
    let policy = cache.policy.clone();
    let nonce = parts
        .headers
        .remove(crate::security::RENDER_NONCE)
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    let built = tokio::task::spawn_blocking(move || -> std::io::Result<Page> {
        let pieces = cut(&body)?;
        let signed_out = Personal::default();
        let anonymous_part = |slot| parts_cache.get(&signed_out, slot);
        let identity = splice_identity(&pieces, &anonymous_part);
        let gzip = splice_gzip(&pieces, &anonymous_part);
        Ok(Page {
            tag,
            csp: policy.csp_for_page(&identity, nonce.as_deref()),
            pieces,
            anonymous: Encoded::new(identity, gzip),
        })
    })
    .await;
    let Ok(Ok(page)) = built else {
        tracing::error!("a shared page could not be cut at its personal parts");
        return Shared::Other(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Body::from("The page could not be rendered."),
            )
                .into_response(),
        );
    };
    // Server time of a page not kept yet: its render, cutting and gzip pieces.
    let server_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(timing) = HeaderValue::from_str(&format!("render;dur={server_ms:.2}")) {
        parts.headers.insert("server-timing", timing);
    }
    let page = Arc::new(page);
    if keep {
        cache
            .store
            .put(key.to_owned(), page.clone(), || cache.tag(path));
        return Shared::Page(page, "miss", Some(parts));
    }
    Shared::Page(page, "uncached", Some(parts))
}

/// Serves a storefront page from the shared cache, with the shopper's own parts.
pub async fn middleware(State(cache): State<PageCache>, request: Request, next: Next) -> Response {
    if !cache.cacheable(&request) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    // A plain form post's answer (its error in the URL) is that visitor's, never kept.
    if request
        .uri()
        .query()
        .is_some_and(|q| q.contains("__err=") || q.contains("__path="))
    {
        return next.run(request).await;
    }
    let currency = cache.services.settings.currency;
    let Some(key) = canonical_uri(&path, request.uri().query(), currency) else {
        return next.run(request).await;
    };
    // The page is rendered from its canonical address too: parameters it does not read
    // never reach it.
    let mut request = request;
    match key.parse::<axum::http::Uri>() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return next.run(request).await,
    }
    let accepts = accepted_codings(request.headers());
    // The shopper's own parts come from their session; a visitor without one is anonymous.
    let personal = match request.extensions().get::<Session>() {
        Some(session) if session.id().is_some() => {
            Some(app::personal(session, &cache.services).await)
        }
        _ => None,
    };
    match shared_page(&cache, &key, &path, request, next).await {
        Shared::Other(response) => response,
        Shared::Page(page, state, parts) => {
            let mut response = respond(&page, personal.as_ref(), &cache.parts, accepts, state);
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, page.csp.clone());
            if let Some(parts) = parts {
                *response.status_mut() = parts.status;
                for (name, value) in &parts.headers {
                    if name != header::CONTENT_LENGTH
                        && name != header::TRANSFER_ENCODING
                        && name != header::CONTENT_ENCODING
                    {
                        response.headers_mut().entry(name).or_insert(value.clone());
                    }
                }
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const TAG: Tag = Tag {
        catalog: 1,
        search: 0,
        period: 0,
    };

    fn page(tag: Tag, len: usize) -> Arc<Page> {
        let body = Bytes::from(vec![b'x'; len]);
        Arc::new(Page {
            tag,
            csp: HeaderValue::from_static("default-src 'self'"),
            pieces: Vec::new(),
            anonymous: Encoded::new(body.clone(), body),
        })
    }

    fn gunzip(bytes: &[u8]) -> String {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut out)
            .expect("a valid gzip stream (header, blocks, CRC and length)");
        out
    }

    #[test]
    fn stays_within_its_byte_budget() {
        let store = Store::default();
        let a_third_mib = 1024 * 1024 / 3;
        for i in 0..200 {
            store.put(format!("/c/x?utm={i}"), page(TAG, a_third_mib), || TAG);
            let bytes = store.pages.read().map(|p| p.weight()).unwrap_or(usize::MAX);
            assert!(bytes <= MAX_BYTES, "{bytes} bytes kept after {i} pages");
        }
        // Replacing a page counts its size once.
        store.put("/same".into(), page(TAG, 10), || TAG);
        let before = store.pages.read().map(|p| p.weight()).unwrap_or(0);
        store.put("/same".into(), page(TAG, 10), || TAG);
        assert_eq!(store.pages.read().map(|p| p.weight()).unwrap_or(0), before);
    }

    #[test]
    fn a_flood_of_one_off_pages_does_not_push_out_the_popular_ones() {
        let store = Store::default();
        let a_mib = 1024 * 1024;
        store.put("/".into(), page(TAG, a_mib), || TAG);
        for i in 0..500 {
            store.put(format!("/search?q=junk{i}"), page(TAG, a_mib), || TAG);
            assert!(
                store.get("/", TAG).is_some(),
                "the home page went after {i} one-off pages"
            );
        }
    }

    #[test]
    fn keys_hold_only_the_parameters_a_page_reads_in_a_fixed_order() {
        let usd = Currency::Usd;
        assert_eq!(
            canonical_uri("/", Some("x=1&utm_source=mail"), usd).as_deref(),
            Some("/")
        );
        assert_eq!(
            canonical_uri("/c/shirts", Some("utm=1&page=2&sort=price-asc&junk"), usd),
            canonical_uri("/c/shirts", Some("sort=price-asc&page=2"), usd)
        );
        assert_eq!(
            canonical_uri("/c/shirts", Some("in_stock=1&sort=price-asc"), usd).as_deref(),
            Some("/c/shirts?sort=price-asc&in_stock=1")
        );
        assert_eq!(canonical_uri("/c/shirts", Some("page=0"), usd), None);
        assert_eq!(
            canonical_uri("/search", Some("zz=1&q=linen+shirt"), usd),
            canonical_uri("/search", Some("q=linen%20shirt"), usd)
        );
        assert_eq!(
            canonical_uri("/p/tee", Some("image=2&variant=TEE-M&fbclid=9"), usd).as_deref(),
            Some("/p/tee?variant=TEE-M&image=2")
        );
        assert_eq!(
            canonical_uri("/p/tee", Some("image=x"), usd).as_deref(),
            Some("/p/tee")
        );
    }

    #[test]
    fn a_page_rendered_before_a_write_is_not_kept_or_served() {
        let store = Store::default();
        store.put("/p/a".into(), page(TAG, 10), || TAG);
        assert!(store.get("/p/a", TAG).is_some());
        let after_catalog = Tag { catalog: 2, ..TAG };
        let after_index = Tag { search: 1, ..TAG };
        assert!(
            store.get("/p/a", after_catalog).is_none(),
            "stale page served"
        );
        assert!(
            store.get("/p/a", after_index).is_none(),
            "page older than the index served"
        );
        store.put("/p/b".into(), page(TAG, 10), || after_catalog);
        assert!(
            store.get("/p/b", TAG).is_none(),
            "a render that overlapped a write was kept"
        );
    }

    #[test]
    fn a_shoppers_parts_are_spliced_into_the_shared_page_in_every_coding() {
        let account = Slot::AccountMenu.marker();
        let cart = Slot::MiniCart.marker();
        // Markers at the start, side by side and at the end; long text between them.
        let filler = "<p>Linen shirt &amp; more</p>".repeat(3000);
        let shared = format!("{account}<header>{filler}{cart}{account}</header>{filler}{cart}");
        let pieces = cut(shared.as_bytes()).expect("cut");
        assert_eq!(
            pieces
                .iter()
                .filter(|p| matches!(p, Piece::Part(_)))
                .count(),
            4
        );
        // A part longer than one stored block (65,535 bytes).
        let long_name = "A".repeat(70_000);
        let part = |slot: Slot| -> Arc<str> {
            match slot {
                Slot::AccountMenu => Arc::from(format!("<div>Hi, {long_name}</div>")),
                Slot::MiniCart => Arc::from("<a>Cart 3</a>"),
            }
        };
        let expected = shared
            .replace(account, &format!("<div>Hi, {long_name}</div>"))
            .replace(cart, "<a>Cart 3</a>");
        let (identity, gzip) = (splice_identity(&pieces, &part), splice_gzip(&pieces, &part));
        assert_eq!(std::str::from_utf8(&identity).ok(), Some(expected.as_str()));
        assert_eq!(gunzip(&gzip), expected);
        // The spliced page is about as small as the page compressed whole.
        assert!(
            gzip.len() < expected.len() / 4 + 70_000,
            "{} bytes",
            gzip.len()
        );
    }

    #[test]
    fn a_page_without_personal_parts_is_one_piece() {
        let pieces = cut(b"<html>no parts</html>").expect("cut");
        let never = |_| -> Arc<str> { Arc::from("never") };
        let (identity, gzip) = (
            splice_identity(&pieces, &never),
            splice_gzip(&pieces, &never),
        );
        assert_eq!(&identity[..], b"<html>no parts</html>");
        assert_eq!(gunzip(&gzip), "<html>no parts</html>");
        let empty = cut(b"").expect("cut");
        let (identity, gzip) = (splice_identity(&empty, &never), splice_gzip(&empty, &never));
        assert!(identity.is_empty());
        assert_eq!(gunzip(&gzip), "");
    }
}
