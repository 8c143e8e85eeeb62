//! The address book: each user's saved addresses, one of them the default for shipping.
//! Every query is scoped by the owner, so nobody reaches another person's address.

use super::{AuthError, AuthService};
use domain::{Address, AddressInput, FieldError};

/// More than this many saved addresses is refused with a message.
pub const MAX_ADDRESSES: i64 = 20;

impl AuthService {
    pub async fn addresses(&self, user_id: i64) -> Result<Vec<Address>, AuthError> {
        Ok(sqlx::query_as!(
            Address,
            "SELECT id, full_name, line1, line2, city, region, postal_code, country, phone, is_default
             FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, id",
            user_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn address(&self, user_id: i64, id: i64) -> Result<Address, AuthError> {
        sqlx::query_as!(
            Address,
            "SELECT id, full_name, line1, line2, city, region, postal_code, country, phone, is_default
             FROM addresses WHERE user_id = $1 AND id = $2",
            user_id,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AuthError::NotFound)
    }

    /// Adds an address; the first one becomes the default.
    pub async fn add_address(
        &self,
        user_id: i64,
        input: &AddressInput,
        make_default: bool,
    ) -> Result<Address, AuthError> {
        let a = input.validate().map_err(AuthError::Fields)?;
        let mut tx = self.pool.begin().await?;
        lock_owner(&mut tx, user_id).await?;
        let count = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM addresses WHERE user_id = $1"#,
            user_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if count >= MAX_ADDRESSES {
            return Err(AuthError::Field(FieldError::new(
                "address",
                format!(
                    "You can save up to {MAX_ADDRESSES} addresses. Delete one you no longer use first."
                ),
            )));
        }
        let default = make_default || count == 0;
        if default {
            clear_default(&mut tx, user_id, None).await?;
        }
        let id = sqlx::query_scalar!(
            "INSERT INTO addresses (user_id, full_name, line1, line2, city, region, postal_code, country, phone, is_default)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            user_id, a.full_name, a.line1, a.line2, a.city, a.region, a.postal_code, a.country, a.phone, default
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.address(user_id, id).await
    }

    /// Replaces an address's fields; `make_default` also makes it the default.
    pub async fn update_address(
        &self,
        user_id: i64,
        id: i64,
        input: &AddressInput,
        make_default: bool,
    ) -> Result<Address, AuthError> {
        let a = input.validate().map_err(AuthError::Fields)?;
        let mut tx = self.pool.begin().await?;
        lock_owner(&mut tx, user_id).await?;
        if make_default {
            clear_default(&mut tx, user_id, Some(id)).await?;
        }
        let updated = sqlx::query!(
            "UPDATE addresses SET full_name = $3, line1 = $4, line2 = $5, city = $6, region = $7,
                postal_code = $8, country = $9, phone = $10, is_default = is_default OR $11,
                updated_at = now()
             WHERE user_id = $1 AND id = $2",
            user_id,
            id,
            a.full_name,
            a.line1,
            a.line2,
            a.city,
            a.region,
            a.postal_code,
            a.country,
            a.phone,
            make_default
        )
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(AuthError::NotFound);
        }
        tx.commit().await?;
        self.address(user_id, id).await
    }

    /// Deletes an address. If it was the default, the most recently added remaining one
    /// becomes the default.
    pub async fn delete_address(&self, user_id: i64, id: i64) -> Result<(), AuthError> {
        let mut tx = self.pool.begin().await?;
        lock_owner(&mut tx, user_id).await?;
        let was_default = sqlx::query_scalar!(
            "DELETE FROM addresses WHERE user_id = $1 AND id = $2 RETURNING is_default",
            user_id,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::NotFound)?;
        if was_default {
            sqlx::query!(
                "UPDATE addresses SET is_default = true
                 WHERE id = (SELECT id FROM addresses WHERE user_id = $1 ORDER BY id DESC LIMIT 1)",
                user_id
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_default_address(&self, user_id: i64, id: i64) -> Result<(), AuthError> {
        let mut tx = self.pool.begin().await?;
        lock_owner(&mut tx, user_id).await?;
        clear_default(&mut tx, user_id, Some(id)).await?;
        let updated = sqlx::query!(
            "UPDATE addresses SET is_default = true WHERE user_id = $1 AND id = $2",
            user_id,
            id
        )
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(AuthError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// Locks the owner's row, so changes to one address book run one at a time: the count
/// limit and the single default hold however many tabs submit at once.
async fn lock_owner(tx: &mut Tx<'_>, user_id: i64) -> Result<(), AuthError> {
    sqlx::query_scalar!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(AuthError::NotFound)?;
    Ok(())
}

/// Clears the default flag on every address of the user except `keep`.
async fn clear_default(tx: &mut Tx<'_>, user_id: i64, keep: Option<i64>) -> Result<(), AuthError> {
    sqlx::query!(
        "UPDATE addresses SET is_default = false
         WHERE user_id = $1 AND is_default AND id IS DISTINCT FROM $2",
        user_id,
        keep
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
