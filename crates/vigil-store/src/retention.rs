//! Retention: raw events older than a limit, or beyond a total size, are deleted oldest first.
//! Alerts, cases, evidence and the audit trail are kept; the purge itself is audited.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

use crate::By;
use crate::{Result, Store, time};
use vigil_model::AuditAction;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Delete events received more than this many days ago.
    pub max_age_days: Option<u32>,
    /// Keep at most this many bytes of events (OCSF plus raw), deleting the oldest first.
    pub max_bytes: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Purged {
    pub events: u64,
}

impl Store {
    pub async fn apply_retention(&self, policy: &Retention, by: &By) -> Result<Purged> {
        let mut cutoff: Option<String> =
            policy.max_age_days.map(|days| time::stamp(Utc::now() - Duration::days(i64::from(days))));
        if let Some(max_bytes) = policy.max_bytes {
            // The newest events that fit in the budget stay; the first one that does not fit
            // sets the cutoff.
            let rows = sqlx::query("SELECT received_at, size FROM events ORDER BY received_at DESC, id DESC")
                .fetch_all(&self.reader)
                .await?;
            let mut total = 0i64;
            for row in rows {
                total += row.try_get::<i64, _>(1)?;
                if total > max_bytes {
                    let at: String = row.try_get(0)?;
                    // Everything received at or before this instant goes.
                    let size_cutoff = format!("{at}\u{1}");
                    cutoff = Some(cutoff.map_or(size_cutoff.clone(), |c| c.max(size_cutoff)));
                    break;
                }
            }
        }
        let Some(cutoff) = cutoff else {
            return Ok(Purged::default());
        };
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM events WHERE received_at < $1")
            .bind(&cutoff)
            .execute(&mut *tx.tx)
            .await?;
        let events = done.rows_affected();
        if events > 0 {
            tx.audit(by.entry_for(
                AuditAction::RetentionPurge,
                "events".to_owned(),
                json!({"events": events, "received_before": cutoff.trim_end_matches('\u{1}'), "policy": policy}),
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(Purged { events })
    }
}
