//! Integration tests: one binary (one link step), real PostgreSQL and Redis.

mod abuse;
mod accounts;
mod catalog_admin;
mod catalog_pages;
mod customers;
mod headers;
mod helpers;
mod images;
mod import;
mod order_desk;
mod orders;
mod payments;
mod paypal;
mod paypal_standin;
mod search;
mod server_basics;
mod shared_pages;
mod staff;
mod stock;
