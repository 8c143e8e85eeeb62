//! Cart, checkout, order confirmation and guest order lookup.
//!
//! Every form posts to a server function, so the whole journey works before the wasm
//! loads; after hydration the same forms submit in place.

pub mod cart;
pub mod checkout_page;
pub mod order;

#[cfg(feature = "ssr")]
use tower_sessions::Session;

#[cfg(feature = "ssr")]
const ORDERS_KEY: &str = "orders";

/// Orders this browser placed or looked up, so their pages open without signing in.
#[cfg(feature = "ssr")]
pub async fn session_orders(session: &Session) -> Vec<String> {
    session
        .get::<Vec<String>>(ORDERS_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[cfg(feature = "ssr")]
pub async fn remember_order(session: &Session, number: &str) {
    let mut numbers = session_orders(session).await;
    if !numbers.iter().any(|n| n == number) {
        numbers.push(number.to_owned());
        // Keep the list short: the last 20.
        let skip = numbers.len().saturating_sub(20);
        numbers.drain(..skip);
        if let Err(e) = session.insert(ORDERS_KEY, numbers).await {
            tracing::warn!(error = %e, "could not remember the order in the session");
        }
    }
}
