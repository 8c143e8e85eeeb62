//! Types and rules shared by the server and the browser.
//!
//! Everything here is pure (no IO) and compiles to `wasm32-unknown-unknown`, so the
//! storefront can format money and validate input exactly as the server does.

macro_rules! codes {
    ($ty:ident { $($variant:ident => $code:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $code),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($code => Some($ty::$variant),)* _ => None }
            }

            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
        }
    };
}

pub mod account;
pub mod catalog;
pub mod customer;
pub mod import;
pub mod listing;
pub mod money;
pub mod order;
pub mod order_desk;
pub mod product_admin;
pub mod search;
pub mod slug;
pub mod staff;
pub mod stock;
pub mod text;

pub use account::{Address, AddressInput, Email, FieldError, Role, UserSummary};
pub use catalog::*;
pub use listing::{ListingQuery, QueryError, Sort, PER_PAGE};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    CardForm, CardOutcome, CartLine, CartNotice, CartView, CheckoutPage, FulfilmentStatus,
    OrderState, OrderStatus, OrderSummary, OrderView, PaymentOption, PaymentStatus, ShippingOption,
};
pub use slug::{Slug, SlugError};
pub use text::escape_markup;
