//! The gate of the signed-in areas (account, admin, an order's page): signed out goes to
//! sign-in and comes back; any other error is an error page.

use crate::components::error_view::ErrorView;
use crate::components::layout::{await_layout, loading, Frame, LayoutResource};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Percent-encodes a value for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a protected page shows for an error: signed out goes to sign-in (302 on the
/// server) and comes back; anything else is an error page.
pub fn protected_error(error: AppError) -> AnyView {
    match error {
        AppError::Unauthorized(_) => {
            let location = use_location();
            let path = location.pathname.get_untracked();
            let search = location.search.get_untracked();
            let search = search.trim_start_matches('?');
            let here = if search.is_empty() {
                path
            } else {
                format!("{path}?{search}")
            };
            view! { <Redirect path=format!("/sign-in?next={}", urlencode(&here)) /> }.into_any()
        }
        other => view! { <ErrorView error=other /> }.into_any(),
    }
}

/// A page of a gated area: the layout and `data` are awaited in the page's one Suspense;
/// signed out goes to sign-in and back, any other error shows an error page.
pub fn gated_page<T>(
    data: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let layout = expect_context::<LayoutResource>();
    view! {
        <Suspense fallback=loading>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    let (layout, data) = (await_layout(layout).await, data.await);
                    let body = match data {
                        Err(e) => protected_error(e),
                        Ok(data) => render(data),
                    };
                    view! { <Frame layout>{body}</Frame> }
                })
            }}
        </Suspense>
    }
}
