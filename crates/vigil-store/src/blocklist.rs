//! Vigil's blocklist: indicators response actions added, served to firewalls as a feed. An
//! entry is never deleted; taking it off stamps it, so the feed's history stays evidence.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::CaseId;

use crate::{Result, Store, WriteTx};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BlockEntry {
    /// The idempotency key of the run that added it.
    pub id: String,
    pub indicator: String,
    /// The entity kind of the indicator (`ip`, `domain`, …).
    pub kind: String,
    pub case_id: Option<CaseId>,
    pub reason: String,
    pub added_at: String,
    pub expires_at: String,
    pub removed_at: Option<String>,
}

fn entry_from(row: &AnyRow) -> Result<BlockEntry> {
    Ok(BlockEntry {
        id: row.try_get("id")?,
        indicator: row.try_get("indicator")?,
        kind: row.try_get("kind")?,
        case_id: row.try_get::<Option<String>, _>("case_id")?.map(CaseId::from),
        reason: row.try_get("reason")?,
        added_at: row.try_get("added_at")?,
        expires_at: row.try_get("expires_at")?,
        removed_at: row.try_get("removed_at")?,
    })
}

impl WriteTx<'_> {
    /// Adds an entry; `false` when one with its id is there (added before by the same run).
    pub async fn block(&mut self, entry: &BlockEntry) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO blocklist (id, indicator, kind, case_id, reason, added_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&entry.id)
        .bind(&entry.indicator)
        .bind(&entry.kind)
        .bind(entry.case_id.as_ref().map(CaseId::as_str))
        .bind(&entry.reason)
        .bind(&entry.added_at)
        .bind(&entry.expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes an entry off the feed; `false` when it was already off.
    pub async fn unblock(&mut self, id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE blocklist SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL")
            .bind(self.store.clock.stamp())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    pub async fn block_entry(&self, id: &str) -> Result<Option<BlockEntry>> {
        let row = sqlx::query("SELECT * FROM blocklist WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(entry_from).transpose()
    }

    /// What the feed serves now: entries not taken off and not expired, oldest first.
    pub async fn blocklist_live(&self) -> Result<Vec<BlockEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM blocklist WHERE removed_at IS NULL AND expires_at > $1 ORDER BY added_at, id",
        )
        .bind(self.clock.stamp())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(entry_from).collect()
    }
}
