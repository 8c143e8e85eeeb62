//! Customers as staff look after them: the list and search, one customer's page (orders,
//! addresses, total spent, notes, groups), edits, disabling, a password reset, an export
//! of their data, and erasure. Every method takes the acting member of staff, checks the
//! role, and records its writes in the audit log in the same transaction.
//!
//! The audit log is append-only, so it holds no customer's personal data: a changed name
//! or e-mail is recorded as changed, without the values; erasing the customer then leaves
//! nothing of theirs behind in it.

use crate::audit::{self, Actor, Changes};
use crate::notifications::Mailer;
use crate::orders::OrderService;
use domain::customer::{
    CustomerDetail, CustomerGroup, CustomerList, CustomerNote, CustomerQuery, CustomerRow,
    CUSTOMERS_PER_PAGE,
};
use domain::staff::{Permission, Refused};
use domain::{Currency, Email, FieldError, Money};
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("{0}")]
    Field(FieldError),
    #[error("customer not found")]
    NotFound,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Orders(#[from] crate::orders::OrderError),
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FieldError> for CustomerError {
    fn from(e: FieldError) -> Self {
        CustomerError::Field(e)
    }
}

/// Handle to the customer screens' service; cheap to clone.
#[derive(Clone)]
pub struct CustomerService {
    pool: PgPool,
    orders: OrderService,
    auth: crate::AuthService,
    mailer: Mailer,
    currency: Currency,
}

/// What an erased account's e-mail becomes (unique, and not an address anyone has).
fn erased_email(id: i64) -> String {
    format!("erased-{id}@erased.invalid")
}

/// Every address an account has had: `email` (its current one) and those its own changes
/// of address left (the event log keeps them, with the account's id), less any address
/// another account holds now (its data is that account's).
async fn known_addresses(
    conn: &mut sqlx::PgConnection,
    id: i64,
    email: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT a.email AS "email!" FROM (
               SELECT $2::text AS email
               UNION
               SELECT payload->>'old_email' FROM event_log
               WHERE topic = 'account.email_changed' AND payload->>'user_id' = $1::bigint::text
                 AND payload->>'old_email' IS NOT NULL) a
           WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email = a.email AND u.id <> $1)"#,
        id,
        email
    )
    .fetch_all(conn)
    .await
}

/// A regular expression (PostgreSQL's) that finds `address` whole, in lower case text:
/// `ann@x.org` is not found in `joann@x.org`.
fn whole_address(address: &str) -> String {
    let escaped: String = address
        .to_lowercase()
        .chars()
        .map(|c| {
            if "\\.^$|?*+()[]{}".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect();
    format!("(^|[^a-z0-9._%+-]){escaped}($|[^a-z0-9._%+-]|\\.($|[^a-z0-9]))")
}

/// What an erasure removed, in numbers (the audit record, and the answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    pub orders_anonymised: u64,
    pub addresses: u64,
    pub notes: u64,
    pub events_scrubbed: u64,
    pub outbox_files: usize,
}

impl CustomerService {
    pub fn new(
        pool: PgPool,
        orders: OrderService,
        auth: crate::AuthService,
        mailer: Mailer,
        currency: Currency,
    ) -> Self {
        Self {
            pool,
            orders,
            auth,
            mailer,
            currency,
        }
    }

    async fn groups(&self) -> Result<Vec<CustomerGroup>, CustomerError> {
        Ok(sqlx::query_as!(
            CustomerGroup,
            "SELECT id, name FROM customer_groups ORDER BY lower(name)"
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of customers (not staff), searched by part of the e-mail or name,
    /// optionally only one group's, sorted as asked.
    pub async fn list(
        &self,
        actor: &Actor,
        query: &CustomerQuery,
    ) -> Result<CustomerList, CustomerError> {
        actor.require(Permission::ReadCustomers)?;
        let per = i64::from(CUSTOMERS_PER_PAGE);
        let page = query.page.clamp(1, 100_000);
        let q = query.q.trim().to_lowercase();
        if domain::text::has_control_chars(&q) {
            return Err(
                FieldError::new("q", "Search for letters, digits and punctuation only.").into(),
            );
        }
        // LIKE's own characters typed in the box are searched for as themselves.
        let pattern = (!q.is_empty()).then(|| format!("%{}%", crate::like_escaped(&q)));
        let rows = sqlx::query!(
            r#"SELECT u.id, u.email, u.name, u.disabled_at IS NOT NULL AS "disabled!",
                      to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS "joined!",
                      (SELECT count(*) FROM orders o WHERE o.user_id = u.id) AS "orders!"
               FROM users u
               WHERE u.role = 'customer' AND u.erased_at IS NULL
                 AND ($1::text IS NULL OR u.email LIKE $1 OR lower(u.name) LIKE $1)
                 AND ($2::bigint IS NULL OR EXISTS (
                       SELECT 1 FROM customer_group_members m WHERE m.user_id = u.id AND m.group_id = $2))
               ORDER BY
                 CASE WHEN $3 = 'email' THEN u.email END ASC,
                 CASE WHEN $3 = 'email-desc' THEN u.email END DESC,
                 CASE WHEN $3 = 'name' THEN lower(u.name) END ASC,
                 CASE WHEN $3 = 'name-desc' THEN lower(u.name) END DESC,
                 CASE WHEN $3 = 'oldest' THEN u.created_at END ASC,
                 u.created_at DESC, u.id DESC
               LIMIT $4 OFFSET $5"#,
            pattern,
            query.group,
            query.sort.as_str(),
            per + 1,
            (i64::from(page) - 1) * per
        )
        .fetch_all(&self.pool)
        .await?;
        let has_next = rows.len() as i64 > per;
        Ok(CustomerList {
            rows: rows
                .into_iter()
                .take(per as usize)
                .map(|r| CustomerRow {
                    id: r.id,
                    email: r.email,
                    name: r.name,
                    joined: r.joined,
                    disabled: r.disabled,
                    orders: r.orders,
                })
                .collect(),
            page,
            has_next,
            groups: self.groups().await?,
            may_edit: actor.role.may(Permission::ManageCustomers),
        })
    }

    /// One customer's page.
    pub async fn detail(&self, actor: &Actor, id: i64) -> Result<CustomerDetail, CustomerError> {
        actor.require(Permission::ReadCustomers)?;
        let r = sqlx::query!(
            r#"SELECT id, email, name, disabled_at IS NOT NULL AS "disabled!",
                      erased_at IS NOT NULL AS "erased!",
                      to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS "joined!"
               FROM users WHERE id = $1 AND role = 'customer'"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(CustomerError::NotFound)?;
        // Money kept: what was captured on the account's orders, less what was refunded.
        let spent = sqlx::query_scalar!(
            r#"SELECT COALESCE(sum(CASE r.kind WHEN 'captured' THEN r.amount_minor
                                              WHEN 'refunded' THEN -r.amount_minor END), 0)::bigint AS "spent!"
               FROM payment_records r JOIN orders o ON o.id = r.order_id
               WHERE o.user_id = $1 AND o.currency = $2"#,
            id,
            self.currency.code()
        )
        .fetch_one(&self.pool)
        .await?;
        let notes = sqlx::query!(
            r#"SELECT n.id, n.body, COALESCE(a.email, 'former staff') AS "author!",
                      to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "at!"
               FROM customer_notes n LEFT JOIN users a ON a.id = n.author_id
               WHERE n.user_id = $1 ORDER BY n.id DESC"#,
            id
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|n| CustomerNote {
            id: n.id,
            author: n.author,
            at: n.at,
            body: n.body,
        })
        .collect();
        let member: Vec<i64> = sqlx::query_scalar!(
            "SELECT group_id FROM customer_group_members WHERE user_id = $1",
            id
        )
        .fetch_all(&self.pool)
        .await?;
        let groups = self
            .groups()
            .await?
            .into_iter()
            .map(|g| {
                let is = member.contains(&g.id);
                (g, is)
            })
            .collect();
        Ok(CustomerDetail {
            id: r.id,
            email: r.email,
            name: r.name,
            joined: r.joined,
            disabled: r.disabled,
            erased: r.erased,
            total_spent: Money::new(spent, self.currency),
            orders: self.orders.history(id).await?,
            addresses: self.auth.addresses(id).await?,
            notes,
            groups,
            may_edit: actor.role.may(Permission::ManageCustomers),
            may_erase: actor.role.may(Permission::EraseCustomers),
        })
    }

    /// Locks a customer's row for a change; `NotFound` for staff, unknown or erased ones.
    async fn lock(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        id: i64,
    ) -> Result<(String, String, bool), CustomerError> {
        let r = sqlx::query!(
            r#"SELECT email, name, disabled_at IS NOT NULL AS "disabled!" FROM users
               WHERE id = $1 AND role = 'customer' AND erased_at IS NULL FOR UPDATE"#,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(CustomerError::NotFound)?;
        Ok((r.email, r.name, r.disabled))
    }

    /// Changes a customer's name and e-mail. The audit record says which changed, not
    /// to what (see the module's note); the old address is told, as when they change it.
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        email: &str,
    ) -> Result<(), CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let name = domain::account::parse_name(name)?;
        let email = Email::parse(email)?;
        let mut tx = self.pool.begin().await?;
        let (old_email, old_name, _) = Self::lock(&mut tx, id).await?;
        if old_email != email.as_str() {
            actor.require(Permission::ChangeCustomerEmail)?;
        }
        sqlx::query!(
            "UPDATE users SET name = $2, email = $3, updated_at = now() WHERE id = $1",
            id,
            name,
            email.as_str()
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| match crate::auth::email_taken_or(e) {
            crate::auth::AuthError::Field(f) => CustomerError::Field(f),
            crate::auth::AuthError::Database(d) => CustomerError::Database(d),
            other => CustomerError::Auth(other),
        })?;
        let mut changes = Changes::new();
        if old_name != name {
            changes = changes.personal("name");
        }
        if old_email != email.as_str() {
            changes = changes.personal("email");
            crate::auth::email_changed_event(&mut tx, id, &old_email, email.as_str()).await?;
        }
        if !changes.is_empty() {
            audit::record(
                &mut tx,
                actor,
                "customer",
                &id.to_string(),
                "edited",
                changes,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Disables (or enables again) an account: a disabled one cannot sign in, every
    /// session of it ends now, and its orders stay as they are.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        id: i64,
        disabled: bool,
    ) -> Result<(), CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let mut tx = self.pool.begin().await?;
        let (_, _, was) = Self::lock(&mut tx, id).await?;
        if was == disabled {
            return Ok(());
        }
        sqlx::query!(
            "UPDATE users SET disabled_at = CASE WHEN $2 THEN now() END,
                 auth_epoch = auth_epoch + 1, updated_at = now()
             WHERE id = $1",
            id,
            disabled
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "customer",
            &id.to_string(),
            if disabled { "disabled" } else { "enabled" },
            Changes::new().field("disabled", was, disabled),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// E-mails the customer a password reset link (through the event log, like the
    /// "forgot your password" form).
    pub async fn send_password_reset(&self, actor: &Actor, id: i64) -> Result<(), CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, id).await?;
        crate::auth::reset_requested_event(&mut tx, Some(id)).await?;
        audit::record(
            &mut tx,
            actor,
            "customer",
            &id.to_string(),
            "password_reset_sent",
            Changes::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a staff note.
    pub async fn add_note(&self, actor: &Actor, id: i64, body: &str) -> Result<(), CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 2000 || domain::text::has_control_chars(body) {
            return Err(FieldError::new("body", "Write a note of up to 2,000 characters.").into());
        }
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, id).await?;
        let note = sqlx::query_scalar!(
            "INSERT INTO customer_notes (user_id, author_id, body) VALUES ($1, $2, $3) RETURNING id",
            id,
            actor.user_id,
            body
        )
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "customer",
            &id.to_string(),
            "note_added",
            Changes::new().set("note", note).personal("text"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes a new customer group.
    pub async fn create_group(&self, actor: &Actor, name: &str) -> Result<i64, CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || domain::text::has_control_chars(name) {
            return Err(FieldError::new("name", "Name the group in up to 60 characters.").into());
        }
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query_scalar!(
            "INSERT INTO customer_groups (name) VALUES ($1) RETURNING id",
            name
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => {
                CustomerError::Field(FieldError::new(
                    "name",
                    "A group of that name exists already.",
                ))
            }
            _ => e.into(),
        })?;
        audit::record(
            &mut tx,
            actor,
            "customer_group",
            &id.to_string(),
            "created",
            Changes::new().set("name", name),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Puts the customer in a group, or takes them out of it.
    pub async fn set_group_membership(
        &self,
        actor: &Actor,
        id: i64,
        group_id: i64,
        member: bool,
    ) -> Result<(), CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, id).await?;
        let name = sqlx::query_scalar!("SELECT name FROM customer_groups WHERE id = $1", group_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CustomerError::NotFound)?;
        let changed = if member {
            sqlx::query!(
                "INSERT INTO customer_group_members (group_id, user_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                group_id,
                id
            )
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query!(
                "DELETE FROM customer_group_members WHERE group_id = $1 AND user_id = $2",
                group_id,
                id
            )
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if changed > 0 {
            audit::record(
                &mut tx,
                actor,
                "customer",
                &id.to_string(),
                if member {
                    "added_to_group"
                } else {
                    "removed_from_group"
                },
                Changes::new().field(&format!("group {name}"), !member, member),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Everything the shop holds about a customer, as JSON (their right of access). The
    /// export is audited.
    pub async fn export(&self, actor: &Actor, id: i64) -> Result<serde_json::Value, CustomerError> {
        actor.require(Permission::ManageCustomers)?;
        let detail = self.detail(actor, id).await?;
        if detail.erased {
            return Err(CustomerError::NotFound);
        }
        let addresses =
            known_addresses(&mut *self.pool.acquire().await?, id, &detail.email).await?;
        let orders = sqlx::query!(
            r#"SELECT o.number, o.email, o.currency, o.total_minor, o.order_status, o.payment_status,
                      o.fulfilment_status, o.payment_method, o.ship_full_name, o.ship_line1,
                      o.ship_line2, o.ship_city, o.ship_region, o.ship_postal_code, o.ship_country,
                      o.ship_phone, to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "placed!",
                      COALESCE((SELECT json_agg(json_build_object('product', l.product_name, 'sku', l.sku,
                                   'variant', l.variant_label, 'quantity', l.quantity, 'unit_price_minor', l.unit_price_minor) ORDER BY l.line_no)
                                FROM order_lines l WHERE l.order_id = o.id), '[]'::json) AS "lines!"
               FROM orders o WHERE o.user_id = $1 OR (o.user_id IS NULL AND o.email = ANY($2))
               ORDER BY o.id"#,
            id,
            &addresses
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|o| {
            serde_json::json!({
                "number": o.number, "email": o.email, "placed_at": o.placed,
                "currency": o.currency, "total_minor": o.total_minor,
                "status": { "order": o.order_status, "payment": o.payment_status, "fulfilment": o.fulfilment_status },
                "payment_method": o.payment_method,
                "ship_to": {
                    "full_name": o.ship_full_name, "line1": o.ship_line1, "line2": o.ship_line2,
                    "city": o.ship_city, "region": o.ship_region, "postal_code": o.ship_postal_code,
                    "country": o.ship_country, "phone": o.ship_phone,
                },
                "lines": o.lines,
            })
        })
        .collect::<Vec<_>>();
        let mut tx = self.pool.begin().await?;
        audit::record(
            &mut tx,
            actor,
            "customer",
            &id.to_string(),
            "exported",
            Changes::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(serde_json::json!({
            "account": {
                "id": detail.id, "email": detail.email, "earlier_emails": addresses.iter().filter(|a| **a != detail.email).collect::<Vec<_>>(), "name": detail.name,
                "joined": detail.joined, "disabled": detail.disabled,
            },
            "addresses": detail.addresses,
            "orders": orders,
            "groups": detail.groups.iter().filter(|(_, member)| *member).map(|(g, _)| &g.name).collect::<Vec<_>>(),
            "notes": detail.notes,
        }))
    }

    /// Erases a customer: their personal data is removed or anonymised wherever the shop
    /// holds it (account, addresses, orders' contact and shipping fields, notes, groups,
    /// reset links and registrations, event payloads, stored Stripe events, e-mails in the
    /// outbox); orders stay, with amounts, lines and country, for the accounts. Every
    /// session ends. One transaction (the outbox files go after it commits), audited
    /// without personal data. Cannot be undone.
    pub async fn erase(
        &self,
        actor: &Actor,
        id: i64,
        confirm: &str,
    ) -> Result<Erasure, CustomerError> {
        actor.require(Permission::EraseCustomers)?;
        // Made before the rows are locked (hashing takes a while).
        let unknown = crate::auth::password::hash(
            crate::random::hex(32).map_err(|e| CustomerError::Internal(e.to_string()))?,
        )
        .await?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<CustomerError>(&mut tx, Permission::EraseCustomers)
            .await?;
        let (email, _, _) = Self::lock(&mut tx, id).await?;
        if confirm.trim().to_lowercase() != email {
            return Err(FieldError::new(
                "confirm",
                "Type the customer's e-mail address to confirm: erasing cannot be undone.",
            )
            .into());
        }
        let placeholder = erased_email(id);
        let mut erasure = Erasure::default();
        let addresses = known_addresses(&mut tx, id, &email).await?;
        let order_ids: Vec<i64> = sqlx::query_scalar!(
            "SELECT id FROM orders WHERE user_id = $1 OR (user_id IS NULL AND email = ANY($2))",
            id,
            &addresses
        )
        .fetch_all(&mut *tx)
        .await?;
        let references: Vec<String> = sqlx::query_scalar!(
            "SELECT reference FROM payments WHERE order_id = ANY($1)",
            &order_ids
        )
        .fetch_all(&mut *tx)
        .await?;
        // Orders: placed signed in, or as a guest with one of the addresses.
        erasure.orders_anonymised = sqlx::query!(
            "UPDATE orders SET email = $2, ship_full_name = '', ship_line1 = '', ship_line2 = '',
                 ship_city = '', ship_region = '', ship_postal_code = '', ship_phone = '',
                 placed_from = NULL, updated_at = now()
             WHERE id = ANY($1)",
            &order_ids,
            placeholder
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        erasure.addresses = sqlx::query!("DELETE FROM addresses WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        erasure.notes = sqlx::query!("DELETE FROM customer_notes WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Staff notes on the orders may say who the customer is.
        erasure.notes += sqlx::query!(
            "DELETE FROM order_notes WHERE order_id = ANY($1)",
            &order_ids
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query!("DELETE FROM customer_group_members WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?;
        sqlx::query!("DELETE FROM password_resets WHERE user_id = $1", id)
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "DELETE FROM registrations WHERE email = ANY($1)",
            &addresses
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "DELETE FROM staff_invites WHERE email = ANY($1)",
            &addresses
        )
        .execute(&mut *tx)
        .await?;
        for address in &addresses {
            // As a whole JSON string only, so `joann@…` is left alone when `ann@…` goes;
            // an error message naming the address goes too.
            let quoted = serde_json::Value::String(address.clone()).to_string();
            let replacement = serde_json::Value::String(placeholder.clone()).to_string();
            erasure.events_scrubbed += sqlx::query!(
                "UPDATE event_log SET payload = replace(payload::text, $1, $2)::jsonb,
                     last_error = CASE WHEN lower(last_error) ~ $3 THEN NULL ELSE last_error END
                 WHERE strpos(payload::text, $1) > 0 OR lower(last_error) ~ $3",
                quoted,
                replacement,
                whole_address(address)
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            erasure.events_scrubbed += sqlx::query!(
                "UPDATE stripe_events SET payload = replace(payload::text, $1, $2)::jsonb
                 WHERE strpos(payload::text, $1) > 0",
                quoted,
                replacement
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        // Stripe's events about her orders and their payments carry billing details and
        // the card's owner: what identifies the event, the payment and its amounts stays
        // (an event not processed yet still reads), the rest goes.
        erasure.events_scrubbed += sqlx::query!(
            r#"UPDATE stripe_events SET payload = jsonb_build_object(
                   'id', payload->'id', 'type', payload->'type', 'erased', true,
                   'data', jsonb_build_object('object', jsonb_strip_nulls(jsonb_build_object(
                       'id', payload#>'{data,object,id}',
                       'object', payload#>'{data,object,object}',
                       'status', payload#>'{data,object,status}',
                       'amount', payload#>'{data,object,amount}',
                       'amount_received', payload#>'{data,object,amount_received}',
                       'amount_refunded', payload#>'{data,object,amount_refunded}',
                       'currency', payload#>'{data,object,currency}',
                       'payment_intent', payload#>'{data,object,payment_intent}',
                       'metadata', payload#>'{data,object,metadata}'))))
               WHERE (payload#>>'{data,object,metadata,order_id}') = ANY($1)
                  OR (payload#>>'{data,object,id}') = ANY($2)
                  OR (payload#>>'{data,object,payment_intent}') = ANY($2)"#,
            &order_ids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            &references
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The account: nothing personal left, no way in (a password nobody knows), every
        // session ended.
        sqlx::query!(
            "UPDATE users SET email = $2, name = '', password_hash = $3,
                 disabled_at = COALESCE(disabled_at, now()), erased_at = now(),
                 auth_epoch = auth_epoch + 1, updated_at = now()
             WHERE id = $1",
            id,
            placeholder,
            unknown.as_str()
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "customer",
            &id.to_string(),
            "erased",
            Changes::new()
                .set("orders_anonymised", erasure.orders_anonymised)
                .set("addresses_deleted", erasure.addresses)
                .set("notes_deleted", erasure.notes)
                .set("events_scrubbed", erasure.events_scrubbed),
        )
        .await?;
        tx.commit().await?;
        // After the commit (files are not in the transaction): a file that cannot be
        // removed is logged for an operator, the erasure stands.
        for address in &addresses {
            match self.mailer.forget(address).await {
                Ok(n) => erasure.outbox_files += n,
                Err(e) => {
                    tracing::error!(customer = id, error = %e, "could not remove an erased customer's e-mails from the outbox")
                }
            }
        }
        Ok(erasure)
    }
}
