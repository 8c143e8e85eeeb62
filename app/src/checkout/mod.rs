//! Cart, checkout, order confirmation and guest order lookup.
//!
//! Every form posts to a server function, so the whole journey works before the wasm
//! loads; after hydration the cart's forms and the checkout form (islands) submit in
//! place. The order lookup stays a plain form.

pub mod cart;
pub mod checkout_page;
pub mod order;
