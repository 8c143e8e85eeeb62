//! Staff: the list, invitations by e-mail (a one-time link), role changes and removal.
//! Each is checked against the actor's role here, not only by the screens, and recorded
//! in the audit log in its own transaction.

use super::{
    password, security_event, token_hash, AuthError, AuthService, AuthenticatedUser, UserRow,
};
use crate::audit::{self, Actor, Changes};
use crate::limits::network_of;
use crate::notifications::templates;
use domain::staff::{InviteView, PendingInvite, Permission, StaffMember, StaffScreen};
use domain::{Email, FieldError, Role};

/// How long an invitation's link works.
const INVITE_DAYS: i64 = 7;

fn staff_role(role: &str) -> Result<Role, AuthError> {
    Role::parse(role)
        .filter(|r| r.is_staff())
        .ok_or_else(|| FieldError::new("role", "Choose one of the staff roles.").into())
}

impl AuthService {
    /// Staff and open invitations, for the staff screen (owners only).
    pub async fn staff_screen(&self, actor: &Actor) -> Result<StaffScreen, AuthError> {
        actor.require(Permission::ManageStaff)?;
        let staff = sqlx::query!(
            r#"SELECT u.id, u.email, u.name, u.role,
                      to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS "since!",
                      EXISTS (SELECT 1 FROM staff_two_factor t
                              WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL) AS "two_factor!"
               FROM users u WHERE u.role <> 'customer' ORDER BY u.email"#
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| StaffMember {
            id: r.id,
            email: r.email,
            name: r.name,
            role: Role::parse(&r.role).unwrap_or(Role::Customer),
            two_factor: r.two_factor,
            since: r.since,
        })
        .collect();
        let invites = sqlx::query!(
            r#"SELECT id, email, role,
                      to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "expires!"
               FROM staff_invites
               WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
               ORDER BY id DESC"#
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| PendingInvite {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::Support),
            expires: r.expires,
        })
        .collect();
        Ok(StaffScreen {
            staff,
            invites,
            me: actor.user_id.unwrap_or_default(),
        })
    }

    /// Invites `email` to join the staff as `role`: the link goes out through the event
    /// log (sent once, retried), and the invitation is audited with it.
    pub async fn invite_staff(
        &self,
        actor: &Actor,
        email: &str,
        role: &str,
    ) -> Result<i64, AuthError> {
        actor.require(Permission::ManageStaff)?;
        let email = Email::parse(email)?;
        let role = staff_role(role)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<AuthError>(&mut tx, Permission::ManageStaff)
            .await?;
        let current =
            sqlx::query_scalar!("SELECT role FROM users WHERE email = $1", email.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if current.is_some_and(|r| r != "customer") {
            return Err(FieldError::new(
                "email",
                "This person is already on the staff: change their role in the list instead.",
            )
            .into());
        }
        // A new invitation replaces any open one for the address.
        sqlx::query!(
            "UPDATE staff_invites SET revoked_at = now()
             WHERE email = $1 AND used_at IS NULL AND revoked_at IS NULL",
            email.as_str()
        )
        .execute(&mut *tx)
        .await?;
        let id = sqlx::query_scalar!(
            "INSERT INTO staff_invites (email, role, invited_by, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(days => $4)) RETURNING id",
            email.as_str(),
            role.as_str(),
            actor.user_id,
            INVITE_DAYS as i32
        )
        .fetch_one(&mut *tx)
        .await?;
        security_event(
            &mut tx,
            "staff.invited",
            serde_json::json!({ "invite_id": id }),
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            "staff_invite",
            &id.to_string(),
            "invited",
            // The address is on the invitation itself; the log, which nothing can erase,
            // keeps no one's e-mail.
            Changes::new().personal("email").set("role", role.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Withdraws an open invitation.
    pub async fn revoke_invite(&self, actor: &Actor, invite_id: i64) -> Result<(), AuthError> {
        actor.require(Permission::ManageStaff)?;
        let mut tx = self.pool.begin().await?;
        actor
            .confirm::<AuthError>(&mut tx, Permission::ManageStaff)
            .await?;
        sqlx::query_scalar!(
            "UPDATE staff_invites SET revoked_at = now()
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING id",
            invite_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::NotFound)?;
        audit::record(
            &mut tx,
            actor,
            "staff_invite",
            &invite_id.to_string(),
            "revoked",
            Changes::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The e-mail of a `staff.invited` event: a link whose token is made from the event's
    /// invitation (a redelivery carries the same link). `None` once it is used or revoked.
    pub async fn invite_email(
        &self,
        payload: &serde_json::Value,
    ) -> Result<Option<crate::notifications::OutgoingEmail>, AuthError> {
        let Some(id) = payload.get("invite_id").and_then(serde_json::Value::as_i64) else {
            return Ok(None);
        };
        let token = self.signer.sign("staff-invite", &id.to_string());
        let row = sqlx::query!(
            "UPDATE staff_invites SET token_hash = $2
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
             RETURNING email, role",
            id,
            token_hash(&token)
        )
        .fetch_optional(&self.pool)
        .await?;
        let link = format!("{}/staff-invite?token={token}", self.public_url);
        Ok(row.map(|r| {
            let role = Role::parse(&r.role).unwrap_or(Role::Support);
            templates::staff_invite(
                &self.shop_name,
                &r.email,
                role.label(),
                &link,
                INVITE_DAYS as u64,
            )
        }))
    }

    /// What an invitation's link opens: for whom, which role, and whether the address
    /// has an account already.
    pub async fn check_invite(&self, token: &str) -> Result<InviteView, AuthError> {
        let row = sqlx::query!(
            r#"SELECT i.email, i.role, EXISTS (SELECT 1 FROM users u WHERE u.email = i.email) AS "has_account!"
               FROM staff_invites i JOIN users inviter ON inviter.id = i.invited_by
               WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL
                 AND i.expires_at > now() AND inviter.role = 'owner'"#,
            token_hash(token.trim())
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AuthError::InviteLink)?;
        Ok(InviteView {
            email: row.email,
            role: Role::parse(&row.role).unwrap_or(Role::Support),
            has_account: row.has_account,
        })
    }

    /// Accepts an invitation, once: an existing account of the address proves itself with
    /// its password and gets the role; otherwise a new account is made with `name` and
    /// `password`. Returns the account, to be signed in (two-factor set-up comes next).
    pub async fn accept_invite(
        &self,
        client_ip: &str,
        token: &str,
        name: &str,
        password_given: &str,
    ) -> Result<AuthenticatedUser, AuthError> {
        self.limiter
            .hit(
                &format!("invite:net:{}", network_of(client_ip)),
                self.rate(self.settings.sign_in_per_ip),
            )
            .await?;
        let invite = self.check_invite(token).await?;
        let existing = sqlx::query!(
            "SELECT id, password_hash FROM users WHERE email = $1",
            invite.email
        )
        .fetch_optional(&self.pool)
        .await?;
        let new_hash = match &existing {
            Some(user) => {
                if password_given.is_empty() {
                    return Err(
                        FieldError::new("password", "Enter the password of your account.").into(),
                    );
                }
                let ok = password::verify(
                    password_given.to_owned(),
                    password::PasswordHashString::from_db(user.password_hash.clone()),
                )
                .await?;
                if !ok {
                    return Err(FieldError::new(
                        "password",
                        "That is not the password of the account with this e-mail address.",
                    )
                    .into());
                }
                None
            }
            None => {
                password::check_new_password(password_given, &invite.email)?;
                Some(password::hash(password_given.to_owned()).await?)
            }
        };
        let name = domain::account::parse_name(name)?;
        let mut tx = self.pool.begin().await?;
        // Only while whoever invited is still an owner: their row is held until this
        // commits, so removing them (which withdraws their invitations) waits or wins.
        let inviter = sqlx::query_scalar!(
            "SELECT invited_by FROM staff_invites WHERE token_hash = $1",
            token_hash(token.trim())
        )
        .fetch_optional(&mut *tx)
        .await?
        .flatten()
        .ok_or(AuthError::InviteLink)?;
        sqlx::query_scalar!(
            "SELECT id FROM users WHERE id = $1 AND role = 'owner' FOR SHARE",
            inviter
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::InviteLink)?;
        let claimed = sqlx::query!(
            "UPDATE staff_invites SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
             RETURNING id, email, role",
            token_hash(token.trim())
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::InviteLink)?;
        let (row, before) = match new_hash {
            Some(hash) => {
                let row = sqlx::query_as!(
                    UserRow,
                    "INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4)
                     RETURNING id, email, name, role, auth_epoch",
                    claimed.email,
                    name,
                    hash.as_str(),
                    claimed.role
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(super::email_taken_or)?;
                (row, None)
            }
            None => {
                let current = sqlx::query!(
                    r#"SELECT role, disabled_at IS NOT NULL AS "disabled!" FROM users
                       WHERE email = $1 FOR UPDATE"#,
                    claimed.email
                )
                .fetch_one(&mut *tx)
                .await?;
                // An account that became staff meanwhile keeps its role (an old invitation
                // never demotes anyone); a disabled one stays out.
                if current.disabled {
                    return Err(AuthError::Disabled);
                }
                if current.role != "customer" {
                    return Err(FieldError::new(
                        "password",
                        "This account is on the staff already; the invitation is not needed.",
                    )
                    .into());
                }
                let before = current.role;
                let row = sqlx::query_as!(
                    UserRow,
                    "UPDATE users SET role = $2, updated_at = now() WHERE email = $1
                     RETURNING id, email, name, role, auth_epoch",
                    claimed.email,
                    claimed.role
                )
                .fetch_one(&mut *tx)
                .await?;
                (row, Some(before))
            }
        };
        let me = Actor::staff(
            row.id,
            &row.email,
            Role::parse(&row.role).unwrap_or(Role::Customer),
            client_ip,
        );
        audit::record(
            &mut tx,
            &me,
            "staff",
            &row.id.to_string(),
            "joined",
            Changes::new()
                .field("role", before, &row.role)
                .set("invite", claimed.id),
        )
        .await?;
        tx.commit().await?;
        Ok(AuthenticatedUser {
            user: row.summary(),
            auth_epoch: row.auth_epoch,
        })
    }

    /// Gives a member of staff another staff role.
    pub async fn change_staff_role(
        &self,
        actor: &Actor,
        user_id: i64,
        role: &str,
    ) -> Result<(), AuthError> {
        actor.require(Permission::ManageStaff)?;
        let role = staff_role(role)?;
        let mut tx = self.pool.begin().await?;
        let (before, owners) = self.lock_staff(&mut tx, actor, user_id).await?;
        if before == Role::Owner && role != Role::Owner {
            Self::keep_an_owner(&owners, user_id)?;
            Self::revoke_invites_of(&mut tx, user_id).await?;
        }
        sqlx::query!(
            "UPDATE users SET role = $2, updated_at = now() WHERE id = $1",
            user_id,
            role.as_str()
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "staff",
            &user_id.to_string(),
            "role_changed",
            Changes::new().field("role", before.as_str(), role.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a member of staff: the account stays a customer's, every session of it is
    /// signed out (its epoch moves on) and its two-factor set-up is deleted.
    pub async fn remove_staff(&self, actor: &Actor, user_id: i64) -> Result<(), AuthError> {
        actor.require(Permission::ManageStaff)?;
        if actor.user_id == Some(user_id) {
            return Err(AuthError::Field(FieldError::new(
                "user",
                "You cannot remove yourself; another owner can.",
            )));
        }
        let mut tx = self.pool.begin().await?;
        let (before, owners) = self.lock_staff(&mut tx, actor, user_id).await?;
        if before == Role::Owner {
            Self::keep_an_owner(&owners, user_id)?;
        }
        Self::revoke_invites_of(&mut tx, user_id).await?;
        sqlx::query!(
            "UPDATE users SET role = 'customer', auth_epoch = auth_epoch + 1, updated_at = now()
             WHERE id = $1",
            user_id
        )
        .execute(&mut *tx)
        .await?;
        Self::forget_two_factor(&mut tx, user_id).await?;
        audit::record(
            &mut tx,
            actor,
            "staff",
            &user_id.to_string(),
            "removed",
            Changes::new().field("role", before.as_str(), "customer"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// For a member of staff who lost their authenticator and recovery codes: their
    /// two-factor set-up is deleted and every session of theirs ends; they set it up again
    /// at their next sign-in.
    pub async fn reset_two_factor(&self, actor: &Actor, user_id: i64) -> Result<(), AuthError> {
        actor.require(Permission::ManageStaff)?;
        let mut tx = self.pool.begin().await?;
        self.lock_staff(&mut tx, actor, user_id).await?;
        Self::forget_two_factor(&mut tx, user_id).await?;
        sqlx::query!(
            "UPDATE users SET auth_epoch = auth_epoch + 1, updated_at = now() WHERE id = $1",
            user_id
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            "staff",
            &user_id.to_string(),
            "two_factor_reset",
            Changes::new().field("two_factor", true, false),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Locks the owners and `user_id` together, in id order (so two owners acting on each
    /// other wait, never deadlock), and checks under those locks that the actor may still
    /// manage staff. Returns the target's role (`NotFound` for a customer) and the owners.
    async fn lock_staff(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        actor: &Actor,
        user_id: i64,
    ) -> Result<(Role, Vec<i64>), AuthError> {
        let rows = sqlx::query!(
            "SELECT id, role FROM users WHERE role = 'owner' OR id = $1 ORDER BY id FOR UPDATE",
            user_id
        )
        .fetch_all(&mut **tx)
        .await?;
        let owners: Vec<i64> = rows
            .iter()
            .filter(|r| r.role == "owner")
            .map(|r| r.id)
            .collect();
        // Only owners manage staff: the actor's row is among these when they still are one.
        if let Some(me) = actor.user_id {
            if !owners.contains(&me) {
                return Err(domain::staff::Refused(Permission::ManageStaff).into());
            }
        }
        let role = rows
            .iter()
            .find(|r| r.id == user_id)
            .and_then(|r| Role::parse(&r.role))
            .filter(|r| r.is_staff())
            .ok_or(AuthError::NotFound)?;
        Ok((role, owners))
    }

    /// Refuses to leave the shop without an owner.
    fn keep_an_owner(owners: &[i64], leaving: i64) -> Result<(), AuthError> {
        if owners.iter().all(|id| *id == leaving) {
            return Err(AuthError::Field(FieldError::new(
                "role",
                "The shop needs at least one owner: make someone else an owner first.",
            )));
        }
        Ok(())
    }

    /// Deletes a member's two-factor secret and recovery codes.
    async fn forget_two_factor(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        user_id: i64,
    ) -> Result<(), AuthError> {
        sqlx::query!("DELETE FROM staff_two_factor WHERE user_id = $1", user_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query!(
            "DELETE FROM staff_recovery_codes WHERE user_id = $1",
            user_id
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// An owner stepping down or removed: the invitations they sent stop working (each
    /// would grant a role in their name).
    async fn revoke_invites_of(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        user_id: i64,
    ) -> Result<(), AuthError> {
        sqlx::query!(
            "UPDATE staff_invites SET revoked_at = now()
             WHERE invited_by = $1 AND used_at IS NULL AND revoked_at IS NULL",
            user_id
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Makes `email` an owner (the command line's `create-admin`): promotes an existing
    /// account, or creates one with `password`. Returns true when the account was created.
    pub async fn create_or_promote_owner(
        &self,
        email: &str,
        password: Option<&str>,
    ) -> Result<bool, AuthError> {
        let email = Email::parse(email)?;
        let actor = Actor::command_line();
        let mut tx = self.pool.begin().await?;
        let before = sqlx::query!(
            "SELECT id, role FROM users WHERE email = $1 FOR UPDATE",
            email.as_str()
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(user) = before {
            sqlx::query!(
                "UPDATE users SET role = 'owner', updated_at = now() WHERE id = $1",
                user.id
            )
            .execute(&mut *tx)
            .await?;
            audit::record(
                &mut tx,
                &actor,
                "staff",
                &user.id.to_string(),
                "role_changed",
                Changes::new().field("role", user.role, "owner"),
            )
            .await?;
            tx.commit().await?;
            return Ok(false);
        }
        let password = password.ok_or_else(|| {
            AuthError::Field(FieldError::new(
                "password",
                "No account has this e-mail yet: give a password to create it.",
            ))
        })?;
        password::check_new_password(password, email.as_str())?;
        let hash = password::hash(password.to_owned()).await?;
        let id = sqlx::query_scalar!(
            "INSERT INTO users (email, name, password_hash, role) VALUES ($1, '', $2, 'owner')
             RETURNING id",
            email.as_str(),
            hash.as_str()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(super::email_taken_or)?;
        audit::record(
            &mut tx,
            &actor,
            "staff",
            &id.to_string(),
            "created",
            Changes::new().personal("email").set("role", "owner"),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
