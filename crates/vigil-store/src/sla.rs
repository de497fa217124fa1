//! SLA breaches: one row per case and clock, written in the transaction that audits it, and
//! the escalation it led to.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::{AuditAction, CaseId};

use crate::{By, Result, Store, WriteTx};

/// A clock of a case that ran past its target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SlaBreach {
    pub case_id: String,
    /// `own`, `acknowledge`, `recommend`, `decide`, `contain` or `close`.
    pub clock: String,
    /// The case's OCSF severity when the clock ran out.
    pub severity: i64,
    pub due_at: String,
    pub breached_at: String,
    /// How it was escalated: the notification request's id, or why it was not.
    pub escalation: Option<String>,
}

fn breach_from(row: &AnyRow) -> Result<SlaBreach> {
    Ok(SlaBreach {
        case_id: row.try_get("case_id")?,
        clock: row.try_get("clock")?,
        severity: row.try_get("severity")?,
        due_at: row.try_get("due_at")?,
        breached_at: row.try_get("breached_at")?,
        escalation: row.try_get("escalation")?,
    })
}

impl WriteTx<'_> {
    /// Records that the case's `clock` ran out, audited; `false` when it was recorded before.
    pub async fn record_sla_breach(&mut self, breach: &SlaBreach, by: &By) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO sla_breaches (case_id, clock, severity, due_at, breached_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (case_id, clock) DO NOTHING",
        )
        .bind(&breach.case_id)
        .bind(&breach.clock)
        .bind(breach.severity)
        .bind(&breach.due_at)
        .bind(&breach.breached_at)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        self.audit(by.entry_for(
            AuditAction::CaseSlaBreach,
            format!("case:{}", breach.case_id),
            json!({"clock": breach.clock, "severity": breach.severity, "due_at": breach.due_at,
                   "breached_at": breach.breached_at}),
        ))
        .await?;
        Ok(true)
    }

    /// Notes how a breach was escalated (a request id, or why it was not).
    pub async fn set_sla_escalation(&mut self, case: &str, clock: &str, escalation: &str) -> Result<()> {
        sqlx::query("UPDATE sla_breaches SET escalation = $1 WHERE case_id = $2 AND clock = $3")
            .bind(escalation)
            .bind(case)
            .bind(clock)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The case's breaches, in the order they happened.
    pub async fn sla_breaches(&self, case: &CaseId) -> Result<Vec<SlaBreach>> {
        let rows = sqlx::query("SELECT * FROM sla_breaches WHERE case_id = $1 ORDER BY breached_at, clock")
            .bind(case.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(breach_from).collect()
    }

    /// The clocks breached on each of `ids`, for a page of cases.
    pub async fn sla_breached_clocks(
        &self,
        ids: &[CaseId],
    ) -> Result<std::collections::HashMap<CaseId, Vec<String>>> {
        let mut found: std::collections::HashMap<CaseId, Vec<String>> = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            // Only placeholders are built into the text; every value is bound.
            let sql = format!(
                "SELECT case_id, clock FROM sla_breaches WHERE case_id IN ({}) ORDER BY breached_at, clock",
                marks.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&self.reader).await? {
                found
                    .entry(CaseId::new(row.try_get::<String, _>("case_id")?))
                    .or_default()
                    .push(row.try_get("clock")?);
            }
        }
        Ok(found)
    }

    /// Every breach that happened in `[from, to)`.
    pub async fn sla_breaches_between(&self, from: &str, to: &str) -> Result<Vec<SlaBreach>> {
        let rows = sqlx::query(
            "SELECT * FROM sla_breaches WHERE breached_at >= $1 AND breached_at < $2 ORDER BY breached_at, case_id, clock",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(breach_from).collect()
    }

    /// Breaches not escalated yet (none tried, or a crash between the breach and its
    /// escalation), oldest first.
    pub async fn sla_breaches_unescalated(&self) -> Result<Vec<SlaBreach>> {
        let rows =
            sqlx::query("SELECT * FROM sla_breaches WHERE escalation IS NULL ORDER BY breached_at LIMIT 500")
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(breach_from).collect()
    }

    /// Open cases, and cases changed since `since` (a stored time): those whose clocks may
    /// have moved.
    pub async fn cases_for_sla(&self, since: &str) -> Result<Vec<CaseId>> {
        let closed = ["resolved", "false_positive", "benign", "duplicate", "learned"];
        let rows = sqlx::query(
            "SELECT id FROM cases WHERE state NOT IN ($1, $2, $3, $4, $5) OR updated_at >= $6 ORDER BY id",
        )
        .bind(closed[0])
        .bind(closed[1])
        .bind(closed[2])
        .bind(closed[3])
        .bind(closed[4])
        .bind(since)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| Ok(CaseId::new(r.try_get::<String, _>("id")?))).collect()
    }
}
