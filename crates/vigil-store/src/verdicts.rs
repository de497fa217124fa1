//! Analysts' verdicts on closed cases, by rule and entity: the history the built-in analyst
//! weighs. A case's rows are replaced in the transaction that changes its state, so they always
//! say what the case's latest human judgement was.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{By, Result, Store, WriteTx};
use vigil_model::{AuditAction, CaseId};

/// One rule of a judged case on one entity it named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VerdictRow {
    pub case_id: CaseId,
    pub rule_id: String,
    /// `kind key`: `user corp\svc-backup`.
    pub entity: String,
    /// `benign` or `malicious`.
    pub verdict: String,
    pub actor: String,
    pub at: String,
}

/// Filters for listing verdicts; `None` matches anything.
#[derive(Clone, Debug, Default)]
pub struct VerdictFilter {
    pub rule: Option<String>,
    /// `kind key`, exactly as stored.
    pub entity: Option<String>,
    pub case: Option<CaseId>,
    pub limit: i64,
}

const ALL: &str = "SELECT * FROM verdicts ORDER BY id";

fn verdict_from(row: &AnyRow) -> Result<VerdictRow> {
    Ok(VerdictRow {
        case_id: CaseId::new(row.try_get::<String, _>("case_id")?),
        rule_id: row.try_get("rule_id")?,
        entity: row.try_get("entity")?,
        verdict: row.try_get("verdict")?,
        actor: row.try_get("actor")?,
        at: row.try_get("at")?,
    })
}

impl WriteTx<'_> {
    /// Replaces what the case's verdict says: `Some((verdict, pairs))` with its (rule, entity)
    /// pairs, or `None` when the case is no longer judged (reopened, or closed as a duplicate).
    pub async fn set_case_verdict(
        &mut self,
        case_id: &CaseId,
        verdict: Option<(&str, &[(String, String)])>,
        by: &By,
    ) -> Result<()> {
        let removed = sqlx::query("DELETE FROM verdicts WHERE case_id = $1")
            .bind(case_id.as_str())
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        let at = self.store.clock.stamp();
        let (name, pairs) = verdict.unwrap_or(("none", &[]));
        for (rule, entity) in pairs {
            sqlx::query(
                "INSERT INTO verdicts (case_id, rule_id, entity, verdict, actor, at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(case_id.as_str())
            .bind(rule)
            .bind(entity)
            .bind(name)
            .bind(by.actor.to_string())
            .bind(&at)
            .execute(&mut *self.tx)
            .await?;
        }
        if removed > 0 || !pairs.is_empty() {
            self.audit(by.entry_for(
                AuditAction::CaseVerdict,
                format!("case:{case_id}"),
                json!({"verdict": name, "pairs": pairs.len(), "replaced": removed}),
            ))
            .await?;
        }
        Ok(())
    }
}

/// The verdicts of a data directory or `postgres://` database, read without changing it.
pub async fn verdicts_at(location: &str) -> Result<Vec<VerdictRow>> {
    let (pool, _) = crate::audit::export::open_read_only(location).await?;
    let rows = sqlx::query(ALL).fetch_all(&pool).await;
    pool.close().await;
    rows?.iter().map(verdict_from).collect()
}

/// The cases analysts judged in a data directory or `postgres://` database, read without
/// changing it: each case's verdict (`benign` or `malicious`) and its stored document.
pub async fn judged_cases_at(location: &str) -> Result<Vec<(String, serde_json::Value)>> {
    let (pool, _) = crate::audit::export::open_read_only(location).await?;
    let judged = judged_cases(&pool).await;
    pool.close().await;
    judged
}

async fn judged_cases(pool: &sqlx::AnyPool) -> Result<Vec<(String, serde_json::Value)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT v.case_id, v.verdict, c.body, c.state FROM verdicts v \
         JOIN cases c ON c.id = v.case_id ORDER BY v.case_id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = CaseId::new(row.try_get::<String, _>("case_id")?);
        let state: String = row.try_get("state")?;
        let state =
            state.parse().map_err(|reason| crate::Error::Corrupt { column: "cases.state", reason })?;
        let mut body: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>("body")?)?;
        let lifecycle = crate::cases::lifecycle_in(pool, state, &id).await?;
        crate::cases::with_lifecycle(&mut body, &lifecycle)?;
        out.push((row.try_get("verdict")?, body));
    }
    Ok(out)
}

impl Store {
    /// Every verdict row, oldest first.
    pub async fn verdicts(&self) -> Result<Vec<VerdictRow>> {
        let rows = sqlx::query(ALL).fetch_all(&self.reader).await?;
        rows.iter().map(verdict_from).collect()
    }

    /// Verdicts matching `filter`, newest first.
    pub async fn find_verdicts(&self, filter: &VerdictFilter) -> Result<Vec<VerdictRow>> {
        let rows = sqlx::query(
            "SELECT * FROM verdicts WHERE ($1 IS NULL OR rule_id = $1) AND ($2 IS NULL OR entity = $2) \
             AND ($3 IS NULL OR case_id = $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(filter.rule.as_deref())
        .bind(filter.entity.as_deref())
        .bind(filter.case.as_ref().map(CaseId::as_str))
        .bind(if filter.limit > 0 { filter.limit } else { 100 })
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(verdict_from).collect()
    }

    /// Changes whenever a verdict row is added or removed: (rows, highest id).
    pub async fn verdicts_version(&self) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(MAX(id), 0) AS BIGINT) AS top FROM verdicts",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok((row.try_get("n")?, row.try_get("top")?))
    }
}
