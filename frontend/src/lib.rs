//! Browser entry point: hydrates the server-rendered storefront.

// The app's view types are monomorphised here for hydration, so this crate needs the same
// limit as `app`; components cut their types with `.into_any()` to stay well inside it.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

/// Called by the hydration script that the server puts in every page.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Islands: only the interactive parts of a page (`#[island]` in `app`) hydrate.
    leptos::mount::hydrate_islands();
    app::after_hydration();
}
