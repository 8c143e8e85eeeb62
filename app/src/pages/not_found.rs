//! The 404 page for any path no route matches.

use crate::components::error_view::ErrorView;
use crate::error::AppError;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! { <ErrorView error=AppError::NotFound("The page you asked for does not exist. It may have moved, or the link may be mistyped.".into()) /> }
}
