//! The storefront: home, category, product and search pages, with their server functions.

pub mod category;
pub mod home;
pub mod not_found;
pub mod product;
pub mod search;
