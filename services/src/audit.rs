//! The audit log: every admin write, recorded in the transaction of the change.
//!
//! An [`Actor`] is who acts (a member of staff from a request, or the command line); a
//! service method that changes something for staff takes one, checks its permission
//! ([`Actor::require`]) and calls [`record`] on its own transaction, so a write that fails
//! leaves no record and a record never describes a write that did not happen. Rows are
//! never updated or deleted: no code here does, and the table's triggers refuse it.

use domain::staff::{AuditEntry, AuditPage, AuditQuery, FieldChange, Permission, Refused};
use domain::Role;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The member of staff; `None` for the command line (`server create-admin`).
    pub user_id: Option<i64>,
    /// As recorded: the staff member's e-mail, or "command line".
    pub label: String,
    pub role: Role,
    pub ip: String,
}

impl Actor {
    /// A signed-in member of staff (the web layer has checked the session and its
    /// second factor; the role is as the database has it now).
    pub fn staff(user_id: i64, email: &str, role: Role, ip: &str) -> Self {
        Self {
            user_id: Some(user_id),
            label: email.to_owned(),
            role,
            ip: ip.to_owned(),
        }
    }

    /// Whoever runs the server's command line, which has the database anyway.
    pub fn command_line() -> Self {
        Self {
            user_id: None,
            label: "command line".to_owned(),
            role: Role::Owner,
            ip: String::new(),
        }
    }

    /// `Ok` when this actor may; else the refusal (403 with its sentence).
    pub fn require(&self, permission: Permission) -> Result<(), Refused> {
        self.role.require(permission)
    }

    /// [`Actor::require`] against the role the database has now, inside the write's
    /// transaction (the actor's row held until it commits): a member removed or demoted
    /// while their request was on its way cannot finish it.
    pub async fn confirm<E>(&self, conn: &mut PgConnection, permission: Permission) -> Result<(), E>
    where
        E: From<Refused> + From<sqlx::Error>,
    {
        self.require(permission)?;
        let Some(id) = self.user_id else {
            return Ok(());
        };
        let role = sqlx::query_scalar!("SELECT role FROM users WHERE id = $1 FOR SHARE", id)
            .fetch_optional(conn)
            .await?
            .and_then(|r| Role::parse(&r))
            .unwrap_or(Role::Customer);
        Ok(role.require(permission)?)
    }

    /// What the log stores as the actor: staff by id (the screen shows their e-mail as
    /// it is now, so nothing personal is kept in the append-only log); else the label.
    pub(crate) fn stored_label(&self) -> String {
        match self.user_id {
            Some(id) => format!("staff #{id}"),
            None => self.label.clone(),
        }
    }
}

/// The fields a write changed, each with before and after (only those that differ).
#[derive(Debug, Clone, Default)]
pub struct Changes(serde_json::Map<String, serde_json::Value>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// `field` went from `before` to `after`; left out when they are equal.
    pub fn field(mut self, field: &str, before: impl Serialize, after: impl Serialize) -> Self {
        let (before, after) = (json(before), json(after));
        if before != after {
            self.0.insert(
                field.to_owned(),
                serde_json::json!({ "before": before, "after": after }),
            );
        }
        self
    }

    /// A field of a customer's personal data changed: recorded as changed, without the
    /// values, since nothing in the append-only log can be erased later.
    pub fn personal(mut self, field: &str) -> Self {
        self.0.insert(
            field.to_owned(),
            serde_json::json!({ "before": null, "after": PERSONAL }),
        );
        self
    }

    /// A field of a new entity (nothing before).
    pub fn set(self, field: &str, value: impl Serialize) -> Self {
        self.field(field, serde_json::Value::Null, value)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the log shows for a changed field of personal data.
pub const PERSONAL: &str = "(changed; personal data is not kept in the log)";

fn json(value: impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Records one admin write, in the transaction `conn` of that write.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    entity: &str,
    entity_id: &str,
    action: &str,
    changes: Changes,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, actor, ip, entity, entity_id, action, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        actor.user_id,
        actor.stored_label(),
        actor.ip,
        entity,
        entity_id,
        action,
        serde_json::Value::Object(changes.0)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Why the audit log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("{0}")]
    BadQuery(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Reads the audit log; cheap to clone.
#[derive(Clone)]
pub struct AuditService {
    pool: PgPool,
}

fn day(value: Option<&str>, name: &str) -> Result<Option<chrono::NaiveDate>, AuditError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        // Years PostgreSQL's dates hold, and nobody's audit log goes further.
        Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
            .map(Some)
            .ok_or_else(|| {
                AuditError::BadQuery(format!("The {name} date must look like 2026-12-31."))
            }),
    }
}

impl AuditService {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A page of the log, newest first unless asked otherwise, filtered by person,
    /// entity (and its id) and a range of days.
    pub async fn list(&self, actor: &Actor, query: &AuditQuery) -> Result<AuditPage, AuditError> {
        actor.require(Permission::ReadAudit)?;
        let from = day(query.from.as_deref(), "from")?;
        let to = day(query.to.as_deref(), "to")?;
        let page = query.page.clamp(1, 10_000);
        let per = i64::from(domain::staff::AUDIT_PER_PAGE);
        let entity = query
            .entity
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let entity_id = query
            .entity_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if [entity, entity_id]
            .into_iter()
            .flatten()
            .any(|t| t.len() > 200 || domain::text::has_control_chars(t))
        {
            return Err(AuditError::BadQuery(
                "Filter by an entity's name and id as the log shows them.".into(),
            ));
        }
        // One more row than a page tells whether there is a next one.
        let rows = sqlx::query!(
            r#"SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "at!",
                      a.actor_id, COALESCE(u.email, a.actor) AS "actor!", a.ip, a.entity,
                      a.entity_id, a.action, a.changes
               FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
               WHERE ($1::bigint IS NULL OR a.actor_id = $1)
                 AND ($2::text IS NULL OR a.entity = $2)
                 AND ($3::text IS NULL OR a.entity_id = $3)
                 AND ($4::date IS NULL OR a.at >= ($4::date)::timestamp AT TIME ZONE 'UTC')
                 AND ($5::date IS NULL OR a.at < ($5::date + 1)::timestamp AT TIME ZONE 'UTC')
               ORDER BY CASE WHEN $6 THEN a.id END ASC, a.id DESC
               LIMIT $7 OFFSET $8"#,
            query.actor,
            entity,
            entity_id,
            from,
            to,
            query.oldest_first,
            per + 1,
            (i64::from(page) - 1) * per
        )
        .fetch_all(&self.pool)
        .await?;
        let has_next = rows.len() as i64 > per;
        let entries = rows
            .into_iter()
            .take(per as usize)
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                actor_id: r.actor_id,
                ip: r.ip,
                entity: r.entity,
                entity_id: r.entity_id,
                action: r.action,
                changes: field_changes(&r.changes),
            })
            .collect();
        let people = sqlx::query!(
            r#"SELECT p.id AS "id!", COALESCE(u.email, 'staff #' || p.id) AS "actor!"
               FROM (SELECT DISTINCT actor_id AS id FROM audit_log WHERE actor_id IS NOT NULL) p
               LEFT JOIN users u ON u.id = p.id ORDER BY 2"#
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| (r.id, r.actor))
        .collect();
        Ok(AuditPage {
            entries,
            page,
            has_next,
            people,
        })
    }
}

/// The stored changes as the screen shows them: each value as JSON text (strings bare).
fn field_changes(changes: &serde_json::Value) -> Vec<FieldChange> {
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    changes
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(field, change)| FieldChange {
                    field: field.clone(),
                    before: text(change.get("before")),
                    after: text(change.get("after")),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_kept_and_read_back() {
        let changes = Changes::new()
            .field("role", "catalog", "orders")
            .field("name", "Ann", "Ann")
            .set("email", "ann@example.com");
        let stored = serde_json::Value::Object(changes.0);
        let mut read = field_changes(&stored);
        read.sort_by(|a, b| a.field.cmp(&b.field));
        assert_eq!(
            read,
            [
                FieldChange {
                    field: "email".into(),
                    before: String::new(),
                    after: "ann@example.com".into()
                },
                FieldChange {
                    field: "role".into(),
                    before: "catalog".into(),
                    after: "orders".into()
                },
            ]
        );
    }

    #[test]
    fn the_command_line_may_everything_and_staff_what_their_role_may() {
        assert!(Actor::command_line()
            .require(Permission::ManageStaff)
            .is_ok());
        let catalog = Actor::staff(3, "cat@example.com", Role::Catalog, "127.0.0.1");
        assert!(catalog.require(Permission::Catalog).is_ok());
        assert_eq!(
            catalog.require(Permission::ReadAudit),
            Err(Refused(Permission::ReadAudit))
        );
    }
}
