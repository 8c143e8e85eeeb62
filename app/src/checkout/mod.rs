//! Cart, checkout, order confirmation and guest order lookup.
//!
//! Every form posts to a server function, so the whole journey works before the wasm
//! loads; after hydration the same forms submit in place.

pub mod cart;
pub mod checkout_page;
pub mod order;
