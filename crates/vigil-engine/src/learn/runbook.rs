//! A closed case's response, held against the playbook its recommendation followed, becomes a
//! proposed edit of that playbook: a response step that ran and verified on the case but is
//! not in the playbook is added; a playbook step the case's approvers rejected, or that ran
//! and was rolled back, is taken out. The task keeps the new playbook (one version up) as its
//! document and the unified diff against the playbook in force; accepting writes it to the
//! site's playbook folder, which replaces the built-in version on the next reload.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use vigil_model::CaseId;
use vigil_model::action::{ActionCategory, ActionKind, Verdict};
use vigil_store::{
    ActionRequestRow, ActionRun, ActionStatus, ApprovalRow, LearningKind, LearningTask, RunStatus, Store,
    time,
};
use vigil_triage::playbook::{self, Phase, Playbook, Step};

use crate::error::Result;

/// One step added or taken out, and the case's requests that say why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepChange {
    pub phase: Phase,
    pub action: String,
    pub target: String,
    pub why: String,
    pub requests: Vec<String>,
}

/// A proposed playbook edit.
#[derive(Clone, Debug, PartialEq)]
pub struct RunbookEdit {
    pub from: Playbook,
    pub to: Playbook,
    pub added: Vec<StepChange>,
    pub removed: Vec<StepChange>,
}

impl RunbookEdit {
    /// The unified diff from the playbook in force to the proposal, both as the library writes them.
    pub fn diff(&self) -> String {
        diff(&self.from, &self.to)
    }
}

/// The unified diff between two playbooks, as the library writes them.
pub fn diff(from: &Playbook, to: &Playbook) -> String {
    let (old, new) = (playbook::to_yaml(from), playbook::to_yaml(to));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{}.yml (version {})", from.id, from.version),
            &format!("{}.yml (version {})", to.id, to.version),
        )
        .to_string()
}

/// Actions that keep the case's own books (a ticket, a summary, a snapshot of Vigil's, a
/// notification, a mute) rather than respond to the intrusion: they are not playbook steps.
fn is_response(kind: &ActionKind) -> bool {
    match kind.category {
        ActionCategory::Enrichment
        | ActionCategory::CaseSummary
        | ActionCategory::Ticket
        | ActionCategory::Notification
        | ActionCategory::RuleMute => false,
        // A host's triage package is collected from the host; a snapshot of Vigil's own is books.
        ActionCategory::EvidenceSnapshot => kind.target.is_some(),
        _ => true,
    }
}

/// The phase an action has in the library's other playbooks; containment when none has it.
fn phase_of(action: &str, library: &[Playbook]) -> Phase {
    library.iter().flat_map(|p| &p.steps).find(|s| s.action == action).map_or(Phase::Contain, |s| s.phase)
}

/// What the case's requests, runs and answers propose to change in `playbook`; `None` when the
/// case followed it as written.
pub fn propose(
    playbook: &Playbook,
    library: &[Playbook],
    requests: &[ActionRequestRow],
    runs: &[ActionRun],
    approvals: &[ApprovalRow],
) -> Option<RunbookEdit> {
    let in_playbook: BTreeSet<&str> = playbook.steps.iter().map(|s| s.action.as_str()).collect();
    // The last run of each request decides what became of it.
    let mut last_run: BTreeMap<&str, &ActionRun> = BTreeMap::new();
    for run in runs {
        let entry = last_run.entry(run.request_id.as_str()).or_insert(run);
        if run.queued_at >= entry.queued_at {
            *entry = run;
        }
    }
    let mut added: BTreeMap<(String, String), StepChange> = BTreeMap::new();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    let mut dropped: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for row in requests {
        let request = &row.request;
        // A rollback is the undoing of a step, not a step of its own.
        if request.parameters.contains_key(vigil_respond::ROLLBACK_OF) {
            continue;
        }
        let Some(kind) = ActionKind::named(&request.action) else { continue };
        let run = last_run.get(row.id.as_str()).map(|r| r.status);
        let rejected = row.status == ActionStatus::Rejected;
        if in_playbook.contains(request.action.as_str()) {
            match (rejected, run) {
                (true, _) => {
                    let why: Vec<String> = approvals
                        .iter()
                        .filter(|a| a.request_id == row.id && a.verdict == Verdict::Reject)
                        .map(|a| format!("rejected by {}: {}", a.approver, a.rationale))
                        .collect();
                    let entry = dropped.entry(request.action.clone()).or_default();
                    entry.0.extend(why);
                    entry.1.push(row.id.clone());
                }
                (false, Some(RunStatus::RolledBack)) => {
                    let entry = dropped.entry(request.action.clone()).or_default();
                    entry.0.push("ran, then was rolled back".into());
                    entry.1.push(row.id.clone());
                }
                (false, Some(RunStatus::Succeeded)) => {
                    kept.insert(request.action.clone());
                }
                _ => {}
            }
            continue;
        }
        if run != Some(RunStatus::Succeeded) || !is_response(kind) {
            continue;
        }
        let target = request
            .target
            .as_ref()
            .map(|e| e.kind.as_str().to_owned())
            .or_else(|| kind.target.map(|k| k.as_str().to_owned()))
            .unwrap_or_else(|| "case".into());
        added
            .entry((request.action.clone(), target.clone()))
            .or_insert_with(|| StepChange {
                phase: phase_of(&request.action, library),
                action: request.action.clone(),
                target,
                why: "ran and verified on the case, not in the playbook".into(),
                requests: Vec::new(),
            })
            .requests
            .push(row.id.clone());
    }
    // A step that ran and held on the case, even if another request for it was refused, stays.
    dropped.retain(|action, _| !kept.contains(action));
    if added.is_empty() && dropped.is_empty() {
        return None;
    }
    let mut to = playbook.clone();
    to.version += 1;
    let mut removed = Vec::new();
    to.steps.retain(|step| match dropped.get(&step.action) {
        Some((why, requests)) => {
            removed.push(StepChange {
                phase: step.phase,
                action: step.action.clone(),
                target: step.target.clone(),
                why: why.join("; "),
                requests: requests.clone(),
            });
            false
        }
        None => true,
    });
    let added: Vec<StepChange> = added.into_values().collect();
    for change in &added {
        let step = Step {
            phase: change.phase,
            action: change.action.clone(),
            target: change.target.clone(),
            description: ActionKind::named(&change.action).map_or_else(String::new, |k| k.summary.to_owned()),
        };
        // After the last step of its phase, so the phases stay in order.
        let at = to.steps.iter().rposition(|s| s.phase <= step.phase).map_or(0, |i| i + 1);
        to.steps.insert(at, step);
    }
    Some(RunbookEdit { from: playbook.clone(), to, added, removed })
}

/// The runbook task a closing files: the edit of the playbook in force that the case's
/// recommendation followed, if the case's response departed from it.
pub async fn task(
    store: &Store,
    library: &[Playbook],
    case: &CaseId,
    now_ms: i64,
) -> Result<Option<LearningTask>> {
    let Some((_, recommendation)) = store.recommendation(case).await? else { return Ok(None) };
    let Some(followed) = recommendation.pointer("/playbook/id").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let Some(current) = library.iter().find(|p| p.id == followed) else { return Ok(None) };
    let requests = store.case_action_requests(case).await?;
    if requests.is_empty() {
        return Ok(None);
    }
    let runs = store.case_runs(case).await?;
    let approvals = store.case_approvals(case).await?;
    let Some(edit) = propose(current, library, &requests, &runs, &approvals) else { return Ok(None) };
    let digest = Sha256::digest(format!("{case}\0runbook\0{}\0{}", current.id, current.version));
    let replay = json!({
        "playbook": current.id,
        "from": current,
        "from_version": current.version,
        "to_version": edit.to.version,
        "added": edit.added,
        "removed_steps": edit.removed,
        "diff": edit.diff(),
        "removed": {"benign": 0, "malicious": 0, "unjudged": 0},
    });
    let title =
        format!("Runbook edit: {} (version {} to {})", current.title, current.version, edit.to.version);
    let id = super::task_id(&digest);
    let at = time::from_millis(now_ms);
    let artefact = playbook::to_yaml(&edit.to);
    Ok(Some(LearningTask::proposed(id, case.as_str(), LearningKind::Runbook, title, artefact, replay, &at)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;
    use vigil_model::action::{ActionRequest, Requester};
    use vigil_model::{Entity, EntityKind};

    use super::*;

    fn request(id: &str, action: &str, target: Option<Entity>, status: ActionStatus) -> ActionRequestRow {
        ActionRequestRow {
            id: id.into(),
            request: ActionRequest {
                action: action.into(),
                target,
                parameters: BTreeMap::new(),
                case: Some(CaseId::from("case-1".to_owned())),
                requested_by: Requester::Person("ana".into()),
                plan_sha256: None,
            },
            request_sha256: String::new(),
            policy_sha256: String::new(),
            decision: Value::Null,
            plan: Value::Null,
            plan_sha256: String::new(),
            status,
            requested_at: "2026-11-30T10:00:00Z".into(),
            expires_at: "2026-12-01T10:00:00Z".into(),
            updated_at: "2026-11-30T10:00:00Z".into(),
        }
    }

    fn run(request_id: &str, status: RunStatus, queued_at: &str) -> ActionRun {
        ActionRun {
            id: format!("run-{request_id}-{queued_at}"),
            request_id: request_id.into(),
            case_id: None,
            status,
            attempts: 1,
            not_before_ms: 0,
            lease_until_ms: 0,
            deadline_ms: 0,
            prior: None,
            outcome: None,
            code: None,
            reason: None,
            evidence_sha256: None,
            queued_by: "ana".into(),
            queued_at: queued_at.into(),
            finished_at: None,
        }
    }

    fn host_playbook() -> (Playbook, Vec<Playbook>) {
        let library = playbook::library().expect("library");
        let host = library.iter().find(|p| p.id == "host-compromise").expect("built in").clone();
        (host, library)
    }

    fn host(name: &str) -> Option<Entity> {
        Entity::new(EntityKind::Host, name)
    }

    #[test]
    fn a_case_that_followed_its_playbook_proposes_no_edit() {
        let (playbook, library) = host_playbook();
        let step = &playbook.steps[0];
        let requests = [request("r1", &step.action, host("ws-1"), ActionStatus::Approved)];
        let runs = [run("r1", RunStatus::Succeeded, "1")];
        assert_eq!(propose(&playbook, &library, &requests, &runs, &[]), None);
    }

    #[test]
    fn a_rolled_back_step_is_taken_out_unless_another_run_of_it_held() {
        let (playbook, library) = host_playbook();
        let action = playbook.steps[0].action.clone();
        let undone = [request("r1", &action, host("ws-1"), ActionStatus::Approved)];
        let runs = [run("r1", RunStatus::Succeeded, "1"), run("r1", RunStatus::RolledBack, "2")];
        let edit = propose(&playbook, &library, &undone, &runs, &[]).expect("an edit");
        assert_eq!(edit.removed.len(), 1);
        assert_eq!(edit.removed[0].why, "ran, then was rolled back");
        assert!(edit.to.steps.iter().all(|s| s.action != action));
        assert_eq!(edit.to.version, playbook.version + 1);

        let mut both = undone.to_vec();
        both.push(request("r2", &action, host("ws-2"), ActionStatus::Approved));
        let runs = [runs[0].clone(), runs[1].clone(), run("r2", RunStatus::Succeeded, "3")];
        assert_eq!(propose(&playbook, &library, &both, &runs, &[]), None, "it held on ws-2: it stays");
    }

    #[test]
    fn a_response_step_outside_the_playbook_is_added_in_its_phase_and_bookkeeping_is_not() {
        let (playbook, library) = host_playbook();
        let ip = Entity::new(EntityKind::Ip, "203.0.113.9");
        let requests = [
            request("r1", "block_indicator", ip, ActionStatus::Approved),
            request("r2", "open_ticket", None, ActionStatus::Approved),
            request("r3", "snapshot_evidence", None, ActionStatus::Approved),
        ];
        let runs = [
            run("r1", RunStatus::Succeeded, "1"),
            run("r2", RunStatus::Succeeded, "1"),
            run("r3", RunStatus::Succeeded, "1"),
        ];
        let edit = propose(&playbook, &library, &requests, &runs, &[]).expect("an edit");
        assert_eq!(edit.added.len(), 1, "{:?}", edit.added);
        let added = &edit.added[0];
        assert_eq!((added.action.as_str(), added.target.as_str()), ("block_indicator", "ip"));
        let phases: Vec<Phase> = edit.to.steps.iter().map(|s| s.phase).collect();
        let mut sorted = phases.clone();
        sorted.sort();
        assert_eq!(phases, sorted, "phases stay in order");
        // Written and read back, the proposal is the same playbook.
        let back: Playbook = yaml_serde::from_str(&playbook::to_yaml(&edit.to)).expect("parses");
        assert_eq!(back, edit.to);
        assert!(edit.diff().contains("+  - {phase: contain, action: \"block_indicator\""), "{}", edit.diff());
    }

    #[test]
    fn a_failed_run_proposes_nothing() {
        let (playbook, library) = host_playbook();
        let requests = [request(
            "r1",
            "block_indicator",
            Entity::new(EntityKind::Ip, "203.0.113.9"),
            ActionStatus::Approved,
        )];
        let runs = [run("r1", RunStatus::Failed, "1")];
        assert_eq!(propose(&playbook, &library, &requests, &runs, &[]), None);
    }
}
