//! The admin area, for staff whose session has had its second factor; each screen and
//! action is checked against the role by the services (403 with a sentence). Signed-out
//! visitors are sent to sign in, staff without their second factor to give it. One file
//! per screen, inside the shared shell (`shell`).

pub mod audit;
pub mod categories;
pub mod customers;
pub mod dashboard;
pub mod import;
pub mod invite;
pub mod orders;
pub mod product_edit;
pub mod products;
pub mod shell;
pub mod staff;
pub mod stock;
pub mod two_factor;
