//! Learning tasks: what closed cases propose to change, and their review. A detection engineer
//! accepts (as proposed, or edited: an edited filter or draft is replayed again first, an edited
//! playbook gets its diff again), or rejects, always with a rationale. An accepted filter or
//! draft rule is written to the learning rules folder and the engine reloads; an accepted
//! playbook edit is written to the playbooks folder and the reload puts it in force; the
//! decision, the write and the reload are each audited. A task whose replay would hide an
//! alert of a case judged malicious needs a second person's acceptance of the same document.
//! When every task of a case is decided, the case moves to `learned`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigil_model::{CaseId, CaseState};
use vigil_store::{By, Decided, Decision, LearningKind, LearningTask, Review};

use super::actor;
use crate::auth::{Auth, perm};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::learning_write;
use crate::params::{Params, PathId};
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `proposed`, `accepted` or `rejected`; all when left out.
    status: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct TaskList {
    tasks: Vec<LearningTask>,
}

pub async fn list(
    _: Auth<perm::RuleRead>,
    State(state): State<AppState>,
    Params(query): Params<ListQuery>,
) -> ApiResult<Json<TaskList>> {
    if let Some(s) = &query.status
        && !["proposed", "accepted", "rejected"].contains(&s.as_str())
    {
        return Err(ApiError::new(Code::BadRequest, "status: proposed, accepted or rejected"));
    }
    Ok(Json(TaskList { tasks: state.store.learning_tasks(query.status.as_deref()).await? }))
}

pub async fn show(
    _: Auth<perm::RuleRead>,
    State(state): State<AppState>,
    PathId(id): PathId<String>,
) -> ApiResult<Json<LearningTask>> {
    state.store.learning_task(&id).await?.map(Json).ok_or_else(|| ApiError::not_found("learning task"))
}

pub async fn of_case(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<TaskList>> {
    Ok(Json(TaskList { tasks: state.store.case_learning_tasks(id.as_str()).await? }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `accept` or `reject`.
    decision: Decision,
    /// Why, in words: kept with the task and in the audit trail.
    rationale: String,
    /// The reviewer's edit of the proposed document (accepting only); it is replayed again.
    artefact: Option<String>,
}

impl DecisionRequest {
    pub fn new(decision: Decision, rationale: String, artefact: Option<String>) -> DecisionRequest {
        DecisionRequest { decision, rationale, artefact }
    }
}

#[derive(Serialize, JsonSchema)]
pub struct DecisionAnswer {
    task: LearningTask,
    decided: Decided,
    /// Where the accepted rule change was written.
    written: Option<String>,
    /// How many rules run after the reload that followed.
    rules_loaded: Option<u64>,
    /// The case's state after the decision (`learned` once every task is decided).
    case_state: Option<CaseState>,
}

/// An edited filter must still be a filter of the task's rule alone: its replay covers only that
/// rule's alerts.
fn check_targets_only(artefact: &str, rule_id: &str) -> ApiResult<()> {
    let doc: Value = yaml_serde::from_str(artefact)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("artefact: not YAML: {e}")))?;
    let rules = doc.pointer("/filter/rules");
    let only =
        rules.and_then(Value::as_array).is_some_and(|r| r.len() == 1 && r[0].as_str() == Some(rule_id));
    if only {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::BadRequest,
            format!("artefact: a filter whose `filter.rules` names rule {rule_id} alone"),
        ))
    }
}

/// A regression test's `info.yml` must still test the task's rule.
fn check_same_rule(artefact: &str, rule_id: &str) -> ApiResult<()> {
    let info = vigil_detect::regression::RegressionInfo::parse(artefact)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("artefact: not a regression info file: {e}")))?;
    if info.rule_id() == Some(rule_id) && !info.regression_tests_info.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::BadRequest,
            format!("artefact: an info.yml whose rule_metadata names rule {rule_id}, with its tests"),
        ))
    }
}

/// A regression test's files: for each test, the case's events read back from the store, one
/// record a line. Read before the decision's transaction opens. An event purged since the task
/// was filed makes the test impossible: refused.
async fn regression_files(state: &AppState, task: &LearningTask) -> ApiResult<Vec<(String, String)>> {
    let mut files = Vec::new();
    for test in task.replay["tests"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = test["file"].as_str().unwrap_or_default();
        // The name is Vigil's own (a rule id and an extension); anything else is refused.
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            return Err(ApiError::internal(format!("learning task {}: test file name {name:?}", task.id)));
        }
        let mut lines = String::new();
        for id in test["events"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let id = id.as_str().unwrap_or_default();
            let event = state.store.event(id).await?.ok_or_else(|| {
                ApiError::new(
                    Code::Conflict,
                    format!("event {id} of this test is no longer stored (retention)"),
                )
            })?;
            lines.push_str(&vigil_engine::learn::regression::record_line(&event));
            lines.push('\n');
        }
        files.push((name.to_owned(), lines));
    }
    Ok(files)
}

/// An edited draft must still be one rule with the draft's id; it is replayed again.
async fn replay_draft_edit(
    state: &AppState,
    task: &LearningTask,
    artefact: &str,
    now_ms: i64,
) -> ApiResult<Value> {
    let doc: Value = yaml_serde::from_str(artefact)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("artefact: not YAML: {e}")))?;
    if doc["id"].as_str() != task.rule_id.as_deref() {
        return Err(ApiError::new(
            Code::BadRequest,
            format!("artefact: a rule whose id stays {}", task.rule_id.as_deref().unwrap_or("")),
        ));
    }
    let learner = crate::learning::learner(state).await?;
    vigil_engine::learn::detection::replay_edited(&state.store, &learner, task, artefact, now_ms)
        .await?
        .map_err(|e| ApiError::new(Code::BadRequest, format!("artefact: {e}")))
}

/// An edited playbook must still be the task's playbook at the version it proposes; its diff
/// is worked out again.
fn check_playbook_edit(task: &LearningTask, artefact: &str) -> ApiResult<Value> {
    let edited: vigil_triage::playbook::Playbook = yaml_serde::from_str(artefact)
        .map_err(|e| ApiError::new(Code::BadRequest, format!("artefact: not a playbook: {e}")))?;
    let (id, version) = (task.replay["playbook"].as_str(), task.replay["to_version"].as_u64());
    if Some(edited.id.as_str()) != id || Some(u64::from(edited.version)) != version || edited.steps.is_empty()
    {
        return Err(ApiError::new(
            Code::BadRequest,
            format!(
                "artefact: playbook {} at version {}, with at least one step",
                id.unwrap_or(""),
                version.unwrap_or(0)
            ),
        ));
    }
    let mut replay = task.replay.clone();
    let from: vigil_triage::playbook::Playbook = serde_json::from_value(task.replay["from"].clone())
        .map_err(|e| ApiError::internal(format!("learning task {}: its playbook: {e}", task.id)))?;
    replay["diff"] = Value::String(vigil_engine::learn::runbook::diff(&from, &edited));
    Ok(replay)
}

/// A runbook edit is of the playbook version in force; one accepted since makes it stale.
async fn check_playbook_current(state: &AppState, task: &LearningTask) -> ApiResult<()> {
    let learner = crate::learning::learner(state).await?;
    let id = task.replay["playbook"].as_str().unwrap_or_default();
    let now = learner.library.iter().find(|p| p.id == id).map(|p| u64::from(p.version));
    if now == task.replay["from_version"].as_u64() {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::Conflict,
            format!(
                "playbook {id} is at version {} now; this edit is of version {}: reject it, a later closing proposes against the new one",
                now.unwrap_or(0),
                task.replay["from_version"].as_u64().unwrap_or(0)
            ),
        ))
    }
}

pub async fn decide(
    auth: Auth<perm::RuleTune>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
    JsonBody(body): JsonBody<DecisionRequest>,
) -> ApiResult<Json<DecisionAnswer>> {
    let rationale = body.rationale.trim();
    if rationale.is_empty() || rationale.chars().count() > 2_000 {
        return Err(ApiError::new(Code::BadRequest, "rationale: 1 to 2000 characters"));
    }
    let task = state.store.learning_task(&id).await?.ok_or_else(|| ApiError::not_found("learning task"))?;
    let by = actor(&auth.principal, from);
    let now_ms = state.store.clock().now().timestamp_millis();
    // An edit is replayed as the proposal was, before anything is decided on it.
    let rule_id = task.rule_id.clone().unwrap_or_default();
    let edited = match (&body.artefact, body.decision) {
        (Some(artefact), Decision::Accept) if *artefact == task.artefact => None,
        (Some(artefact), Decision::Accept) => match task.kind {
            LearningKind::Tuning => {
                check_targets_only(artefact, &rule_id)?;
                let learner = crate::learning::learner(&state).await?;
                let replayed =
                    vigil_engine::learn::replay_edited(&state.store, &learner, &rule_id, artefact, now_ms)
                        .await?
                        .map_err(|e| ApiError::new(Code::BadRequest, format!("artefact: {e}")))?;
                let hides = replayed["hides_malicious"].as_bool().unwrap_or(true);
                Some((artefact.clone(), replayed, hides))
            }
            // A regression test's counts and names may be edited; its events stay the case's.
            LearningKind::Regression => {
                check_same_rule(artefact, &rule_id)?;
                Some((artefact.clone(), task.replay.clone(), false))
            }
            LearningKind::Detection => {
                Some((artefact.clone(), replay_draft_edit(&state, &task, artefact, now_ms).await?, false))
            }
            LearningKind::Runbook => Some((artefact.clone(), check_playbook_edit(&task, artefact)?, false)),
        },
        (Some(_), Decision::Reject) => {
            return Err(ApiError::new(Code::BadRequest, "artefact: only an acceptance carries an edit"));
        }
        (None, _) => None,
    };
    let accepting = body.decision == Decision::Accept;
    let dir = match task.kind {
        LearningKind::Runbook => state.learning.playbooks_dir.clone(),
        _ => state.learning.rules_dir.clone(),
    };
    if accepting && dir.is_none() {
        return Err(ApiError::new(
            Code::Conflict,
            match task.kind {
                LearningKind::Runbook => {
                    "no folder for playbooks is configured (learning.playbooks_dir, or a triage.playbooks folder)"
                }
                _ => "no folder for learnt rules is configured (learning.rules_dir, or a serve.rules folder)",
            },
        ));
    }
    if accepting && task.kind == LearningKind::Runbook {
        check_playbook_current(&state, &task).await?;
    }
    let files = match (accepting, task.kind) {
        (true, LearningKind::Regression) => regression_files(&state, &task).await?,
        _ => Vec::new(),
    };
    let mut tx = state.store.write().await?;
    let at = state.store.clock().stamp();
    let review = Review {
        decision: body.decision,
        rationale,
        edited: edited.as_ref().map(|(a, r, h)| (a.as_str(), r, *h)),
        who: auth.principal.name.as_str(),
        at: &at,
    };
    let decided = tx.decide_learning_task(&id, &review, &by).await?;
    let mut written = None;
    if decided == Decided::Accepted
        && let Some(dir) = &dir
    {
        let artefact = edited.as_ref().map_or(task.artefact.as_str(), |(a, _, _)| a.as_str());
        let mut write = match task.kind {
            LearningKind::Regression => learning_write::regression(dir, &task, artefact, &files)?,
            LearningKind::Runbook => {
                let id = task.replay["playbook"].as_str().unwrap_or_default();
                learning_write::playbook(dir, &task, id, artefact)?
            }
            LearningKind::Tuning | LearningKind::Detection => learning_write::rule(dir, &task, artefact)?,
        };
        if state.learning.git {
            learning_write::commit(&mut write, &task, auth.principal.name.as_str(), rationale)?;
        }
        if let Err(e) = tx.audit_rules_write(&task, &write.shown(), &by).await {
            write.undo();
            return Err(e.into());
        }
        written = Some(write);
    }
    if let Err(e) = tx.commit().await {
        if let Some(write) = &written {
            write.undo();
        }
        return Err(e.into());
    }
    // A rule or playbook changes what runs; a regression test changes nothing the engine loads.
    let rules_loaded = match (&written, task.kind) {
        (Some(_), LearningKind::Regression) | (None, _) => None,
        (Some(_), _) => Some(super::rules::reload_now(&state, &by).await?),
    };
    let case_state = learned_when_decided(&state, &task.case_id, &by).await?;
    let task = state.store.learning_task(&id).await?.ok_or_else(|| ApiError::not_found("learning task"))?;
    Ok(Json(DecisionAnswer { task, decided, written: written.map(|w| w.shown()), rules_loaded, case_state }))
}

/// Moves the case to `learned` once none of its tasks waits for a decision.
async fn learned_when_decided(state: &AppState, case_id: &str, by: &By) -> ApiResult<Option<CaseState>> {
    let case_id = CaseId::from(case_id.to_owned());
    let Some(case) = state.store.case(&case_id).await? else { return Ok(None) };
    let tasks = state.store.case_learning_tasks(case_id.as_str()).await?;
    let closed = matches!(case.state, CaseState::FalsePositive | CaseState::Benign | CaseState::Resolved);
    if !closed || tasks.is_empty() || tasks.iter().any(|t| t.status == "proposed") {
        return Ok(Some(case.state));
    }
    let mut tx = state.store.write().await?;
    tx.transition_case(&case_id, CaseState::Learned, "every learning task of the case is decided", by)
        .await?;
    tx.commit().await?;
    Ok(Some(CaseState::Learned))
}
