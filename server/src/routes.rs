//! Routes outside the Leptos app: health, robots, sitemap and generated images.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process is up and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: PostgreSQL and Redis both answer. 503 names the one that does not.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let pg = tokio::time::timeout(CHECK_TIMEOUT, state.services.catalog.ping()).await;
    let pg_ok = matches!(pg, Ok(Ok(())));
    let mut redis = state.services.redis.clone();
    let pong = tokio::time::timeout(
        CHECK_TIMEOUT,
        redis::cmd("PING").query_async::<String>(&mut redis),
    )
    .await;
    let redis_ok = matches!(pong, Ok(Ok(_)));
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let status = if pg_ok && redis_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if !pg_ok || !redis_ok {
        tracing::warn!(postgres = word(pg_ok), redis = word(redis_ok), "not ready");
    }
    (
        status,
        Json(serde_json::json!({ "postgres": word(pg_ok), "redis": word(redis_ok) })),
    )
        .into_response()
}

pub async fn robots(State(state): State<AppState>) -> Response {
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\nSitemap: {}/sitemap.xml\n",
        state.services.settings.public_url
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// All published products and every category.
pub async fn sitemap(State(state): State<AppState>) -> Response {
    let base = &state.services.settings.public_url;
    let catalog = &state.services.catalog;
    let (tree, products) = match (catalog.tree().await, catalog.sitemap().await) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "sitemap query failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The sitemap is temporarily unavailable.",
            )
                .into_response();
        }
    };
    let mut xml = String::with_capacity(128 * (products.len() + 32));
    xml.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    xml.push_str("\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    xml.push_str(&format!(
        "<url><loc>{}/</loc></url>\n",
        domain::escape_markup(base)
    ));
    for c in tree.all() {
        xml.push_str(&format!(
            "<url><loc>{}/c/{}</loc></url>\n",
            domain::escape_markup(base),
            domain::escape_markup(&c.slug)
        ));
    }
    for p in products {
        xml.push_str(&format!(
            "<url><loc>{}/p/{}</loc><lastmod>{}</lastmod></url>\n",
            domain::escape_markup(base),
            domain::escape_markup(&p.slug),
            p.updated_at.format("%Y-%m-%d")
        ));
    }
    xml.push_str("</urlset>\n");
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// A generated product or category image. The name fully determines the picture, so it
/// can be cached for a year.
pub async fn media(Path(file): Path<String>) -> Response {
    match services::catalog::images::render_path(&file) {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            svg,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "No such image.").into_response(),
    }
}

/// `/admin/customers/{id}/export.json`: everything the shop holds about a customer, as a
/// JSON download, for staff whose role may (the service checks it, and audits the export).
/// A plain link, so only same-site navigations: a link on another site cannot make staff
/// export (and so fill the audit log).
pub async fn customer_export(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Extension(ip): axum::Extension<app::ClientIp>,
    session: tower_sessions::Session,
    headers: axum::http::HeaderMap,
) -> Response {
    let actor = match download_actor(&state, &ip.0, &session, &headers).await {
        Ok(actor) => actor,
        Err(refused) => return refused,
    };
    match state.services.customers.export(&actor, id).await {
        Ok(data) => (
            [(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"customer-{id}.json\""),
            )],
            Json(data),
        )
            .into_response(),
        Err(e) => refusal(e.into()),
    }
}

/// An error as its status and sentence.
fn refusal(e: app::error::AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.to_string()).into_response()
}

/// The member of staff asking for an export, or the answer refusing it: exports open only
/// from the shop's own admin pages (a link on another site cannot start one).
async fn download_actor(
    state: &AppState,
    ip: &str,
    session: &tower_sessions::Session,
    headers: &axum::http::HeaderMap,
) -> Result<services::audit::Actor, Response> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(refusal(app::error::AppError::Forbidden(
            "Exports open only from the shop's own admin pages.".into(),
        )));
    }
    app::staff_actor(session, &state.services.auth, ip)
        .await
        .map_err(refusal)
}

/// `GET /admin/products/export.csv`: the whole catalog as a Shopify product CSV.
pub async fn catalog_export(
    State(state): State<AppState>,
    axum::Extension(ip): axum::Extension<app::ClientIp>,
    session: tower_sessions::Session,
    headers: axum::http::HeaderMap,
) -> Response {
    let actor = match download_actor(&state, &ip.0, &session, &headers).await {
        Ok(actor) => actor,
        Err(refused) => return refused,
    };
    match state
        .services
        .catalog
        .export_csv(&actor, &state.services.settings.public_url)
        .await
    {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"products.csv\"".to_owned(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refusal(e.into()),
    }
}

/// `GET /admin/orders/export.csv?…`: the orders the list's filters find (its query
/// parameters), newest first, streamed in batches so a million orders never sit in memory.
/// A bad filter is refused before anything is sent (422 with its message).
pub async fn orders_export(
    State(state): State<AppState>,
    axum::Extension(ip): axum::Extension<app::ClientIp>,
    session: tower_sessions::Session,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let actor = match download_actor(&state, &ip.0, &session, &headers).await {
        Ok(actor) => actor,
        Err(refused) => return refused,
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let query = domain::order_desk::OrderQuery::from_params(|k| {
        pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    });
    let orders = state.services.orders.clone();
    let (first, next) = match orders.desk_export(&actor, &query, None).await {
        Ok(batch) => batch,
        Err(e) => return refusal(e.into()),
    };
    tracing::info!(staff = actor.user_id, "orders exported");
    // Each later batch starts below the last id sent; a failure mid-way ends the file
    // (logged), since the status line has gone.
    let rest = futures_util::stream::unfold(next, move |cursor| {
        let (orders, actor, query) = (orders.clone(), actor.clone(), query.clone());
        async move {
            let before = cursor?;
            match orders.desk_export(&actor, &query, Some(before)).await {
                Ok((bytes, next)) => Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(bytes)),
                    next,
                )),
                Err(e) => {
                    tracing::warn!(error = %e, "the orders export stopped part way");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = futures_util::stream::StreamExt::chain(
        futures_util::stream::once(async move { Ok(axum::body::Bytes::from(first)) }),
        rest,
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"orders.csv\"".to_owned(),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// `GET /order/{number}/paypal?token=…&PayerID=…`: the shopper is back from approving on
/// PayPal. The shop captures the payment (once, however often this is loaded) and shows
/// the order's page; a PayPal that cannot be reached leaves the order awaiting payment
/// (reconciliation captures it later) and says so on the page.
pub async fn paypal_return(
    State(state): State<AppState>,
    axum::extract::Path(number): axum::extract::Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let token = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let number: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    let link = state.services.orders.link(&number);
    match state.services.orders.paypal_return(&number, &token).await {
        Ok(_) => axum::response::Redirect::to(&format!("{link}&payment=returned")).into_response(),
        Err(services::orders::OrderError::NotFound) => (
            StatusCode::NOT_FOUND,
            "This PayPal payment is not one of this shop's orders.",
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(order = %number, error = %e, "PayPal return not settled; reconciliation will look again");
            axum::response::Redirect::to(&format!("{link}&payment=pending")).into_response()
        }
    }
}

/// `POST /admin/imports`: a multipart upload (`file`, `fetch_images`) of a
/// Shopify product CSV, checked (a dry run, nothing written) and kept as an import run. A
/// browser is sent to the run's page; any other caller gets the report (201, or 422 when
/// the file has bad rows).
pub async fn import_upload(
    State(state): State<AppState>,
    axum::Extension(ip): axum::Extension<app::ClientIp>,
    session: tower_sessions::Session,
    headers: axum::http::HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let refuse = |status: StatusCode, code: &str, message: String| {
        if browser {
            (
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("/admin/products/import?error={code}"),
                )],
            )
                .into_response()
        } else {
            (status, Json(serde_json::json!({ "message": message }))).into_response()
        }
    };
    let actor = match app::staff_actor(&session, &state.services.auth, &ip.0).await {
        Ok(actor) => actor,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
            return (status, e.to_string()).into_response();
        }
    };
    // Before the (large) body is read.
    if let Err(refused) = actor.require(domain::staff::Permission::Catalog) {
        return (StatusCode::FORBIDDEN, refused.to_string()).into_response();
    }
    let too_big = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-big",
            format!(
                "An import file is at most {} MB.",
                domain::import::MAX_FILE_BYTES / 1_048_576
            ),
        )
    };
    let cut = || {
        refuse(
            StatusCode::BAD_REQUEST,
            "no-file",
            "Send the CSV as a form upload (multipart/form-data) with a file.".into(),
        )
    };
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_big(),
        Err(_) => return cut(),
    };
    let (mut file, mut name, mut fetch_images) = (None::<Vec<u8>>, String::new(), false);
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let field_name = field.name().unwrap_or_default().to_owned();
                if field_name == "file" {
                    name = field.file_name().unwrap_or_default().to_owned();
                }
                match field.bytes().await {
                    Ok(bytes) if field_name == "file" => file = Some(bytes.to_vec()),
                    Ok(bytes) if field_name == "fetch_images" => {
                        fetch_images = matches!(&bytes[..], b"on" | b"true" | b"1")
                    }
                    Ok(_) => {}
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_big(),
                    Err(_) => return cut(),
                }
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_big(),
            Err(_) => return cut(),
        }
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "no-file",
            "Choose a CSV file to import.".into(),
        );
    };
    let settings = &state.services.settings;
    let options = services::catalog::ImportOptions {
        public_url: &settings.public_url,
        images: fetch_images.then(|| services::catalog::ImageFetching {
            store: &state.services.media,
            policy: settings.import_fetch.clone(),
        }),
        batching: services::catalog::Batching::default(),
    };
    let catalog = &state.services.catalog;
    let checked = catalog
        .import_check(&actor, &name, file, fetch_images, &options)
        .await;
    match checked {
        Ok(id) if browser => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/admin/imports/{id}"))],
        )
            .into_response(),
        Ok(id) => match catalog.import_run(&actor, id).await {
            Ok(run) => {
                let status = if run.report.has_problems() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::CREATED
                };
                (
                    status,
                    Json(serde_json::json!({ "id": id, "report": run.report })),
                )
                    .into_response()
            }
            Err(e) => refusal(e.into()),
        },
        Err(e) => {
            let e = app::error::AppError::from(e);
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            refuse(status, "failed", e.to_string())
        }
    }
}

/// A product's or category's old web address (its slug changed): a 301 to where it is
/// now. Asked only when the page itself is not found, so a live page never waits on it.
pub async fn old_addresses(
    State(services): State<std::sync::Arc<services::Services>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let wanted = (request.method() == axum::http::Method::GET
        || request.method() == axum::http::Method::HEAD)
        .then(|| {
            let path = request.uri().path();
            path.strip_prefix("/p/")
                .map(|s| ("product", "/p/", s))
                .or_else(|| path.strip_prefix("/c/").map(|s| ("category", "/c/", s)))
                .filter(|(_, _, slug)| !slug.is_empty() && slug.len() <= 120 && !slug.contains('/'))
                .map(|(kind, prefix, slug)| (kind, prefix, slug.to_owned()))
        })
        .flatten();
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let response = next.run(request).await;
    let Some((kind, prefix, slug)) = wanted else {
        return response;
    };
    if response.status() != StatusCode::NOT_FOUND {
        return response;
    }
    match services.catalog.redirect_for(kind, &slug).await {
        Ok(Some(to)) if to != slug => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, format!("{prefix}{to}{query}"))],
        )
            .into_response(),
        Ok(_) => response,
        Err(e) => {
            tracing::warn!(error = %e, "looking up an old address failed");
            response
        }
    }
}

/// Why an upload was refused, as a status and a fixed code for the page's message.
fn upload_refusal(e: &services::catalog::UploadError) -> (StatusCode, &'static str) {
    use services::catalog::{CatalogError, UploadError};
    use services::media::MediaError;
    match e {
        UploadError::Media(MediaError::TooBig) => (StatusCode::PAYLOAD_TOO_LARGE, "too-big"),
        UploadError::Media(MediaError::NotAnImage) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-an-image")
        }
        UploadError::Media(MediaError::TooManyPixels { .. } | MediaError::Oversized) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "too-many-pixels")
        }
        UploadError::Media(MediaError::Unreadable) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unreadable")
        }
        UploadError::Media(MediaError::Store(_)) => (StatusCode::SERVICE_UNAVAILABLE, "store"),
        UploadError::Catalog(CatalogError::Refused(_)) => (StatusCode::FORBIDDEN, "refused"),
        UploadError::Catalog(CatalogError::NotFound(_)) => (StatusCode::NOT_FOUND, "not-found"),
        UploadError::Catalog(CatalogError::Field(_)) => (StatusCode::UNPROCESSABLE_ENTITY, "alt"),
        UploadError::Catalog(_) => (StatusCode::SERVICE_UNAVAILABLE, "store"),
    }
}

/// `POST /admin/products/{id}/images`: a multipart upload (`file`, `alt`) from the
/// product's page. A browser's form post is sent back to the page (with the outcome in
/// its address); any other caller gets the status and the sentence.
pub async fn upload_image(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Extension(ip): axum::Extension<app::ClientIp>,
    session: tower_sessions::Session,
    headers: axum::http::HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let answer = |status: StatusCode, code: &str, message: String| {
        if browser {
            let done = if status.is_success() {
                "done=image".to_owned()
            } else {
                format!("image_error={code}")
            };
            (
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("/admin/products/{id}?{done}#images"),
                )],
            )
                .into_response()
        } else {
            (status, Json(serde_json::json!({ "message": message }))).into_response()
        }
    };
    let actor = match app::staff_actor(&session, &state.services.auth, &ip.0).await {
        Ok(actor) => actor,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
            return (status, e.to_string()).into_response();
        }
    };
    let too_big = || {
        let e = services::catalog::UploadError::Media(services::media::MediaError::TooBig);
        answer(StatusCode::PAYLOAD_TOO_LARGE, "too-big", e.to_string())
    };
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_big(),
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "no-file",
                "Send the image as a form upload (multipart/form-data) with a file.".into(),
            )
        }
    };
    let (mut file, mut alt) = (None::<Vec<u8>>, String::new());
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "file" => file = Some(bytes.to_vec()),
                    Ok(bytes) if name == "alt" => {
                        alt = String::from_utf8_lossy(&bytes).chars().take(1000).collect()
                    }
                    Ok(_) => {}
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_big(),
                    Err(_) => {
                        return answer(
                            StatusCode::BAD_REQUEST,
                            "no-file",
                            "The upload was cut short.".into(),
                        )
                    }
                }
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_big(),
            Err(_) => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    "no-file",
                    "The upload was cut short.".into(),
                )
            }
        }
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "no-file",
            "Choose an image file to upload.".into(),
        );
    };
    // On a task of its own: a client that goes away (or the request's timeout) cannot
    // stop it between storing the files and recording them.
    let services = state.services.clone();
    let added = tokio::spawn(async move {
        services
            .catalog
            .add_image(&actor, &services.media, id, file, &alt)
            .await
    })
    .await;
    let Ok(added) = added else {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "store",
            "The image could not be stored just now.".into(),
        );
    };
    match added {
        Ok(image) => {
            if browser {
                answer(StatusCode::OK, "", String::new())
            } else {
                (
                    StatusCode::CREATED,
                    Json(serde_json::json!({ "id": image })),
                )
                    .into_response()
            }
        }
        Err(e) => {
            if matches!(
                e,
                services::catalog::UploadError::Media(services::media::MediaError::Store(_))
            ) {
                tracing::error!(error = %e, "an image could not be stored");
            }
            let (status, code) = upload_refusal(&e);
            answer(status, code, e.to_string())
        }
    }
}

/// `/media/uploads/{key}`: an uploaded image's file, from the media store. Keys are
/// random and never reused, so a file may be kept for a year.
pub async fn uploaded_media(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    if !services::media::valid_file_key(&key) {
        return (StatusCode::NOT_FOUND, "No such image.").into_response();
    }
    match state.services.media.get(&key).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "No such image.").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "the media store did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The image is unavailable for a moment.",
            )
                .into_response()
        }
    }
}
