//! Building blocks the pages share.

pub mod cards;
pub mod error_view;
pub mod forms;
pub mod layout;
pub mod seo;
