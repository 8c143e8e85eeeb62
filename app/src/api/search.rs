//! Server functions of search.

#[cfg(feature = "ssr")]
use super::{services, with_status};
use crate::error::AppError;
use domain::search::{SearchQuery, SearchResults};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A product suggested while typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub slug: String,
    pub name: String,
    /// The name with the typed words marked (HTML-escaped otherwise).
    pub name_html: String,
}

#[cfg(feature = "ssr")]
fn unavailable(e: services::search::SearchError) -> AppError {
    tracing::error!(error = %e, "search failed");
    AppError::Unavailable(
        "Search is temporarily unavailable. You can still browse the categories.".into(),
    )
}

#[server(prefix = "/api", endpoint = "search")]
pub async fn search_products(query: SearchQuery) -> Result<SearchResults, AppError> {
    with_status(
        async move {
            services()?
                .search
                .search(&query.cleaned())
                .await
                .map_err(unavailable)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "suggest")]
pub async fn search_suggestions(q: String) -> Result<Vec<Suggestion>, AppError> {
    with_status(
        async move {
            let text = domain::search::clean_text(&q);
            if text.is_empty() {
                return Ok(Vec::new());
            }
            let results = services()?
                .search
                .suggest(&SearchQuery {
                    text,
                    page: 1,
                    ..Default::default()
                })
                .await
                .map_err(unavailable)?;
            Ok(results
                .hits
                .into_iter()
                .take(6)
                .map(|h| Suggestion {
                    slug: h.slug,
                    name: h.name,
                    name_html: h.name_html,
                })
                .collect())
        }
        .await,
    )
}
