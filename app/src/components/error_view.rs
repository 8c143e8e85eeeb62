//! Error pages: a message for the shopper, the right HTTP status for crawlers.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// Sets the HTTP status of the page being rendered on the server; nothing in the browser.
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(code),
    ) {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// A full-page error with links back into the shop.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    set_status(error.status());
    let title = error.title();
    let message = error.to_string();
    let status = error.status();
    view! {
        <Title text=title />
        <Meta name="robots" content="noindex" />
        <section class="mx-auto max-w-xl py-24 text-center" data-testid="error-page">
            <p class="text-sm font-semibold uppercase tracking-widest text-amber-700">{status}</p>
            <h1 class="mt-3 text-3xl font-semibold tracking-tight text-stone-900 sm:text-4xl">{title}</h1>
            <p class="mt-4 text-base text-stone-600" data-testid="error-message">{message}</p>
            <div class="mt-8 flex justify-center gap-3">
                <a href="/" class="btn-primary">"Back to the shop"</a>
            </div>
        </section>
    }
    .into_any()
}
