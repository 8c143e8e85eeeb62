//! What several areas share: the layout, forms, cards, SEO, the sign-in gate and (server
//! only) the glue between a request's session and the services. Nothing here imports an
//! area.

pub mod cards;
pub mod client;
pub mod error_view;
pub mod forms;
pub mod gate;
pub mod island_scripts;
pub mod layout;
#[cfg(feature = "ssr")]
pub mod memo;
pub mod parts;
pub mod personal;
pub mod search_box;
pub mod seo;
#[cfg(feature = "ssr")]
pub mod server;
