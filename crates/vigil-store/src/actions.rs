//! Response action requests and their approvals. A request is stored with the policy's
//! decision and the hash approvals bind to; each approval or rejection is one row per person,
//! kept even when the policy does not count it (the trail says why). Every write is audited in
//! its own transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::{ActionRequest, AuditAction, CaseId, Verdict};

use crate::{By, Error, Result, Store, WriteTx};

/// Where a request stands; the stored text is its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    AwaitingApproval,
    Approved,
    Rejected,
    Expired,
    Forbidden,
    /// New evidence arrived on its case before it ran: the recommendation is drafted again.
    Superseded,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 6] = [
        ActionStatus::AwaitingApproval,
        ActionStatus::Approved,
        ActionStatus::Rejected,
        ActionStatus::Expired,
        ActionStatus::Forbidden,
        ActionStatus::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::AwaitingApproval => "awaiting_approval",
            ActionStatus::Approved => "approved",
            ActionStatus::Rejected => "rejected",
            ActionStatus::Expired => "expired",
            ActionStatus::Forbidden => "forbidden",
            ActionStatus::Superseded => "superseded",
        }
    }

    pub fn parse(name: &str) -> Option<ActionStatus> {
        ActionStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether it can still change (a finished request is never reopened: ask again).
    pub fn open(self) -> bool {
        matches!(self, ActionStatus::AwaitingApproval | ActionStatus::Approved)
    }
}

/// A stored request.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ActionRequestRow {
    pub id: String,
    pub request: ActionRequest,
    pub request_sha256: String,
    pub policy_sha256: String,
    /// The policy's decision when it was asked: tier, rule, why.
    pub decision: serde_json::Value,
    /// Exactly what running it will change, as shown to approvers; the executor refuses to run
    /// a request whose plan no longer reads the same.
    pub plan: serde_json::Value,
    pub plan_sha256: String,
    pub status: ActionStatus,
    pub requested_at: String,
    pub expires_at: String,
    pub updated_at: String,
}

/// One person's answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ApprovalRow {
    pub request_id: String,
    pub approver: String,
    pub verdict: Verdict,
    pub rationale: String,
    /// The request hash the person was shown and approved.
    pub request_sha256: String,
    pub at_ms: i64,
}

fn approval_from(row: &AnyRow) -> Result<ApprovalRow> {
    let verdict: String = row.try_get("verdict")?;
    Ok(ApprovalRow {
        request_id: row.try_get("request_id")?,
        approver: row.try_get("approver")?,
        verdict: Verdict::parse(&verdict)
            .ok_or_else(|| Error::Corrupt { column: "action_approvals.verdict", reason: verdict.clone() })?,
        rationale: row.try_get("rationale")?,
        request_sha256: row.try_get("request_sha256")?,
        at_ms: row.try_get("at_ms")?,
    })
}

fn request_from(row: &AnyRow) -> Result<ActionRequestRow> {
    let request: String = row.try_get("request")?;
    let decision: String = row.try_get("decision")?;
    let status: String = row.try_get("status")?;
    let plan: String = row.try_get("plan")?;
    Ok(ActionRequestRow {
        id: row.try_get("id")?,
        request: serde_json::from_str(&request)
            .map_err(|e| Error::Corrupt { column: "action_requests.request", reason: e.to_string() })?,
        request_sha256: row.try_get("request_sha256")?,
        policy_sha256: row.try_get("policy_sha256")?,
        decision: serde_json::from_str(&decision)
            .map_err(|e| Error::Corrupt { column: "action_requests.decision", reason: e.to_string() })?,
        plan: serde_json::from_str(&plan)
            .map_err(|e| Error::Corrupt { column: "action_requests.plan", reason: e.to_string() })?,
        plan_sha256: row.try_get("plan_sha256")?,
        status: ActionStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt { column: "action_requests.status", reason: status.clone() })?,
        requested_at: row.try_get("requested_at")?,
        expires_at: row.try_get("expires_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl WriteTx<'_> {
    /// Stores a new request with its decision and status, audited as proposed; returns it as
    /// stored (asked now when `requested_at` is empty).
    pub async fn propose_action(&mut self, row: &ActionRequestRow, by: &By) -> Result<ActionRequestRow> {
        let now =
            if row.requested_at.is_empty() { self.store.clock.stamp() } else { row.requested_at.clone() };
        let request = serde_json::to_string(&row.request)?;
        let inserted = sqlx::query(
            "INSERT INTO action_requests (id, case_id, action, request, request_sha256, policy_sha256, \
             decision, status, requested_by, requested_at, expires_at, updated_at, plan, plan_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $12, $13) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&row.id)
        .bind(row.request.case.as_ref().map(CaseId::as_str))
        .bind(&row.request.action)
        .bind(&request)
        .bind(&row.request_sha256)
        .bind(&row.policy_sha256)
        .bind(row.decision.to_string())
        .bind(row.status.as_str())
        .bind(row.request.requested_by.to_string())
        .bind(&now)
        .bind(&row.expires_at)
        .bind(row.plan.to_string())
        .bind(&row.plan_sha256)
        .execute(&mut *self.tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(Error::Conflict(format!("action request {} exists", row.id)));
        }
        self.audit(by.entry_for(
            AuditAction::ActionPropose,
            format!("action:{}", row.id),
            json!({
                "request": row.request,
                "request_sha256": row.request_sha256,
                "policy_sha256": row.policy_sha256,
                "decision": row.decision,
                "plan_sha256": row.plan_sha256,
                "status": row.status,
            }),
        ))
        .await?;
        Ok(ActionRequestRow { requested_at: now.clone(), updated_at: now, ..row.clone() })
    }

    /// The status of the request with this id, if one is stored.
    pub async fn action_status(&mut self, id: &str) -> Result<Option<ActionStatus>> {
        let row = sqlx::query("SELECT status FROM action_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let status: String = row.try_get(0)?;
        ActionStatus::parse(&status)
            .map(Some)
            .ok_or_else(|| Error::Corrupt { column: "action_requests.status", reason: status.clone() })
    }

    /// Records one person's answer; a second answer by the same person is a conflict.
    pub async fn record_approval(
        &mut self,
        approval: &ApprovalRow,
        counted: bool,
        note: &str,
        by: &By,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO action_approvals (request_id, approver, verdict, rationale, request_sha256, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id, approver) DO NOTHING",
        )
        .bind(&approval.request_id)
        .bind(&approval.approver)
        .bind(approval.verdict.as_str())
        .bind(&approval.rationale)
        .bind(&approval.request_sha256)
        .bind(approval.at_ms)
        .execute(&mut *self.tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(Error::Conflict(format!("{} has already answered this request", approval.approver)));
        }
        self.audit(by.entry_for(
            approval.verdict.audit_action(),
            format!("action:{}", approval.request_id),
            json!({
                "rationale": approval.rationale,
                "request_sha256": approval.request_sha256,
                "counted": counted,
                "note": note,
            }),
        ))
        .await?;
        Ok(())
    }

    /// Takes the request for this transaction if it still awaits answers: the row is locked
    /// until commit (PostgreSQL) or the writer is the only one (SQLite), so two answers racing
    /// cannot both decide it. `false`: it no longer awaits answers.
    pub async fn claim_awaiting(&mut self, id: &str) -> Result<bool> {
        let claimed =
            sqlx::query("UPDATE action_requests SET updated_at = updated_at WHERE id = $1 AND status = $2")
                .bind(id)
                .bind(ActionStatus::AwaitingApproval.as_str())
                .execute(&mut *self.tx)
                .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Supersedes the case's requests that still wait for answers or for their run: new
    /// evidence arrived, so what was asked on the old evidence is asked again, not run. Returns
    /// how many.
    pub async fn supersede_case_requests(&mut self, case: &CaseId, why: &str, by: &By) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT id FROM action_requests r WHERE case_id = $1 AND status IN ($2, $3) \
             AND NOT EXISTS (SELECT 1 FROM action_runs u WHERE u.request_id = r.id AND u.status <> 'withdrawn')",
        )
        .bind(case.as_str())
        .bind(ActionStatus::AwaitingApproval.as_str())
        .bind(ActionStatus::Approved.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        let ids: Vec<String> =
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<std::result::Result<_, _>>()?;
        for id in &ids {
            self.set_action_status(id, ActionStatus::Superseded, why, by).await?;
        }
        Ok(ids.len())
    }

    /// Moves an open request to `status` under a new decision of the policy (the policy in force
    /// at execution raised the bar, or forbids it now), audited with both.
    pub async fn redecide_action(
        &mut self,
        id: &str,
        status: ActionStatus,
        decision: &serde_json::Value,
        why: &str,
        by: &By,
    ) -> Result<()> {
        self.set_action_status(id, status, why, by).await?;
        sqlx::query("UPDATE action_requests SET decision = $1 WHERE id = $2")
            .bind(decision.to_string())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(by.entry_for(
            AuditAction::ActionStatus,
            format!("action:{id}"),
            json!({"decision": decision, "why": why}),
        ))
        .await?;
        Ok(())
    }

    /// Moves a request to `status`, with why; a finished request does not move.
    pub async fn set_action_status(
        &mut self,
        id: &str,
        status: ActionStatus,
        why: &str,
        by: &By,
    ) -> Result<()> {
        let row = sqlx::query("SELECT status FROM action_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| Error::NotFound { kind: "action request", id: id.to_owned() })?;
        let was: String = row.try_get("status")?;
        let was = ActionStatus::parse(&was)
            .ok_or_else(|| Error::Corrupt { column: "action_requests.status", reason: was.clone() })?;
        if was == status {
            return Ok(());
        }
        if !was.open() {
            return Err(Error::Conflict(format!("the request is {}; it does not change now", was.as_str())));
        }
        sqlx::query("UPDATE action_requests SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(self.store.clock.stamp())
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(by.entry_for(
            AuditAction::ActionStatus,
            format!("action:{id}"),
            json!({"from": was, "to": status, "why": why}),
        ))
        .await?;
        Ok(())
    }
}

impl Store {
    pub async fn action_request(&self, id: &str) -> Result<Option<ActionRequestRow>> {
        let row = sqlx::query("SELECT * FROM action_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(request_from).transpose()
    }

    /// Requests, newest first, in `status` when given.
    pub async fn action_requests(
        &self,
        status: Option<ActionStatus>,
        limit: i64,
    ) -> Result<Vec<ActionRequestRow>> {
        let rows =
            match status {
                Some(status) => sqlx::query(
                    "SELECT * FROM action_requests WHERE status = $1 ORDER BY requested_at DESC, id LIMIT $2",
                )
                .bind(status.as_str())
                .bind(limit)
                .fetch_all(&self.reader)
                .await?,
                None => {
                    sqlx::query("SELECT * FROM action_requests ORDER BY requested_at DESC, id LIMIT $1")
                        .bind(limit)
                        .fetch_all(&self.reader)
                        .await?
                }
            };
        rows.iter().map(request_from).collect()
    }

    /// How many requests wait for approval, by case.
    pub async fn awaiting_by_case(&self) -> Result<std::collections::HashMap<CaseId, i64>> {
        let rows = sqlx::query(
            "SELECT case_id, COUNT(*) FROM action_requests WHERE status = $1 AND case_id IS NOT NULL GROUP BY case_id",
        )
        .bind(ActionStatus::AwaitingApproval.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|row| Ok((CaseId::from(row.try_get::<String, _>(0)?), row.try_get(1)?))).collect()
    }

    /// A case's requests, oldest first.
    pub async fn case_action_requests(&self, case: &CaseId) -> Result<Vec<ActionRequestRow>> {
        let rows = sqlx::query("SELECT * FROM action_requests WHERE case_id = $1 ORDER BY requested_at, id")
            .bind(case.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(request_from).collect()
    }

    /// The requests `approver` has answered, of those in `status`.
    pub async fn answered_by(
        &self,
        approver: &str,
        status: ActionStatus,
    ) -> Result<std::collections::HashSet<String>> {
        let rows = sqlx::query(
            "SELECT a.request_id FROM action_approvals a JOIN action_requests r ON r.id = a.request_id \
             WHERE a.approver = $1 AND r.status = $2",
        )
        .bind(approver)
        .bind(status.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|row| Ok(row.try_get::<String, _>(0)?)).collect()
    }

    /// The answers given a request, in the order they were given.
    pub async fn approvals(&self, request_id: &str) -> Result<Vec<ApprovalRow>> {
        let rows =
            sqlx::query("SELECT * FROM action_approvals WHERE request_id = $1 ORDER BY at_ms, approver")
                .bind(request_id)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(approval_from).collect()
    }

    /// Every answer given to the requests of a case, oldest first (one query for the case).
    pub async fn case_approvals(&self, case: &CaseId) -> Result<Vec<ApprovalRow>> {
        let rows = sqlx::query(
            "SELECT a.* FROM action_approvals a JOIN action_requests r ON r.id = a.request_id \
             WHERE r.case_id = $1 ORDER BY a.at_ms, a.approver",
        )
        .bind(case.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(approval_from).collect()
    }
}
