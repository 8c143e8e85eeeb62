//! Orders: checkout options, placing an order in one transaction, the order life cycle
//! and the owner's views of orders.
//!
//! Placing an order never oversells: the variants are locked in id order, prices and stock
//! are re-read under the lock, stock is decremented only where enough remains (and a CHECK
//! constraint backs that up), and the order, its lines, its totals and an `order.placed`
//! event are written in the same transaction. A retried or double-submitted checkout
//! carries the same idempotency key and gets the same order back, but only the cart owner
//! that placed it does: anyone else presenting the key gets a conflict and nothing of the
//! order. Once the transaction commits, the order stands: nothing after it (the payment
//! provider, recording its reference) can turn the answer into a failure.
//!
//! Checkouts are throttled per client network, per cart owner and per e-mail, and open
//! unpaid orders are capped per e-mail and per network, so nobody can hold the stock
//! hostage with orders they never pay; unpaid orders also expire (`paying.rs`).
//!
//! An order has three statuses of its own (order, payment, fulfilment; see
//! `domain::order::OrderState`). What payments do to it (a provider's report, the
//! shopper's return, reconciliation, expiry) is in `paying.rs`.

mod desk;
mod paying;
mod paypal_flow;

pub use desk::{Refunded, EXPORT_BATCH};
pub use paying::{Cause, ExpiryJob, Observation, PaymentOutcome, ReconcileJob, WebhookError};

use crate::audit::Actor;
use crate::catalog::CatalogService;
use crate::limits::{network_of, LimitError, Rate, RateLimiter};
use crate::payments::Payments;
use domain::order::{OrderAction, OrderLine, Quote, MAX_LINE_QUANTITY};
use domain::staff::Permission;
use domain::{
    Address, AddressInput, Currency, Email, FieldError, FulfilmentStatus, Money, OrderState,
    OrderStatus, OrderSummary, OrderView, PaymentStatus, ShippingOption,
};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Checkout fields that broke rules.
    #[error("Some details need attention.")]
    Invalid(Vec<FieldError>),
    #[error("Your cart is empty. Add something before checking out.")]
    EmptyCart,
    /// Items that cannot be bought as asked (sold out, gone, or their price changed since
    /// the shopper saw it); the order was not placed.
    #[error("{}", .0.join(" "))]
    SoldOut(Vec<String>),
    #[error("order not found")]
    NotFound,
    /// The member of staff's role does not allow this.
    #[error("{0}")]
    Refused(#[from] domain::staff::Refused),
    #[error("{0}")]
    Transition(domain::order::TransitionError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Payment(#[from] crate::payments::PaymentError),
    #[error("Too many checkout attempts. Please try again in {}.", crate::limits::wait_words(*retry_after_secs))]
    Throttled { retry_after_secs: u64 },
    /// The cap on open unpaid orders was reached; the message says how to go on.
    #[error("{0}")]
    TooManyUnpaid(&'static str),
    /// The idempotency key belongs to an order of another cart owner.
    #[error(
        "This checkout form does not belong to your cart. Reload the checkout page and try again."
    )]
    KeyOfAnother,
    /// The key already placed an order, and the cart has changed since.
    #[error("This checkout form was already used to place an order, and your cart has changed since. Reload the checkout page to place a new order.")]
    KeyReused,
    #[error("Checkout is temporarily unavailable. Please try again in a few minutes.")]
    Unavailable,
    /// Money was taken: the order is cancelled by refunding it (the order desk does both).
    #[error("This order has been paid, so it is cancelled by refunding the payment first.")]
    RefundFirst,
    /// The order cannot take a card payment (already paid, cancelled, another method).
    #[error("{0}")]
    NotPayable(&'static str),
    /// The request clashes with the order as it is now (409).
    #[error("{0}")]
    Conflict(&'static str),
}

impl From<LimitError> for OrderError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Limited { retry_after_secs } => OrderError::Throttled { retry_after_secs },
            LimitError::Unavailable => OrderError::Unavailable,
        }
    }
}

const UNPAID_PER_EMAIL: &str = "We cannot take another order for this e-mail address until its earlier orders are paid or cancelled. Each order's confirmation e-mail has a link to its page, where it can be paid or cancelled.";
const UNPAID_PER_NETWORK: &str = "Too many unpaid orders were placed from your network. Pay or cancel them from the links in their confirmation e-mails, then try again.";

/// Limits on guest order lookups (number + e-mail), which could otherwise be guessed.
#[derive(Debug, Clone)]
pub struct LookupLimits {
    pub per_network: Rate,
    /// Tries on one order number, from anywhere.
    pub per_number: Rate,
}

impl Default for LookupLimits {
    fn default() -> Self {
        Self {
            per_network: Rate::new(30, std::time::Duration::from_secs(15 * 60)),
            per_number: Rate::new(10, std::time::Duration::from_secs(60 * 60)),
        }
    }
}

/// Checkout throttles and caps (each a setting).
#[derive(Debug, Clone)]
pub struct CheckoutLimits {
    /// Order attempts per client network (an IPv4 address or an IPv6 /64).
    pub per_network: Rate,
    pub per_email: Rate,
    /// Per cart owner: a visitor's session, or a signed-in account.
    pub per_session: Rate,
    /// Open unpaid orders per e-mail address.
    pub unpaid_per_email: i64,
    pub unpaid_per_network: i64,
}

impl Default for CheckoutLimits {
    fn default() -> Self {
        Self {
            per_network: Rate::per_minute(10),
            per_email: Rate::per_minute(5),
            per_session: Rate::per_minute(5),
            unpaid_per_email: 5,
            unpaid_per_network: 20,
        }
    }
}

/// Everything a checkout submits.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub idempotency_key: String,
    /// The cart owner placing it (`CartOwner::key`): the only one the key will open for.
    pub owner: String,
    /// Earlier owners the caller also is (a guest cart merged into the account at
    /// sign-in), so a shopper who signs in between two submits still gets their order.
    pub known_as: Vec<String>,
    pub client_ip: String,
    pub user_id: Option<i64>,
    pub email: String,
    pub address: AddressInput,
    pub shipping_code: String,
    pub payment_code: String,
    pub lines: Vec<LineRequest>,
}

/// One line of a checkout. Prices come from the database, never from here; the price the
/// shopper last saw is only compared, so a change is told before anything is charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub sku: String,
    pub quantity: u32,
    /// Unit price (minor units) shown to the shopper, if known.
    pub seen_unit_minor: Option<i64>,
}

impl LineRequest {
    pub fn new(sku: impl Into<String>, quantity: u32) -> Self {
        Self {
            sku: sku.into(),
            quantity,
            seen_unit_minor: None,
        }
    }
}

/// The result of placing: the order's number, and whether this call created it (false
/// when the idempotency key had already placed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub id: i64,
    pub number: String,
    pub created: bool,
    /// What the shopper does next to pay, when this call created the order and the
    /// provider answered (Stripe's client secret, or offline instructions).
    pub payment: Option<crate::payments::PaymentNext>,
}

/// Who is asking to see an order. Anyone else gets "not found".
#[derive(Debug, Clone)]
pub enum Viewer {
    User(i64),
    /// A guest who knows the order's number and e-mail.
    Guest {
        email: String,
    },
    /// The browser session that placed these orders.
    Session {
        numbers: Vec<String>,
    },
    /// Whoever holds the signed link from the order's confirmation e-mail.
    Link {
        key: String,
    },
    /// A member of staff: every order when their role reads orders, else their own.
    Staff {
        user_id: i64,
        role: domain::Role,
    },
    /// The shop itself (workers, jobs): every order.
    System,
}

/// What an order link's signature is for.
const ORDER_LINK: &str = "order-link";

/// Handle to orders; cheap to clone.
#[derive(Clone)]
pub struct OrderService {
    pool: PgPool,
    catalog: CatalogService,
    payments: Payments,
    limiter: RateLimiter,
    limits: std::sync::Arc<CheckoutLimits>,
    signer: crate::signing::Signer,
}

/// An order an idempotency key already placed, with what it is bound to.
struct KeyHolder {
    placed: PlacedOrder,
    placed_by: Option<String>,
    fingerprint: Option<String>,
}

impl KeyHolder {
    /// The order, if `order` may have it: the same owner, and the same cart (or an
    /// emptied one: the first submit took the lines out).
    fn claim(
        self,
        order: &PlaceOrder,
        fingerprint: Option<&str>,
    ) -> Result<PlacedOrder, OrderError> {
        let ours = self
            .placed_by
            .as_deref()
            .is_some_and(|by| by == order.owner || order.known_as.iter().any(|k| k == by));
        if !ours {
            return Err(OrderError::KeyOfAnother);
        }
        if fingerprint.is_some() && fingerprint != self.fingerprint.as_deref() {
            return Err(OrderError::KeyReused);
        }
        Ok(self.placed)
    }
}

/// A digest of what a cart asks for (SKU and quantity per line), to tell a retried
/// checkout from a reused form.
fn fingerprint(wanted: &BTreeMap<String, u32>) -> Option<String> {
    if wanted.is_empty() {
        return None;
    }
    let mut digest = Sha256::new();
    for (sku, qty) in wanted {
        digest.update(format!("{sku}\t{qty}\n").as_bytes());
    }
    Some(
        digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

struct LockedVariant {
    id: i64,
    sku: String,
    name: String,
    slug: String,
    label: String,
    price_minor: i64,
    currency: String,
    stock: i32,
    published: bool,
}

fn money(minor: i64, currency: &str) -> Money {
    Money::new(
        minor,
        Currency::parse(currency.trim()).unwrap_or(Currency::Usd),
    )
}

/// Shipping is free once the subtotal reaches the method's threshold.
fn shipping_price(price_minor: i64, free_over_minor: Option<i64>, subtotal: Money) -> i64 {
    if free_over_minor.is_some_and(|t| subtotal.amount_minor() >= t) {
        0
    } else {
        price_minor
    }
}

fn overflow(e: domain::MoneyError) -> OrderError {
    OrderError::Invalid(vec![FieldError::new("cart", e.to_string())])
}

impl OrderService {
    pub fn new(
        pool: PgPool,
        catalog: CatalogService,
        payments: Payments,
        limiter: RateLimiter,
        limits: CheckoutLimits,
        signer: crate::signing::Signer,
    ) -> Self {
        Self {
            pool,
            catalog,
            payments,
            limiter,
            limits: std::sync::Arc::new(limits),
            signer,
        }
    }

    /// The order's page with a signed key, for its confirmation e-mail: it opens on any
    /// device, and cannot be guessed from the (sequential) number.
    pub fn link(&self, number: &str) -> String {
        format!(
            "/order/{number}?key={}",
            self.signer.sign(ORDER_LINK, number)
        )
    }

    pub fn payments(&self) -> &Payments {
        &self.payments
    }

    /// Shipping methods with their price for a cart of `subtotal`.
    pub async fn shipping_options(
        &self,
        subtotal: Money,
    ) -> Result<Vec<ShippingOption>, OrderError> {
        let rows = sqlx::query!(
            "SELECT code, name, description, price_minor, currency, free_over_minor
             FROM shipping_methods WHERE active ORDER BY position, code"
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ShippingOption {
                price: money(
                    shipping_price(r.price_minor, r.free_over_minor, subtotal),
                    &r.currency,
                ),
                code: r.code,
                name: r.name,
                description: r.description,
            })
            .collect())
    }

    /// The totals for a cart of `subtotal` shipped to `country` by `shipping_code`.
    pub async fn quote(
        &self,
        subtotal: Money,
        country: &str,
        shipping_code: &str,
    ) -> Result<Quote, OrderError> {
        let shipping = self
            .shipping_options(subtotal)
            .await?
            .into_iter()
            .find(|s| s.code == shipping_code)
            .ok_or_else(|| {
                OrderError::Invalid(vec![FieldError::new(
                    "shipping",
                    "Choose a shipping method.",
                )])
            })?;
        let rate = self.tax_rate_bps(country.trim()).await?;
        Quote::compute(subtotal, shipping.price, rate).map_err(overflow)
    }

    async fn tax_rate_bps(&self, country: &str) -> Result<u32, OrderError> {
        let rate =
            sqlx::query_scalar!("SELECT rate_bps FROM tax_rates WHERE country = $1", country)
                .fetch_optional(&self.pool)
                .await?;
        Ok(rate.and_then(|r| u32::try_from(r).ok()).unwrap_or(0))
    }

    async fn existing_in<'c>(
        &self,
        db: impl sqlx::PgExecutor<'c>,
        idempotency_key: &str,
    ) -> Result<Option<KeyHolder>, OrderError> {
        Ok(sqlx::query!(
            "SELECT id, number, placed_by, cart_fingerprint FROM orders WHERE idempotency_key = $1",
            idempotency_key
        )
        .fetch_optional(db)
        .await?
        .map(|r| KeyHolder {
            placed: PlacedOrder {
                id: r.id,
                number: r.number,
                created: false,
                payment: None,
            },
            placed_by: r.placed_by,
            fingerprint: r.cart_fingerprint,
        }))
    }

    /// The order an idempotency key placed for `owner`, with its SKUs (to settle a cart
    /// that was not emptied after placing).
    pub async fn placed_with(
        &self,
        idempotency_key: &str,
        owner: &str,
    ) -> Result<Option<(String, Vec<String>)>, OrderError> {
        let row = sqlx::query!(
            r#"SELECT o.number, array_agg(l.sku ORDER BY l.line_no) AS "skus!"
               FROM orders o JOIN order_lines l ON l.order_id = o.id
               WHERE o.idempotency_key = $1 AND o.placed_by = $2
               GROUP BY o.number"#,
            idempotency_key,
            owner
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.number, r.skus)))
    }

    /// Validates the checkout and places the order (see the module notes).
    pub async fn place(&self, order: &PlaceOrder) -> Result<PlacedOrder, OrderError> {
        let key = order.idempotency_key.trim();
        if !(16..=128).contains(&key.len())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(OrderError::Invalid(vec![FieldError::new(
                "idempotency_key",
                "This checkout form is out of date. Reload the page and try again.",
            )]));
        }
        // One line per SKU; quantities of repeated SKUs add up (never past the limit).
        let mut wanted: BTreeMap<String, u32> = BTreeMap::new();
        let mut seen: BTreeMap<String, i64> = BTreeMap::new();
        for line in &order.lines {
            let sku = line.sku.trim().to_uppercase();
            let qty = wanted.entry(sku.clone()).or_default();
            *qty = qty.saturating_add(line.quantity);
            if let Some(p) = line.seen_unit_minor {
                seen.insert(sku, p);
            }
        }
        let fingerprint = fingerprint(&wanted);
        if let Some(holder) = self.existing_in(&self.pool, key).await? {
            return holder.claim(order, fingerprint.as_deref());
        }
        let network = network_of(&order.client_ip);
        let limits = &self.limits;
        self.limiter
            .hit(&format!("checkout:net:{network}"), limits.per_network)
            .await?;
        self.limiter
            .hit(
                &format!("checkout:owner:{}", order.owner),
                limits.per_session,
            )
            .await?;
        let mut errors = Vec::new();
        let email = Email::parse(&order.email).map_err(|e| errors.push(e)).ok();
        let address = order.address.validate().map_err(|e| errors.extend(e)).ok();
        let payment = self.payments.get(order.payment_code.trim());
        if payment.is_none() {
            errors.push(FieldError::new("payment", "Choose how you want to pay."));
        }
        if wanted.is_empty() {
            return Err(OrderError::EmptyCart);
        }
        if wanted.values().any(|q| *q == 0 || *q > MAX_LINE_QUANTITY) {
            errors.push(FieldError::new(
                "cart",
                format!("Each quantity must be between 1 and {MAX_LINE_QUANTITY}."),
            ));
        }
        let shipping = sqlx::query!(
            "SELECT code, name, price_minor, free_over_minor FROM shipping_methods WHERE code = $1 AND active",
            order.shipping_code.trim()
        )
        .fetch_optional(&self.pool)
        .await?;
        if shipping.is_none() {
            errors.push(FieldError::new("shipping", "Choose a shipping method."));
        }
        let (Some(email), Some(address), Some(payment), Some(shipping), true) =
            (email, address, payment, shipping, errors.is_empty())
        else {
            return Err(OrderError::Invalid(errors));
        };
        self.limiter
            .hit(
                &format!("checkout:email:{}", email.as_str()),
                limits.per_email,
            )
            .await?;
        let tax_rate_bps = self.tax_rate_bps(&address.country).await?;
        let skus: Vec<String> = wanted.keys().cloned().collect();

        let mut tx = self.pool.begin().await?;
        // One checkout per key at a time: a double submit waits here, then finds the
        // order the first one placed instead of competing with it for stock.
        sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
            .execute(&mut *tx)
            .await?;
        if let Some(holder) = self.existing_in(&mut *tx, key).await? {
            return holder.claim(order, fingerprint.as_deref());
        }
        // Open unpaid orders hold stock: capped per e-mail and per network. Their locks
        // make two checkouts for one address (or network) count one after the other.
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('unpaid:' || $1, 0)),
                    pg_advisory_xact_lock(hashtextextended('unpaid-net:' || $2, 0))",
            email.as_str(),
            network
        )
        .execute(&mut *tx)
        .await?;
        // Each count stops at its cap, so it costs at most that many index entries.
        let unpaid = sqlx::query!(
            r#"SELECT
                 (SELECT count(*) FROM (SELECT 1 FROM orders
                    WHERE order_status = 'open' AND payment_status IN ('pending', 'failed')
                      AND email = $1 LIMIT $3) e) AS "by_email!",
                 (SELECT count(*) FROM (SELECT 1 FROM orders
                    WHERE order_status = 'open' AND payment_status IN ('pending', 'failed')
                      AND placed_from = $2 LIMIT $4) n) AS "by_network!""#,
            email.as_str(),
            network,
            limits.unpaid_per_email,
            limits.unpaid_per_network
        )
        .fetch_one(&mut *tx)
        .await?;
        if unpaid.by_email >= limits.unpaid_per_email {
            return Err(OrderError::TooManyUnpaid(UNPAID_PER_EMAIL));
        }
        if unpaid.by_network >= limits.unpaid_per_network {
            return Err(OrderError::TooManyUnpaid(UNPAID_PER_NETWORK));
        }
        // Locks in id order, so two orders for the same items never deadlock.
        let locked = sqlx::query_as!(
            LockedVariant,
            r#"SELECT v.id, v.sku, p.name, p.slug,
                      array_to_string(v.option_values, ' / ') AS "label!",
                      v.price_minor, v.currency, v.stock_on_hand AS stock,
                      p.published AND v.archived_at IS NULL AS "published!"
               FROM variants v JOIN products p ON p.id = v.product_id
               WHERE v.sku = ANY($1)
               ORDER BY v.id
               FOR UPDATE OF v"#,
            &skus
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut problems = Vec::new();
        for (sku, qty) in &wanted {
            match locked.iter().find(|v| &v.sku == sku) {
                None => problems.push(format!("An item in your cart ({sku}) no longer exists.")),
                Some(v) if !v.published => {
                    problems.push(format!("{} is no longer available.", v.name));
                }
                Some(v) if v.stock <= 0 => problems.push(format!("{} has sold out.", v.name)),
                Some(v) if i64::from(v.stock) < i64::from(*qty) => problems.push(format!(
                    "Only {} of {} {} left.",
                    v.stock,
                    v.name,
                    if v.stock == 1 { "is" } else { "are" }
                )),
                Some(v) if seen.get(sku).is_some_and(|p| *p != v.price_minor) => {
                    problems.push(format!(
                        "The price of {} changed from {} to {}.",
                        v.name,
                        money(seen[sku], &v.currency),
                        money(v.price_minor, &v.currency)
                    ));
                }
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            tx.rollback().await?;
            return Err(OrderError::SoldOut(problems));
        }

        let currency = self.catalog.currency();
        let mut subtotal = Money::zero(currency);
        let mut lines = Vec::with_capacity(locked.len());
        for v in &locked {
            let qty = wanted[&v.sku];
            let unit = money(v.price_minor, &v.currency);
            let total = unit.checked_mul(qty).map_err(overflow)?;
            subtotal = subtotal.checked_add(total).map_err(overflow)?;
            lines.push((v, qty, unit, total));
        }
        let shipping_cost = Money::new(
            shipping_price(shipping.price_minor, shipping.free_over_minor, subtotal),
            currency,
        );
        let Quote {
            tax,
            total: grand_total,
            ..
        } = Quote::compute(subtotal, shipping_cost, tax_rate_bps).map_err(overflow)?;

        let ids: Vec<i64> = lines.iter().map(|(v, ..)| v.id).collect();
        let qtys: Vec<i32> = lines
            .iter()
            .map(|(_, q, ..)| i32::try_from(*q).unwrap_or(i32::MAX))
            .collect();
        let inserted = sqlx::query!(
            "INSERT INTO orders (number, user_id, email, order_status, payment_status, fulfilment_status,
                 currency, subtotal_minor, shipping_minor,
                 tax_minor, total_minor, tax_rate_bps, shipping_code, shipping_name, payment_method,
                 ship_full_name, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code,
                 ship_country, ship_phone, idempotency_key, placed_by, placed_from, cart_fingerprint)
             VALUES ('EMP-' || nextval('order_number_seq'), $1, $2, 'open', 'pending', 'unfulfilled',
                 $3, $4, $5, $6, $7, $8,
                 $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
             RETURNING id, number",
            order.user_id,
            email.as_str(),
            currency.code(),
            subtotal.amount_minor(),
            shipping_cost.amount_minor(),
            tax.amount_minor(),
            grand_total.amount_minor(),
            i32::try_from(tax_rate_bps).unwrap_or(0),
            shipping.code,
            shipping.name,
            payment.code(),
            address.full_name,
            address.line1,
            address.line2,
            address.city,
            address.region,
            address.postal_code,
            address.country,
            address.phone,
            key,
            order.owner,
            network,
            fingerprint
        )
        .fetch_one(&mut *tx)
        .await;
        let inserted = match inserted {
            Ok(r) => r,
            // The same key placed an order a moment ago (a concurrent double submit).
            Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("23505") => {
                drop(tx);
                return self
                    .existing_in(&self.pool, key)
                    .await?
                    .ok_or(OrderError::NotFound)?
                    .claim(order, fingerprint.as_deref());
            }
            Err(e) => return Err(e.into()),
        };
        let line_no: Vec<i32> = (1..=i32::try_from(lines.len()).unwrap_or(i32::MAX)).collect();
        let l_sku: Vec<String> = lines.iter().map(|(v, ..)| v.sku.clone()).collect();
        let l_name: Vec<String> = lines.iter().map(|(v, ..)| v.name.clone()).collect();
        let l_slug: Vec<String> = lines.iter().map(|(v, ..)| v.slug.clone()).collect();
        let l_label: Vec<String> = lines.iter().map(|(v, ..)| v.label.clone()).collect();
        let l_unit: Vec<i64> = lines.iter().map(|(_, _, u, _)| u.amount_minor()).collect();
        let l_total: Vec<i64> = lines.iter().map(|(.., t)| t.amount_minor()).collect();
        sqlx::query!(
            "INSERT INTO order_lines (order_id, line_no, variant_id, sku, product_name, product_slug,
                 variant_label, unit_price_minor, quantity, line_total_minor)
             SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                 $7::text[], $8::bigint[], $9::int[], $10::bigint[])",
            inserted.id,
            &line_no,
            &ids,
            &l_sku,
            &l_name,
            &l_slug,
            &l_label,
            &l_unit,
            &qtys,
            &l_total
        )
        .execute(&mut *tx)
        .await?;
        // Only where enough remains (the rows are locked above); the CHECK
        // (stock_on_hand >= 0) is the last line.
        let changes: Vec<(i64, i32)> = ids.iter().copied().zip(qtys.iter().map(|q| -q)).collect();
        let cause = crate::stock::Cause {
            order_id: Some(inserted.id),
            ..crate::stock::Cause::new(domain::stock::StockReason::Order, "checkout")
        };
        let moved = crate::stock::apply(&mut tx, &changes, &cause).await?;
        if moved.len() != ids.len() {
            tx.rollback().await?;
            return Err(OrderError::SoldOut(vec![
                "Some items sold out while you were checking out.".into(),
            ]));
        }
        sqlx::query!(
            "INSERT INTO event_log (topic, payload) VALUES ('order.placed', $1)",
            serde_json::json!({ "order_id": inserted.id, "number": inserted.number })
        )
        .execute(&mut *tx)
        .await?;
        let sold_out: Vec<i64> = moved
            .iter()
            .filter(|m| m.on_hand == 0)
            .map(|m| m.product_id)
            .collect();
        for product_id in &sold_out {
            // Listings and the search index show "sold out".
            crate::catalog::announce_change(&mut tx, *product_id).await?;
        }
        tx.commit().await?;
        if !sold_out.is_empty() {
            self.catalog.invalidate_cache();
        }
        // From here on the order stands: whatever fails is logged, never reported as a
        // failed checkout (the shopper would retry and place it twice). A failed intent
        // leaves it awaiting payment; the order page asks again when the shopper pays.
        let next = match self.start_payment(inserted.id).await {
            Ok(next) => Some(next),
            Err(e) => {
                tracing::warn!(order = %inserted.number, error = %e, "payment intent failed; the order awaits payment");
                None
            }
        };
        Ok(PlacedOrder {
            id: inserted.id,
            number: inserted.number,
            created: true,
            payment: next,
        })
    }

    /// Staff move an order along its life cycle (see `OrderState::apply`). Cancelling
    /// voids a card payment at the provider and puts the stock back. An `order.<what>`
    /// event and the audit record are written in the same transaction.
    pub async fn transition(
        &self,
        actor: &Actor,
        number: &str,
        action: OrderAction,
    ) -> Result<OrderState, OrderError> {
        actor.require(Permission::ManageOrders)?;
        self.transition_from(number, action, false, None, Cause::Admin, Some(actor))
            .await
    }

    /// Cancels an order only while it awaits payment (what its owner may do themselves;
    /// a paid order is the shop's to cancel and refund).
    pub async fn cancel_unpaid(&self, number: &str) -> Result<OrderState, OrderError> {
        self.transition_from(
            number,
            OrderAction::Cancel,
            true,
            None,
            Cause::Shopper,
            None,
        )
        .await
    }

    /// The order's state, its method's rules applied (pay on delivery ships unpaid).
    fn state_of(
        &self,
        order: &str,
        payment: &str,
        fulfilment: &str,
        method: &str,
        review: Option<String>,
    ) -> OrderState {
        OrderState {
            order: OrderStatus::parse(order).unwrap_or(OrderStatus::Open),
            payment: PaymentStatus::parse(payment).unwrap_or(PaymentStatus::Pending),
            fulfilment: FulfilmentStatus::parse(fulfilment)
                .unwrap_or(FulfilmentStatus::Unfulfilled),
            pay_later: self.payments.get(method).is_some_and(|p| p.pay_later()),
            manual_payment: self
                .payments
                .get(method)
                .is_none_or(|p| p.processor().is_none()),
            review,
        }
    }

    async fn transition_from(
        &self,
        number: &str,
        action: OrderAction,
        unpaid_only: bool,
        reason: Option<&str>,
        cause: Cause,
        actor: Option<&Actor>,
    ) -> Result<OrderState, OrderError> {
        if action == OrderAction::Fulfil {
            // Manual capture: an authorised card is charged when the order ships.
            self.capture_card_payment(number).await?;
        }
        let mut tx = self.pool.begin().await?;
        // The lock `ensure_intent` takes: no PaymentIntent is made for this order while
        // it is being cancelled, so none is left behind on a cancelled order.
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('payment-intent:' || id::text, 0))
             FROM orders WHERE number = $1",
            number
        )
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query!(
            "SELECT id, order_status, payment_status, fulfilment_status, payment_method,
                    review_reason, total_minor, currency, captured_minor, refunded_minor
             FROM orders WHERE number = $1 FOR UPDATE",
            number
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(OrderError::NotFound)?;
        let from = self.state_of(
            &row.order_status,
            &row.payment_status,
            &row.fulfilment_status,
            &row.payment_method,
            row.review_reason,
        );
        let refuse =
            |reason| OrderError::Transition(domain::order::TransitionError { action, reason });
        if unpaid_only && !(from.order == OrderStatus::Open && from.payment.is_unpaid()) {
            return Err(refuse("This order is no longer awaiting payment."));
        }
        let card = self
            .payments
            .get(&row.payment_method)
            .is_some_and(|p| p.stripe().is_some());
        let to = from.apply(action).map_err(OrderError::Transition)?;
        // Money still held is given back first (`desk::cancel` refunds, then cancels).
        if action == OrderAction::Cancel && row.captured_minor > row.refunded_minor {
            return Err(OrderError::RefundFirst);
        }
        // A payment taken (and refunded in full by now) has nothing left to void.
        if to.order == OrderStatus::Cancelled && card && !from.payment.is_captured() {
            // Checked first, voided at Stripe second (while this order is locked), so a
            // refused cancellation never releases a card's authorisation, and a cancelled
            // order can no longer be paid.
            let reference = sqlx::query_scalar!(
                "SELECT reference FROM payments WHERE order_id = $1 AND provider = 'stripe'",
                row.id
            )
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(reference) = reference {
                if let Some(paid) = self.void_card_payment(&reference).await? {
                    tx.rollback().await?;
                    self.record_payment(&paid, Cause::System).await?;
                    return Err(OrderError::RefundFirst);
                }
                // Known as voided from here on: a late report of the authorisation it had
                // is stale, not money taken on a cancelled order.
                sqlx::query!(
                    "UPDATE payments SET provider_status = 'canceled', updated_at = now()
                     WHERE order_id = $1 AND provider = 'stripe'",
                    row.id
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query!(
            "UPDATE orders SET order_status = $2, payment_status = $3, fulfilment_status = $4,
                 captured_minor = CASE WHEN $5 THEN total_minor ELSE captured_minor END,
                 updated_at = now()
             WHERE id = $1",
            row.id,
            to.order.as_str(),
            to.payment.as_str(),
            to.fulfilment.as_str(),
            // Marked paid by hand: the whole total was taken.
            to.payment == PaymentStatus::Paid && !from.payment.is_captured()
        )
        .execute(&mut *tx)
        .await?;
        if to.payment != from.payment {
            let kind = match to.payment {
                PaymentStatus::Paid => "captured",
                PaymentStatus::Refunded => "refunded",
                _ => "voided",
            };
            paying::record(
                &mut tx,
                row.id,
                None,
                kind,
                row.total_minor,
                &row.currency,
                None,
                cause,
                reason.unwrap_or(action.label()),
            )
            .await?;
        }
        if to.order == OrderStatus::Cancelled {
            // The same lock order as placing: by variant id.
            sqlx::query!(
                "SELECT v.id FROM variants v JOIN order_lines l ON l.variant_id = v.id
                 WHERE l.order_id = $1 ORDER BY v.id FOR UPDATE OF v",
                row.id
            )
            .fetch_all(&mut *tx)
            .await?;
            // What a refund has not put back already.
            let restocked = sqlx::query!(
                r#"WITH back AS (
                       SELECT line_no, variant_id, quantity - restocked AS units FROM order_lines
                       WHERE order_id = $1 AND variant_id IS NOT NULL AND restocked < quantity),
                   marked AS (
                       UPDATE order_lines l SET restocked = l.quantity FROM back
                       WHERE l.order_id = $1 AND l.line_no = back.line_no)
                   SELECT variant_id AS "variant_id!", units AS "quantity!" FROM back"#,
                row.id
            )
            .fetch_all(&mut *tx)
            .await?;
            let back: Vec<(i64, i32)> = restocked
                .iter()
                .map(|l| (l.variant_id, l.quantity))
                .collect();
            let by = actor.map_or_else(|| "system".to_owned(), Actor::stored_label);
            let restock = crate::stock::Cause {
                order_id: Some(row.id),
                actor_id: actor.and_then(|a| a.user_id),
                ..crate::stock::Cause::new(domain::stock::StockReason::Cancellation, &by)
            };
            crate::stock::apply(&mut tx, &back, &restock).await?;
            // Back in stock: every instance's caches and search index hear of it, through
            // the one announce path catalog writes use.
            let products = sqlx::query_scalar!(
                "SELECT DISTINCT v.product_id FROM order_lines l JOIN variants v ON v.id = l.variant_id
                 WHERE l.order_id = $1 ORDER BY v.product_id",
                row.id
            )
            .fetch_all(&mut *tx)
            .await?;
            for product_id in products {
                crate::catalog::announce_change(&mut tx, product_id).await?;
            }
        }
        let topic = match action {
            OrderAction::MarkPaid => "order.paid",
            OrderAction::Fulfil => "order.fulfilled",
            OrderAction::Deliver => "order.delivered",
            OrderAction::Cancel => "order.cancelled",
        };
        sqlx::query!(
            "INSERT INTO event_log (topic, payload) VALUES ($1, $2)",
            topic,
            serde_json::json!({ "order_id": row.id, "number": number, "reason": reason, "cause": cause.as_str() })
        )
        .execute(&mut *tx)
        .await?;
        if let Some(actor) = actor {
            let mut changes = crate::audit::Changes::new()
                .field("order_status", from.order.as_str(), to.order.as_str())
                .field("payment_status", from.payment.as_str(), to.payment.as_str())
                .field(
                    "fulfilment_status",
                    from.fulfilment.as_str(),
                    to.fulfilment.as_str(),
                );
            if let Some(reason) = reason {
                changes = changes.set("reason", reason);
            }
            crate::audit::record(&mut tx, actor, "order", number, action.as_str(), changes).await?;
        }
        tx.commit().await?;
        if to.order == OrderStatus::Cancelled {
            self.catalog.invalidate_cache();
        }
        Ok(to)
    }

    /// An order as its owner sees it; anyone else gets `NotFound`.
    pub async fn view(&self, number: &str, viewer: &Viewer) -> Result<OrderView, OrderError> {
        let number = number.trim().to_uppercase();
        let r = sqlx::query!(
            "SELECT id, number, user_id, email, order_status, payment_status, fulfilment_status,
                    review_reason, currency, subtotal_minor, shipping_minor,
                    tax_minor, total_minor, tax_rate_bps, shipping_name, payment_method,
                    ship_full_name, ship_line1, ship_line2, ship_city, ship_region,
                    ship_postal_code, ship_country, ship_phone, created_at
             FROM orders WHERE number = $1",
            number
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(OrderError::NotFound)?;
        let allowed = match viewer {
            Viewer::User(id) => r.user_id == Some(*id),
            Viewer::Guest { email } => Email::parse(email).is_ok_and(|e| e.as_str() == r.email),
            Viewer::Session { numbers } => numbers.contains(&r.number),
            Viewer::Link { key } => self.signer.verify(ORDER_LINK, &r.number, key),
            Viewer::Staff { user_id, role } => {
                r.user_id == Some(*user_id) || role.may(Permission::ReadOrders)
            }
            Viewer::System => true,
        };
        if !allowed {
            return Err(OrderError::NotFound);
        }
        let lines = sqlx::query!(
            "SELECT sku, product_name, product_slug, variant_label, unit_price_minor, quantity, line_total_minor
             FROM order_lines WHERE order_id = $1 ORDER BY line_no",
            r.id
        )
        .fetch_all(&self.pool)
        .await?;
        let refunds = self.refund_views(r.id, &r.currency).await?;
        let m = |minor: i64| money(minor, &r.currency);
        let state = self.state_of(
            &r.order_status,
            &r.payment_status,
            &r.fulfilment_status,
            &r.payment_method,
            r.review_reason,
        );
        let total = m(r.total_minor);
        let payable = state.order == OrderStatus::Open && state.payment.is_unpaid();
        let provider = self.payments.get(&r.payment_method);
        let instructions = match (&provider, payable) {
            (Some(p), true) => p.instructions(&r.number, total),
            _ => String::new(),
        };
        let card_form = provider
            .as_ref()
            .and_then(|p| p.stripe())
            .filter(|_| payable)
            .map(crate::payments::stripe::StripeClient::card_form);
        // PayPal's approval link, while the order can still be paid.
        let pay_link = if payable && provider.as_ref().is_some_and(|p| p.paypal().is_some()) {
            sqlx::query_scalar!(
                "SELECT client_secret FROM payments WHERE order_id = $1 AND provider = 'paypal'",
                r.id
            )
            .fetch_optional(&self.pool)
            .await?
            .flatten()
        } else {
            None
        };
        let payment_name = self
            .payments
            .get(&r.payment_method)
            .map_or_else(|| r.payment_method.clone(), |p| p.option().name);
        let ship_to = Address {
            id: 0,
            full_name: r.ship_full_name,
            line1: r.ship_line1,
            line2: r.ship_line2,
            city: r.ship_city,
            region: r.ship_region,
            postal_code: r.ship_postal_code,
            country: r.ship_country,
            phone: r.ship_phone,
            is_default: false,
        }
        .lines();
        Ok(OrderView {
            number: r.number,
            state,
            email: r.email,
            placed_at: r.created_at.format("%-d %B %Y, %H:%M UTC").to_string(),
            lines: lines
                .into_iter()
                .map(|l| OrderLine {
                    sku: l.sku,
                    product_name: l.product_name,
                    product_slug: l.product_slug,
                    variant_label: l.variant_label,
                    unit_price: m(l.unit_price_minor),
                    quantity: u32::try_from(l.quantity).unwrap_or(0),
                    line_total: m(l.line_total_minor),
                })
                .collect(),
            subtotal: m(r.subtotal_minor),
            shipping: m(r.shipping_minor),
            shipping_method: r.shipping_name,
            tax: m(r.tax_minor),
            tax_rate_bps: u32::try_from(r.tax_rate_bps).unwrap_or(0),
            total,
            payment_method: payment_name,
            payment_instructions: instructions,
            card_form,
            pay_link,
            notice: None,
            ship_to,
            refunds,
        })
    }

    /// Orders newest first, with their e-mail: one user's, or everyone's.
    async fn summaries(
        &self,
        user_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<domain::order::AdminOrderRow>, OrderError> {
        let rows = sqlx::query!(
            r#"SELECT o.number, o.email, o.order_status, o.payment_status, o.fulfilment_status,
                      o.payment_method, o.review_reason, o.currency, o.total_minor, o.created_at,
                      (SELECT COALESCE(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id) AS "items!"
               FROM orders o WHERE ($1::bigint IS NULL OR o.user_id = $1)
               ORDER BY o.id DESC LIMIT $2"#,
            user_id,
            limit
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| domain::order::AdminOrderRow {
                summary: OrderSummary {
                    number: r.number,
                    state: self.state_of(
                        &r.order_status,
                        &r.payment_status,
                        &r.fulfilment_status,
                        &r.payment_method,
                        r.review_reason,
                    ),
                    placed_at: r.created_at.format("%-d %B %Y").to_string(),
                    item_count: u32::try_from(r.items).unwrap_or(0),
                    total: money(r.total_minor, &r.currency),
                },
                email: r.email,
            })
            .collect())
    }

    /// The user's orders, newest first.
    pub async fn history(&self, user_id: i64) -> Result<Vec<OrderSummary>, OrderError> {
        Ok(self
            .summaries(Some(user_id), 100)
            .await?
            .into_iter()
            .map(|r| r.summary)
            .collect())
    }

    /// The latest orders of the shop, for the admin.
    pub async fn recent(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<domain::order::AdminOrderRow>, OrderError> {
        actor.require(Permission::ReadOrders)?;
        self.summaries(None, limit).await
    }

    /// The e-mail an order was placed with and its number, by id (for event consumers).
    pub async fn contact(&self, order_id: i64) -> Result<(String, String), OrderError> {
        let r = sqlx::query!("SELECT number, email FROM orders WHERE id = $1", order_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(OrderError::NotFound)?;
        Ok((r.number, r.email))
    }
}
