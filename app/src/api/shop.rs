//! Server functions of the cart, checkout and orders.

// A server function takes one argument per form field; the checkout form has many.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use super::{services, with_status};
use crate::error::AppError;
use domain::{CartView, CheckoutPage, OrderSummary, OrderView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use crate::error::AppError;
    use services::cart::{CartError, CartOwner};
    use services::orders::OrderError;
    use tower_sessions::Session;

    const CART_KEY: &str = "cart";
    const ORDERS_KEY: &str = "orders";

    impl From<CartError> for AppError {
        fn from(e: CartError) -> Self {
            match e {
                e @ CartError::UnknownSku => AppError::NotFound(e.to_string()),
                CartError::Invalid(m) => AppError::field("quantity", m),
                e @ CartError::Unavailable => AppError::Unavailable(e.to_string()),
                CartError::Catalog(c) => c.into(),
            }
        }
    }

    impl From<OrderError> for AppError {
        fn from(e: OrderError) -> Self {
            match e {
                OrderError::Invalid(v) => AppError::Invalid(v),
                e @ OrderError::EmptyCart => AppError::BadRequest(e.to_string()),
                e @ OrderError::SoldOut(_) => AppError::field(
                    "cart",
                    format!("{e} Your order was not placed; please review your cart."),
                ),
                OrderError::NotFound => AppError::NotFound(
                    "We could not find that order. Check the number and e-mail address.".into(),
                ),
                OrderError::Transition(t) => AppError::BadRequest(t.to_string()),
                OrderError::Database(cause) => {
                    tracing::error!(error = %cause, "order query failed");
                    AppError::Unavailable(
                        "Orders are temporarily unavailable. Nothing was charged; please try again in a moment.".into(),
                    )
                }
                OrderError::Payment(p) => AppError::Unavailable(p.to_string()),
            }
        }
    }

    /// The cart of this visitor: the signed-in user's, or the one tied to the session.
    /// With `create`, a visitor without a cart gets one (and so a session cookie).
    pub async fn cart_owner(create: bool) -> Result<Option<CartOwner>, AppError> {
        let s = super::services()?;
        let session = crate::api::account::session().await?;
        fn unavailable<E>(_: E) -> AppError {
            AppError::Unavailable(CartError::Unavailable.to_string())
        }
        // Sessions and carts share Redis: if it is down, say so about the cart.
        if let Some(user) = services::auth::session::current_user(&session, &s.auth)
            .await
            .map_err(unavailable)?
        {
            return Ok(Some(CartOwner::User(user.id)));
        }
        if let Some(id) = session.get::<String>(CART_KEY).await.map_err(unavailable)? {
            return Ok(Some(CartOwner::Guest(id)));
        }
        if !create {
            return Ok(None);
        }
        let id = services::random::hex(16).map_err(|_| AppError::Internal)?;
        session.insert(CART_KEY, &id).await.map_err(unavailable)?;
        Ok(Some(CartOwner::Guest(id)))
    }

    /// At sign-in: the visitor's cart moves into the user's.
    pub async fn merge_guest_cart(session: &Session, user_id: i64) {
        let Ok(Some(id)) = session.get::<String>(CART_KEY).await else {
            return;
        };
        let Ok(s) = super::services() else { return };
        match s
            .cart
            .merge(&CartOwner::Guest(id), &CartOwner::User(user_id))
            .await
        {
            Ok(()) => {
                let _ = session.remove::<String>(CART_KEY).await;
            }
            // The guest cart stays in the session and is merged at the next sign-in.
            Err(e) => tracing::warn!(error = %e, "could not merge the guest cart"),
        }
    }

    /// Orders this browser placed or looked up, so their pages open without signing in.
    pub async fn session_orders(session: &Session) -> Vec<String> {
        session
            .get::<Vec<String>>(ORDERS_KEY)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

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
}

/// Items in this visitor's cart, for the header; 0 when there is none or it is unreadable.
#[cfg(feature = "ssr")]
pub async fn cart_count_for_layout() -> u32 {
    let Ok(Some(owner)) = server::cart_owner(false).await else {
        return 0;
    };
    match services() {
        Ok(s) => s.cart.count(&owner).await.unwrap_or(0),
        Err(_) => 0,
    }
}

#[server(prefix = "/api", endpoint = "cart")]
pub async fn get_cart() -> Result<CartView, AppError> {
    with_status(
        async move {
            let s = services()?;
            match server::cart_owner(false).await? {
                Some(owner) => Ok(s.cart.view(&owner).await?),
                None => Ok(CartView::empty(s.catalog.currency())),
            }
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "cart_add")]
pub async fn add_to_cart(sku: String, quantity: String) -> Result<(), AppError> {
    with_status(
        async move {
            let quantity = services::cart::parse_quantity(&quantity)?;
            let owner = server::cart_owner(true).await?.ok_or(AppError::Internal)?;
            services()?.cart.add(&owner, &sku, quantity).await?;
            leptos_axum::redirect("/cart");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "cart_update")]
pub async fn update_cart_line(sku: String, quantity: String) -> Result<(), AppError> {
    with_status(
        async move {
            let quantity = services::cart::parse_quantity(&quantity)?;
            let owner = server::cart_owner(false)
                .await?
                .ok_or_else(|| AppError::NotFound("Your cart is empty.".into()))?;
            services()?
                .cart
                .set_quantity(&owner, &sku, quantity)
                .await?;
            leptos_axum::redirect("/cart");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "cart_remove")]
pub async fn remove_cart_line(sku: String) -> Result<(), AppError> {
    with_status(
        async move {
            let owner = server::cart_owner(false)
                .await?
                .ok_or_else(|| AppError::NotFound("Your cart is empty.".into()))?;
            services()?.cart.remove(&owner, &sku).await?;
            leptos_axum::redirect("/cart");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "checkout")]
pub async fn get_checkout() -> Result<CheckoutPage, AppError> {
    with_status(
        async move {
            let s = services()?;
            let session = crate::api::account::session().await?;
            let user = services::auth::session::current_user(&session, &s.auth).await?;
            let owner = server::cart_owner(false).await?;
            let cart = match &owner {
                Some(owner) => s.cart.view(owner).await?,
                None => CartView::empty(s.catalog.currency()),
            };
            if cart.lines.is_empty() {
                return Err(services::orders::OrderError::EmptyCart.into());
            }
            let addresses = match &user {
                Some(u) => s.auth.addresses(u.id).await?,
                None => Vec::new(),
            };
            let shipping = s.orders.shipping_options(cart.subtotal).await?;
            let country = addresses
                .iter()
                .find(|a| a.is_default)
                .map_or_else(|| "US".to_owned(), |a| a.country.clone());
            let first = shipping.first().map(|m| m.code.clone()).unwrap_or_default();
            Ok(CheckoutPage {
                quote: s.orders.quote(cart.subtotal, &country, &first).await?,
                country,
                shipping,
                payments: s.orders.payments().options(),
                email: user.as_ref().map(|u| u.email.clone()),
                signed_in: user.is_some(),
                addresses,
                idempotency_key: services::random::hex(16).map_err(|_| AppError::Internal)?,
                cart,
            })
        }
        .await,
    )
}

/// The review's totals for another country or shipping method.
#[server(prefix = "/api", endpoint = "checkout_quote")]
pub async fn checkout_quote(
    country: String,
    shipping: String,
) -> Result<domain::order::Quote, AppError> {
    with_status(
        async move {
            let s = services()?;
            let owner = server::cart_owner(false)
                .await?
                .ok_or(services::orders::OrderError::EmptyCart)?;
            let cart = s.cart.view(&owner).await?;
            Ok(s.orders.quote(cart.subtotal, &country, &shipping).await?)
        }
        .await,
    )
}

/// Places the order for the cart. `address_id` picks a saved address (signed in);
/// otherwise the address fields are used.
#[server(prefix = "/api", endpoint = "place_order")]
pub async fn place_order(
    idempotency_key: String,
    email: Option<String>,
    address_id: Option<String>,
    full_name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    shipping: Option<String>,
    payment: Option<String>,
) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            let session = crate::api::account::session().await?;
            let user = services::auth::session::current_user(&session, &s.auth).await?;
            let owner = server::cart_owner(false).await?.ok_or_else(|| {
                AppError::BadRequest(
                    "Your cart is empty. Add something before checking out.".into(),
                )
            })?;
            let saved = match (
                &user,
                address_id
                    .as_deref()
                    .filter(|v| !v.is_empty() && *v != "new"),
            ) {
                (Some(u), Some(id)) => {
                    let id: i64 = id.parse().map_err(|_| {
                        AppError::field("address_id", "Choose one of your addresses.")
                    })?;
                    Some(s.auth.address(u.id, id).await.map_err(|_| {
                        AppError::field("address_id", "Choose one of your addresses.")
                    })?)
                }
                _ => None,
            };
            let address = match saved {
                Some(a) => domain::AddressInput {
                    full_name: a.full_name,
                    line1: a.line1,
                    line2: a.line2,
                    city: a.city,
                    region: a.region,
                    postal_code: a.postal_code,
                    country: a.country,
                    phone: a.phone,
                },
                None => domain::AddressInput {
                    full_name: full_name.unwrap_or_default(),
                    line1: line1.unwrap_or_default(),
                    line2: line2.unwrap_or_default(),
                    city: city.unwrap_or_default(),
                    region: region.unwrap_or_default(),
                    postal_code: postal_code.unwrap_or_default(),
                    country: country.unwrap_or_default(),
                    phone: phone.unwrap_or_default(),
                },
            };
            let email = match &user {
                Some(u) => u.email.clone(),
                None => email.unwrap_or_default(),
            };
            let lines = s.cart.checkout_lines(&owner).await?;
            let ordered: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
            let placed = s
                .orders
                .place(&services::orders::PlaceOrder {
                    idempotency_key,
                    user_id: user.as_ref().map(|u| u.id),
                    email,
                    address,
                    shipping_code: shipping.unwrap_or_default(),
                    payment_code: payment.unwrap_or_default(),
                    lines,
                })
                .await?;
            if placed.created {
                tracing::info!(order = %placed.number, "order placed");
                // Only what was ordered leaves the cart; anything added meanwhile stays.
                if let Err(e) = s.cart.remove_lines(&owner, &ordered).await {
                    tracing::warn!(error = %e, "order placed but the cart could not be emptied");
                }
            }
            server::remember_order(&session, &placed.number).await;
            leptos_axum::redirect(&format!("/order/{}", placed.number));
            Ok(())
        }
        .await,
    )
}

/// An order, for its owner: the signed-in user who placed it, or the browser that placed
/// or looked it up. Anyone else gets 404.
#[server(prefix = "/api", endpoint = "order")]
pub async fn get_order(number: String) -> Result<OrderView, AppError> {
    with_status(
        async move {
            let s = services()?;
            let session = crate::api::account::session().await?;
            let numbers = server::session_orders(&session).await;
            let number = number.trim().to_uppercase();
            if numbers.contains(&number) {
                return Ok(s
                    .orders
                    .view(&number, &services::orders::Viewer::Session { numbers })
                    .await?);
            }
            let user = services::auth::session::current_user(&session, &s.auth)
                .await
                .ok()
                .flatten();
            let viewer = match user {
                Some(u) if u.is_admin() => services::orders::Viewer::Admin,
                Some(u) => services::orders::Viewer::User(u.id),
                None => return Err(services::orders::OrderError::NotFound.into()),
            };
            Ok(s.orders.view(&number, &viewer).await?)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "orders")]
pub async fn order_history() -> Result<Vec<OrderSummary>, AppError> {
    with_status(
        async move {
            let user = crate::api::account::require_user().await?;
            Ok(services()?.orders.history(user.id).await?)
        }
        .await,
    )
}

/// A guest finds their order by its number and e-mail address.
#[server(prefix = "/api", endpoint = "order_lookup")]
pub async fn lookup_order(number: String, email: String) -> Result<(), AppError> {
    with_status(
        async move {
            let s = services()?;
            // Order numbers are sequential: without a limit, anyone knowing an e-mail
            // address could walk through them.
            s.auth
                .limit_attempts(&format!(
                    "order-lookup:ip:{}",
                    crate::api::account::client_ip().await
                ))
                .await?;
            let number = number.trim().to_uppercase();
            s.orders
                .view(&number, &services::orders::Viewer::Guest { email })
                .await?;
            let session = crate::api::account::session().await?;
            server::remember_order(&session, &number).await;
            leptos_axum::redirect(&format!("/order/{number}"));
            Ok(())
        }
        .await,
    )
}

/// The latest orders, for admins.
#[server(prefix = "/api", endpoint = "admin_orders")]
pub async fn admin_orders() -> Result<Vec<domain::order::AdminOrderRow>, AppError> {
    with_status(
        async move {
            crate::api::account::require_admin().await?;
            Ok(services()?.orders.recent(50).await?)
        }
        .await,
    )
}

/// An admin moves an order along (mark paid, shipped, delivered, or cancel).
#[server(prefix = "/api", endpoint = "admin_order_action")]
pub async fn admin_order_action(number: String, action: String) -> Result<(), AppError> {
    with_status(
        async move {
            let admin = crate::api::account::require_admin().await?;
            let action = domain::order::OrderAction::parse(&action)
                .ok_or_else(|| AppError::BadRequest("Unknown order action.".into()))?;
            let status = services()?.orders.transition(&number, action).await?;
            tracing::info!(admin = admin.id, order = %number, status = status.as_str(), "order changed by an admin");
            leptos_axum::redirect("/admin/orders");
            Ok(())
        }
        .await,
    )
}
