//! Auditor grants: which cases an auditor may read, until when. A grant names one case, or a
//! period (the cases whose events fall in it); it covers nothing once it expires or is revoked.
//! Made and revoked with their audit records; every read through a grant is audited by the
//! server (`auditor.view`).

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::AuditAction;

use crate::{By, Error, Result, Store, WriteTx};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Grant {
    pub id: String,
    pub auditor: String,
    /// The one case it covers, or none when it covers a period.
    pub case_id: Option<String>,
    /// The period whose cases it covers (cases with events in it).
    pub from_at: Option<String>,
    pub to_at: Option<String>,
    pub expires_at: String,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: String,
    pub revoked_at: Option<String>,
}

fn grant_from(row: &AnyRow) -> Result<Grant> {
    Ok(Grant {
        id: row.try_get("id")?,
        auditor: row.try_get("auditor")?,
        case_id: row.try_get("case_id")?,
        from_at: row.try_get("from_at")?,
        to_at: row.try_get("to_at")?,
        expires_at: row.try_get("expires_at")?,
        reason: row.try_get("reason")?,
        granted_by: row.try_get("granted_by")?,
        granted_at: row.try_get("granted_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Grant {
    /// Whether it is in force at `now` (a stored time).
    pub fn live(&self, now: &str) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_str() > now
    }

    /// Whether it covers a case with events from `first_seen` to `last_seen`.
    pub fn covers(&self, case: &str, first_seen: &str, last_seen: &str) -> bool {
        match (&self.case_id, &self.from_at, &self.to_at) {
            (Some(id), _, _) => id == case,
            (None, Some(from), Some(to)) => last_seen >= from.as_str() && first_seen <= to.as_str(),
            _ => false,
        }
    }
}

impl WriteTx<'_> {
    pub async fn create_grant(&mut self, grant: &Grant, by: &By) -> Result<()> {
        if grant.case_id.is_none() && (grant.from_at.is_none() || grant.to_at.is_none()) {
            return Err(Error::Conflict("a grant names a case, or a period with its start and end".into()));
        }
        sqlx::query(
            "INSERT INTO auditor_grants (id, auditor, case_id, from_at, to_at, expires_at, reason, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&grant.id)
        .bind(&grant.auditor)
        .bind(&grant.case_id)
        .bind(&grant.from_at)
        .bind(&grant.to_at)
        .bind(&grant.expires_at)
        .bind(&grant.reason)
        .bind(&grant.granted_by)
        .bind(&grant.granted_at)
        .execute(&mut *self.tx)
        .await?;
        self.audit(by.entry_for(
            AuditAction::GrantCreate,
            format!("grant:{}", grant.id),
            json!({"auditor": grant.auditor, "case": grant.case_id, "from": grant.from_at, "to": grant.to_at,
                   "expires_at": grant.expires_at, "reason": grant.reason}),
        ))
        .await?;
        Ok(())
    }

    /// Revokes a grant in force; `false` when there is none of that id in force.
    pub async fn revoke_grant(&mut self, id: &str, at: &str, by: &By) -> Result<bool> {
        let changed =
            sqlx::query("UPDATE auditor_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        self.audit(by.entry_for(AuditAction::GrantRevoke, format!("grant:{id}"), json!({}))).await?;
        Ok(true)
    }

    /// Records that an auditor read `what` of `target` (`case:<id>`, `grants` for the list of
    /// granted cases, `reports` for the scorecard and compliance report).
    pub async fn audit_auditor_view(&mut self, target: &str, what: &str, by: &By) -> Result<()> {
        self.audit(by.entry_for(AuditAction::AuditorView, target.to_owned(), json!({"read": what}))).await?;
        Ok(())
    }
}

impl Store {
    /// Every grant, newest first.
    pub async fn grants(&self) -> Result<Vec<Grant>> {
        let rows = sqlx::query("SELECT * FROM auditor_grants ORDER BY granted_at DESC, id")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(grant_from).collect()
    }

    /// The auditor's grants in force at `now` (a stored time).
    pub async fn live_grants(&self, auditor: &str, now: &str) -> Result<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT * FROM auditor_grants WHERE auditor = $1 AND expires_at > $2 AND revoked_at IS NULL ORDER BY granted_at",
        )
        .bind(auditor)
        .bind(now)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(grant_from).collect()
    }
}
