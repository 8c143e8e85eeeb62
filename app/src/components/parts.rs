//! The personal parts of a page (the header's account menu and mini-cart), placed with
//! [`PersonalPart`]: in a shared render as their marker, otherwise rendered in place. See
//! `personal.rs` for how shared pages are filled.

use crate::components::client::cart_label;
use crate::components::personal::{is_shared_render, Personal, Slot};
#[cfg(feature = "ssr")]
use crate::components::server::{end_session, session, with_status};
use crate::error::AppError;
use domain::UserSummary;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::tachys::html::InertElement;

/// A personal part in place: its marker in a shared render, else the part itself.
#[component]
pub fn PersonalPart(place: Slot, personal: Personal) -> impl IntoView {
    // (Not `slot`: the view macro reads an attribute of that name as a Leptos slot.)
    if is_shared_render() {
        InertElement::new(place.marker()).into_any()
    } else {
        part(place, &personal)
    }
}

fn part(slot: Slot, personal: &Personal) -> AnyView {
    match slot {
        Slot::AccountMenu => view! { <AccountMenu user=personal.user.clone() /> }.into_any(),
        Slot::MiniCart => view! { <MiniCart count=personal.cart_count /> }.into_any(),
    }
}

/// The HTML of one personal part for one shopper, to fill a shared page's marker.
#[cfg(feature = "ssr")]
pub fn render_part(slot: Slot, personal: &Personal) -> String {
    Owner::new().with(|| part(slot, personal).to_html())
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    with_status(
        async move {
            end_session(&session().await?).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

/// Sign in / register, or the signed-in shopper's links and a sign-out button (a form:
/// signing out changes state, so it is a POST, never a link).
#[component]
fn AccountMenu(user: Option<UserSummary>) -> impl IntoView {
    match user {
        None => view! {
            <div class="flex items-center gap-3 text-sm font-medium" data-testid="account-menu">
                <a href="/sign-in" class="nav-link">"Sign in"</a>
                <a href="/register" class="btn-secondary hidden py-1.5 sm:inline-flex">"Register"</a>
            </div>
        }
        .into_any(),
        Some(user) => {
            let sign_out = ServerAction::<SignOut>::new();
            view! {
                <div class="flex items-center gap-3 text-sm font-medium" data-testid="account-menu">
                    {user.is_staff().then(|| view! { <a href="/admin" class="nav-link">"Admin"</a> })}
                    <a href="/account" class="nav-link" data-testid="account-link">{format!("Hi, {}", user.greeting_name())}</a>
                    <ActionForm action=sign_out>
                        <button type="submit" class="nav-link text-stone-600" data-testid="sign-out">"Sign out"</button>
                    </ActionForm>
                </div>
            }
            .into_any()
        }
    }
}

/// The header's link to the cart, with its item count.
#[component]
fn MiniCart(count: u32) -> impl IntoView {
    view! {
        <a href="/cart" class="nav-link text-sm font-medium" data-testid="mini-cart" aria-label=cart_label(count)>
            "Cart "
            <span class="inline-flex min-w-6 items-center justify-center rounded-full bg-stone-900 px-1.5 text-xs font-semibold text-white" data-testid="cart-count">{count}</span>
        </a>
    }
    .into_any()
}
