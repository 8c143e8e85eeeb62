//! The header's search box: a GET form to `/search` before hydration; after it, product
//! suggestions appear while typing.

use crate::components::client::go_to;
#[cfg(feature = "ssr")]
use crate::components::server::{services, with_status};
use crate::error::AppError;
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
                .suggest(&domain::search::SearchQuery {
                    text,
                    page: 1,
                    ..Default::default()
                })
                .await?;
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

/// The header's search box: a GET form to `/search` before hydration; after it (an
/// island), product suggestions appear while typing (150 ms after the last key),
/// navigable with the arrow keys, Enter and Escape.
#[island]
pub fn SearchBox() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let suggestions = RwSignal::new(Vec::<Suggestion>::new());
    let active = RwSignal::new(None::<usize>);
    let fetch = Action::new(|q: &String| search_suggestions(q.clone()));
    Effect::new(move |_| {
        if let Some(Ok(list)) = fetch.value().get() {
            // A late answer for text that has since been cleared is dropped.
            if text.get_untracked().trim().chars().count() >= 2 {
                suggestions.set(list);
                active.set(None);
            }
        }
    });
    let pending_timer = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        if let Some(handle) = pending_timer.get_value() {
            handle.clear();
        }
        if value.trim().chars().count() < 2 {
            suggestions.set(Vec::new());
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                fetch.dispatch(value);
            },
            std::time::Duration::from_millis(150),
        )
        .ok();
        pending_timer.set_value(handle);
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let n = suggestions.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Enter" => {
                if let Some(slug) = active
                    .get()
                    .and_then(|i| suggestions.with(|s| s.get(i).map(|s| s.slug.clone())))
                {
                    ev.prevent_default();
                    suggestions.set(Vec::new());
                    go_to(&format!("/p/{slug}"));
                }
            }
            "Escape" => {
                suggestions.set(Vec::new());
                active.set(None);
            }
            _ => {}
        }
    };
    view! {
        <form method="get" action="/search" role="search" class="relative w-full max-w-xs" data-testid="search-box">
            <label for="site-search" class="sr-only">"Search products"</label>
            <input
                id="site-search"
                name="q"
                type="search"
                placeholder="Search products"
                autocomplete="off"
                maxlength="256"
                class="field py-1.5"
                on:blur=move |_| {
                    // Let a click on a suggestion land first.
                    set_timeout(move || suggestions.set(Vec::new()), std::time::Duration::from_millis(200));
                }
                role="combobox"
                aria-autocomplete="list"
                aria-controls="search-suggestions"
                aria-expanded=move || (!suggestions.with(Vec::is_empty)).to_string()
                aria-activedescendant=move || active.get().map(|i| format!("suggestion-{i}"))
                prop:value=move || text.get()
                on:input=on_input
                on:keydown=on_keydown
            />
            <Show when=move || !suggestions.with(Vec::is_empty)>
                <ul id="search-suggestions" role="listbox" class="absolute left-0 right-0 z-40 mt-1 overflow-hidden rounded-lg border border-stone-200 bg-white shadow-lg" data-testid="suggestions">
                    <For
                        each=move || suggestions.get().into_iter().enumerate()
                        key=|(i, s)| (*i, s.slug.clone())
                        children=move |(i, s)| view! {
                            <li role="option" id=format!("suggestion-{i}") aria-selected=move || (active.get() == Some(i)).to_string()>
                                <a href=format!("/p/{}", s.slug)
                                   class=move || if active.get() == Some(i) { "block bg-stone-100 px-3 py-2 text-sm" } else { "block px-3 py-2 text-sm hover:bg-stone-50" }
                                   on:click=move |_| suggestions.set(Vec::new())
                                   data-testid="suggestion"
                                   inner_html=s.name_html.clone()></a>
                            </li>
                        }
                    />
                </ul>
            </Show>
        </form>
    }
    .into_any()
}
