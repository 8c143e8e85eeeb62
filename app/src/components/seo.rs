//! Title, description, canonical link and Open Graph tags for a page.

use crate::LayoutResource;
use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};

/// SEO tags. `path` is the page's canonical path, e.g. `/p/linen-shirt`.
#[component]
pub fn Seo(
    title: String,
    description: String,
    path: String,
    #[prop(optional)] image: Option<String>,
    #[prop(default = "website")] og_type: &'static str,
) -> impl IntoView {
    let description: String = description.chars().take(300).collect();
    let layout = expect_context::<LayoutResource>();
    let absolute = Resource::new(|| (), move |_| {
        let path = path.clone();
        let image = image.clone();
        async move {
            let base = layout.await.map(|l| l.public_url).unwrap_or_default();
            (format!("{base}{path}"), image.map(|i| format!("{base}{i}")))
        }
    });
    view! {
        <Title text=title.clone() />
        <Meta name="description" content=description.clone() />
        <Meta property="og:title" content=title />
        <Meta property="og:description" content=description />
        <Meta property="og:type" content=og_type />
        <Meta property="og:site_name" content="Emporium" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (url, image) = absolute.await;
                view! {
                    <Link rel="canonical" href=url.clone() />
                    <Meta property="og:url" content=url />
                    {image.map(|img| view! { <Meta property="og:image" content=img /> })}
                }
            })}
        </Suspense>
    }
}

/// Serialises structured data for a `<script type="application/ld+json">`, escaped so the
/// content can never close the script element.
pub fn json_ld(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}
