//! The script that brings a page's islands to life, loaded when the page is done.
//!
//! Leptos's own `HydrationScripts` preloads the wasm at high priority from the `<head>`,
//! where it competes with the page's stylesheet and images for a phone's bandwidth and
//! puts the largest paint behind the wasm in Lighthouse's model. Here nothing is fetched
//! before the page's `load` event: then, when the browser is idle, the script imports the
//! bundle, starts it and hydrates each `<leptos-island>` in document order, then marks
//! the body `data-hydrated`. Pages do not wait for it: links and forms are plain HTML.

use leptos::prelude::*;
use std::sync::OnceLock;

/// The bundle's file names (`emporium.<hash>.js`, `.wasm`, `.css`), read once from the
/// hash file cargo-leptos writes next to the server. (Leptos's `HydrationScripts` and
/// `HashedStylesheet` read that file again on every page they render.)
fn bundle(options: &LeptosOptions) -> &'static (String, String, String) {
    static NAMES: OnceLock<(String, String, String)> = OnceLock::new();
    NAMES.get_or_init(|| {
        let name = options.output_name.to_string();
        let hashes = options
            .hash_files
            .then(|| {
                let exe = std::env::current_exe().ok()?;
                std::fs::read_to_string(exe.parent()?.join(options.hash_file.as_ref())).ok()
            })
            .flatten()
            .unwrap_or_default();
        let hash = |kind: &str| {
            hashes.lines().find_map(|line| {
                let (file, hash) = line.split_once(':')?;
                (file.trim() == kind).then(|| format!(".{}", hash.trim()))
            })
        };
        let pkg = format!("/{}", options.site_pkg_dir);
        (
            format!("{pkg}/{name}{}.js", hash("js").unwrap_or_default()),
            format!("{pkg}/{name}{}.wasm", hash("wasm").unwrap_or_default()),
            format!("{pkg}/{name}{}.css", hash("css").unwrap_or_default()),
        )
    })
}

const LOADER: &str = r#"((js, wasm) => {
  const start = () => import(js).then(async (bundle) => {
    await bundle.default({ module_or_path: wasm });
    bundle.hydrate();
    for (const island of document.querySelectorAll("leptos-island")) {
      const hydrate = bundle[island.dataset.component];
      if (hydrate) await hydrate(island);
      else console.warn(`the bundle has no island ${island.dataset.component}`);
    }
    document.body.setAttribute("data-hydrated", "true");
  }).catch((e) => console.error("the page's islands could not start", e));
  // Idle, or at the latest 2 s after the load event.
  const whenIdle = () => ("requestIdleCallback" in window ? requestIdleCallback(start, { timeout: 2000 }) : setTimeout(start));
  if (document.readyState === "complete") whenIdle();
  else addEventListener("load", whenIdle, { once: true });
})"#;

/// Goes in `<head>`, where Leptos's own scripts would (before the app renders).
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    // What Leptos's own `HydrationScripts` sets up on the server for islands: the page is
    // rendered as not hydrating, so resources outside islands are not serialized into it.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let (js, wasm, _) = bundle(&options);
    let call = format!("{LOADER}({js:?}, {wasm:?});");
    // The render's nonce marks the page's own inline scripts (this one and Leptos's): the
    // gateway allows exactly those by hash in the Content-Security-Policy.
    let nonce = leptos::nonce::use_nonce();
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        nonce.as_ref(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(value) = http::HeaderValue::from_str(nonce) {
            response.insert_header(http::HeaderName::from_static("x-render-nonce"), value);
        }
    }
    view! { <script type="module" nonce=nonce inner_html=call></script> }
}

/// The site's stylesheet (what `leptos_meta::HashedStylesheet` renders, from the names
/// read once).
#[component]
pub fn Stylesheet(options: LeptosOptions) -> impl IntoView {
    let (_, _, css) = bundle(&options);
    view! { <link id="leptos" rel="stylesheet" href=css.as_str() /> }
}
