//! Browser sessions, keyed by the SHA-256 of the cookie's secret.

use sqlx::Row;
use vigil_model::UserId;

use crate::{Result, Store, WriteTx};

#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub username: UserId,
    pub csrf: String,
    pub expires_at: String,
}

impl WriteTx<'_> {
    pub async fn create_session(
        &mut self,
        hash: &str,
        username: &UserId,
        csrf: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (hash, username, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(username.as_str())
        .bind(csrf)
        .bind(self.store.clock.stamp())
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Ends every session of `username`; returns how many were live.
    pub async fn end_sessions_of(&mut self, username: &UserId) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE username = $1")
            .bind(username.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// Ends a session, and every expired one with it.
    pub async fn delete_session(&mut self, hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE hash = $1 OR expires_at < $2")
            .bind(hash)
            .bind(self.store.clock.stamp())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Store {
    /// How many live sessions `username` has (begun no later than `begun_by`, when given).
    pub async fn live_sessions_of(&self, username: &UserId, begun_by: Option<&str>) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM sessions WHERE username = $1 AND expires_at > $2 AND created_at <= $3",
        )
        .bind(username.as_str())
        .bind(self.clock.stamp())
        .bind(begun_by.unwrap_or("9999"))
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// The live session with this hash; expired sessions are not returned.
    pub async fn session(&self, hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT username, csrf, expires_at FROM sessions WHERE hash = $1 AND expires_at > $2",
        )
        .bind(hash)
        .bind(self.clock.stamp())
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(SessionRow {
                username: UserId::new(row.try_get::<String, _>(0)?),
                csrf: row.try_get(1)?,
                expires_at: row.try_get(2)?,
            })
        })
        .transpose()
    }
}
