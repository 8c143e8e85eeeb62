//! Rendered HTML of server-only views that are a function of one value (a product card,
//! the footer's category list), kept by that value so a page renders each once, not on
//! every request.
//!
//! Rendering a view allocates for every element and attribute; a category page has 24
//! cards and three category lists, and rendering them took most of the page's render
//! time. A kept rendering is only ever used for an equal value, so it cannot be stale:
//! a changed product is a new value. Only for views outside islands (nothing in them is
//! hydrated); in the browser the view is rendered as usual. Server only.

use leptos::prelude::*;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, LazyLock, RwLock};

/// Values kept per kind of view; the kind's map is emptied when it reaches this size.
const MAX_ENTRIES: usize = 20_000;

/// Kept renderings of one kind of view, by the value each was rendered from.
pub struct Memo<K> {
    rendered: LazyLock<RwLock<HashMap<K, Arc<str>>>>,
}

impl<K: Hash + Eq + Clone> Memo<K> {
    pub const fn new() -> Self {
        Self {
            rendered: LazyLock::new(RwLock::default),
        }
    }

    /// `view(key)` as HTML: the kept rendering, or rendered now and kept.
    pub fn view<V: IntoView + 'static>(&self, key: K, view: impl FnOnce(K) -> V) -> AnyView {
        let kept = self
            .rendered
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let html = kept.unwrap_or_else(|| {
            let html: Arc<str> = Arc::from(view(key.clone()).into_view().to_html());
            let mut rendered = self
                .rendered
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if rendered.len() >= MAX_ENTRIES {
                rendered.clear();
            }
            rendered.insert(key, html.clone());
            html
        });
        leptos::tachys::html::InertElement::new(html.to_string()).into_any()
    }
}
