//! Shopping carts in Redis: one hash per cart (`<prefix>cart:guest:<id>` for a visitor's
//! session, `<prefix>cart:user:<id>` for a signed-in shopper), field = SKU, value = the
//! quantity, the price seen when it was added, and when it was added. Every key expires:
//! guest carts 7 days after their last change, user carts 90 days. One more field,
//! `@checkout`, holds the idempotency key of the checkout in progress; it leaves with the
//! ordered lines, so a cart that kept them (a failure right after placing) is settled
//! on its next view instead of being ordered twice.
//!
//! Adding is one Lua script (read, check against the limits and the stock, write), so two
//! tabs adding at once never lose an increment.
//!
//! Prices and stock are never trusted from the cart: every view re-reads them from the
//! catalog and tells the shopper what changed.

use crate::catalog::{CatalogError, CatalogService, VariantSnapshot};
use crate::orders::LineRequest;
use domain::order::{MAX_CART_LINES, MAX_LINE_QUANTITY};
use domain::{CartLine, CartNotice, CartView, Money};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

pub const GUEST_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const USER_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Whose cart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CartOwner {
    /// A visitor, by the random cart id kept in their session.
    Guest(String),
    User(i64),
}

impl CartOwner {
    /// A stable name for the owner (what an order records as having placed it).
    pub fn key(&self) -> String {
        match self {
            CartOwner::Guest(id) => format!("guest:{id}"),
            CartOwner::User(id) => format!("user:{id}"),
        }
    }
}

/// The cart's field holding the checkout's idempotency key (SKUs never start with `@`).
const CHECKOUT_FIELD: &str = "@checkout";

// KEYS[1]: the cart. ARGV: sku, quantity to add, most of one line, units in stock, most
// lines, unit price, now (ms), ttl (s). Answers {outcome, quantity already in the cart}.
const ADD_LINE: &str = r#"
local current = redis.call('HGET', KEYS[1], ARGV[1])
local q, t = 0, ARGV[7]
if current then
  local ok, line = pcall(cjson.decode, current)
  if ok and type(line) == 'table' and tonumber(line.q) then
    q = tonumber(line.q)
    t = string.format('%.0f', tonumber(line.t) or tonumber(ARGV[7]))
  end
else
  local lines = 0
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, 1) ~= '@' then lines = lines + 1 end
  end
  if lines >= tonumber(ARGV[5]) then return {'lines', 0} end
end
local wanted = q + tonumber(ARGV[2])
if wanted > tonumber(ARGV[3]) then return {'line', q} end
if wanted > tonumber(ARGV[4]) then return {'stock', q} end
redis.call('HSET', KEYS[1], ARGV[1], string.format('{"q":%d,"p":%s,"t":%s}', wanted, ARGV[6], t))
redis.call('EXPIRE', KEYS[1], ARGV[8])
return {'ok', wanted}
"#;

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("We could not find that product. It may have been removed.")]
    UnknownSku,
    #[error("{0}")]
    Invalid(String),
    #[error("Your cart is temporarily unavailable. Please try again in a moment; you can keep browsing meanwhile.")]
    Unavailable,
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
}

/// One stored line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    /// Quantity.
    q: u32,
    /// Unit price (minor units) when added or last shown.
    p: i64,
    /// Milliseconds since the epoch when first added (keeps lines in order).
    t: i64,
}

/// Reads a quantity typed by a shopper.
pub fn parse_quantity(input: &str) -> Result<u32, CartError> {
    let s = input.trim();
    match s.parse::<i64>() {
        Err(_) => Err(CartError::Invalid(
            "Enter the quantity as a whole number, like 1 or 2.".into(),
        )),
        Ok(n) if n < 1 => Err(CartError::Invalid(
            "The quantity must be at least 1. To take an item out, use Remove.".into(),
        )),
        Ok(n) if n > i64::from(MAX_LINE_QUANTITY) => Err(CartError::Invalid(format!(
            "You can order at most {MAX_LINE_QUANTITY} of one item."
        ))),
        Ok(n) => u32::try_from(n).map_err(|_| CartError::Invalid("Quantity too large.".into())),
    }
}

fn available_units(v: &VariantSnapshot) -> u32 {
    u32::try_from(v.stock.max(0)).unwrap_or(0)
}

fn stock_message(v: &VariantSnapshot, in_cart: u32) -> String {
    let stock = available_units(v);
    if stock == 0 {
        format!("{} is sold out.", v.product_name)
    } else if in_cart > 0 {
        format!(
            "Only {stock} of {} {} in stock and {in_cart} {} already in your cart.",
            v.product_name,
            if stock == 1 { "is" } else { "are" },
            if in_cart == 1 { "is" } else { "are" }
        )
    } else {
        format!(
            "Only {stock} of {} {} in stock.",
            v.product_name,
            if stock == 1 { "is" } else { "are" }
        )
    }
}

/// Handle to the carts; cheap to clone.
#[derive(Clone)]
pub struct CartService {
    redis: ConnectionManager,
    prefix: String,
    catalog: CatalogService,
    add_line: std::sync::Arc<redis::Script>,
}

async fn bounded<T>(
    command: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, CartError> {
    match tokio::time::timeout(REDIS_TIMEOUT, command).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cart store unavailable");
            Err(CartError::Unavailable)
        }
        Err(_) => {
            tracing::warn!("cart store timed out");
            Err(CartError::Unavailable)
        }
    }
}

impl CartService {
    pub fn new(redis: ConnectionManager, prefix: &str, catalog: CatalogService) -> Self {
        Self {
            redis,
            prefix: format!("{prefix}cart:"),
            catalog,
            add_line: std::sync::Arc::new(redis::Script::new(ADD_LINE)),
        }
    }

    fn key(&self, owner: &CartOwner) -> String {
        match owner {
            CartOwner::Guest(id) => format!("{}guest:{id}", self.prefix),
            CartOwner::User(id) => format!("{}user:{id}", self.prefix),
        }
    }

    fn ttl(owner: &CartOwner) -> Duration {
        match owner {
            CartOwner::Guest(_) => GUEST_TTL,
            CartOwner::User(_) => USER_TTL,
        }
    }

    /// The stored lines; reading counts as activity and renews the cart's expiry.
    async fn read(&self, owner: &CartOwner) -> Result<HashMap<String, Stored>, CartError> {
        let mut redis = self.redis.clone();
        let key = self.key(owner);
        let mut pipe = redis::pipe();
        pipe.hgetall(&key)
            .expire(&key, Self::ttl_secs_of(owner))
            .ignore();
        let (raw,): (HashMap<String, String>,) = bounded(pipe.query_async(&mut redis)).await?;
        Ok(raw
            .into_iter()
            .filter(|(sku, _)| !sku.starts_with('@'))
            .filter_map(|(sku, v)| serde_json::from_str(&v).ok().map(|s| (sku, s)))
            .collect())
    }

    fn ttl_secs_of(owner: &CartOwner) -> i64 {
        i64::try_from(Self::ttl(owner).as_secs()).unwrap_or(i64::MAX)
    }

    /// Sets and deletes single lines and renews the expiry, atomically. Only the lines
    /// named are touched, so two tabs changing different items never undo each other.
    async fn write(
        &self,
        owner: &CartOwner,
        set: &[(String, Stored)],
        delete: &[String],
    ) -> Result<(), CartError> {
        if set.is_empty() && delete.is_empty() {
            return Ok(());
        }
        let key = self.key(owner);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if !set.is_empty() {
            let fields: Vec<(String, String)> = set
                .iter()
                .map(|(sku, s)| (sku.clone(), serde_json::to_string(s).unwrap_or_default()))
                .collect();
            pipe.hset_multiple(&key, &fields).ignore();
        }
        if !delete.is_empty() {
            pipe.hdel(&key, delete).ignore();
        }
        pipe.expire(&key, Self::ttl_secs_of(owner)).ignore();
        let mut redis = self.redis.clone();
        bounded(pipe.query_async::<()>(&mut redis)).await
    }

    async fn variants(
        &self,
        skus: Vec<String>,
    ) -> Result<HashMap<String, VariantSnapshot>, CartError> {
        if skus.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .catalog
            .variants_by_sku(&skus)
            .await?
            .into_iter()
            .map(|v| (v.sku.clone(), v))
            .collect())
    }

    async fn buyable(&self, sku: &str) -> Result<VariantSnapshot, CartError> {
        let sku = sku.trim().to_uppercase();
        if sku.is_empty() || sku.len() > 64 {
            return Err(CartError::UnknownSku);
        }
        self.variants(vec![sku.clone()])
            .await?
            .remove(&sku)
            .filter(|v| v.available)
            .ok_or(CartError::UnknownSku)
    }

    /// Adds `quantity` of a variant. Refused with a message when that would exceed the
    /// stock (counting what is already in the cart) or the cart's limits. The check and
    /// the write are one atomic step in Redis.
    pub async fn add(&self, owner: &CartOwner, sku: &str, quantity: u32) -> Result<(), CartError> {
        if quantity == 0 || quantity > MAX_LINE_QUANTITY {
            return Err(CartError::Invalid(format!(
                "You can order at most {MAX_LINE_QUANTITY} of one item."
            )));
        }
        let variant = self.buyable(sku).await?;
        let mut redis = self.redis.clone();
        let mut invocation = self.add_line.prepare_invoke();
        invocation
            .key(self.key(owner))
            .arg(&variant.sku)
            .arg(quantity)
            .arg(MAX_LINE_QUANTITY)
            .arg(available_units(&variant))
            .arg(MAX_CART_LINES)
            .arg(variant.price.amount_minor())
            .arg(chrono::Utc::now().timestamp_millis())
            .arg(Self::ttl_secs_of(owner));
        let (outcome, in_cart): (String, u32) =
            bounded(invocation.invoke_async(&mut redis)).await?;
        match outcome.as_str() {
            "ok" => Ok(()),
            "lines" => Err(CartError::Invalid(format!(
                "Your cart can hold up to {MAX_CART_LINES} different items."
            ))),
            "line" => Err(CartError::Invalid(format!(
                "You can order at most {MAX_LINE_QUANTITY} of one item."
            ))),
            _ => Err(CartError::Invalid(stock_message(&variant, in_cart))),
        }
    }

    /// The idempotency key of this cart's checkout: the one in progress, or a new one.
    pub async fn checkout_key(&self, owner: &CartOwner) -> Result<String, CartError> {
        let fresh = crate::random::hex(16).map_err(|e| CartError::Invalid(e.to_string()))?;
        let key = self.key(owner);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_nx(&key, CHECKOUT_FIELD, &fresh)
            .ignore()
            .hget(&key, CHECKOUT_FIELD)
            .expire(&key, Self::ttl_secs_of(owner))
            .ignore();
        let mut redis = self.redis.clone();
        let (stored,): (Option<String>,) = bounded(pipe.query_async(&mut redis)).await?;
        Ok(stored.unwrap_or(fresh))
    }

    /// The idempotency key of a checkout in progress, if any (no write).
    pub async fn pending_checkout(&self, owner: &CartOwner) -> Result<Option<String>, CartError> {
        let mut redis = self.redis.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.key(owner)).arg(CHECKOUT_FIELD);
        bounded(cmd.query_async(&mut redis)).await
    }

    /// After placing: the ordered lines and the checkout's key leave the cart together
    /// (anything added meanwhile stays).
    pub async fn finish_checkout(
        &self,
        owner: &CartOwner,
        skus: &[String],
    ) -> Result<(), CartError> {
        let mut fields: Vec<String> = skus.to_vec();
        fields.push(CHECKOUT_FIELD.to_owned());
        self.write(owner, &[], &fields).await
    }

    /// Sets the quantity of a line already in the cart.
    pub async fn set_quantity(
        &self,
        owner: &CartOwner,
        sku: &str,
        quantity: u32,
    ) -> Result<(), CartError> {
        let lines = self.read(owner).await?;
        let sku = sku.trim().to_uppercase();
        let Some(stored) = lines.get(&sku).copied() else {
            return Err(CartError::UnknownSku);
        };
        let variant = self.buyable(&sku).await?;
        if quantity > available_units(&variant) {
            return Err(CartError::Invalid(stock_message(&variant, 0)));
        }
        let line = Stored {
            q: quantity,
            ..stored
        };
        self.write(owner, &[(sku, line)], &[]).await
    }

    pub async fn remove(&self, owner: &CartOwner, sku: &str) -> Result<(), CartError> {
        let lines = self.read(owner).await?;
        let sku = sku.trim().to_uppercase();
        if !lines.contains_key(&sku) {
            return Err(CartError::UnknownSku);
        }
        self.write(owner, &[], &[sku]).await
    }

    /// Deletes the whole cart.
    pub async fn clear(&self, owner: &CartOwner) -> Result<(), CartError> {
        let mut redis = self.redis.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(owner));
        bounded(cmd.query_async::<()>(&mut redis)).await
    }

    /// Items in the cart, for the header; no catalog reads.
    pub async fn count(&self, owner: &CartOwner) -> Result<u32, CartError> {
        Ok(self.read(owner).await?.values().map(|s| s.q).sum())
    }

    /// The cart priced from the catalog now. Lines that sold out or disappeared are
    /// removed, quantities above the stock reduced, and each change is reported once (the
    /// stored cart is updated to what was shown).
    pub async fn view(&self, owner: &CartOwner) -> Result<CartView, CartError> {
        let lines = self.read(owner).await?;
        let variants = self.variants(lines.keys().cloned().collect()).await?;
        let mut notices = Vec::new();
        let (mut updated, mut removed) = (Vec::new(), Vec::new());
        let mut ordered: Vec<(String, Stored)> = lines.into_iter().collect();
        ordered.sort_by_key(|(sku, s)| (s.t, sku.clone()));
        let mut out = Vec::new();
        let mut subtotal: Option<Money> = None;
        for (sku, mut stored) in ordered {
            let Some(v) = variants.get(&sku).filter(|v| v.available) else {
                let name = variants
                    .get(&sku)
                    .map_or_else(|| sku.clone(), |v| v.product_name.clone());
                notices.push(CartNotice::NoLongerAvailable { name });
                removed.push(sku);
                continue;
            };
            let stock = available_units(v);
            if stock == 0 {
                notices.push(CartNotice::SoldOut {
                    name: v.product_name.clone(),
                });
                removed.push(sku);
                continue;
            }
            let before = stored;
            if stored.q > stock {
                notices.push(CartNotice::QuantityReduced {
                    name: v.product_name.clone(),
                    from: stored.q,
                    to: stock,
                });
                stored.q = stock;
            }
            if stored.p != v.price.amount_minor() {
                notices.push(CartNotice::PriceChanged {
                    name: v.product_name.clone(),
                    was: Money::new(stored.p, v.price.currency()),
                    now: v.price,
                });
                stored.p = v.price.amount_minor();
            }
            if stored != before {
                updated.push((sku.clone(), stored));
            }
            let line_total = v
                .price
                .checked_mul(stored.q)
                .map_err(|e| CartError::Invalid(e.to_string()))?;
            subtotal = Some(match subtotal {
                None => line_total,
                Some(s) => s
                    .checked_add(line_total)
                    .map_err(|e| CartError::Invalid(e.to_string()))?,
            });
            out.push(CartLine {
                sku,
                product_name: v.product_name.clone(),
                product_slug: v.product_slug.clone(),
                variant_label: v.variant_label.clone(),
                image_url: v.image_url.clone(),
                unit_price: v.price,
                quantity: stored.q,
                available: stock,
                line_total,
            });
        }
        self.write(owner, &updated, &removed).await?;
        Ok(CartView {
            lines: out,
            subtotal: subtotal.unwrap_or_else(|| Money::zero(self.catalog.currency())),
            notices,
        })
    }

    /// Moves a guest's cart into the user's at sign-in: quantities add up, capped by the
    /// stock and the per-line limit; nothing the guest had is dropped unless it cannot be
    /// bought at all. The guest cart is deleted afterwards.
    pub async fn merge(&self, guest: &CartOwner, user: &CartOwner) -> Result<(), CartError> {
        let guest_lines = self.read(guest).await?;
        if guest_lines.is_empty() {
            return Ok(());
        }
        let user_lines = self.read(user).await?;
        // Quantities add up to the per-line limit; the next view lowers any line above
        // the stock and tells the shopper, so nothing is dropped silently.
        let merged: Vec<(String, Stored)> = guest_lines
            .into_iter()
            .map(|(sku, g)| {
                let line = match user_lines.get(&sku) {
                    Some(u) => Stored {
                        q: (u.q + g.q).min(MAX_LINE_QUANTITY),
                        ..*u
                    },
                    None => g,
                };
                (sku, line)
            })
            .collect();
        self.write(user, &merged, &[]).await?;
        self.clear(guest).await
    }

    /// The remaining lifetime of a cart's key (for tests and diagnostics).
    pub async fn ttl_secs(&self, owner: &CartOwner) -> Result<i64, CartError> {
        let mut redis = self.redis.clone();
        let mut cmd = redis::cmd("TTL");
        cmd.arg(self.key(owner));
        bounded(cmd.query_async(&mut redis)).await
    }

    /// The lines to order: SKU, quantity and the unit price the shopper last saw.
    pub async fn checkout_lines(&self, owner: &CartOwner) -> Result<Vec<LineRequest>, CartError> {
        let mut lines: Vec<(String, Stored)> = self.read(owner).await?.into_iter().collect();
        lines.sort_by_key(|(sku, s)| (s.t, sku.clone()));
        Ok(lines
            .into_iter()
            .map(|(sku, s)| LineRequest {
                sku,
                quantity: s.q,
                seen_unit_minor: Some(s.p),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_checked_with_clear_messages() {
        assert_eq!(parse_quantity(" 3 ").ok(), Some(3));
        for (input, needle) in [
            ("0", "at least 1"),
            ("-2", "at least 1"),
            ("two", "whole number"),
            ("1.5", "whole number"),
            ("", "whole number"),
            ("100", "at most 99"),
            ("99999999999999999999", "whole number"),
        ] {
            let e = parse_quantity(input).expect_err(input).to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
    }
}
