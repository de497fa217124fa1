//! A case's history as the audit trail tells it: when it was made, first touched by a person,
//! recommended, decided on, contained and closed, how often it was reopened, and each response
//! step that ran with how it was approved and sealed. Built from the signed records alone (plus
//! the case's alerts and the events they cite, for evidence), so every metric can be checked
//! against the trail.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use vigil_store::audit::chain::AuditRecord;

/// What is known of a case besides its audit records: read from its row and its alerts.
#[derive(Clone, Debug, Default)]
pub struct CaseFacts {
    pub id: String,
    pub title: String,
    pub severity: i64,
    pub owner: Option<String>,
    /// The earliest event of the case (ms since the epoch).
    pub first_event_ms: Option<i64>,
    pub alerts: Vec<AlertFacts>,
    /// Each cited event that is in the store, with its time (ms).
    pub events: BTreeMap<String, i64>,
    /// A recommendation was drafted for the case.
    pub recommended: bool,
}

#[derive(Clone, Debug, Default)]
pub struct AlertFacts {
    pub rule_id: String,
    pub title: String,
    /// The rule's tags (ATT&CK `attack.t1110`, …).
    pub tags: Vec<String>,
    /// The events the alert cites, by id.
    pub cites: Vec<String>,
}

/// How a case ended up closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Closing {
    /// Closed as a true positive (`resolved`).
    Resolved,
    FalsePositive,
    Benign,
    /// Merged into another case.
    Duplicate,
}

impl Closing {
    fn from_state(state: &str) -> Option<Closing> {
        match state {
            "resolved" => Some(Closing::Resolved),
            "false_positive" => Some(Closing::FalsePositive),
            "benign" => Some(Closing::Benign),
            "duplicate" => Some(Closing::Duplicate),
            _ => None,
        }
    }
}

/// A response step that ran to an end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub request: String,
    pub action: String,
    /// `succeeded`, `failed` or `rolled_back`.
    pub status: String,
    /// Proposed by a playbook (not a person).
    pub by_playbook: bool,
    /// The playbook's id (without its version), when one proposed it.
    pub playbook: Option<String>,
    /// The policy's tier: `automatic`, `approvals` (with `required` people), `forbidden`.
    pub tier: String,
    pub required: u32,
    /// Distinct people who approved the request.
    pub approvals: u32,
    /// The run log was sealed in the evidence vault.
    pub sealed: bool,
    pub finished_ms: i64,
}

impl Step {
    /// Whether Vigil ran it on its own initiative: a playbook proposed it or the policy let it
    /// run without anyone.
    pub fn automated(&self) -> bool {
        self.by_playbook || self.tier == "automatic"
    }

    /// Whether it executed (and so changed something), whatever happened after.
    pub fn executed(&self) -> bool {
        self.status == "succeeded" || self.status == "rolled_back"
    }
}

/// One case's history, times in ms since the epoch.
#[derive(Clone, Debug, Default)]
pub struct CaseHistory {
    pub facts: CaseFacts,
    pub created_ms: Option<i64>,
    /// The first thing a person did on the case or its actions.
    pub acknowledged_ms: Option<i64>,
    /// When it was first given an owner.
    pub owned_ms: Option<i64>,
    /// The newest recommendation's verdict (`malicious`, `suspicious`, …).
    pub verdict: Option<String>,
    /// One of its requests needs people's approval.
    pub awaits_decision: bool,
    pub recommended_ms: Option<i64>,
    /// The first approval or rejection a person gave one of its requests.
    pub decided_ms: Option<i64>,
    /// The first move to `executed`.
    pub contained_ms: Option<i64>,
    /// How it is closed now, when, and whether Vigil (not a person) closed it.
    pub closing: Option<(Closing, i64, bool)>,
    pub reopened: u32,
    pub steps: Vec<Step>,
}

impl CaseHistory {
    /// Closed as benign by auto-triage (no person was needed).
    pub fn auto_triaged(&self) -> bool {
        matches!(self.closing, Some((Closing::Benign, _, true))) && self.acknowledged_ms.is_none()
    }

    pub fn merged(&self) -> bool {
        matches!(self.closing, Some((Closing::Duplicate, _, _)))
    }

    pub fn closed_ms(&self) -> Option<i64> {
        self.closing.map(|(_, at, _)| at)
    }
}

/// Milliseconds since the epoch of a stored time.
pub fn ms(stamp: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(stamp).ok().map(|t| t.timestamp_millis())
}

fn is_person(actor: &str) -> bool {
    !actor.starts_with("vigil:")
}

/// `actor` without the token it acted through: one person, however they signed in.
fn person(actor: &str) -> &str {
    actor.split(" (token ").next().unwrap_or(actor)
}

fn earliest(slot: &mut Option<i64>, at: i64) {
    if slot.is_none_or(|s| at < s) {
        *slot = Some(at);
    }
}

#[derive(Default)]
struct Request {
    action: String,
    by_playbook: bool,
    playbook: Option<String>,
    tier: String,
    required: u32,
    approvers: Vec<String>,
}

/// The histories of `cases` from `records`: every record about a case (`case:<id>`) or about an
/// action request proposed on one (`action:<id>`), in sequence order.
pub fn histories(cases: Vec<CaseFacts>, records: &[AuditRecord]) -> Vec<CaseHistory> {
    let mut by_case: BTreeMap<String, CaseHistory> = cases
        .into_iter()
        .map(|facts| (facts.id.clone(), CaseHistory { facts, ..CaseHistory::default() }))
        .collect();
    // Which case each request is about, and what it is, from its proposal.
    let mut requests: BTreeMap<String, (String, Request)> = BTreeMap::new();
    let mut runs: BTreeMap<String, (String, String, bool, i64)> = BTreeMap::new();
    for record in records {
        let Some(at) = ms(&record.at) else { continue };
        let detail: Value = serde_json::from_str(&record.detail).unwrap_or(Value::Null);
        if let Some(id) = record.target.strip_prefix("case:") {
            let Some(history) = by_case.get_mut(id) else { continue };
            if is_person(&record.actor) {
                earliest(&mut history.acknowledged_ms, at);
            }
            match record.action.as_str() {
                "case.create" => earliest(&mut history.created_ms, at),
                "case.assign" if detail["assignee"].is_string() => earliest(&mut history.owned_ms, at),
                "recommendation.create" => history.verdict = detail["verdict"].as_str().map(str::to_owned),
                "case.transition" => {
                    let from = detail["from"].as_str().unwrap_or_default();
                    let to = detail["to"].as_str().unwrap_or_default();
                    if to == "recommended" {
                        earliest(&mut history.recommended_ms, at);
                    }
                    if to == "executed" {
                        earliest(&mut history.contained_ms, at);
                    }
                    if let Some(closing) = Closing::from_state(to) {
                        history.closing = Some((closing, at, !is_person(&record.actor)));
                    } else if (Closing::from_state(from).is_some() || from == "learned") && to != "learned" {
                        history.reopened += 1;
                        history.closing = None;
                    }
                }
                _ => {}
            }
            continue;
        }
        let Some(request_id) = record.target.strip_prefix("action:") else { continue };
        if record.action == "action.propose" {
            let Some(case) = detail["request"]["case"].as_str() else { continue };
            let request = Request {
                action: detail["request"]["action"].as_str().unwrap_or_default().to_owned(),
                by_playbook: detail["request"]["requested_by"]["kind"] == "playbook",
                playbook: (detail["request"]["requested_by"]["kind"] == "playbook")
                    .then(|| detail["request"]["requested_by"]["name"].as_str())
                    .flatten()
                    .map(|name| name.split('@').next().unwrap_or(name).to_owned()),
                tier: detail["decision"]["tier"].as_str().unwrap_or_default().to_owned(),
                required: detail["decision"]["required"].as_u64().map_or(0, |n| n as u32),
                approvers: Vec::new(),
            };
            if request.tier == "approvals"
                && let Some(history) = by_case.get_mut(case)
            {
                history.awaits_decision = true;
            }
            requests.insert(request_id.to_owned(), (case.to_owned(), request));
        }
        let Some((case, request)) = requests.get_mut(request_id) else { continue };
        let Some(history) = by_case.get_mut(case.as_str()) else { continue };
        if is_person(&record.actor) {
            earliest(&mut history.acknowledged_ms, at);
        }
        match record.action.as_str() {
            "action.approve" | "action.reject" if is_person(&record.actor) => {
                earliest(&mut history.decided_ms, at);
                let who = person(&record.actor).to_owned();
                if record.action == "action.approve" && !request.approvers.contains(&who) {
                    request.approvers.push(who);
                }
            }
            "action.run" => {
                // The run's last status is its end: succeeded, failed, rolled back.
                if let (Some(run), Some(status)) = (detail["run"].as_str(), detail["status"].as_str())
                    && matches!(status, "succeeded" | "failed" | "rolled_back")
                {
                    let sealed = detail["evidence_sha256"].as_str().is_some_and(|s| !s.is_empty())
                        || runs.get(run).is_some_and(|r| r.2);
                    runs.insert(run.to_owned(), (request_id.to_owned(), status.to_owned(), sealed, at));
                }
            }
            _ => {}
        }
    }
    for (request_id, status, sealed, at) in runs.into_values() {
        let Some((case, request)) = requests.get(&request_id) else { continue };
        let Some(history) = by_case.get_mut(case.as_str()) else { continue };
        history.steps.push(Step {
            request: request_id.clone(),
            action: request.action.clone(),
            status,
            by_playbook: request.by_playbook,
            playbook: request.playbook.clone(),
            tier: request.tier.clone(),
            required: request.required,
            approvals: request.approvers.len() as u32,
            sealed,
            finished_ms: at,
        });
    }
    by_case.into_values().collect()
}
