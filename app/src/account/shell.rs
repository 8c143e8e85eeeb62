//! The frame of the account pages: title, side menu and content.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// The side menu of the account pages.
#[component]
fn AccountNav(current: &'static str) -> impl IntoView {
    let item = move |href: &'static str, label: &'static str| {
        let active = href == current;
        view! {
            <li>
                <a
                    href=href
                    aria-current=active.then_some("page")
                    class=if active { "block rounded-lg bg-stone-900 px-3 py-2 text-sm font-medium text-white" } else { "block rounded-lg px-3 py-2 text-sm font-medium text-stone-700 hover:bg-stone-100" }
                >
                    {label}
                </a>
            </li>
        }
    };
    view! {
        <nav aria-label="Account" class="lg:w-56">
            <ul class="flex gap-2 lg:flex-col">
                {item("/account", "Profile and password")}
                {item("/account/addresses", "Address book")}
                {item("/account/orders", "Orders")}
            </ul>
        </nav>
    }
    .into_any()
}

/// Title, side menu and content of an account page.
#[component]
pub fn AccountShell(
    title: &'static str,
    current: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <Title text=title />
        <Meta name="robots" content="noindex" />
        <div class="py-10">
            <h1 class="text-3xl font-semibold tracking-tight text-stone-900">{title}</h1>
            <div class="mt-8 flex flex-col gap-8 lg:flex-row">
                <AccountNav current />
                <div class="min-w-0 flex-1 space-y-8">{children()}</div>
            </div>
        </div>
    }
    .into_any()
}
