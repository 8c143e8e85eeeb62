//! The admin area: for administrators only (others get 403, signed-out visitors are sent
//! to sign in). The catalog, stock and order screens come with later issues: one file (or
//! folder) per screen.

pub mod dashboard;
pub mod orders;
