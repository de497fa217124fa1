//! Local users and API tokens. The store keeps password hashes (computed by the server) and
//! token hashes, never a secret; every change is audited.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::By;
use crate::{Error, Result, Store, WriteTx};
use vigil_model::{AuditAction, Outcome, TokenId, UserId};

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct UserRow {
    pub name: UserId,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TokenRow {
    pub id: TokenId,
    #[serde(skip)]
    pub hash: String,
    pub owner: UserId,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    /// Who made the token (as the audit trail names them); `create_token` fills it in.
    pub created_by: String,
}

fn user_from(row: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        name: UserId::new(row.try_get::<String, _>("name")?),
        role: row.try_get("role")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row.try_get("locked_until")?,
    })
}

fn token_from(row: &AnyRow) -> Result<TokenRow> {
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRow {
        id: TokenId::new(row.try_get::<String, _>("id")?),
        hash: row.try_get("hash")?,
        owner: UserId::new(row.try_get::<String, _>("owner")?),
        scopes: scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        created_by: row.try_get("created_by")?,
    })
}

impl WriteTx<'_> {
    pub async fn create_user(
        &mut self,
        name: &UserId,
        role: &str,
        password_hash: &str,
        by: &By,
    ) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(role)
        .bind(password_hash)
        .bind(self.store.clock.stamp())
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict(format!("a user called {name:?} exists")));
        }
        self.audit(by.entry_for(AuditAction::UserCreate, format!("user:{name}"), json!({ "role": role })))
            .await?;
        Ok(())
    }

    /// Records a login attempt's outcome: a failure counts towards lockout (`lock_until` set
    /// once the limit is reached), a success clears the count.
    pub async fn record_login(
        &mut self,
        name: &UserId,
        succeeded: bool,
        lock_until: Option<&str>,
        by: &By,
    ) -> Result<()> {
        if succeeded {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = $1")
                .bind(name.as_str())
                .execute(&mut *self.tx)
                .await?;
        } else {
            sqlx::query(
                "UPDATE users SET failed_logins = failed_logins + 1, \
                 locked_until = COALESCE($2, locked_until) WHERE name = $1",
            )
            .bind(name.as_str())
            .bind(lock_until)
            .execute(&mut *self.tx)
            .await?;
        }
        let (outcome, detail) = if succeeded {
            (Outcome::Ok, json!({ "locked_until": lock_until }))
        } else {
            (Outcome::Refused, json!({ "reason": "bad credentials", "locked_until": lock_until }))
        };
        self.audit(by.entry(AuditAction::UserLogin, outcome, format!("user:{name}"), detail)).await?;
        Ok(())
    }

    pub async fn set_user_disabled(&mut self, name: &UserId, disabled: bool, by: &By) -> Result<()> {
        let done = sqlx::query("UPDATE users SET disabled = $2 WHERE name = $1")
            .bind(name.as_str())
            .bind(i64::from(disabled))
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound { kind: "user", id: name.to_string() });
        }
        let action = if disabled { AuditAction::UserDisable } else { AuditAction::UserEnable };
        self.audit(by.entry_for(action, format!("user:{name}"), json!({}))).await?;
        Ok(())
    }

    pub async fn set_user_role(&mut self, name: &UserId, role: &str, by: &By) -> Result<()> {
        let before = sqlx::query("SELECT role FROM users WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| Error::NotFound { kind: "user", id: name.to_string() })?;
        let before: String = before.try_get(0)?;
        sqlx::query("UPDATE users SET role = $2 WHERE name = $1")
            .bind(name.as_str())
            .bind(role)
            .execute(&mut *self.tx)
            .await?;
        self.audit(by.entry_for(
            AuditAction::UserRoleChange,
            format!("user:{name}"),
            json!({"from": before, "to": role}),
        ))
        .await?;
        Ok(())
    }

    /// Replaces a user's password hash (the hash is never audited, only the change).
    pub async fn set_password(&mut self, name: &UserId, password_hash: &str, by: &By) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE name = $1",
        )
        .bind(name.as_str())
        .bind(password_hash)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound { kind: "user", id: name.to_string() });
        }
        self.audit(by.entry_for(AuditAction::UserPasswordChange, format!("user:{name}"), json!({}))).await?;
        Ok(())
    }

    pub async fn create_token(&mut self, token: &TokenRow, by: &By) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (id, hash, owner, scopes, created_at, expires_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id.as_str())
        .bind(&token.hash)
        .bind(token.owner.as_str())
        .bind(token.scopes.join(" "))
        .bind(&token.created_at)
        .bind(&token.expires_at)
        .bind(by.actor.to_string())
        .execute(&mut *self.tx)
        .await?;
        self.audit(by.entry_for(
            AuditAction::TokenCreate,
            format!("token:{}", token.id),
            json!({
                "owner": token.owner,
                "scopes": token.scopes,
                "expires_at": token.expires_at,
                "for_another_user": by.actor.person() != Some(token.owner.as_str()),
            }),
        ))
        .await?;
        Ok(())
    }

    pub async fn revoke_token(&mut self, id: &TokenId, by: &By) -> Result<()> {
        let done = sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id.as_str())
            .bind(self.store.clock.stamp())
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound { kind: "live token", id: id.to_string() });
        }
        self.audit(by.entry_for(AuditAction::TokenRevoke, format!("token:{id}"), json!({}))).await?;
        Ok(())
    }
}

impl Store {
    pub async fn user(&self, name: &UserId) -> Result<Option<UserRow>> {
        let row = sqlx::query("SELECT * FROM users WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY name").fetch_all(&self.reader).await?;
        rows.iter().map(user_from).collect()
    }

    /// The token whose secret hashes to `hash`, whatever its state; the caller checks expiry
    /// and revocation so it can say which.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRow>> {
        let rows =
            sqlx::query("SELECT * FROM tokens ORDER BY created_at, id").fetch_all(&self.reader).await?;
        rows.iter().map(token_from).collect()
    }
}
