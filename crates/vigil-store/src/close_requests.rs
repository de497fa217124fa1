//! Closings waiting for a second person: one request a case, bound to the number of moves the
//! case had made when it was asked for, so new alerts (which move the case) make it stale.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use vigil_model::{AuditAction, CaseId, CaseState, UserId};

use crate::{By, Error, Result, Store, WriteTx};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CloseRequest {
    pub case_id: CaseId,
    pub to: CaseState,
    pub reason: String,
    pub requested_by: UserId,
    /// How many moves the case had made when it was asked for.
    pub bound_moves: i64,
    pub at: String,
}

impl WriteTx<'_> {
    /// Records (or replaces) the request to close `case_id` as `to`, audited.
    pub async fn request_close(&mut self, request: &CloseRequest, by: &By) -> Result<()> {
        sqlx::query("DELETE FROM close_requests WHERE case_id = $1")
            .bind(request.case_id.as_str())
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO close_requests (case_id, to_state, reason, requested_by, bound_moves, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(request.case_id.as_str())
        .bind(request.to.as_str())
        .bind(&request.reason)
        .bind(request.requested_by.as_str())
        .bind(request.bound_moves)
        .bind(self.store.clock.stamp())
        .execute(&mut *self.tx)
        .await?;
        self.audit(by.entry_for(
            AuditAction::CaseCloseRequested,
            format!("case:{}", request.case_id),
            json!({"to": request.to, "reason": request.reason, "waits_for": "a second person with the lead role"}),
        ))
        .await?;
        Ok(())
    }

    /// Takes the waiting request away (confirmed, or stale).
    pub async fn clear_close_request(&mut self, case_id: &CaseId) -> Result<()> {
        sqlx::query("DELETE FROM close_requests WHERE case_id = $1")
            .bind(case_id.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Store {
    pub async fn close_request(&self, case_id: &CaseId) -> Result<Option<CloseRequest>> {
        let row = sqlx::query("SELECT * FROM close_requests WHERE case_id = $1")
            .bind(case_id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let to: String = row.try_get("to_state")?;
        Ok(Some(CloseRequest {
            case_id: case_id.clone(),
            to: to.parse().map_err(|reason| Error::Corrupt { column: "close_requests.to_state", reason })?,
            reason: row.try_get("reason")?,
            requested_by: UserId::new(row.try_get::<String, _>("requested_by")?),
            bound_moves: row.try_get("bound_moves")?,
            at: row.try_get("at")?,
        }))
    }
}
