//! Learning tasks: what a closed case proposes to change (a Sigma filter, a regression test, …),
//! each with its replay, filed and decided with their audit records. A task that would hide an
//! alert of a case judged malicious is accepted only by two different people.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use vigil_model::AuditAction;

use crate::{By, Error, Result, Store, WriteTx};

/// What a task proposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LearningKind {
    /// A Sigma filter excluding what made a rule's alerts benign.
    Tuning,
    /// A draft rule for what a malicious case showed before its first alert.
    Detection,
    /// A change to the playbook the case followed.
    Runbook,
    /// The case's events as a regression test of the rule that caught it.
    Regression,
}

impl LearningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LearningKind::Tuning => "tuning",
            LearningKind::Detection => "detection",
            LearningKind::Runbook => "runbook",
            LearningKind::Regression => "regression",
        }
    }

    fn parse(s: &str) -> Result<LearningKind> {
        Ok(match s {
            "tuning" => LearningKind::Tuning,
            "detection" => LearningKind::Detection,
            "runbook" => LearningKind::Runbook,
            "regression" => LearningKind::Regression,
            other => {
                return Err(Error::Corrupt {
                    column: "learning_tasks.kind",
                    reason: format!("unknown kind {other}"),
                });
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LearningTask {
    pub id: String,
    pub case_id: String,
    pub kind: LearningKind,
    /// The rule it changes or tests.
    pub rule_id: Option<String>,
    pub title: String,
    /// The proposed document (a Sigma filter or rule, a playbook diff, an `info.yml` and events).
    pub artefact: String,
    /// What the replay against stored events found.
    pub replay: Value,
    pub hides_malicious: bool,
    /// `proposed`, `accepted` or `rejected`.
    pub status: String,
    pub created_at: String,
    /// The first of the two people a task that hides a malicious alert needs.
    pub first_accepted_by: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub rationale: Option<String>,
}

impl LearningTask {
    /// A task waiting for review, filed at `at`; about no rule and hiding nothing until the
    /// caller says otherwise.
    pub fn proposed(
        id: String,
        case_id: &str,
        kind: LearningKind,
        title: String,
        artefact: String,
        replay: Value,
        at: &str,
    ) -> LearningTask {
        LearningTask {
            id,
            case_id: case_id.to_owned(),
            kind,
            rule_id: None,
            title,
            artefact,
            replay,
            hides_malicious: false,
            status: "proposed".into(),
            created_at: at.to_owned(),
            first_accepted_by: None,
            decided_by: None,
            decided_at: None,
            rationale: None,
        }
    }
}

fn task_from(row: &AnyRow) -> Result<LearningTask> {
    let replay: String = row.try_get("replay")?;
    let kind: String = row.try_get("kind")?;
    Ok(LearningTask {
        id: row.try_get("id")?,
        case_id: row.try_get("case_id")?,
        kind: LearningKind::parse(&kind)?,
        rule_id: row.try_get("rule_id")?,
        title: row.try_get("title")?,
        artefact: row.try_get("artefact")?,
        replay: serde_json::from_str(&replay)?,
        hides_malicious: row.try_get::<i64, _>("hides_malicious")? != 0,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        first_accepted_by: row.try_get("first_accepted_by")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        rationale: row.try_get("rationale")?,
    })
}

/// A person's decision on a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
}

/// A person's review of a task.
#[derive(Clone, Copy, Debug)]
pub struct Review<'a> {
    pub decision: Decision,
    pub rationale: &'a str,
    /// The reviewer's edit of the document (accepting only), with its new replay and whether
    /// that replay hides a malicious alert; the caller has run it.
    pub edited: Option<(&'a str, &'a Value, bool)>,
    /// The person deciding.
    pub who: &'a str,
    pub at: &'a str,
}

/// Where a decision left the task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decided {
    Accepted,
    Rejected,
    /// The first of two acceptances: a second person must accept too.
    AwaitingSecondPerson,
}

impl WriteTx<'_> {
    /// Files a task on its case. Filing the same task again (same id) changes nothing.
    pub async fn file_learning_task(&mut self, task: &LearningTask, by: &By) -> Result<bool> {
        let exists = sqlx::query("SELECT 1 FROM learning_tasks WHERE id = $1")
            .bind(&task.id)
            .fetch_optional(&mut *self.tx)
            .await?
            .is_some();
        if exists {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO learning_tasks (id, case_id, kind, rule_id, title, artefact, replay, hides_malicious, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'proposed', $9)",
        )
        .bind(&task.id)
        .bind(&task.case_id)
        .bind(task.kind.as_str())
        .bind(&task.rule_id)
        .bind(&task.title)
        .bind(&task.artefact)
        .bind(task.replay.to_string())
        .bind(i64::from(task.hides_malicious))
        .bind(&task.created_at)
        .execute(&mut *self.tx)
        .await?;
        self.audit(by.entry_for(
            AuditAction::LearningPropose,
            format!("case:{}", task.case_id),
            json!({"task": task.id, "kind": task.kind.as_str(), "rule": task.rule_id,
                   "hides_malicious": task.hides_malicious, "replay": task.replay}),
        ))
        .await?;
        Ok(true)
    }

    /// Accepts or rejects a proposed task, as `review` says.
    pub async fn decide_learning_task(&mut self, id: &str, review: &Review<'_>, by: &By) -> Result<Decided> {
        let Review { decision, rationale, edited, who, at } = *review;
        let row = sqlx::query("SELECT * FROM learning_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| Error::NotFound { kind: "learning task", id: id.to_owned() })?;
        let task = task_from(&row)?;
        if task.status != "proposed" {
            return Err(Error::Conflict(format!("learning task {id} is already {}", task.status)));
        }
        if rationale.trim().is_empty() {
            return Err(Error::Conflict("a decision on a learning task needs a rationale".into()));
        }
        let (artefact, replay, hides) = match edited {
            Some((a, r, h)) => (a.to_owned(), r.clone(), h),
            None => (task.artefact.clone(), task.replay.clone(), task.hides_malicious),
        };
        let changed = artefact != task.artefact;
        let outcome = match decision {
            Decision::Reject => Decided::Rejected,
            // A second acceptance counts only for the very document the first person accepted.
            Decision::Accept
                if hides && task.first_accepted_by.as_deref().is_some_and(|f| f != who) && !changed =>
            {
                Decided::Accepted
            }
            Decision::Accept if hides => Decided::AwaitingSecondPerson,
            Decision::Accept => Decided::Accepted,
        };
        let (status, first, decided_by, decided_at) = match outcome {
            Decided::Accepted => ("accepted", task.first_accepted_by.clone(), Some(who), Some(at)),
            Decided::Rejected => ("rejected", task.first_accepted_by.clone(), Some(who), Some(at)),
            Decided::AwaitingSecondPerson => ("proposed", Some(who.to_owned()), None, None),
        };
        sqlx::query(
            "UPDATE learning_tasks SET status = $1, first_accepted_by = $2, decided_by = $3, decided_at = $4, \
             rationale = $5, artefact = $6, replay = $7, hides_malicious = $8 WHERE id = $9",
        )
        .bind(status)
        .bind(first)
        .bind(decided_by)
        .bind(decided_at)
        .bind(rationale)
        .bind(&artefact)
        .bind(replay.to_string())
        .bind(i64::from(hides))
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        self.audit(by.entry_for(
            AuditAction::LearningDecide,
            format!("case:{}", task.case_id),
            json!({"task": id, "decision": outcome, "rationale": rationale, "edited": changed,
                   "hides_malicious": hides}),
        ))
        .await?;
        Ok(outcome)
    }

    /// Records that an accepted rule change (or, for a runbook task, a playbook) was written
    /// (`to`: the file, and the commit when the folder is a git repository).
    pub async fn audit_rules_write(&mut self, task: &LearningTask, to: &str, by: &By) -> Result<()> {
        let action = if task.kind == LearningKind::Runbook {
            AuditAction::PlaybooksWrite
        } else {
            AuditAction::RulesWrite
        };
        self.audit(by.entry_for(
            action,
            format!("case:{}", task.case_id),
            json!({"task": task.id, "rule": task.rule_id, "to": to}),
        ))
        .await?;
        Ok(())
    }

    /// The case's tasks, inside the transaction.
    pub async fn case_learning_tasks(&mut self, case_id: &str) -> Result<Vec<LearningTask>> {
        let rows = sqlx::query("SELECT * FROM learning_tasks WHERE case_id = $1 ORDER BY created_at, id")
            .bind(case_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(task_from).collect()
    }
}

impl Store {
    pub async fn learning_task(&self, id: &str) -> Result<Option<LearningTask>> {
        let row = sqlx::query("SELECT * FROM learning_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(task_from).transpose()
    }

    /// Tasks by status (all with `None`), oldest first.
    pub async fn learning_tasks(&self, status: Option<&str>) -> Result<Vec<LearningTask>> {
        let rows = match status {
            Some(s) => {
                sqlx::query("SELECT * FROM learning_tasks WHERE status = $1 ORDER BY created_at, id")
                    .bind(s)
                    .fetch_all(&self.reader)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM learning_tasks ORDER BY created_at, id")
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter().map(task_from).collect()
    }

    pub async fn case_learning_tasks(&self, case_id: &str) -> Result<Vec<LearningTask>> {
        let rows = sqlx::query("SELECT * FROM learning_tasks WHERE case_id = $1 ORDER BY created_at, id")
            .bind(case_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(task_from).collect()
    }
}
