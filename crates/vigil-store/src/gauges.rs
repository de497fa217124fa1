//! What `/metrics` reports, counted from the tables at the moment it is asked (no counter kept
//! on the side that could drift from the store): events stored, dead letters, how far the
//! pipeline is behind, cases by state, action requests and runs by status, SLA breaches by
//! clock.

use sqlx::Row;

use crate::{Result, Store};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    pub events: i64,
    /// The newest event's arrival number.
    pub newest_seq: i64,
    /// How far the pipeline has read (its watermark).
    pub pipeline_seq: i64,
    pub dead_letters: i64,
    pub cases_by_state: Vec<(String, i64)>,
    pub requests_by_status: Vec<(String, i64)>,
    pub runs_by_status: Vec<(String, i64)>,
    pub sla_breaches_by_clock: Vec<(String, i64)>,
}

impl Store {
    async fn grouped(&self, sql: &'static str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(sql).fetch_all(&self.reader).await?;
        rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
    }

    pub async fn gauges(&self) -> Result<Gauges> {
        let row =
            sqlx::query("SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM events")
                .fetch_one(&self.reader)
                .await?;
        let dead: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM dead_letters")
            .fetch_one(&self.reader)
            .await?
            .try_get(0)?;
        Ok(Gauges {
            events: row.try_get(0)?,
            newest_seq: row.try_get(1)?,
            pipeline_seq: self.watermark("pipeline").await?,
            dead_letters: dead,
            cases_by_state: self
                .grouped("SELECT state, CAST(COUNT(*) AS BIGINT) FROM cases GROUP BY state ORDER BY state")
                .await?,
            requests_by_status: self
                .grouped("SELECT status, CAST(COUNT(*) AS BIGINT) FROM action_requests GROUP BY status ORDER BY status")
                .await?,
            runs_by_status: self
                .grouped("SELECT status, CAST(COUNT(*) AS BIGINT) FROM action_runs GROUP BY status ORDER BY status")
                .await?,
            sla_breaches_by_clock: self
                .grouped("SELECT clock, CAST(COUNT(*) AS BIGINT) FROM sla_breaches GROUP BY clock ORDER BY clock")
                .await?,
        })
    }
}
