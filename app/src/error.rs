//! The error type every server function returns: safe to show in the browser, never a
//! raw database message. Server-side causes are logged where the error is made.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words a shopper can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("We could not reach the shop: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::Unavailable(_) => 503,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }

    /// A short heading for the error page.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "Page not found",
            AppError::BadRequest(_) => "We could not understand that request",
            AppError::Unavailable(_) => "Temporarily unavailable",
            AppError::Internal | AppError::Transport(_) => "Something went wrong",
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest(format!("The request was malformed: {m}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::catalog::CatalogError> for AppError {
    fn from(e: services::catalog::CatalogError) -> Self {
        use services::catalog::CatalogError;
        match e {
            CatalogError::NotFound(what) => {
                AppError::NotFound(format!("We could not find that {what}."))
            }
            CatalogError::Invalid(msg) => AppError::BadRequest(msg),
            CatalogError::Database(cause) => {
                tracing::error!(error = %cause, "catalog query failed");
                AppError::Unavailable(
                    "The catalog is temporarily unavailable. Please try again in a moment.".into(),
                )
            }
        }
    }
}
