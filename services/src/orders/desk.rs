//! The order desk: the admin's order list (searched, filtered, sorted, exported), an
//! order's page with its timeline, staff notes, and the money actions: capture, refund,
//! cancel, mark paid, clear "needs review".
//!
//! Every action checks the staff member's role here, in the service (and again against
//! the database inside its transaction), and writes its audit record in the transaction
//! of the change. A money action holds the order's lock (the one `transition_from` and
//! `ensure_intent` take) while it asks the provider, so a webhook, a second click or a
//! cancellation waits for it and then sees what it did: a refund's key is stored with the
//! refund, and the same key finds it and refunds nothing more.

use super::paying::{self, Cause, STRIPE};
use super::{money, OrderError, OrderService};
use crate::audit::{Actor, Changes};
use crate::payments::stripe::{stripe_amount, StripeClient};
use crate::payments::PaymentError;
use domain::order::OrderAction;
use domain::order_desk::{
    desk_actions, line_refund, AdminOrder, DeskLine, MethodChoice, OrderList, OrderListRow,
    OrderQuery, OrderSort, RefundRequest, RefundView, Restock, TimelineEntry, MAX_NOTE_CHARS,
    MAX_REASON_CHARS, MAX_REFERENCE_CHARS, ORDERS_PER_PAGE,
};
use domain::staff::Permission;
use domain::text::has_control_chars;
use domain::{Address, FieldError, Money, OrderState, OrderStatus, PaymentStatus};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use std::collections::BTreeMap;

/// Rows per query of the CSV export.
pub const EXPORT_BATCH: i64 = 5_000;

/// What a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    pub refund_id: i64,
    pub amount: Money,
    pub state: OrderState,
    /// The key had refunded already: this is that refund, and nothing more was given back.
    pub repeated: bool,
}

/// How much a refund gives back.
enum Asked<'a> {
    /// As typed; empty: the chosen lines' value.
    Typed(&'a str),
    /// Everything still held (a cancellation).
    Remaining,
}

fn invalid(field: &str, message: impl Into<String>) -> OrderError {
    OrderError::Invalid(vec![FieldError::new(field, message)])
}

/// A short text from a form: trimmed, at most `max` characters, no control characters.
fn text_field(field: &str, value: &str, max: usize, what: &str) -> Result<String, OrderError> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(invalid(
            field,
            format!("{what} can be at most {max} characters."),
        ));
    }
    if has_control_chars(v) {
        return Err(invalid(
            field,
            format!("{what} cannot contain control characters."),
        ));
    }
    Ok(v.to_owned())
}

fn check_key(key: &str) -> Result<&str, OrderError> {
    let key = key.trim();
    if (16..=128).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(key)
    } else {
        Err(invalid(
            "idempotency_key",
            "This form is out of date. Reload the order's page and try again.",
        ))
    }
}

/// A value a spreadsheet would run as a formula gets a leading apostrophe.
fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The day a date filter names, or why it is not one.
fn day(field: &str, value: &str) -> Result<Option<chrono::NaiveDate>, OrderError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| invalid(field, "Enter a date as YYYY-MM-DD."))
}

/// The checked filters of a list query.
struct Filters {
    number: Option<String>,
    prefix: Option<String>,
    email_only: bool,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
}

impl OrderService {
    fn filters(&self, query: &OrderQuery) -> Result<Filters, OrderError> {
        let q = query.q.trim();
        if has_control_chars(q) || q.chars().count() > 100 {
            return Err(invalid(
                "q",
                "Search for up to 100 letters, digits and signs.",
            ));
        }
        let mut errors = Vec::new();
        let from = day("from", &query.from)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let to = day("to", &query.to)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        if !query.method.is_empty() && self.payments.get(&query.method).is_none() {
            errors.push(invalid("method", "Choose a payment method from the list."));
        }
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors.push(invalid("to", "The end date is before the start date."));
            }
        }
        if !errors.is_empty() {
            return Err(OrderError::Invalid(
                errors
                    .into_iter()
                    .flat_map(|e| match e {
                        OrderError::Invalid(v) => v,
                        _ => Vec::new(),
                    })
                    .collect(),
            ));
        }
        let upper = q.to_uppercase();
        let digits = upper.strip_prefix("EMP-").unwrap_or(&upper);
        let number = (!digits.is_empty()
            && digits.len() <= 18
            && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("EMP-{digits}"));
        let prefix = (number.is_none() && !q.is_empty())
            .then(|| format!("{}%", crate::like_escaped(&q.to_lowercase())));
        Ok(Filters {
            number,
            prefix,
            email_only: q.contains('@'),
            from,
            to,
        })
    }

    /// The WHERE conditions of a list query (after `WHERE TRUE`). Only those in use are
    /// written, so each combination gets a plan of its own.
    fn push_filters(qb: &mut QueryBuilder<Postgres>, query: &OrderQuery, f: &Filters) {
        if let Some(number) = &f.number {
            qb.push(" AND o.number = ").push_bind(number.clone());
        }
        if let Some(prefix) = &f.prefix {
            qb.push(" AND (o.email LIKE ").push_bind(prefix.clone());
            if !f.email_only {
                qb.push(" OR lower(o.ship_full_name) LIKE ")
                    .push_bind(prefix.clone());
            }
            qb.push(")");
        }
        if let Some(s) = query.order {
            qb.push(" AND o.order_status = ").push_bind(s.as_str());
        }
        if let Some(s) = query.payment {
            qb.push(" AND o.payment_status = ").push_bind(s.as_str());
        }
        if let Some(s) = query.fulfilment {
            qb.push(" AND o.fulfilment_status = ").push_bind(s.as_str());
        }
        if !query.method.is_empty() {
            qb.push(" AND o.payment_method = ")
                .push_bind(query.method.clone());
        }
        if let Some(from) = f.from {
            qb.push(" AND o.created_at >= ")
                .push_bind(from.and_hms_opt(0, 0, 0).map(|d| d.and_utc()));
        }
        if let Some(to) = f.to.and_then(|t| t.succ_opt()) {
            qb.push(" AND o.created_at < ")
                .push_bind(to.and_hms_opt(0, 0, 0).map(|d| d.and_utc()));
        }
        if query.review {
            qb.push(" AND o.review_reason IS NOT NULL");
        }
    }

    /// One page of the admin's order list.
    #[tracing::instrument(skip(self, actor))]
    pub async fn desk_list(
        &self,
        actor: &Actor,
        query: &OrderQuery,
    ) -> Result<OrderList, OrderError> {
        actor.require(Permission::ReadOrders)?;
        let f = self.filters(query)?;
        let per = i64::from(ORDERS_PER_PAGE);
        let (limit, offset) = (per + 1, i64::from(query.page() - 1) * per);
        let order = match (query.sort, query.reverse) {
            (OrderSort::Placed, false) => "o.created_at DESC, o.id DESC",
            (OrderSort::Placed, true) => "o.created_at, o.id",
            (OrderSort::Total, false) => "o.total_minor DESC, o.id DESC",
            (OrderSort::Total, true) => "o.total_minor, o.id",
        };
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT o.id FROM orders o WHERE TRUE");
        Self::push_filters(&mut qb, query, &f);
        qb.push(" ORDER BY ")
            .push(order)
            .push(" LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let mut ids: Vec<i64> = qb.build_query_scalar().fetch_all(&self.pool).await?;
        let has_next = ids.len() as i64 > per;
        ids.truncate(per as usize);
        let rows = self.list_rows(&ids).await?;
        // In the order the ids came.
        let mut by_id: BTreeMap<i64, OrderListRow> = rows.into_iter().collect();
        let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        Ok(OrderList {
            rows,
            page: query.page(),
            has_next,
            methods: self
                .payments
                .options()
                .into_iter()
                .map(|o| MethodChoice {
                    code: o.code,
                    name: o.name,
                })
                .collect(),
        })
    }

    async fn list_rows(&self, ids: &[i64]) -> Result<Vec<(i64, OrderListRow)>, OrderError> {
        let rows = sqlx::query!(
            r#"SELECT o.id, o.number, o.email, o.ship_full_name, o.order_status, o.payment_status,
                      o.fulfilment_status, o.payment_method, o.review_reason, o.currency,
                      o.total_minor, o.refunded_minor,
                      to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "placed!",
                      (SELECT COALESCE(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id) AS "items!"
               FROM orders o WHERE o.id = ANY($1)"#,
            ids
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let state = self.state_of(
                    &r.order_status,
                    &r.payment_status,
                    &r.fulfilment_status,
                    &r.payment_method,
                    r.review_reason,
                );
                let method = self
                    .payments
                    .get(&r.payment_method)
                    .map_or_else(|| r.payment_method.clone(), |p| p.option().name);
                (
                    r.id,
                    OrderListRow {
                        number: r.number,
                        placed: r.placed,
                        email: r.email,
                        name: r.ship_full_name,
                        total: money(r.total_minor, &r.currency),
                        refunded: money(r.refunded_minor, &r.currency),
                        items: u32::try_from(r.items).unwrap_or(0),
                        method,
                        state,
                    },
                )
            })
            .collect())
    }

    /// One batch of the CSV export of the list's filters, in placing order newest first:
    /// the CSV text (with its header when `before` is `None`) and where the next batch
    /// starts (`None`: this was the last).
    pub async fn desk_export(
        &self,
        actor: &Actor,
        query: &OrderQuery,
        before: Option<i64>,
    ) -> Result<(Vec<u8>, Option<i64>), OrderError> {
        actor.require(Permission::ReadOrders)?;
        let f = self.filters(query)?;
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT o.id FROM orders o WHERE TRUE");
        Self::push_filters(&mut qb, query, &f);
        if let Some(before) = before {
            qb.push(" AND o.id < ").push_bind(before);
        }
        qb.push(" ORDER BY o.id DESC LIMIT ")
            .push_bind(EXPORT_BATCH);
        let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&self.pool).await?;
        let detail = sqlx::query!(
            r#"SELECT id, subtotal_minor, shipping_minor, tax_minor, captured_minor
               FROM orders WHERE id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.pool)
        .await?;
        let detail: BTreeMap<i64, _> = detail.into_iter().map(|d| (d.id, d)).collect();
        let mut rows: BTreeMap<i64, OrderListRow> =
            self.list_rows(&ids).await?.into_iter().collect();
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| OrderError::Database(sqlx::Error::Protocol(e.to_string()));
        if before.is_none() {
            out.write_record([
                "Number",
                "Placed (UTC)",
                "Email",
                "Name",
                "Order status",
                "Payment status",
                "Fulfilment status",
                "Payment method",
                "Items",
                "Subtotal",
                "Shipping",
                "Tax",
                "Total",
                "Captured",
                "Refunded",
                "Currency",
                "Needs review",
            ])
            .map_err(csv_error)?;
        }
        for id in &ids {
            let (Some(r), Some(d)) = (rows.remove(id), detail.get(id)) else {
                continue;
            };
            let c = r.total.currency();
            let major = |minor: i64| Money::new(minor, c).to_major_string();
            out.write_record([
                r.number,
                r.placed,
                cell(&r.email),
                cell(&r.name),
                r.state.order.label().to_owned(),
                r.state.payment.label().to_owned(),
                r.state.fulfilment.label().to_owned(),
                r.method,
                r.items.to_string(),
                major(d.subtotal_minor),
                major(d.shipping_minor),
                major(d.tax_minor),
                r.total.to_major_string(),
                major(d.captured_minor),
                r.refunded.to_major_string(),
                c.code().to_owned(),
                cell(r.state.review.as_deref().unwrap_or("")),
            ])
            .map_err(csv_error)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| OrderError::Database(sqlx::Error::Protocol(e.to_string())))?;
        let next = (ids.len() as i64 == EXPORT_BATCH)
            .then(|| ids.last().copied())
            .flatten();
        Ok((bytes, next))
    }

    /// An order's page in the admin.
    pub async fn desk_order(&self, actor: &Actor, number: &str) -> Result<AdminOrder, OrderError> {
        actor.require(Permission::ReadOrders)?;
        let number = number.trim().to_uppercase();
        let r = sqlx::query!(
            r#"SELECT o.id, o.number, o.user_id, o.email, o.order_status, o.payment_status,
                      o.fulfilment_status, o.review_reason, o.currency, o.subtotal_minor,
                      o.shipping_minor, o.tax_minor, o.total_minor, o.tax_rate_bps, o.shipping_name,
                      o.payment_method, o.captured_minor, o.refunded_minor,
                      o.ship_full_name, o.ship_line1, o.ship_line2, o.ship_city, o.ship_region,
                      o.ship_postal_code, o.ship_country, o.ship_phone, o.created_at,
                      u.name AS "customer_name?", u.email AS "customer_email?",
                      p.authorised_minor AS "authorised?", p.provider AS "provider?"
               FROM orders o
               LEFT JOIN users u ON u.id = o.user_id
               LEFT JOIN payments p ON p.order_id = o.id
               WHERE o.number = $1"#,
            number
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(OrderError::NotFound)?;
        let m = |minor: i64| money(minor, &r.currency);
        let lines = sqlx::query!(
            r#"SELECT line_no, sku, product_name, variant_label, unit_price_minor, quantity,
                      line_total_minor, restocked, variant_id IS NOT NULL AS "restockable!"
               FROM order_lines WHERE order_id = $1 ORDER BY line_no"#,
            r.id
        )
        .fetch_all(&self.pool)
        .await?;
        let refunds = self.refund_views(r.id, &r.currency).await?;
        let state = self.state_of(
            &r.order_status,
            &r.payment_status,
            &r.fulfilment_status,
            &r.payment_method,
            r.review_reason,
        );
        let card = r.provider.is_some();
        let capturable = if state.payment == PaymentStatus::Authorised {
            r.authorised.unwrap_or(r.total_minor).max(r.total_minor) - r.captured_minor
        } else {
            0
        };
        let held = r.captured_minor - r.refunded_minor;
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
        let timeline = self.timeline(r.id, &r.number, &r.currency).await?;
        Ok(AdminOrder {
            actions: desk_actions(&state, capturable, held, card),
            number: r.number,
            email: r.email,
            customer: r.user_id.map(|id| {
                let name = r
                    .customer_name
                    .filter(|n| !n.trim().is_empty())
                    .or(r.customer_email)
                    .unwrap_or_else(|| format!("Customer #{id}"));
                (id, name)
            }),
            placed_at: r.created_at.format("%-d %B %Y, %H:%M UTC").to_string(),
            lines: lines
                .into_iter()
                .map(|l| DeskLine {
                    line_no: u32::try_from(l.line_no).unwrap_or(0),
                    sku: l.sku,
                    product_name: l.product_name,
                    variant_label: l.variant_label,
                    unit_price: m(l.unit_price_minor),
                    quantity: u32::try_from(l.quantity).unwrap_or(0),
                    line_total: m(l.line_total_minor),
                    restocked: u32::try_from(l.restocked).unwrap_or(0),
                    restockable: l.restockable,
                })
                .collect(),
            subtotal: m(r.subtotal_minor),
            shipping: m(r.shipping_minor),
            shipping_method: r.shipping_name,
            tax: m(r.tax_minor),
            tax_rate_bps: u32::try_from(r.tax_rate_bps).unwrap_or(0),
            total: m(r.total_minor),
            capturable: m(capturable),
            captured: m(r.captured_minor),
            refunded: m(r.refunded_minor),
            payment_method: self
                .payments
                .get(&r.payment_method)
                .map_or_else(|| r.payment_method.clone(), |p| p.option().name),
            manual_payment: state.manual_payment,
            ship_to,
            timeline,
            refunds,
            may_manage: actor.role.may(Permission::ManageOrders),
            idempotency_key: crate::random::hex(16)
                .map_err(|e| OrderError::Database(sqlx::Error::Protocol(e.to_string())))?,
            state,
        })
    }

    /// The refunds of an order, for its owner's page.
    pub(super) async fn refund_views(
        &self,
        order_id: i64,
        currency: &str,
    ) -> Result<Vec<RefundView>, OrderError> {
        Ok(sqlx::query!(
            "SELECT r.amount_minor, r.method, r.created_at, o.payment_method
             FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.order_id = $1 ORDER BY r.id",
            order_id
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|f| RefundView {
            amount: money(f.amount_minor, currency),
            on: f.created_at.format("%-d %B %Y").to_string(),
            manual: f.method == "manual",
            to: refund_to(&f.method, &f.payment_method).to_owned(),
        })
        .collect())
    }

    /// An e-mail about the order went out (for its timeline). The same message sent again
    /// under its id (a redelivered event) is one row.
    pub async fn record_email(
        &self,
        order_id: i64,
        message_id: &str,
        subject: &str,
    ) -> Result<(), OrderError> {
        sqlx::query!(
            "INSERT INTO order_emails (message_id, order_id, subject) VALUES ($1, $2, $3)
             ON CONFLICT (message_id) DO NOTHING",
            message_id,
            order_id,
            subject
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A refund's amount and where it went (for its e-mail).
    pub async fn refund_amount(&self, refund_id: i64) -> Result<(Money, &'static str), OrderError> {
        let r = sqlx::query!(
            "SELECT r.amount_minor, r.currency, r.method, o.payment_method
             FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1",
            refund_id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(OrderError::NotFound)?;
        Ok((
            money(r.amount_minor, &r.currency),
            refund_to(&r.method, &r.payment_method),
        ))
    }

    /// Everything that happened to an order, newest first: its placing, every change to
    /// its money (those staff made are told by their audit entry, which says who), every
    /// staff action, note and e-mail.
    async fn timeline(
        &self,
        order_id: i64,
        number: &str,
        currency: &str,
    ) -> Result<Vec<TimelineEntry>, OrderError> {
        let rows = sqlx::query!(
            r#"SELECT at AS "at!", kind AS "kind!", what AS "what!", amount_minor, note AS "note!", by AS "by!" FROM (
                 SELECT created_at AS at, 'placed' AS kind, 'placed' AS what, total_minor AS amount_minor,
                        '' AS note, 'the customer' AS by, 0::bigint AS seq
                 FROM orders WHERE id = $1
               UNION ALL
                 SELECT created_at, 'payment', kind, amount_minor, note, caused_by, id
                 FROM payment_records WHERE order_id = $1 AND caused_by <> 'admin'
               UNION ALL
                 SELECT a.at, 'staff', a.action,
                        NULLIF(a.changes->'amount'->>'after', '')::bigint,
                        concat_ws(' · ', NULLIF(a.changes->'reason'->>'after', ''),
                                  NULLIF('ref. ' || (a.changes->'reference'->>'after'), 'ref. '),
                                  NULLIF(a.changes->'restocked'->>'after', '') || ' unit(s) back in stock'),
                        COALESCE(u.email, a.actor), a.id
                 FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
                 WHERE a.entity = 'order' AND a.entity_id = $2 AND a.action <> 'note'
               UNION ALL
                 SELECT n.created_at, 'note', 'note', NULL, n.body, COALESCE(u.email, 'former staff'), n.id
                 FROM order_notes n LEFT JOIN users u ON u.id = n.author_id WHERE n.order_id = $1
               UNION ALL
                 SELECT sent_at, 'email', 'email', NULL, subject, 'the shop', 0
                 FROM order_emails WHERE order_id = $1
               ) t ORDER BY at DESC, seq DESC LIMIT 500"#,
            order_id,
            number
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let amount = r
                    .amount_minor
                    .map(|a| money(a, currency).to_string())
                    .unwrap_or_default();
                let text = timeline_text(&r.kind, &r.what, &amount, &r.note);
                let by = match (r.kind.as_str(), r.by.as_str()) {
                    ("payment", "webhook") => "Stripe".to_owned(),
                    ("payment", "shopper") => "the customer".to_owned(),
                    ("payment", "reconciliation") => "the shop (asked Stripe)".to_owned(),
                    ("payment", _) => "the shop".to_owned(),
                    (_, by) => by.to_owned(),
                };
                TimelineEntry {
                    at: r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    kind: match r.kind.as_str() {
                        "staff" if r.what == "refund" => "refund".into(),
                        "staff" if r.what == "clear_review" => "review".into(),
                        "staff" => "status".into(),
                        "payment" if r.what == "flagged" => "review".into(),
                        k => k.into(),
                    },
                    text,
                    by,
                }
            })
            .collect())
    }

    /// A member of staff notes something on the order (never shown to the customer).
    pub async fn add_note(
        &self,
        actor: &Actor,
        number: &str,
        body: &str,
    ) -> Result<(), OrderError> {
        actor.require(Permission::ReadOrders)?;
        let body = body.trim();
        if body.is_empty() {
            return Err(invalid("body", "Write the note first."));
        }
        let body = text_field("body", body, MAX_NOTE_CHARS, "A note")?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<OrderError>(&mut tx, Permission::ReadOrders)
            .await?;
        let order_id =
            sqlx::query_scalar!("SELECT id FROM orders WHERE number = $1", number.trim())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(OrderError::NotFound)?;
        sqlx::query!(
            "INSERT INTO order_notes (order_id, author_id, body) VALUES ($1, $2, $3)",
            order_id,
            actor.user_id,
            body
        )
        .execute(&mut *tx)
        .await?;
        // The body stays in the notes table (erased with the customer); the log keeps
        // only that a note was written.
        crate::audit::record(
            &mut tx,
            actor,
            "order",
            number.trim(),
            "note",
            Changes::new().set("note_chars", body.chars().count()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Locks the order for a money action (the lock `transition_from` takes) and reads
    /// what the action needs.
    async fn lock_for_money(
        &self,
        conn: &mut PgConnection,
        number: &str,
    ) -> Result<Locked, OrderError> {
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('payment-intent:' || id::text, 0))
             FROM orders WHERE number = $1",
            number
        )
        .execute(&mut *conn)
        .await?;
        let r = sqlx::query!(
            r#"SELECT o.id, o.number, o.order_status, o.payment_status, o.fulfilment_status,
                      o.payment_method, o.review_reason, o.currency, o.total_minor, o.tax_rate_bps,
                      o.captured_minor, o.refunded_minor,
                      p.id AS "payment_id?", p.reference AS "reference?", p.authorised_minor AS "authorised?",
                      p.provider AS "provider?", p.capture_reference
               FROM orders o LEFT JOIN payments p ON p.order_id = o.id
               WHERE o.number = $1
               FOR UPDATE OF o"#,
            number
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(OrderError::NotFound)?;
        let state = self.state_of(
            &r.order_status,
            &r.payment_status,
            &r.fulfilment_status,
            &r.payment_method,
            r.review_reason,
        );
        Ok(Locked {
            id: r.id,
            number: r.number,
            state,
            currency: r.currency,
            total: r.total_minor,
            tax_rate_bps: u32::try_from(r.tax_rate_bps).unwrap_or(0),
            captured: r.captured_minor,
            refunded: r.refunded_minor,
            card: r.payment_id.zip(r.reference),
            provider: r.provider.unwrap_or_default(),
            capture_reference: r.capture_reference,
            authorised: r.authorised.unwrap_or(0),
        })
    }

    fn card_client(&self) -> Result<&StripeClient, OrderError> {
        self.payments
            .stripe()
            .ok_or(OrderError::NotPayable("Card payments are not available."))
    }

    /// Captures an authorised card payment: all of it, or `amount` (the rest of the
    /// authorisation is released). The order is then paid that much.
    pub async fn capture(
        &self,
        actor: &Actor,
        number: &str,
        amount: &str,
    ) -> Result<OrderState, OrderError> {
        actor.require(Permission::ManageOrders)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<OrderError>(&mut tx, Permission::ManageOrders)
            .await?;
        let o = self.lock_for_money(&mut tx, number.trim()).await?;
        let Some((payment_id, reference)) = o.card.clone().filter(|_| o.provider == STRIPE) else {
            return Err(OrderError::Conflict(
                "Only an authorised card payment is captured here.",
            ));
        };
        if o.state.order != OrderStatus::Open || o.state.payment != PaymentStatus::Authorised {
            return Err(OrderError::Conflict(
                "Only an open order with an authorised card payment can be captured.",
            ));
        }
        let authorised = o.authorised.max(o.total);
        let want = if amount.trim().is_empty() {
            authorised
        } else {
            let m = Money::parse_major(amount, o.currency())
                .map_err(|e| invalid("amount", e.to_string()))?;
            m.amount_minor()
        };
        if want <= 0 || want > authorised {
            return Err(invalid(
                "amount",
                format!(
                    "Capture more than nothing and at most the {} authorised.",
                    o.money(authorised)
                ),
            ));
        }
        let stripe = self.card_client()?;
        let partial = (want < authorised)
            .then(|| stripe_amount(o.money(want)))
            .flatten();
        let intent = match stripe.capture_intent(&reference, partial).await {
            Ok(intent) => intent,
            // Captured already (a retried click, or from Stripe's dashboard).
            Err(PaymentError::Rejected(_)) => stripe.retrieve_intent(&reference).await?,
            Err(e) => return Err(e.into()),
        };
        if intent.status != "succeeded" {
            return Err(OrderError::NotPayable(
                "Stripe did not capture this payment; nothing changed.",
            ));
        }
        let captured = intent
            .amount_received
            .filter(|r| *r > 0)
            .and_then(|r| crate::payments::stripe::from_stripe(r, &intent.currency))
            .map_or(want, |m| m.amount_minor());
        let next = o
            .state
            .with_payment(PaymentStatus::Paid)
            .unwrap_or_else(|| o.state.clone());
        sqlx::query!(
            "UPDATE payments SET provider_status = $2, captured_minor = $3, updated_at = now() WHERE id = $1",
            payment_id,
            intent.status,
            captured
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE orders SET payment_status = $2, order_status = $3, captured_minor = $4, updated_at = now()
             WHERE id = $1",
            o.id,
            next.payment.as_str(),
            next.order.as_str(),
            captured
        )
        .execute(&mut *tx)
        .await?;
        paying::record(
            &mut tx,
            o.id,
            Some(payment_id),
            "captured",
            captured,
            &o.currency,
            Some(&reference),
            Cause::Admin,
            if captured < authorised {
                "partial capture"
            } else {
                ""
            },
        )
        .await?;
        sqlx::query!(
            "INSERT INTO event_log (topic, payload) VALUES ('order.paid', $1)",
            serde_json::json!({ "order_id": o.id, "number": o.number, "cause": "admin" })
        )
        .execute(&mut *tx)
        .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "order",
            &o.number,
            "capture",
            Changes::new().set("amount", captured).field(
                "payment_status",
                o.state.payment.as_str(),
                next.payment.as_str(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Refunds part or all of what the order's payment took (see the module notes).
    pub async fn refund(
        &self,
        actor: &Actor,
        number: &str,
        request: &RefundRequest,
    ) -> Result<Refunded, OrderError> {
        self.refund_as(actor, number, request, Asked::Typed(&request.amount))
            .await
    }

    async fn refund_as(
        &self,
        actor: &Actor,
        number: &str,
        request: &RefundRequest,
        asked: Asked<'_>,
    ) -> Result<Refunded, OrderError> {
        actor.require(Permission::ManageOrders)?;
        let key = check_key(&request.idempotency_key)?;
        let reason = text_field("reason", &request.reason, MAX_REASON_CHARS, "A reason")?;
        let reference = text_field(
            "reference",
            &request.reference,
            MAX_REFERENCE_CHARS,
            "A reference",
        )?;
        let mut units: BTreeMap<u32, u32> = BTreeMap::new();
        for Restock { line_no, quantity } in &request.lines {
            if *quantity > 0 {
                *units.entry(*line_no).or_default() += quantity;
            }
        }
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<OrderError>(&mut tx, Permission::ManageOrders)
            .await?;
        let o = self.lock_for_money(&mut tx, number.trim()).await?;
        // The key refunded already (a double click waited on the lock above): that
        // refund is the answer, and nothing more is given back.
        if let Some(done) = sqlx::query!(
            "SELECT id, order_id, amount_minor FROM refunds WHERE idempotency_key = $1",
            key
        )
        .fetch_optional(&mut *tx)
        .await?
        {
            if done.order_id != o.id {
                return Err(OrderError::Conflict(
                    "This refund form belongs to another order. Reload the order's page.",
                ));
            }
            return Ok(Refunded {
                refund_id: done.id,
                amount: o.money(done.amount_minor),
                state: o.state,
                repeated: true,
            });
        }
        let held = o.captured - o.refunded;
        if held <= 0 {
            return Err(invalid(
                "amount",
                "Nothing of this order's payment is left to refund.",
            ));
        }
        let lines = sqlx::query!(
            "SELECT line_no, variant_id, unit_price_minor, quantity, restocked
             FROM order_lines WHERE order_id = $1 ORDER BY line_no",
            o.id
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut errors = Vec::new();
        let mut lines_value = Money::zero(o.currency());
        let mut back: Vec<(i64, i32, i32)> = Vec::new();
        for (&line_no, &qty) in &units {
            let Some(l) = lines
                .iter()
                .find(|l| i64::from(l.line_no) == i64::from(line_no))
            else {
                errors.push(FieldError::new(
                    "lines",
                    format!("The order has no line {line_no}."),
                ));
                continue;
            };
            let left = if request.restock {
                l.quantity - l.restocked
            } else {
                l.quantity
            };
            if i64::from(qty) > i64::from(left) {
                errors.push(FieldError::new(
                    "lines",
                    if request.restock {
                        format!("Line {line_no} has {left} unit(s) left to put back in stock.")
                    } else {
                        format!("Line {line_no} has {} unit(s).", l.quantity)
                    },
                ));
                continue;
            }
            match line_refund(o.money(l.unit_price_minor), qty, o.tax_rate_bps)
                .and_then(|v| lines_value.checked_add(v).ok())
            {
                Some(v) => lines_value = v,
                None => errors.push(FieldError::new(
                    "lines",
                    "Those lines are worth more than can be refunded.",
                )),
            }
            if request.restock {
                match l.variant_id {
                    Some(v) => back.push((v, i32::try_from(qty).unwrap_or(i32::MAX), l.line_no)),
                    None => errors.push(FieldError::new(
                        "lines",
                        format!("Line {line_no}'s product no longer exists, so it cannot go back to stock."),
                    )),
                }
            }
        }
        if request.restock && units.is_empty() {
            errors.push(FieldError::new(
                "lines",
                "Choose the units to put back in stock.",
            ));
        }
        let amount = match asked {
            Asked::Remaining => held,
            Asked::Typed(typed) if typed.trim().is_empty() => {
                if units.is_empty() {
                    errors.push(FieldError::new(
                        "amount",
                        "Enter the amount to refund, or choose the lines it is for.",
                    ));
                }
                // The lines' value, up to what is left (an earlier refund may have
                // covered part of it).
                lines_value.amount_minor().min(held)
            }
            Asked::Typed(typed) => match Money::parse_major(typed, o.currency()) {
                Ok(m) if m.amount_minor() > 0 => m.amount_minor(),
                Ok(_) => {
                    errors.push(FieldError::new("amount", "Refund more than nothing."));
                    0
                }
                Err(e) => {
                    errors.push(FieldError::new("amount", e.to_string()));
                    0
                }
            },
        };
        if amount <= 0 && errors.is_empty() {
            errors.push(FieldError::new("amount", "Refund more than nothing."));
        }
        if amount > held {
            errors.push(FieldError::new(
                "amount",
                format!(
                    "At most {} can be refunded: {} was captured and {} refunded already.",
                    o.money(held),
                    o.money(o.captured),
                    o.money(o.refunded)
                ),
            ));
        }
        if o.card.is_none() && reference.is_empty() {
            errors.push(FieldError::new(
                "reference",
                "This order was paid outside the shop: pay the money back (a bank transfer) and enter its reference.",
            ));
        }
        if !errors.is_empty() {
            return Err(OrderError::Invalid(errors));
        }
        // Through the card provider, under this refund's own key, while the order is
        // locked: a second click waits and then finds the refund above.
        let provider_reference = match &o.card {
            Some((_, intent)) if o.provider == STRIPE => {
                let stripe = self.card_client()?;
                let units = stripe_amount(o.money(amount)).ok_or_else(|| {
                    invalid(
                        "amount",
                        "This amount cannot be refunded in the provider's units.",
                    )
                })?;
                let refund = stripe.refund(intent, units, key, &o.number).await?;
                if matches!(refund.status.as_str(), "failed" | "canceled") {
                    return Err(PaymentError::Declined(format!(
                        "Stripe did not refund it (the refund is {}).",
                        refund.status
                    ))
                    .into());
                }
                Some(refund.id)
            }
            Some(_) => {
                let paypal = self
                    .payments
                    .paypal()
                    .ok_or(OrderError::NotPayable("PayPal is not available."))?;
                let capture = o.capture_reference.as_deref().ok_or(OrderError::Conflict(
                    "PayPal has not told the shop which capture to refund yet; try again in a minute.",
                ))?;
                let refund = paypal
                    .refund_capture(capture, o.money(amount), key, &o.number)
                    .await?;
                if matches!(refund.status.as_str(), "FAILED" | "CANCELLED") {
                    return Err(PaymentError::Declined(format!(
                        "PayPal did not refund it (the refund is {}).",
                        refund.status
                    ))
                    .into());
                }
                Some(refund.id)
            }
            None => None,
        };
        let refunded = o.refunded + amount;
        let to = if refunded >= o.captured {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        };
        let next = o.state.with_payment(to).unwrap_or_else(|| o.state.clone());
        let restocked_json = serde_json::Value::Array(
            back.iter()
                .map(|(_, qty, line_no)| serde_json::json!({ "line_no": line_no, "quantity": qty }))
                .collect(),
        );
        let refund_id = sqlx::query_scalar!(
            "INSERT INTO refunds (order_id, idempotency_key, amount_minor, currency, method,
                 provider_reference, reference, reason, restocked, actor_id, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            o.id,
            key,
            amount,
            o.currency.trim(),
            if o.card.is_some() {
                "provider"
            } else {
                "manual"
            },
            provider_reference,
            reference,
            reason,
            restocked_json,
            actor.user_id,
            actor.stored_label()
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE orders SET refunded_minor = $2, payment_status = $3, updated_at = now() WHERE id = $1",
            o.id,
            refunded,
            next.payment.as_str()
        )
        .execute(&mut *tx)
        .await?;
        if let Some((payment_id, _)) = &o.card {
            sqlx::query!(
                "UPDATE payments SET refunded_minor = LEAST(captured_minor, refunded_minor + $2), updated_at = now()
                 WHERE id = $1",
                payment_id,
                amount
            )
            .execute(&mut *tx)
            .await?;
        }
        paying::record(
            &mut tx,
            o.id,
            o.card.as_ref().map(|(id, _)| *id),
            "refunded",
            amount,
            &o.currency,
            provider_reference
                .as_deref()
                .or(Some(reference.as_str()).filter(|r| !r.is_empty())),
            Cause::Admin,
            &reason,
        )
        .await?;
        let units_back: i32 = back.iter().map(|(_, q, _)| *q).sum();
        if !back.is_empty() {
            // The same lock order as placing: by variant id.
            let ids: Vec<i64> = back.iter().map(|(v, ..)| *v).collect();
            sqlx::query!(
                "SELECT id FROM variants WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &ids
            )
            .fetch_all(&mut *tx)
            .await?;
            let by = actor.stored_label();
            let cause = crate::stock::Cause {
                order_id: Some(o.id),
                actor_id: actor.user_id,
                note: &reason,
                ..crate::stock::Cause::new(domain::stock::StockReason::RefundRestock, &by)
            };
            let changes: Vec<(i64, i32)> = back.iter().map(|(v, q, _)| (*v, *q)).collect();
            let moved = crate::stock::apply(&mut tx, &changes, &cause).await?;
            for (_, qty, line_no) in &back {
                sqlx::query!(
                    "UPDATE order_lines SET restocked = restocked + $3 WHERE order_id = $1 AND line_no = $2",
                    o.id,
                    line_no,
                    qty
                )
                .execute(&mut *tx)
                .await?;
            }
            let products: std::collections::BTreeSet<i64> =
                moved.iter().map(|m| m.product_id).collect();
            for product_id in products {
                crate::catalog::announce_change(&mut tx, product_id).await?;
            }
        }
        sqlx::query!(
            "INSERT INTO event_log (topic, payload) VALUES ('order.refunded', $1)",
            serde_json::json!({ "order_id": o.id, "number": o.number, "refund_id": refund_id })
        )
        .execute(&mut *tx)
        .await?;
        let mut changes = Changes::new().set("amount", amount).field(
            "payment_status",
            o.state.payment.as_str(),
            next.payment.as_str(),
        );
        if !reason.is_empty() {
            changes = changes.set("reason", &reason);
        }
        if !reference.is_empty() {
            changes = changes.set("reference", &reference);
        }
        if units_back > 0 {
            changes = changes.set("restocked", units_back);
        }
        crate::audit::record(&mut tx, actor, "order", &o.number, "refund", changes).await?;
        tx.commit().await?;
        if !back.is_empty() {
            self.catalog.invalidate_cache();
        }
        Ok(Refunded {
            refund_id,
            amount: o.money(amount),
            state: next,
            repeated: false,
        })
    }

    /// Cancels an order that has not shipped: an authorisation is voided, money taken is
    /// refunded first (in full, under `key`), every unit not yet back goes back to
    /// stock, and the customer is e-mailed.
    pub async fn cancel(
        &self,
        actor: &Actor,
        number: &str,
        key: &str,
        reason: &str,
        reference: &str,
    ) -> Result<OrderState, OrderError> {
        actor.require(Permission::ManageOrders)?;
        let reason = text_field("reason", reason, MAX_REASON_CHARS, "A reason")?;
        let number = number.trim().to_uppercase();
        let o = {
            let mut tx = self.pool.begin().await?;
            let o = self.lock_for_money(&mut tx, &number).await?;
            tx.rollback().await?;
            o
        };
        // Refused before any money moves.
        o.state
            .apply(OrderAction::Cancel)
            .map_err(OrderError::Transition)?;
        if o.captured > o.refunded {
            self.refund_as(
                actor,
                &number,
                &RefundRequest {
                    idempotency_key: key.to_owned(),
                    amount: String::new(),
                    lines: Vec::new(),
                    restock: false,
                    reason: if reason.is_empty() {
                        "Order cancelled".into()
                    } else {
                        reason.clone()
                    },
                    reference: reference.to_owned(),
                },
                Asked::Remaining,
            )
            .await?;
        }
        self.transition_from(
            &number,
            OrderAction::Cancel,
            false,
            Some(if reason.is_empty() {
                "cancelled by staff"
            } else {
                &reason
            }),
            Cause::Admin,
            Some(actor),
        )
        .await
    }

    /// An offline payment arrived (a bank transfer, the courier's cash): the order is paid.
    pub async fn mark_paid(
        &self,
        actor: &Actor,
        number: &str,
        reference: &str,
    ) -> Result<OrderState, OrderError> {
        actor.require(Permission::ManageOrders)?;
        let reference = text_field("reference", reference, MAX_REFERENCE_CHARS, "A reference")?;
        self.transition_from(
            number.trim(),
            OrderAction::MarkPaid,
            false,
            (!reference.is_empty()).then_some(reference.as_str()),
            Cause::Admin,
            Some(actor),
        )
        .await
    }

    /// Staff looked at an order flagged for review and clear the flag, saying why.
    pub async fn clear_review(
        &self,
        actor: &Actor,
        number: &str,
        reason: &str,
    ) -> Result<OrderState, OrderError> {
        actor.require(Permission::ManageOrders)?;
        let reason = text_field("reason", reason, MAX_REASON_CHARS, "A reason")?;
        if reason.is_empty() {
            return Err(invalid(
                "reason",
                "Say what was checked, or what was done about it.",
            ));
        }
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<OrderError>(&mut tx, Permission::ManageOrders)
            .await?;
        let o = self.lock_for_money(&mut tx, number.trim()).await?;
        let Some(flag) = o.state.review.clone() else {
            return Err(OrderError::Conflict(
                "This order is not flagged for review.",
            ));
        };
        sqlx::query!(
            "UPDATE orders SET review_reason = NULL, review_flagged_at = NULL, updated_at = now() WHERE id = $1",
            o.id
        )
        .execute(&mut *tx)
        .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "order",
            &o.number,
            "clear_review",
            Changes::new()
                .field("review_reason", &flag, serde_json::Value::Null)
                .set("reason", &reason),
        )
        .await?;
        tx.commit().await?;
        Ok(OrderState {
            review: None,
            ..o.state
        })
    }
}

/// An order locked for a money action.
struct Locked {
    id: i64,
    number: String,
    state: OrderState,
    currency: String,
    total: i64,
    tax_rate_bps: u32,
    captured: i64,
    refunded: i64,
    /// The provider's payment (a card, PayPal): its id and the provider's reference.
    card: Option<(i64, String)>,
    /// `stripe`, `paypal`; empty for orders paid by hand.
    provider: String,
    /// PayPal's capture, which refunds go to.
    capture_reference: Option<String>,
    authorised: i64,
}

impl Locked {
    fn currency(&self) -> domain::Currency {
        money(0, &self.currency).currency()
    }

    fn money(&self, minor: i64) -> Money {
        money(minor, &self.currency)
    }
}

/// Where a refund went, in the customer's words.
fn refund_to(method: &str, payment_method: &str) -> &'static str {
    match (method, payment_method) {
        ("manual", _) => "by bank transfer",
        (_, "paypal") => "to your PayPal account",
        _ => "to your card",
    }
}

/// A timeline row in words.
fn timeline_text(kind: &str, what: &str, amount: &str, note: &str) -> String {
    let with = |s: String| {
        if note.is_empty() {
            s
        } else {
            format!("{s} — {note}")
        }
    };
    match (kind, what) {
        ("placed", _) => format!("Order placed for {amount}"),
        ("payment", "requested") => "Card payment started".into(),
        ("payment", "authorised") => format!("Card authorised for {amount}"),
        ("payment", "captured") => with(format!("Payment of {amount} received")),
        ("payment", "refunded") => with(format!("Refunded {amount}")),
        ("payment", "failed") => with("Payment failed".into()),
        ("payment", "voided") => with("Payment voided".into()),
        ("payment", "flagged") => with("Flagged for review".into()),
        ("staff", "mark_paid") => with("Marked paid".into()),
        ("staff", "fulfil") => "Marked shipped".into(),
        ("staff", "deliver") => "Marked delivered".into(),
        ("staff", "cancel") => with("Cancelled".into()),
        ("staff", "capture") => format!("Captured {amount}"),
        ("staff", "refund") => with(format!("Refunded {amount}")),
        ("staff", "clear_review") => with("Cleared the review flag".into()),
        ("note", _) => note.to_owned(),
        ("email", _) => format!("E-mail sent: {note}"),
        (_, what) => with(what.replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("ann@example.com"), "ann@example.com");
    }

    #[test]
    fn timeline_rows_read_as_sentences() {
        assert_eq!(
            timeline_text(
                "staff",
                "refund",
                "$5.00",
                "damaged · 1 unit(s) back in stock"
            ),
            "Refunded $5.00 — damaged · 1 unit(s) back in stock"
        );
        assert_eq!(
            timeline_text("email", "email", "", "Your order"),
            "E-mail sent: Your order"
        );
    }
}
