//! Integration tests: one binary (one link step), real PostgreSQL and Redis.

mod catalog_pages;
mod helpers;
mod server_basics;
