//! Reading the cases made in a period, and the audit records that tell their histories, from
//! the store.

use std::collections::BTreeSet;

use vigil_model::CaseId;
use vigil_store::Store;
use vigil_store::audit::chain::AuditRecord;

use super::history::{AlertFacts, CaseFacts, CaseHistory, histories, ms};
use crate::Result;

/// The cases made in `[from, to)` (stored times) and their histories as the trail tells them
/// now; `records` are every record from `from` on.
pub async fn cases_made(store: &Store, from: &str, to: &str) -> Result<(Vec<CaseHistory>, Vec<AuditRecord>)> {
    let records = store.audit_records_since(from).await?;
    let made: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.action == "case.create" && r.at.as_str() < to)
        .filter_map(|r| r.target.strip_prefix("case:"))
        .collect();
    let recommended: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.action == "recommendation.create")
        .filter_map(|r| r.target.strip_prefix("case:"))
        .collect();
    let mut cases = Vec::new();
    for id in made {
        let Some(row) = store.case(&CaseId::new(id.to_owned())).await? else { continue };
        cases.push(facts_of(store, &row, recommended.contains(id)).await?);
    }
    let histories = histories(cases, &records);
    Ok((histories, records))
}

/// What the case's row, alerts and cited events say of it.
async fn facts_of(store: &Store, row: &vigil_store::CaseRow, recommended: bool) -> Result<CaseFacts> {
    let alerts = store.case_alerts(&row.id).await?;
    let mut facts = CaseFacts {
        id: row.id.as_str().to_owned(),
        title: row.title.clone(),
        severity: row.severity,
        owner: row.assignee.as_ref().map(|a| a.as_str().to_owned()),
        first_event_ms: ms(&row.first_seen),
        recommended,
        ..CaseFacts::default()
    };
    let mut cited = Vec::new();
    for alert in &alerts {
        let cites: Vec<String> = alert.finding["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["event_uid"].as_str().map(str::to_owned))
            .collect();
        cited.extend(cites.iter().cloned());
        let tags = alert.finding["rule"]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        facts.alerts.push(AlertFacts {
            rule_id: alert.rule_id.clone(),
            title: alert.title.clone(),
            tags,
            cites,
        });
    }
    cited.sort();
    cited.dedup();
    facts.events =
        store.event_times(&cited).await?.into_iter().filter_map(|(id, t)| ms(&t).map(|t| (id, t))).collect();
    Ok(facts)
}

/// One case's history, from every record about it and its action requests.
pub async fn history_of(store: &Store, id: &CaseId) -> Result<Option<CaseHistory>> {
    let Some(row) = store.case(id).await? else { return Ok(None) };
    let mut targets = vec![format!("case:{id}")];
    for request in store.case_action_requests(id).await? {
        targets.push(format!("action:{}", request.id));
    }
    let records = store.audit_records_for(&targets).await?;
    let recommended = records.iter().any(|r| r.action == "recommendation.create");
    let facts = facts_of(store, &row, recommended).await?;
    Ok(histories(vec![facts], &records).pop())
}
