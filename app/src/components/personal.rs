//! The parts of a page that belong to one shopper, and how a page shared by every
//! shopper leaves room for them.
//!
//! Storefront pages (home, categories, products, search) are the same for everyone except
//! a few small parts: today the header's account menu and mini-cart. When the gateway's
//! page cache renders such a page it marks the request [`SharedRender`]: the render gets
//! no cookies and no session, and each personal part is written as a marker
//! ([`Slot::marker`]) instead. The gateway keeps that one rendering for everyone and, for
//! each request, fills the markers with `parts::render_part` for that shopper's
//! [`Personal`] state (the parts themselves are in `components/parts.rs`). A new personal part (recently viewed, recommendations) is a new [`Slot`] and a
//! new field of [`Personal`]; nothing in the gateway changes. Without the page cache
//! (`PAGE_CACHE=off`) a page is rendered whole, with the same components in place.

use domain::UserSummary;
#[cfg(feature = "ssr")]
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a page shows of one shopper. A part is a function of this alone, so a part
/// rendered once can be reused for the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Personal {
    /// The signed-in shopper, for the header.
    pub user: Option<UserSummary>,
    /// Items in the cart, for the header.
    pub cart_count: u32,
}

/// A place in a page for a personal part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Sign in / register, or the shopper's name and sign-out.
    AccountMenu,
    /// The cart link with its item count.
    MiniCart,
}

impl Slot {
    #[cfg(feature = "ssr")]
    pub const ALL: [Slot; 2] = [Slot::AccountMenu, Slot::MiniCart];

    /// Position in [`Slot::ALL`].
    #[cfg(feature = "ssr")]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The HTML comment that stands for this part in a shared render. Text and attribute
    /// values are escaped by the renderer, so no product or shopper data can produce it.
    pub const fn marker(self) -> &'static str {
        match self {
            Slot::AccountMenu => "<!--personal:account-menu-->",
            Slot::MiniCart => "<!--personal:mini-cart-->",
        }
    }
}

/// Request extension: this render is the version of the page shared by every shopper.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedRender;

/// Whether the current render is a [`SharedRender`] (never in the browser).
pub fn is_shared_render() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .is_some_and(|parts| parts.extensions.get::<SharedRender>().is_some())
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}
