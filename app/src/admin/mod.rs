//! The admin area: for administrators only (others get 403, signed-out visitors are sent
//! to sign in). One file (or folder) per screen; catalog and stock screens come next.

pub mod dashboard;
pub mod orders;
