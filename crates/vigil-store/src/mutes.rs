//! Rules muted for one entity for a time: the engine drops a muted rule's alerts on that
//! entity until the mute ends or is lifted. A mute is never deleted; lifting it stamps it.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::CaseId;

use crate::{Result, Store, WriteTx};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RuleMute {
    /// The idempotency key of the run that muted it.
    pub id: String,
    pub rule_id: String,
    /// The entity, as `kind key`.
    pub entity: String,
    pub case_id: Option<CaseId>,
    pub reason: String,
    pub muted_at: String,
    pub until: String,
    pub unmuted_at: Option<String>,
}

fn mute_from(row: &AnyRow) -> Result<RuleMute> {
    Ok(RuleMute {
        id: row.try_get("id")?,
        rule_id: row.try_get("rule_id")?,
        entity: row.try_get("entity")?,
        case_id: row.try_get::<Option<String>, _>("case_id")?.map(CaseId::from),
        reason: row.try_get("reason")?,
        muted_at: row.try_get("muted_at")?,
        until: row.try_get("until")?,
        unmuted_at: row.try_get("unmuted_at")?,
    })
}

impl WriteTx<'_> {
    /// Mutes; `false` when a mute with its id exists (muted before by the same run).
    pub async fn mute_rule(&mut self, mute: &RuleMute) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO rule_mutes (id, rule_id, entity, case_id, reason, muted_at, until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&mute.id)
        .bind(&mute.rule_id)
        .bind(&mute.entity)
        .bind(mute.case_id.as_ref().map(CaseId::as_str))
        .bind(&mute.reason)
        .bind(&mute.muted_at)
        .bind(&mute.until)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lifts a mute; `false` when it was lifted already.
    pub async fn unmute_rule(&mut self, id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE rule_mutes SET unmuted_at = $1 WHERE id = $2 AND unmuted_at IS NULL")
            .bind(self.store.clock.stamp())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// The mutes in force now.
    pub async fn live_mutes(&self) -> Result<Vec<RuleMute>> {
        let rows = sqlx::query(
            "SELECT * FROM rule_mutes WHERE unmuted_at IS NULL AND until > $1 ORDER BY muted_at, id",
        )
        .bind(self.clock.stamp())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(mute_from).collect()
    }

    pub async fn rule_mute(&self, id: &str) -> Result<Option<RuleMute>> {
        let row = sqlx::query("SELECT * FROM rule_mutes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(mute_from).transpose()
    }
}
