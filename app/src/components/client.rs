//! What islands do to the page around them in the browser: go to another page, change the
//! address without a reload, and keep the header's cart count (server-rendered, outside
//! any island) in step. Called from event handlers and effects, which run only in the
//! browser.

use leptos::prelude::*;

/// Loads another page (an island has no client-side router).
pub fn go_to(href: &str) {
    if let Err(e) = window().location().set_href(href) {
        leptos::logging::warn!("could not go to {href}: {e:?}");
    }
}

/// Changes the address bar to `href` in place: no reload, no new history entry.
pub fn replace_url(href: &str) {
    if let Ok(history) = window().history() {
        let _ =
            history.replace_state_with_url(&leptos::wasm_bindgen::JsValue::NULL, "", Some(href));
    }
}

/// Shows `count` in the header's cart badge after the cart changed in place.
pub fn show_cart_count(count: u32) {
    let document = document();
    if let Ok(Some(badge)) = document.query_selector("[data-testid=cart-count]") {
        badge.set_text_content(Some(&count.to_string()));
    }
    if let Ok(Some(link)) = document.query_selector("[data-testid=mini-cart]") {
        let _ = link.set_attribute("aria-label", &cart_label(count));
    }
}

/// The cart link's accessible name: "Cart, 3 items".
pub fn cart_label(count: u32) -> String {
    format!("Cart, {count} item{}", if count == 1 { "" } else { "s" })
}

/// Called first in an island with a form: the error a plain form post came back with
/// (`?__path=…&__err=…`), for the island's `ServerAction` to start from. The server's
/// router provides it while rendering; in the browser there is no router, and without it
/// the island would hydrate without the error the server rendered (a mismatch).
pub fn provide_form_error() {
    #[cfg(feature = "hydrate")]
    {
        let Ok(search) = window().location().search() else {
            return;
        };
        let Ok(params) = leptos::web_sys::UrlSearchParams::new_with_str(&search) else {
            return;
        };
        // After two failed posts in a row the URL holds both; the server's router reads
        // the last of each, and so must the island.
        let last = |key: &str| {
            let all = params.get_all(key);
            let n = all.length();
            (n > 0).then(|| all.get(n - 1).as_string()).flatten()
        };
        if let (Some(path), Some(err)) = (last("__path"), last("__err")) {
            provide_context(leptos::server::ServerActionError::new(&path, &err));
        }
    }
}

/// Runs when the wasm starts (its entry point), before the islands hydrate.
#[cfg(feature = "hydrate")]
pub fn after_hydration() {
    // A server function that answers with a redirect (after placing an order, adding to
    // the cart) loads that page; one back to the page already shown is left to the island,
    // which updates itself in place (the cart's quantity forms).
    let _ = leptos::server_fn::redirect::set_redirect_hook(|target: &str| {
        let location = window().location();
        let here = format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        );
        if target != here {
            go_to(target);
        }
    });
}
