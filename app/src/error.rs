//! The error type every server function returns: safe to show in the browser, never a
//! raw database message. Server-side causes are logged where the error is made.

use domain::FieldError;
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
    /// Form fields that broke rules, each with a message naming the rule.
    #[error("{}", join_messages(.0))]
    Invalid(Vec<FieldError>),
    /// Not signed in (or wrong credentials).
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Staff signed in whose session has not had its second factor yet.
    #[error("{0}")]
    SecondFactor(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The request clashes with what exists (a checkout form used for another cart).
    #[error("{0}")]
    Conflict(String),
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("We could not reach the shop: {0}")]
    Transport(String),
}

fn join_messages(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for one form field, if this error names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The message for the form as a whole: every error that is not about one of
    /// `fields` (those are shown next to their field).
    pub fn form_message(&self, fields: &[&str]) -> Option<String> {
        match self {
            AppError::Invalid(errors) => {
                let rest: Vec<&str> = errors
                    .iter()
                    .filter(|e| !fields.contains(&e.field.as_str()))
                    .map(|e| e.message.as_str())
                    .collect();
                (!rest.is_empty()).then(|| rest.join(" "))
            }
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::Unavailable(_) => 503,
            AppError::Invalid(_) => 422,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) | AppError::SecondFactor(_) => 403,
            AppError::TooManyRequests(_) => 429,
            AppError::Conflict(_) => 409,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }

    /// A short heading for the error page.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "Page not found",
            AppError::BadRequest(_) => "We could not understand that request",
            AppError::Unavailable(_) => "Temporarily unavailable",
            AppError::Invalid(_) => "Some details need attention",
            AppError::Unauthorized(_) => "Please sign in",
            AppError::Forbidden(_) => "Access denied",
            AppError::SecondFactor(_) => "Confirm it is you",
            AppError::TooManyRequests(_) => "Too many attempts",
            AppError::Conflict(_) => "This form is out of date",
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

/// Tells the client when to try again (`Retry-After`) on a throttled server function.
#[cfg(feature = "ssr")]
fn retry_after(secs: u64) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(value) = http::HeaderValue::from_str(&secs.to_string()) {
            response.insert_header(http::header::RETRY_AFTER, value);
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::limits::LimitError> for AppError {
    fn from(e: services::limits::LimitError) -> Self {
        use services::limits::LimitError;
        match e {
            LimitError::Limited { retry_after_secs } => {
                retry_after(retry_after_secs);
                AppError::TooManyRequests(e.to_string())
            }
            LimitError::Unavailable => AppError::Unavailable(e.to_string()),
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
            CatalogError::Refused(r) => AppError::Forbidden(r.to_string()),
            CatalogError::Field(f) => AppError::Invalid(vec![f]),
            e @ (CatalogError::Conflict(_) | CatalogError::Clash(_)) => {
                AppError::Conflict(e.to_string())
            }
            CatalogError::Database(cause) => {
                tracing::error!(error = %cause, "catalog query failed");
                AppError::Unavailable(
                    "The catalog is temporarily unavailable. Please try again in a moment.".into(),
                )
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::auth::AuthError> for AppError {
    fn from(e: services::auth::AuthError) -> Self {
        use services::auth::AuthError;
        match e {
            AuthError::Field(f) => AppError::Invalid(vec![f]),
            AuthError::Fields(v) => AppError::Invalid(v),
            e @ AuthError::InvalidCredentials => AppError::Unauthorized(e.to_string()),
            e @ AuthError::Throttled { retry_after_secs } => {
                retry_after(retry_after_secs);
                AppError::TooManyRequests(e.to_string())
            }
            AuthError::ResetLink(problem) => AppError::BadRequest(problem.to_string()),
            e @ AuthError::RegistrationLink => AppError::BadRequest(e.to_string()),
            AuthError::NotFound => AppError::NotFound("We could not find that.".into()),
            e @ AuthError::InviteLink => AppError::BadRequest(e.to_string()),
            e @ AuthError::Disabled => AppError::Forbidden(e.to_string()),
            AuthError::Refused(r) => AppError::Forbidden(r.to_string()),
            e @ AuthError::Unavailable => AppError::Unavailable(e.to_string()),
            AuthError::Database(cause) => {
                tracing::error!(error = %cause, "account query failed");
                AppError::Unavailable(
                    "Accounts are temporarily unavailable. Please try again in a moment.".into(),
                )
            }
            AuthError::Internal(cause) => {
                tracing::error!(error = %cause, "account operation failed");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::audit::AuditError> for AppError {
    fn from(e: services::audit::AuditError) -> Self {
        use services::audit::AuditError;
        match e {
            AuditError::Refused(r) => AppError::Forbidden(r.to_string()),
            AuditError::BadQuery(m) => AppError::BadRequest(m),
            AuditError::Database(cause) => {
                tracing::error!(error = %cause, "audit query failed");
                AppError::Unavailable(
                    "The audit log is temporarily unavailable. Please try again in a moment."
                        .into(),
                )
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::customers::CustomerError> for AppError {
    fn from(e: services::customers::CustomerError) -> Self {
        use services::customers::CustomerError;
        match e {
            CustomerError::Refused(r) => AppError::Forbidden(r.to_string()),
            CustomerError::Field(f) => AppError::Invalid(vec![f]),
            CustomerError::NotFound => AppError::NotFound("There is no such customer.".into()),
            CustomerError::Orders(e) => e.into(),
            CustomerError::Auth(e) => e.into(),
            CustomerError::Database(cause) => {
                tracing::error!(error = %cause, "customer query failed");
                AppError::Unavailable(
                    "Customers are temporarily unavailable. Please try again in a moment.".into(),
                )
            }
            e @ CustomerError::Internal(_) => {
                tracing::error!(error = %e, "customer operation failed");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::cart::CartError> for AppError {
    fn from(e: services::cart::CartError) -> Self {
        use services::cart::CartError;
        match e {
            e @ CartError::UnknownSku => AppError::NotFound(e.to_string()),
            CartError::Invalid(m) => AppError::field("quantity", m),
            e @ CartError::Unavailable => AppError::Unavailable(e.to_string()),
            CartError::Catalog(c) => c.into(),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::orders::OrderError> for AppError {
    fn from(e: services::orders::OrderError) -> Self {
        use services::orders::OrderError;
        match e {
            OrderError::Invalid(v) => AppError::Invalid(v),
            e @ OrderError::EmptyCart => AppError::BadRequest(e.to_string()),
            e @ OrderError::SoldOut(_) => AppError::field(
                "cart",
                format!("{e} Your order was not placed; please review your cart."),
            ),
            OrderError::NotFound => AppError::NotFound(
                "We could not find that order. Check the number and e-mail address.".into(),
            ),
            OrderError::Transition(t) => AppError::BadRequest(t.to_string()),
            OrderError::Refused(r) => AppError::Forbidden(r.to_string()),
            OrderError::Database(cause) => {
                tracing::error!(error = %cause, "order query failed");
                AppError::Unavailable(
                    "Orders are temporarily unavailable. Nothing was charged; please try again in a moment.".into(),
                )
            }
            OrderError::Payment(services::payments::PaymentError::Declined(reason)) => {
                AppError::field("card", reason)
            }
            OrderError::Payment(services::payments::PaymentError::Rejected(cause)) => {
                tracing::error!(%cause, "the payment provider refused a request");
                AppError::Unavailable(
                    "Card payments are not working right now. Your order is kept: please try again later or contact us.".into(),
                )
            }
            OrderError::Payment(p) => AppError::Unavailable(p.to_string()),
            e @ OrderError::RefundFirst => AppError::Conflict(e.to_string()),
            OrderError::NotPayable(m) | OrderError::Conflict(m) => AppError::Conflict(m.into()),
            e @ OrderError::Throttled { retry_after_secs } => {
                retry_after(retry_after_secs);
                AppError::TooManyRequests(e.to_string())
            }
            e @ OrderError::TooManyUnpaid(_) => AppError::TooManyRequests(e.to_string()),
            e @ (OrderError::KeyOfAnother | OrderError::KeyReused) => {
                AppError::Conflict(e.to_string())
            }
            e @ OrderError::Unavailable => AppError::Unavailable(e.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::search::SearchError> for AppError {
    fn from(e: services::search::SearchError) -> Self {
        tracing::error!(error = %e, "search failed");
        AppError::Unavailable(
            "Search is temporarily unavailable. You can still browse the categories.".into(),
        )
    }
}
