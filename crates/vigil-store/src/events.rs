//! Events (OCSF with the raw record kept) and dead letters. Events are keyed by their
//! content-derived id, so storing a retried batch again changes nothing.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::DeadLetter;

use crate::{Result, Store, WriteTx, time};

/// An event to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// `EventId` in hex.
    pub id: String,
    /// Where it came from: an ingest source name.
    pub source: String,
    pub format: String,
    pub class_uid: i64,
    /// Event time, as `time::stamp` writes it.
    pub time: String,
    /// The OCSF event as JSON text.
    pub ocsf: String,
    /// The record as Sigma rules read it, as JSON text (an array of views).
    pub views: String,
    pub raw: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StoredEvent {
    pub id: String,
    /// Arrival order.
    pub seq: i64,
    pub received_at: String,
    pub source: String,
    pub format: String,
    pub class_uid: i64,
    pub time: String,
    pub ocsf: serde_json::Value,
    #[serde(skip)]
    pub views: String,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// An event as the pipeline reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineEvent {
    pub id: String,
    pub seq: i64,
    pub source: String,
    pub ocsf: String,
    pub views: String,
    pub raw: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct StoredDeadLetter {
    pub id: i64,
    pub received_at: String,
    pub source: String,
    pub locator: String,
    pub reason: String,
    pub excerpt: String,
}

impl WriteTx<'_> {
    /// Stores an event; `false` when an event with the same id is already stored.
    pub async fn insert_event(&mut self, event: &NewEvent) -> Result<bool> {
        Ok(self.insert_events(std::slice::from_ref(event)).await? == 1)
    }

    /// Stores events, several to a statement; returns how many were new (the rest were already
    /// stored). Arrival numbers are given in order; a duplicate leaves a gap.
    pub async fn insert_events(&mut self, events: &[NewEvent]) -> Result<u64> {
        // 11 parameters a row; SQLite allows 32,766 and PostgreSQL 65,535 to a statement.
        const ROWS: usize = 24;
        if events.is_empty() {
            return Ok(0);
        }
        // PostgreSQL may have writers on several nodes: a sequence numbers them without a
        // collision (numbers taken by a transaction that rolls back leave a gap). SQLite has one
        // writer, which numbers on from the highest.
        let numbers: Vec<i64> = match self.store.backend() {
            crate::Backend::Postgres => {
                let rows = sqlx::query("SELECT nextval('event_seq') FROM generate_series(1, $1)")
                    .bind(events.len() as i64)
                    .fetch_all(&mut *self.tx)
                    .await?;
                let mut numbers =
                    rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
                numbers.sort_unstable();
                numbers
            }
            crate::Backend::Sqlite => {
                let first = match self.next_event_seq {
                    Some(seq) => seq,
                    None => {
                        let row = sqlx::query("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM events")
                            .fetch_one(&mut *self.tx)
                            .await?;
                        row.try_get::<i64, _>(0)? + 1
                    }
                };
                self.next_event_seq = Some(first + events.len() as i64);
                (first..first + events.len() as i64).collect()
            }
        };
        let mut numbers = numbers.into_iter();
        let received = self.store.clock.stamp();
        let mut stored = 0;
        for chunk in events.chunks(ROWS) {
            let mut sql = String::from(
                "INSERT INTO events (id, seq, received_at, source, format, class_uid, time, ocsf, views, raw, size) VALUES ",
            );
            for row in 0..chunk.len() {
                let b = row * 11;
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for p in 1..=11 {
                    if p > 1 {
                        sql.push_str(", ");
                    }
                    sql.push('$');
                    sql.push_str(&(b + p).to_string());
                }
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (id) DO NOTHING");
            // Only placeholders are built into the text; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for event in chunk {
                query = query
                    .bind(&event.id)
                    .bind(numbers.next().unwrap_or_default())
                    .bind(&received)
                    .bind(&event.source)
                    .bind(&event.format)
                    .bind(event.class_uid)
                    .bind(&event.time)
                    .bind(&event.ocsf)
                    .bind(&event.views)
                    .bind(&event.raw)
                    .bind((event.raw.len() + event.ocsf.len() + event.views.len()) as i64);
            }
            stored += query.execute(&mut *self.tx).await?.rows_affected();
        }
        Ok(stored)
    }

    /// Moves the consumer `name` on to `value`, in this transaction.
    pub async fn set_watermark(&mut self, name: &str, value: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO watermarks (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn insert_dead_letter(&mut self, dead: &DeadLetter) -> Result<()> {
        sqlx::query(
            "INSERT INTO dead_letters (received_at, source, locator, reason, excerpt) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.store.clock.stamp())
        .bind(&dead.source)
        .bind(serde_json::to_string(&dead.locator)?)
        .bind(&dead.reason)
        .bind(&dead.excerpt)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

fn event_from(row: &AnyRow) -> Result<StoredEvent> {
    let ocsf: String = row.try_get("ocsf")?;
    Ok(StoredEvent {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        received_at: row.try_get("received_at")?,
        source: row.try_get("source")?,
        format: row.try_get("format")?,
        class_uid: row.try_get("class_uid")?,
        time: row.try_get("time")?,
        ocsf: serde_json::from_str(&ocsf)?,
        views: row.try_get("views")?,
        raw: row.try_get("raw")?,
    })
}

impl Store {
    /// The time of each of `ids` that is in the store.
    pub async fn event_times(&self, ids: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
        let mut times = std::collections::BTreeMap::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            // Only placeholders are built into the text; every value is bound.
            let sql = format!("SELECT id, time FROM events WHERE id IN ({})", marks.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.reader).await? {
                times.insert(row.try_get("id")?, row.try_get("time")?);
            }
        }
        Ok(times)
    }

    pub async fn event(&self, id: &str) -> Result<Option<StoredEvent>> {
        let row =
            sqlx::query("SELECT * FROM events WHERE id = $1").bind(id).fetch_optional(&self.reader).await?;
        row.as_ref().map(event_from).transpose()
    }

    pub async fn event_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM events").fetch_one(&self.reader).await?;
        Ok(row.try_get(0)?)
    }

    /// Events with `time` in `[from, to)`, oldest first, at most `limit`.
    pub async fn events_between(&self, from: &str, to: &str, limit: i64) -> Result<Vec<StoredEvent>> {
        let rows =
            sqlx::query("SELECT * FROM events WHERE time >= $1 AND time < $2 ORDER BY time, id LIMIT $3")
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(event_from).collect()
    }

    /// Events with `time` in `[from, to)` whose OCSF text contains `text` (case-insensitive, as
    /// plain text: `%` and `_` match themselves), oldest first, at most `limit`.
    pub async fn search_events(
        &self,
        from: &str,
        to: &str,
        text: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        self.search_events_ordered(from, to, text, limit, false).await
    }

    /// Events in `[from, to)` holding `text`, oldest or newest first, at most `limit`.
    pub async fn search_events_ordered(
        &self,
        from: &str,
        to: &str,
        text: Option<&str>,
        limit: i64,
        newest_first: bool,
    ) -> Result<Vec<StoredEvent>> {
        let pattern = text.map(|t| {
            let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{}%", escaped.to_lowercase())
        });
        let sql = if newest_first {
            "SELECT * FROM events WHERE time >= $1 AND time < $2 \
             AND ($3 IS NULL OR LOWER(ocsf) LIKE $3 ESCAPE '\\') ORDER BY time DESC, id DESC LIMIT $4"
        } else {
            "SELECT * FROM events WHERE time >= $1 AND time < $2 \
             AND ($3 IS NULL OR LOWER(ocsf) LIKE $3 ESCAPE '\\') ORDER BY time, id LIMIT $4"
        };
        let rows =
            sqlx::query(sql).bind(from).bind(to).bind(pattern).bind(limit).fetch_all(&self.reader).await?;
        rows.iter().map(event_from).collect()
    }

    /// Events that arrived after `seq`, in arrival order, at most `limit`.
    pub async fn events_after(&self, seq: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query("SELECT * FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(seq)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from).collect()
    }

    /// What the pipeline reads of events after `seq`: id, seq, source, and the OCSF event and
    /// views as stored text (parsed once, by the reader, into its own types).
    pub async fn pipeline_events_after(&self, seq: i64, limit: i64) -> Result<Vec<PipelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, seq, source, ocsf, views, raw FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PipelineEvent {
                    id: row.try_get(0)?,
                    seq: row.try_get(1)?,
                    source: row.try_get(2)?,
                    ocsf: row.try_get(3)?,
                    views: row.try_get(4)?,
                    raw: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Where to start feeding detection again after a restart, so its correlation windows hold
    /// what they held: the arrival number just before the first event, at or before `watermark`,
    /// whose time is within `lookback_ms` of the time of the event at the watermark, but no more
    /// than `at_most` events back. `None` when nothing needs replaying.
    pub async fn replay_start(&self, watermark: i64, lookback_ms: i64, at_most: i64) -> Result<Option<i64>> {
        if lookback_ms <= 0 || watermark <= 0 {
            return Ok(None);
        }
        let last = sqlx::query("SELECT time FROM events WHERE seq <= $1 ORDER BY seq DESC LIMIT 1")
            .bind(watermark)
            .fetch_optional(&self.reader)
            .await?;
        let Some(last) = last else { return Ok(None) };
        let last: String = last.try_get(0)?;
        let Some(last_ms) = time::to_millis(&last) else { return Ok(None) };
        let first = sqlx::query("SELECT CAST(MIN(seq) AS BIGINT) FROM events WHERE seq <= $1 AND time >= $2")
            .bind(watermark)
            .bind(time::from_millis(last_ms - lookback_ms))
            .fetch_one(&self.reader)
            .await?;
        Ok(first.try_get::<Option<i64>, _>(0)?.map(|seq| (seq - 1).max(watermark - at_most)))
    }

    /// How far the consumer `name` has read (0 when it has not started).
    pub async fn watermark(&self, name: &str) -> Result<i64> {
        let row = sqlx::query("SELECT value FROM watermarks WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    /// Every stored event id, in id order: what the crash test compares with what was
    /// acknowledged.
    pub async fn event_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM events ORDER BY id").fetch_all(&self.reader).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<StoredDeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, received_at, source, locator, reason, excerpt FROM dead_letters \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredDeadLetter {
                    id: row.try_get("id")?,
                    received_at: row.try_get("received_at")?,
                    source: row.try_get("source")?,
                    locator: row.try_get("locator")?,
                    reason: row.try_get("reason")?,
                    excerpt: row.try_get("excerpt")?,
                })
            })
            .collect()
    }
}
