//! Title, description, canonical link and Open Graph tags for a page.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};

/// SEO tags. `base` is the shop's public URL, `path` the page's canonical path.
#[component]
pub fn Seo(
    base: String,
    title: String,
    description: String,
    path: String,
    #[prop(optional)] image: Option<String>,
    #[prop(default = "website")] og_type: &'static str,
) -> impl IntoView {
    let description: String = description.chars().take(300).collect();
    let url = format!("{base}{path}");
    view! {
        <Title text=title.clone() />
        <Meta name="description" content=description.clone() />
        <Link rel="canonical" href=url.clone() />
        <Meta property="og:title" content=title />
        <Meta property="og:description" content=description />
        <Meta property="og:type" content=og_type />
        <Meta property="og:site_name" content="Emporium" />
        <Meta property="og:url" content=url />
        {image.map(|img| view! { <Meta property="og:image" content=format!("{base}{img}") /> })}
    }
    .into_any()
}

/// Serialises structured data for a `<script type="application/ld+json">`, escaped so the
/// content can never close the script element.
pub fn json_ld(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
