//! The compliance report of one framework over a period: per control, the detections enabled
//! that support it, the period's cases whose alerts or response steps it covers, those steps,
//! and the evidence of each type it names that the period holds; then the controls with no
//! evidence. Cases are those made in the period; evidence is counted from the audit records
//! written in it.

use std::collections::BTreeMap;

use serde::Serialize;
use vigil_model::ActionKind;
use vigil_store::audit::chain::AuditRecord;

use super::catalogue::{Control, EvidenceKind, Framework};
use crate::metrics::{CaseHistory, ms};

/// A rule Vigil runs, with the tags the catalogue's detections are matched against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RunningRule {
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CaseRef {
    pub id: String,
    pub title: String,
    /// Why it supports the control: the rules and steps that matched.
    pub through: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StepRef {
    pub case: String,
    pub request: String,
    pub action: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EvidenceCount {
    pub kind: EvidenceKind,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ControlReport {
    pub id: String,
    pub title: String,
    /// The rules running that support it (every one, by id and title).
    pub detections: Vec<(String, String)>,
    pub cases: Vec<CaseRef>,
    pub steps: Vec<StepRef>,
    /// The evidence types it names and what the period holds of each (zero included).
    pub evidence: Vec<EvidenceCount>,
    /// Anything in the period supports it: a case, a step, or evidence of a type it names.
    pub supported: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ComplianceReport {
    pub framework: String,
    pub title: String,
    pub version: String,
    pub source: String,
    pub from: String,
    pub to: String,
    pub generated_at: String,
    pub rules_running: usize,
    pub cases: usize,
    pub controls: Vec<ControlReport>,
    /// The controls nothing in the period supports.
    pub without_evidence: Vec<String>,
}

/// How much of each evidence type the period's records and cases hold.
pub fn evidence_counts(
    records: &[AuditRecord],
    cases: &[CaseHistory],
    from_ms: i64,
    to_ms: i64,
) -> BTreeMap<EvidenceKind, usize> {
    let mut counts = BTreeMap::new();
    let mut add = |kind: EvidenceKind, n: usize| *counts.entry(kind).or_insert(0) += n;
    for record in records {
        let Some(at) = ms(&record.at) else { continue };
        if at < from_ms || at >= to_ms {
            continue;
        }
        add(EvidenceKind::AuditTrail, 1);
        let person = !record.actor.starts_with("vigil:");
        match record.action.as_str() {
            "action.approve" | "action.reject" if person => add(EvidenceKind::Approvals, 1),
            "case.verdict" => add(EvidenceKind::Verdicts, 1),
            "evidence.add" => add(EvidenceKind::EvidenceFiles, 1),
            "case.sla_breach" => add(EvidenceKind::SlaRecords, 1),
            "action.run"
                if record.detail.contains("\"evidence_sha256\":\"")
                    && ["succeeded", "failed", "rolled_back"]
                        .iter()
                        .any(|s| record.detail.contains(&format!("\"status\":\"{s}\""))) =>
            {
                add(EvidenceKind::RunLogs, 1)
            }
            _ => {}
        }
    }
    for case in cases {
        add(EvidenceKind::Alerts, case.facts.alerts.iter().filter(|a| !a.cites.is_empty()).count());
        add(EvidenceKind::SlaRecords, usize::from(case.created_ms.is_some()));
        if case.closed_ms().is_some_and(|at| at >= from_ms && at < to_ms) && !case.merged() {
            add(EvidenceKind::CaseRecords, 1);
        }
    }
    counts
}

fn step_matches(control: &Control, action: &str, playbook: Option<&str>) -> bool {
    control.actions.iter().any(|a| a == action)
        || ActionKind::named(action)
            .is_some_and(|k| control.categories.iter().any(|c| c == k.category.as_str()))
        || playbook.is_some_and(|p| control.playbooks.iter().any(|q| q == p))
}

/// The report of `framework` over `[from_ms, to_ms)`: `cases` are the period's, `records`
/// the audit records written from its start.
pub fn assemble(
    framework: &Framework,
    rules: &[RunningRule],
    cases: &[CaseHistory],
    records: &[AuditRecord],
    from: String,
    to: String,
    generated_at: String,
) -> ComplianceReport {
    let (from_ms, to_ms) = (ms(&from).unwrap_or(i64::MIN), ms(&to).unwrap_or(i64::MAX));
    let counts = evidence_counts(records, cases, from_ms, to_ms);
    let mut controls = Vec::new();
    for control in &framework.controls {
        let detections: Vec<(String, String)> = rules
            .iter()
            .filter(|r| !control.detections.is_empty() && control.detections.cover(&r.id, &r.tags))
            .map(|r| (r.id.clone(), r.title.clone()))
            .collect();
        let mut case_refs = Vec::new();
        let mut steps = Vec::new();
        for case in cases.iter().filter(|c| !c.merged()) {
            let mut through: Vec<String> = Vec::new();
            if !control.detections.is_empty() {
                for alert in &case.facts.alerts {
                    if control.detections.cover(&alert.rule_id, &alert.tags)
                        && !through.contains(&alert.title)
                    {
                        through.push(alert.title.clone());
                    }
                }
            }
            for step in &case.steps {
                if step_matches(control, &step.action, step.playbook.as_deref()) {
                    through.push(format!("{} ({})", step.action, step.status));
                    steps.push(StepRef {
                        case: case.facts.id.clone(),
                        request: step.request.clone(),
                        action: step.action.clone(),
                        status: step.status.clone(),
                    });
                }
            }
            if !through.is_empty() {
                case_refs.push(CaseRef {
                    id: case.facts.id.clone(),
                    title: case.facts.title.clone(),
                    through,
                });
            }
        }
        let evidence: Vec<EvidenceCount> = control
            .evidence
            .iter()
            .map(|kind| EvidenceCount { kind: *kind, count: counts.get(kind).copied().unwrap_or(0) })
            .collect();
        let supported = !case_refs.is_empty() || !steps.is_empty() || evidence.iter().any(|e| e.count > 0);
        controls.push(ControlReport {
            id: control.id.clone(),
            title: control.title.clone(),
            detections,
            cases: case_refs,
            steps,
            evidence,
            supported,
        });
    }
    let without_evidence = controls.iter().filter(|c| !c.supported).map(|c| c.id.clone()).collect();
    ComplianceReport {
        framework: framework.framework.clone(),
        title: framework.title.clone(),
        version: framework.version.clone(),
        source: framework.source.clone(),
        from,
        to,
        generated_at,
        rules_running: rules.len(),
        cases: cases.len(),
        controls,
        without_evidence,
    }
}
