//! Cases, their alerts, comments and recommendations. Every change here is audited in the same
//! transaction. A case's lifecycle is the store's: [`WriteTx::transition_case`] is the one path
//! that changes it, through `vigil_model`'s transition table (which says who may cause each
//! move), appending the move to `case_transitions`; reading one case carries its lifecycle in the
//! document.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::{AlertId, AuditAction, CaseId, CaseState, Component, Lifecycle, Outcome, UserId};

use crate::audit::AuditEntry;
use crate::{Error, Result, Store, WriteTx, time};

/// A case as stored: the columns that are queried, and the whole case document in `body`, whose
/// `lifecycle` is the store's own (whatever a writer puts there is not stored; [`Store::case`]
/// puts the real one there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseRow {
    pub id: CaseId,
    pub title: String,
    /// The lifecycle's state (a column of its own, for queries).
    pub state: CaseState,
    /// OCSF severity id.
    pub severity: i64,
    pub assignee: Option<UserId>,
    pub first_seen: String,
    pub last_seen: String,
    pub updated_at: String,
    pub body: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertRow {
    pub id: AlertId,
    pub case_id: Option<CaseId>,
    pub rule_id: String,
    pub title: String,
    pub severity: i64,
    pub time: String,
    pub finding: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Comment {
    pub id: i64,
    pub author: String,
    pub at: String,
    pub body: String,
}

/// Who is making a change and from where; every audited write names one.
#[derive(Clone, Debug)]
pub struct By {
    pub actor: vigil_model::Actor,
    /// A client address, `cli`, or `engine`.
    pub origin: String,
}

impl By {
    pub fn new(actor: vigil_model::Actor, origin: impl Into<String>) -> By {
        By { actor, origin: origin.into() }
    }

    /// A person by name, from `origin`.
    pub fn user(name: impl Into<String>, origin: impl Into<String>) -> By {
        By::new(vigil_model::Actor::user(name), origin)
    }

    /// One of Vigil's components: the pipeline's act from `engine`, the command line's from `cli`.
    pub fn vigil(component: Component) -> By {
        let origin = match component {
            Component::Bootstrap | Component::Startup | Component::Demo | Component::Bench => "cli",
            _ => "engine",
        };
        By::new(vigil_model::Actor::vigil(component), origin)
    }

    pub(crate) fn entry_for(
        &self,
        action: AuditAction,
        target: String,
        detail: serde_json::Value,
    ) -> AuditEntry {
        self.entry(action, Outcome::Ok, target, detail)
    }

    pub fn entry(
        &self,
        action: AuditAction,
        outcome: Outcome,
        target: String,
        detail: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry { actor: self.actor.clone(), origin: self.origin.clone(), action, target, outcome, detail }
    }
}

/// Filters for listing cases.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub min_severity: Option<i64>,
    pub assignee: Option<UserId>,
    pub limit: i64,
}

fn parse_state(stored: &str) -> Result<CaseState> {
    stored.parse().map_err(|reason| Error::Corrupt { column: "cases.state", reason })
}

/// A case's lifecycle as stored: its state, and its transitions in order, which must be a chain
/// of legal moves ending in that state.
pub(crate) async fn lifecycle_in<'e, E>(executor: E, state: CaseState, id: &CaseId) -> Result<Lifecycle>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT from_state, to_state, actor, at, reason FROM case_transitions WHERE case_id = $1 ORDER BY n",
    )
    .bind(id.as_str())
    .fetch_all(executor)
    .await?;
    let mut history = Vec::with_capacity(rows.len());
    for row in &rows {
        let actor: String = row.try_get(2)?;
        history.push(vigil_model::Transition {
            from: parse_state(&row.try_get::<String, _>(0)?)?,
            to: parse_state(&row.try_get::<String, _>(1)?)?,
            actor: serde_json::from_str(&actor)
                .map_err(|e| Error::Corrupt { column: "case_transitions.actor", reason: e.to_string() })?,
            at: row.try_get(3)?,
            reason: row.try_get(4)?,
        });
    }
    Lifecycle::restore(state, history)
        .map_err(|e| Error::Corrupt { column: "case_transitions", reason: format!("case {id}: {e}") })
}

/// Puts a case's lifecycle into its document.
pub(crate) fn with_lifecycle(body: &mut serde_json::Value, lifecycle: &Lifecycle) -> Result<()> {
    if let Some(map) = body.as_object_mut() {
        map.insert("lifecycle".into(), serde_json::to_value(lifecycle)?);
    }
    Ok(())
}

pub(crate) fn case_from(row: &AnyRow) -> Result<CaseRow> {
    let state = parse_state(&row.try_get::<String, _>("state")?)?;
    let body: String = row.try_get("body")?;
    let body: serde_json::Value = serde_json::from_str(&body)?;
    Ok(CaseRow {
        id: CaseId::new(row.try_get::<String, _>("id")?),
        title: row.try_get("title")?,
        state,
        severity: row.try_get("severity")?,
        assignee: row.try_get::<Option<String>, _>("assignee")?.map(UserId::new),
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        updated_at: row.try_get("updated_at")?,
        body,
    })
}

fn alert_from(row: &AnyRow) -> Result<AlertRow> {
    let finding: String = row.try_get("finding")?;
    Ok(AlertRow {
        id: AlertId::new(row.try_get::<String, _>("id")?),
        case_id: row.try_get::<Option<String>, _>("case_id")?.map(CaseId::new),
        rule_id: row.try_get("rule_id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        time: row.try_get("time")?,
        finding: serde_json::from_str(&finding)?,
    })
}

impl WriteTx<'_> {
    /// Creates a case (in state `new`) or replaces its document; the lifecycle of an existing
    /// case is kept (it changes only through `transition_case`), and a `lifecycle` in the
    /// document is not stored.
    pub async fn save_case(&mut self, case: &CaseRow, by: &By) -> Result<()> {
        let existing = sqlx::query("SELECT state FROM cases WHERE id = $1")
            .bind(case.id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        let mut body = case.body.clone();
        if let Some(map) = body.as_object_mut() {
            map.remove("lifecycle");
        }
        let body = body.to_string();
        let state = match &existing {
            Some(row) => parse_state(&row.try_get::<String, _>(0)?)?,
            None => CaseState::New,
        };
        if existing.is_some() {
            sqlx::query(
                "UPDATE cases SET title = $2, severity = $3, first_seen = $4, last_seen = $5, \
                 updated_at = $6, body = $7 WHERE id = $1",
            )
            .bind(case.id.as_str())
            .bind(&case.title)
            .bind(case.severity)
            .bind(&case.first_seen)
            .bind(&case.last_seen)
            .bind(self.store.clock.stamp())
            .bind(&body)
            .execute(&mut *self.tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO cases (id, title, state, severity, assignee, first_seen, last_seen, updated_at, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(case.id.as_str())
            .bind(&case.title)
            .bind(CaseState::New.as_str())
            .bind(case.severity)
            .bind(case.assignee.as_ref().map(UserId::as_str))
            .bind(&case.first_seen)
            .bind(&case.last_seen)
            .bind(self.store.clock.stamp())
            .bind(&body)
            .execute(&mut *self.tx)
            .await?;
        }
        let action = if existing.is_some() { AuditAction::CaseUpdate } else { AuditAction::CaseCreate };
        self.audit(by.entry_for(
            action,
            format!("case:{}", case.id),
            json!({"title": case.title, "severity": case.severity, "state": state}),
        ))
        .await?;
        Ok(())
    }

    /// Moves a case to `to`, if the transition table has the move and `by` is of a kind that
    /// may cause it; returns the state it left. The one place a case's state changes.
    pub async fn transition_case(
        &mut self,
        id: &CaseId,
        to: CaseState,
        reason: &str,
        by: &By,
    ) -> Result<CaseState> {
        let from = self.case_state(id).await?;
        let moved = vigil_model::step(from, to, &by.actor, self.store.clock.now_ms(), reason)?;
        // Appending a move costs the same however long the case's history is.
        let next = sqlx::query(
            "SELECT CAST(COALESCE(MAX(n), 0) AS BIGINT) FROM case_transitions WHERE case_id = $1",
        )
        .bind(id.as_str())
        .fetch_one(&mut *self.tx)
        .await?;
        let next: i64 = next.try_get::<i64, _>(0)? + 1;
        sqlx::query(
            "INSERT INTO case_transitions (case_id, n, from_state, to_state, actor, at, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.as_str())
        .bind(next)
        .bind(moved.from.as_str())
        .bind(moved.to.as_str())
        .bind(serde_json::to_string(&moved.actor)?)
        .bind(moved.at)
        .bind(&moved.reason)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE cases SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(to.as_str())
            .bind(self.store.clock.stamp())
            .execute(&mut *self.tx)
            .await?;
        self.audit(by.entry_for(
            AuditAction::CaseTransition,
            format!("case:{id}"),
            json!({"from": from, "to": to, "reason": reason}),
        ))
        .await?;
        Ok(from)
    }

    pub async fn assign_case(&mut self, id: &CaseId, assignee: Option<&UserId>, by: &By) -> Result<()> {
        self.case_state(id).await?;
        sqlx::query("UPDATE cases SET assignee = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(assignee.map(UserId::as_str))
            .bind(self.store.clock.stamp())
            .execute(&mut *self.tx)
            .await?;
        self.audit(by.entry_for(
            AuditAction::CaseAssign,
            format!("case:{id}"),
            json!({ "assignee": assignee }),
        ))
        .await?;
        Ok(())
    }

    pub async fn comment_case(&mut self, id: &CaseId, body: &str, by: &By) -> Result<()> {
        self.case_state(id).await?;
        sqlx::query("INSERT INTO case_comments (case_id, author, at, body) VALUES ($1, $2, $3, $4)")
            .bind(id.as_str())
            .bind(by.actor.to_string())
            .bind(self.store.clock.stamp())
            .bind(body)
            .execute(&mut *self.tx)
            .await?;
        self.audit(by.entry_for(AuditAction::CaseComment, format!("case:{id}"), json!({ "body": body })))
            .await?;
        Ok(())
    }

    /// Stores the next version of a case's recommendation.
    pub async fn add_recommendation(
        &mut self,
        case_id: &CaseId,
        body: &serde_json::Value,
        by: &By,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM recommendations WHERE case_id = $1",
        )
        .bind(case_id.as_str())
        .fetch_one(&mut *self.tx)
        .await?;
        let version: i64 = row.try_get::<i64, _>(0)? + 1;
        sqlx::query(
            "INSERT INTO recommendations (case_id, version, created_at, author, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(case_id.as_str())
        .bind(version)
        .bind(self.store.clock.stamp())
        .bind(by.actor.to_string())
        .bind(body.to_string())
        .execute(&mut *self.tx)
        .await?;
        let verdict = body.get("verdict").cloned().unwrap_or_default();
        self.audit(by.entry_for(
            AuditAction::RecommendationCreate,
            format!("case:{case_id}"),
            json!({"version": version, "verdict": verdict}),
        ))
        .await?;
        Ok(version)
    }

    /// Stores an alert, or re-homes it to another case; `false` when nothing changed.
    pub async fn save_alert(&mut self, alert: &AlertRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO alerts (id, case_id, rule_id, title, severity, time, finding) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id \
             WHERE alerts.case_id IS DISTINCT FROM excluded.case_id",
        )
        .bind(alert.id.as_str())
        .bind(alert.case_id.as_ref().map(CaseId::as_str))
        .bind(&alert.rule_id)
        .bind(&alert.title)
        .bind(alert.severity)
        .bind(&alert.time)
        .bind(alert.finding.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn case_state(&mut self, id: &CaseId) -> Result<CaseState> {
        let row = sqlx::query("SELECT state FROM cases WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| Error::NotFound { kind: "case", id: id.to_string() })?;
        let state: String = row.try_get(0)?;
        parse_state(&state)
    }
}

impl Store {
    /// A case's lifecycle: its state and every transition, with who made it.
    pub async fn lifecycle(&self, id: &CaseId) -> Result<Option<Lifecycle>> {
        let row = sqlx::query("SELECT state FROM cases WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let state = parse_state(&row.try_get::<String, _>(0)?)?;
        lifecycle_in(&self.reader, state, id).await.map(Some)
    }

    /// One case, its document carrying its lifecycle (lists of cases do not).
    pub async fn case(&self, id: &CaseId) -> Result<Option<CaseRow>> {
        // The state column and the moves are read in one snapshot: read apart, a move committed
        // between the two reads gives a state and a history that do not fit.
        let mut snapshot = self.reader.begin().await?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *snapshot).await?;
        }
        let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *snapshot)
            .await?;
        let Some(mut case) = row.as_ref().map(case_from).transpose()? else { return Ok(None) };
        let lifecycle = lifecycle_in(&mut *snapshot, case.state, id).await?;
        snapshot.commit().await?;
        with_lifecycle(&mut case.body, &lifecycle)?;
        Ok(Some(case))
    }

    /// Cases, most recently active first.
    pub async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>> {
        let rows = sqlx::query(
            "SELECT * FROM cases WHERE ($1 IS NULL OR state = $1) AND severity >= $2 \
             AND ($3 IS NULL OR assignee = $3) ORDER BY last_seen DESC, id LIMIT $4",
        )
        .bind(filter.state.map(CaseState::as_str))
        .bind(filter.min_severity.unwrap_or(0))
        .bind(filter.assignee.as_ref().map(UserId::as_str))
        .bind(if filter.limit > 0 { filter.limit } else { 100 })
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(case_from).collect()
    }

    /// The cases a live engine holds: every open case, and closed ones whose last alert is within
    /// `window_ms` of the newest case's (new alerts reopen those). Oldest first, so merges keep
    /// the older case's id as they did before a restart.
    pub async fn live_cases(&self, window_ms: i64) -> Result<Vec<CaseRow>> {
        let newest = sqlx::query("SELECT MAX(last_seen) FROM cases").fetch_one(&self.reader).await?;
        let Some(newest) = newest.try_get::<Option<String>, _>(0)? else { return Ok(Vec::new()) };
        let newest = time::to_millis(&newest)
            .ok_or_else(|| Error::Corrupt { column: "cases.last_seen", reason: newest.clone() })?;
        let closed: Vec<&str> =
            CaseState::ALL.into_iter().filter(|s| s.is_closed()).map(CaseState::as_str).collect();
        let placeholders: Vec<String> = (2..closed.len() + 2).map(|i| format!("${i}")).collect();
        // Only placeholders are built into the text; every value is bound.
        let sql = format!(
            "SELECT * FROM cases WHERE last_seen >= $1 OR state NOT IN ({}) ORDER BY first_seen, id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(time::from_millis(newest - window_ms));
        for state in closed {
            query = query.bind(state);
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(case_from).collect()
    }

    /// Which of `ids` are stored alerts.
    pub async fn known_alerts(&self, ids: &[AlertId]) -> Result<std::collections::HashSet<AlertId>> {
        const CHUNK: usize = 500;
        let mut known = std::collections::HashSet::new();
        for chunk in ids.chunks(CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            // Only placeholders are built into the text; every value is bound.
            let sql = format!("SELECT id FROM alerts WHERE id IN ({})", placeholders.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&self.reader).await? {
                known.insert(AlertId::new(row.try_get::<String, _>(0)?));
            }
        }
        Ok(known)
    }

    pub async fn case_alerts(&self, case_id: &CaseId) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query("SELECT * FROM alerts WHERE case_id = $1 ORDER BY time, id")
            .bind(case_id.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(alert_from).collect()
    }

    /// A rule's alerts from `since` (a stored time) on, newest first, at most `limit`: what a
    /// change to the rule is replayed against.
    pub async fn rule_alerts(&self, rule_id: &str, since: &str, limit: i64) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT * FROM alerts WHERE rule_id = $1 AND time >= $2 ORDER BY time DESC, id LIMIT $3",
        )
        .bind(rule_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(alert_from).collect()
    }

    /// The newest alerts, at most `limit`, optionally of at least `min_severity`.
    pub async fn alerts(&self, min_severity: i64, limit: i64) -> Result<Vec<AlertRow>> {
        let rows = sqlx::query("SELECT * FROM alerts WHERE severity >= $1 ORDER BY time DESC, id LIMIT $2")
            .bind(min_severity)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(alert_from).collect()
    }

    /// Alerts that name the entity, newest first, at most `limit` (what a response action's
    /// blast radius is read from).
    pub async fn alerts_naming(&self, kind: &str, key: &str, limit: i64) -> Result<Vec<AlertRow>> {
        let named = format!(
            r#""kind":{},"key":{}"#,
            serde_json::Value::String(kind.to_owned()),
            serde_json::Value::String(key.to_owned())
        );
        let pattern = format!("%{}%", named.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = sqlx::query(
            "SELECT * FROM alerts WHERE finding LIKE $1 ESCAPE '\\' ORDER BY time DESC, id LIMIT $2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(alert_from).collect()
    }

    pub async fn alert(&self, id: &AlertId) -> Result<Option<AlertRow>> {
        let row = sqlx::query("SELECT * FROM alerts WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(alert_from).transpose()
    }

    pub async fn case_comments(&self, case_id: &CaseId) -> Result<Vec<Comment>> {
        let rows =
            sqlx::query("SELECT id, author, at, body FROM case_comments WHERE case_id = $1 ORDER BY id")
                .bind(case_id.as_str())
                .fetch_all(&self.reader)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(Comment {
                    id: row.try_get("id")?,
                    author: row.try_get("author")?,
                    at: row.try_get("at")?,
                    body: row.try_get("body")?,
                })
            })
            .collect()
    }

    /// The newest recommendation of each of `ids` that has one (the queue reads them at once).
    pub async fn latest_recommendations(
        &self,
        ids: &[CaseId],
    ) -> Result<std::collections::HashMap<CaseId, serde_json::Value>> {
        const CHUNK: usize = 500;
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            // Only placeholders are built into the text; every value is bound.
            let sql = format!(
                "SELECT r.case_id, r.body FROM recommendations r WHERE r.case_id IN ({}) \
                 AND r.version = (SELECT MAX(m.version) FROM recommendations m WHERE m.case_id = r.case_id)",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&self.reader).await? {
                let body: String = row.try_get(1)?;
                out.insert(CaseId::from(row.try_get::<String, _>(0)?), serde_json::from_str(&body)?);
            }
        }
        Ok(out)
    }

    /// The newest recommendation for a case, with its version.
    pub async fn recommendation(&self, case_id: &CaseId) -> Result<Option<(i64, serde_json::Value)>> {
        let row = sqlx::query(
            "SELECT version, body FROM recommendations WHERE case_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(case_id.as_str())
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            let body: String = row.try_get(1)?;
            Ok((row.try_get(0)?, serde_json::from_str(&body)?))
        })
        .transpose()
    }
}
