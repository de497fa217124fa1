//! The executor's outbox: one run per approved request (a unique index makes a second one
//! impossible however many callers ask at once), claimed under a lease so a run cut off by a
//! crash is taken up again, and a run log of every step, append-only. Each write is audited in
//! its own transaction; the effects ledger is how Vigil's own actions stay idempotent.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::{AuditAction, CaseId};

use crate::{By, Error, Result, Store, WriteTx};

/// Where a run stands; the stored text is its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for the executor (or for its next attempt, after a transient failure).
    Queued,
    /// Taken by an executor whose lease has not run out.
    Running,
    /// Executed and verified.
    Succeeded,
    /// Ended without its effect; `code` and `reason` say why, the log says how far it got.
    Failed,
    /// Sent back before it acted (the policy raised the bar): the request can run again once
    /// approved again.
    Withdrawn,
    /// Succeeded, then undone by a rollback request that ran and verified.
    RolledBack,
}

impl RunStatus {
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Withdrawn,
        RunStatus::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Withdrawn => "withdrawn",
            RunStatus::RolledBack => "rolled_back",
        }
    }

    pub fn parse(name: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn finished(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// A stored run.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ActionRun {
    pub id: String,
    pub request_id: String,
    pub case_id: Option<CaseId>,
    pub status: RunStatus,
    /// How many times an executor has taken it up (more than one: a retry, or a restart).
    pub attempts: i64,
    pub not_before_ms: i64,
    pub lease_until_ms: i64,
    /// No attempt starts after this; a run still failing transiently then fails.
    pub deadline_ms: i64,
    /// The target's state before the run, as the precheck captured it (what a rollback restores).
    pub prior: Option<Value>,
    pub outcome: Option<Value>,
    /// A stable code when it failed (`verify_failed`, `target_gone`, `plan_changed`, …).
    pub code: Option<String>,
    pub reason: Option<String>,
    /// The run log as sealed into the evidence vault when the run finished.
    pub evidence_sha256: Option<String>,
    pub queued_by: String,
    pub queued_at: String,
    pub finished_at: Option<String>,
}

/// One step of a run, as the run log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RunStep {
    pub seq: i64,
    /// `authorize`, `plan`, `precheck`, `execute`, `verify`, `rollback`, `rollback_verify`.
    pub step: String,
    /// `started`, `ok`, `failed`, `retry`, `skipped`.
    pub outcome: String,
    pub attempt: i64,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub detail: Value,
}

fn json_column(row: &AnyRow, column: &'static str) -> Result<Option<Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Corrupt { column, reason: e.to_string() }))
        .transpose()
}

fn run_from(row: &AnyRow) -> Result<ActionRun> {
    let status: String = row.try_get("status")?;
    Ok(ActionRun {
        id: row.try_get("id")?,
        request_id: row.try_get("request_id")?,
        case_id: row.try_get::<Option<String>, _>("case_id")?.map(CaseId::from),
        status: RunStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt { column: "action_runs.status", reason: status.clone() })?,
        attempts: row.try_get("attempts")?,
        not_before_ms: row.try_get("not_before_ms")?,
        lease_until_ms: row.try_get("lease_until_ms")?,
        deadline_ms: row.try_get("deadline_ms")?,
        prior: json_column(row, "prior")?,
        outcome: json_column(row, "outcome")?,
        code: row.try_get("code")?,
        reason: row.try_get("reason")?,
        evidence_sha256: row.try_get("evidence_sha256")?,
        queued_by: row.try_get("queued_by")?,
        queued_at: row.try_get("queued_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

const LIVE: &str = "SELECT * FROM action_runs WHERE request_id = $1 AND status <> 'withdrawn'";

impl WriteTx<'_> {
    /// Queues the request's run unless it has a live one; returns the live run and whether it
    /// is new (only a new one is audited). Any number of callers at once make one run.
    pub async fn queue_run(
        &mut self,
        request_id: &str,
        case: Option<&CaseId>,
        deadline_ms: i64,
        by: &By,
    ) -> Result<(ActionRun, bool)> {
        let generation: i64 = sqlx::query("SELECT COUNT(*) FROM action_runs WHERE request_id = $1")
            .bind(request_id)
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?;
        let id = format!("run_{request_id}_{}", generation + 1);
        let inserted = sqlx::query(
            "INSERT INTO action_runs (id, request_id, case_id, status, not_before_ms, deadline_ms, \
             queued_by, queued_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(request_id)
        .bind(case.map(CaseId::as_str))
        .bind(self.store.clock.now_ms())
        .bind(deadline_ms)
        .bind(by.actor.to_string())
        .bind(self.store.clock.stamp())
        .execute(&mut *self.tx)
        .await?;
        let new = inserted.rows_affected() == 1;
        let run = sqlx::query(LIVE).bind(request_id).fetch_optional(&mut *self.tx).await?;
        let run = run.as_ref().map(run_from).transpose()?.ok_or_else(|| {
            Error::Conflict(format!("request {request_id} has a run id {id} another transaction holds"))
        })?;
        if new {
            self.audit(by.entry_for(
                AuditAction::ActionRun,
                format!("action:{request_id}"),
                json!({"run": run.id, "status": "queued", "deadline_ms": deadline_ms}),
            ))
            .await?;
        }
        Ok((run, new))
    }

    /// Appends a step to a run's log, audited with it.
    pub async fn log_step(&mut self, run: &ActionRun, step: &RunStep, by: &By) -> Result<i64> {
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM action_run_log WHERE run_id = $1")
            .bind(&run.id)
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?;
        sqlx::query(
            "INSERT INTO action_run_log (run_id, seq, step, outcome, attempt, started_ms, ended_ms, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&run.id)
        .bind(seq)
        .bind(&step.step)
        .bind(&step.outcome)
        .bind(step.attempt)
        .bind(step.started_ms)
        .bind(step.ended_ms)
        .bind(step.detail.to_string())
        .execute(&mut *self.tx)
        .await?;
        self.audit(by.entry_for(
            AuditAction::ActionRun,
            format!("action:{}", run.request_id),
            json!({"run": run.id, "step": step.step, "outcome": step.outcome, "attempt": step.attempt,
                   "ms": step.ended_ms - step.started_ms, "detail": step.detail}),
        ))
        .await?;
        Ok(seq)
    }

    /// Keeps the target's state before the run (what a rollback restores).
    pub async fn set_run_prior(&mut self, run_id: &str, prior: &Value) -> Result<()> {
        sqlx::query("UPDATE action_runs SET prior = $1 WHERE id = $2")
            .bind(prior.to_string())
            .bind(run_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Extends `holder`'s lease on a running run to `until_ms`. [`crate::Error::Conflict`] when
    /// another executor has taken the run over (this one's lease ran out): the caller stops.
    pub async fn renew_run_lease(&mut self, run_id: &str, holder: &str, until_ms: i64) -> Result<()> {
        let renewed = sqlx::query(
            "UPDATE action_runs SET lease_until_ms = $1 WHERE id = $2 AND status = 'running' AND lease_holder = $3",
        )
        .bind(until_ms)
        .bind(run_id)
        .bind(holder)
        .execute(&mut *self.tx)
        .await?;
        if renewed.rows_affected() == 1 {
            return Ok(());
        }
        let row = sqlx::query("SELECT status, lease_holder FROM action_runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        match row {
            Some(row) if row.try_get::<String, _>(0)? == "running" => Err(crate::Error::Conflict(format!(
                "run {run_id} was taken over by executor {:?}",
                row.try_get::<String, _>(1)?
            ))),
            _ => Ok(()),
        }
    }

    /// Puts a run back in the queue for another attempt no sooner than `not_before_ms`.
    pub async fn retry_run(&mut self, run_id: &str, not_before_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE action_runs SET status = 'queued', not_before_ms = $1, lease_until_ms = 0 \
             WHERE id = $2 AND status = 'running'",
        )
        .bind(not_before_ms)
        .bind(run_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Ends a run; a finished run does not end twice (`false`), except that a succeeded run
    /// may become rolled back.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &mut self,
        run: &ActionRun,
        status: RunStatus,
        code: Option<&str>,
        reason: &str,
        outcome: &Value,
        evidence_sha256: Option<&str>,
        by: &By,
    ) -> Result<bool> {
        // Only a succeeded run is rolled back; only an unfinished one finishes otherwise.
        let sql = if status == RunStatus::RolledBack {
            "UPDATE action_runs SET status = $1, code = $2, reason = $3, outcome = $4, \
             evidence_sha256 = COALESCE($5, evidence_sha256), finished_at = $6, lease_until_ms = 0 \
             WHERE id = $7 AND status = 'succeeded'"
        } else {
            "UPDATE action_runs SET status = $1, code = $2, reason = $3, outcome = $4, \
             evidence_sha256 = COALESCE($5, evidence_sha256), finished_at = $6, lease_until_ms = 0 \
             WHERE id = $7 AND status IN ('queued', 'running')"
        };
        let done = sqlx::query(sql)
            .bind(status.as_str())
            .bind(code)
            .bind(reason)
            .bind(outcome.to_string())
            .bind(evidence_sha256)
            .bind(self.store.clock.stamp())
            .bind(&run.id)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.audit(by.entry_for(
            AuditAction::ActionRun,
            format!("action:{}", run.request_id),
            json!({"run": run.id, "status": status, "code": code, "reason": reason,
                   "evidence_sha256": evidence_sha256}),
        ))
        .await?;
        Ok(true)
    }

    /// Records what an action changed under its idempotency key; `false` when the key already
    /// has an effect (the action ran before: it must not change anything twice).
    pub async fn record_effect(&mut self, key: &str, action: &str, detail: &Value) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO action_effects (key, action, detail, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(action)
        .bind(detail.to_string())
        .bind(self.store.clock.stamp())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// How many runs ended failed, by case: actions the queue shows as blocked.
    pub async fn failed_runs_by_case(&self) -> Result<std::collections::HashMap<CaseId, i64>> {
        let rows = sqlx::query(
            "SELECT case_id, COUNT(*) FROM action_runs WHERE status = $1 AND case_id IS NOT NULL GROUP BY case_id",
        )
        .bind(RunStatus::Failed.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|row| Ok((CaseId::from(row.try_get::<String, _>(0)?), row.try_get(1)?))).collect()
    }

    /// Takes the next due run for `lease_ms`: a queued one whose time has come, or a running one
    /// whose executor's lease ran out (it crashed or hung). The conditional update lets one
    /// taker win when several try at once.
    pub async fn claim_run(&self, lease_ms: i64, holder: &str) -> Result<Option<ActionRun>> {
        let now = self.clock.now_ms();
        for _ in 0..8 {
            let candidate = sqlx::query(
                "SELECT id FROM action_runs WHERE (status = 'queued' AND not_before_ms <= $1) \
                 OR (status = 'running' AND lease_until_ms < $1) ORDER BY not_before_ms, id LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&self.reader)
            .await?;
            let Some(candidate) = candidate else { return Ok(None) };
            let id: String = candidate.try_get(0)?;
            let mut tx = self.write().await?;
            let taken = sqlx::query(
                "UPDATE action_runs SET status = 'running', attempts = attempts + 1, lease_until_ms = $1, \
                 lease_holder = $4 WHERE id = $2 AND ((status = 'queued' AND not_before_ms <= $3) \
                 OR (status = 'running' AND lease_until_ms < $3))",
            )
            .bind(now.saturating_add(lease_ms))
            .bind(&id)
            .bind(now)
            .bind(holder)
            .execute(&mut *tx.tx)
            .await?;
            if taken.rows_affected() == 1 {
                let row = sqlx::query("SELECT * FROM action_runs WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *tx.tx)
                    .await?;
                let run = run_from(&row)?;
                tx.commit().await?;
                return Ok(Some(run));
            }
        }
        Ok(None)
    }

    /// Ends the leases `holder` held on running runs: at its start, the process before it under
    /// the same name is gone, and what it was in is recovered at once rather than when its lease
    /// would have run out. Returns how many. Other executors' leases (other cluster nodes) are
    /// left alone: they end by running out.
    pub async fn release_run_leases(&self, holder: &str) -> Result<u64> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE action_runs SET lease_until_ms = 0 WHERE status = 'running' AND lease_holder = $1",
        )
        .bind(holder)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// When the next queued run falls due, if one is waiting.
    pub async fn next_run_due_ms(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN status = 'queued' THEN not_before_ms ELSE lease_until_ms END) \
             FROM action_runs WHERE status IN ('queued', 'running')",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// The request's live run (the latest, if every earlier one was withdrawn).
    pub async fn run_of(&self, request_id: &str) -> Result<Option<ActionRun>> {
        let row = sqlx::query(LIVE).bind(request_id).fetch_optional(&self.reader).await?;
        row.as_ref().map(run_from).transpose()
    }

    pub async fn run(&self, run_id: &str) -> Result<Option<ActionRun>> {
        let row = sqlx::query("SELECT * FROM action_runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(run_from).transpose()
    }

    /// Every run of the request, withdrawn ones included, oldest first.
    pub async fn runs_of(&self, request_id: &str) -> Result<Vec<ActionRun>> {
        let rows = sqlx::query("SELECT * FROM action_runs WHERE request_id = $1 ORDER BY queued_at, id")
            .bind(request_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(run_from).collect()
    }

    /// The case's runs, oldest first.
    pub async fn case_runs(&self, case: &CaseId) -> Result<Vec<ActionRun>> {
        let rows = sqlx::query("SELECT * FROM action_runs WHERE case_id = $1 ORDER BY queued_at, id")
            .bind(case.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(run_from).collect()
    }

    /// A run's log, in order.
    pub async fn run_log(&self, run_id: &str) -> Result<Vec<RunStep>> {
        let rows = sqlx::query("SELECT * FROM action_run_log WHERE run_id = $1 ORDER BY seq")
            .bind(run_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RunStep {
                    seq: row.try_get("seq")?,
                    step: row.try_get("step")?,
                    outcome: row.try_get("outcome")?,
                    attempt: row.try_get("attempt")?,
                    started_ms: row.try_get("started_ms")?,
                    ended_ms: row.try_get("ended_ms")?,
                    detail: json_column(row, "detail")?.unwrap_or(Value::Null),
                })
            })
            .collect()
    }

    /// What the action run under `key` changed, if it ran.
    pub async fn effect(&self, key: &str) -> Result<Option<Value>> {
        let row = sqlx::query("SELECT detail FROM action_effects WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(|r| json_column(r, "detail")).transpose().map(Option::flatten)
    }
}
