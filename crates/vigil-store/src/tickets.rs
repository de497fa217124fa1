//! Tickets: the work a case needs, with an owner, an SLA and the playbook; Vigil's own, or
//! opened in the site's ticketing system with the id it gave.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::CaseId;

use crate::{Result, Store, WriteTx};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Ticket {
    /// The idempotency key of the run that opened it.
    pub id: String,
    pub case_id: CaseId,
    pub title: String,
    pub owner: String,
    pub sla_due_at: String,
    /// The recommended playbook, as `id@version`.
    pub playbook: Option<String>,
    /// What to do and how to reproduce what was seen, as text.
    pub body: String,
    pub created_at: String,
    /// The id the site's ticketing system gave it, when it was opened there.
    pub external_id: Option<String>,
    /// The host of that system.
    pub external_host: Option<String>,
}

fn ticket_from(row: &AnyRow) -> Result<Ticket> {
    Ok(Ticket {
        id: row.try_get("id")?,
        case_id: CaseId::from(row.try_get::<String, _>("case_id")?),
        title: row.try_get("title")?,
        owner: row.try_get("owner")?,
        sla_due_at: row.try_get("sla_due_at")?,
        playbook: row.try_get("playbook")?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
        external_id: row.try_get("external_id")?,
        external_host: row.try_get("external_host")?,
    })
}

impl WriteTx<'_> {
    /// Opens a ticket; `false` when one with its id exists (opened before by the same run).
    pub async fn open_ticket(&mut self, ticket: &Ticket) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO tickets (id, case_id, title, owner, sla_due_at, playbook, body, created_at, \
             external_id, external_host) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&ticket.id)
        .bind(ticket.case_id.as_str())
        .bind(&ticket.title)
        .bind(&ticket.owner)
        .bind(&ticket.sla_due_at)
        .bind(ticket.playbook.as_deref())
        .bind(&ticket.body)
        .bind(&ticket.created_at)
        .bind(ticket.external_id.as_deref())
        .bind(ticket.external_host.as_deref())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    pub async fn ticket(&self, id: &str) -> Result<Option<Ticket>> {
        let row =
            sqlx::query("SELECT * FROM tickets WHERE id = $1").bind(id).fetch_optional(&self.reader).await?;
        row.as_ref().map(ticket_from).transpose()
    }

    pub async fn case_tickets(&self, case: &CaseId) -> Result<Vec<Ticket>> {
        let rows = sqlx::query("SELECT * FROM tickets WHERE case_id = $1 ORDER BY created_at, id")
            .bind(case.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(ticket_from).collect()
    }
}
