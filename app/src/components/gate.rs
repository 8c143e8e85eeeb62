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

/// A local path to go to next (after signing in, after the second factor); anything
/// else (another site, `//host`, odd characters, a server function) is `fallback`.
pub fn safe_next_or(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/api/")
                && n.len() <= 512
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// What a protected page shows for an error: signed out goes to sign-in (302 on the
/// server) and comes back; staff without their second factor give it first and come
/// back; anything else is an error page.
pub fn protected_error(error: AppError) -> AnyView {
    let here = || {
        let location = use_location();
        let path = location.pathname.get_untracked();
        let search = location.search.get_untracked();
        let search = search.trim_start_matches('?');
        let here = if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        };
        urlencode(&here)
    };
    match error {
        AppError::Unauthorized(_) => {
            view! { <Redirect path=format!("/sign-in?next={}", here()) /> }.into_any()
        }
        AppError::SecondFactor(_) => {
            view! { <Redirect path=format!("/admin/two-factor?next={}", here()) /> }.into_any()
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
