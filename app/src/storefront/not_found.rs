//! The 404 page for any path no route matches.

use crate::components::error_view::ErrorView;
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
use crate::error::AppError;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    let layout = expect_context::<LayoutResource>();
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let layout = await_layout(layout).await;
                view! {
                    <Frame layout>
                        <ErrorView error=AppError::NotFound("The page you asked for does not exist. It may have moved, or the link may be mistyped.".into()) />
                    </Frame>
                }
            })}
        </Suspense>
    }
    .into_any()
}
