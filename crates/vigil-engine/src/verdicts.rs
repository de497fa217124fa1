//! Analysts' verdicts, kept with the case states that carry them: a person closing a case as
//! benign or false positive judges its rules on its entities benign, resolving it judges them
//! malicious, and reopening it takes the judgement back. The engine reads them back as the
//! history the built-in analyst weighs. Auto-triage never writes here: its closures are not
//! anyone's judgement.

use vigil_correlate::Alert;
use vigil_model::{CaseId, CaseState};
use vigil_store::{By, Store, VerdictRow, WriteTx};
use vigil_triage::history::{self, History, Judged, PriorVerdict};

use crate::Result;

/// What a person moving a case to a state says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A verdict: closed as benign or false positive, or resolved.
    Judge(Judged),
    /// No verdict any more: reopened, or closed as a duplicate.
    Withdraw,
    /// The verdict stands: a judged case moving on to lessons learned.
    Keep,
}

pub fn change(to: CaseState) -> Change {
    match to {
        CaseState::Benign | CaseState::FalsePositive => Change::Judge(Judged::Benign),
        CaseState::Resolved => Change::Judge(Judged::Malicious),
        CaseState::Learned => Change::Keep,
        _ => Change::Withdraw,
    }
}

fn name(j: Judged) -> &'static str {
    match j {
        Judged::Benign => "benign",
        Judged::Malicious => "malicious",
    }
}

/// Records, in `tx`, what a person's transition of `case_id` to `to` says about the case.
pub async fn record(
    store: &Store,
    tx: &mut WriteTx<'_>,
    case_id: &CaseId,
    to: CaseState,
    by: &By,
) -> Result<()> {
    let judged = match change(to) {
        Change::Keep => return Ok(()),
        Change::Withdraw => return Ok(tx.set_case_verdict(case_id, None, by).await?),
        Change::Judge(judged) => judged,
    };
    let mut alerts: Vec<Alert> = Vec::new();
    for row in store.case_alerts(case_id).await? {
        let alert = serde_json::from_value(row.finding)
            .map_err(|e| crate::Error::StoredAlert { id: row.id.to_string(), reason: e.to_string() })?;
        alerts.push(alert);
    }
    let pairs = history::pairs(alerts.iter().map(|a| (a.rule.id.as_str(), a.entities.as_slice())));
    tx.set_case_verdict(case_id, Some((name(judged), &pairs)), by).await?;
    Ok(())
}

/// The stored verdicts as prior verdicts (rows with an unknown verdict are skipped).
pub fn prior(rows: &[VerdictRow]) -> Vec<PriorVerdict> {
    rows.iter()
        .filter_map(|r| {
            let verdict = match r.verdict.as_str() {
                "benign" => Judged::Benign,
                "malicious" => Judged::Malicious,
                _ => return None,
            };
            Some(PriorVerdict {
                rule: r.rule_id.clone(),
                entity: r.entity.clone(),
                verdict,
                case: Some(r.case_id.clone()),
            })
        })
        .collect()
}

/// `base` (a configured history file's verdicts) with the store's added.
pub fn merged(base: Option<&History>, rows: &[VerdictRow]) -> History {
    let mut history = base.cloned().unwrap_or_default();
    for v in prior(rows) {
        history.add(&v);
    }
    history
}
