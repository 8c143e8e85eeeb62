//! Server functions: thin wrappers that parse input, call one service and map its error.

pub mod account;
pub mod search;
pub mod shop;

use crate::error::AppError;
use domain::{CategoryCard, HomePage, ListingPage, ProductDetail, UserSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What every page needs: the shop's name, its public URL and the category menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutData {
    pub shop_name: String,
    pub public_url: String,
    pub categories: Vec<CategoryCard>,
    /// The signed-in shopper, for the header.
    pub user: Option<UserSummary>,
    /// Items in the cart, for the header.
    pub cart_count: u32,
}

impl LayoutData {
    /// Used when the layout cannot be loaded, so an error page still has a frame.
    pub fn fallback() -> Self {
        Self {
            shop_name: "Emporium".into(),
            public_url: String::new(),
            categories: Vec::new(),
            user: None,
            cart_count: 0,
        }
    }
}

/// Gives a server function's error its HTTP status (server_fn answers every error with
/// 500 otherwise), so `/api/*` callers see 400/404/503 like page visitors do.
#[cfg(feature = "ssr")]
fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    // A plain HTML form post (no wasm yet) is answered with a redirect back to the form,
    // the error in its URL; a status here would turn that redirect into an error page.
    let plain_form = use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.uri.path().starts_with("/api/")
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    });
    if plain_form {
        return result;
    }
    if let Err(e) = &result {
        if let (Some(response), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(e.status()),
        ) {
            response.set_status(status);
        }
    }
    result
}

#[cfg(feature = "ssr")]
fn services() -> Result<services::Services, AppError> {
    use_context::<services::Services>().ok_or_else(|| {
        tracing::error!("Services missing from the Leptos context");
        AppError::Internal
    })
}

#[server(prefix = "/api", endpoint = "layout")]
pub async fn get_layout() -> Result<LayoutData, AppError> {
    with_status(
        async move {
            let s = services()?;
            Ok(LayoutData {
                shop_name: s.settings.shop_name.clone(),
                public_url: s.settings.public_url.clone(),
                categories: s.catalog.top_categories().await?,
                user: account::current_user_for_layout().await,
                cart_count: shop::cart_count_for_layout().await,
            })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "home")]
pub async fn get_home() -> Result<HomePage, AppError> {
    with_status(
        async move {
            let home = services()?.catalog.home().await?;
            Ok((*home).clone())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "listing")]
pub async fn get_listing(
    slug: String,
    page: Option<String>,
    sort: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    in_stock: Option<String>,
) -> Result<ListingPage, AppError> {
    with_status(
        async move {
            let s = services()?;
            let not_found = || AppError::NotFound("We could not find that category.".into());
            domain::Slug::parse(&slug).map_err(|_| not_found())?;
            let pairs = [
                ("page", &page),
                ("sort", &sort),
                ("min_price", &min_price),
                ("max_price", &max_price),
                ("in_stock", &in_stock),
            ];
            let query = domain::ListingQuery::parse(
                pairs
                    .iter()
                    .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
                s.catalog.currency(),
            )
            .map_err(|e| AppError::BadRequest(e.message))?;
            let listing = s
                .catalog
                .listing(&slug, &query)
                .await
                .map_err(|e| match e {
                    services::catalog::CatalogError::NotFound(_) => not_found(),
                    other => other.into(),
                })?;
            Ok((*listing).clone())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "product")]
pub async fn get_product(slug: String) -> Result<ProductDetail, AppError> {
    with_status(
        async move {
            let not_found = || {
                AppError::NotFound(
                    "We could not find that product. It may have been removed.".into(),
                )
            };
            domain::Slug::parse(&slug).map_err(|_| not_found())?;
            let product = services()?.catalog.product(&slug).await?;
            product.as_ref().clone().ok_or_else(not_found)
        }
        .await,
    )
}
