//! A case's evidence as items with stable ids: `alert:<finding uid>` for each alert and
//! `event:<event uid>` for each event an alert rests on. Everything a recommendation claims
//! cites these ids, and a citation that is not among them is rejected.

use serde::Serialize;
use vigil_correlate::{Case, TimelineKind};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EvidenceItem {
    pub id: String,
    pub time: i64,
    /// What it is: the rule's title for an alert, the event's summary for an event.
    pub what: String,
    /// Where it was read (events), or the rule id (alerts).
    pub source: String,
    pub host: Option<String>,
}

/// Every evidence item of `case`, in time order, each once.
pub fn items(case: &Case) -> Vec<EvidenceItem> {
    let mut out: Vec<EvidenceItem> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in &case.timeline {
        let alert = &case.alerts[entry.alert];
        let host = alert
            .entities
            .iter()
            .find(|e| e.kind == vigil_model::EntityKind::Host)
            .map(|e| e.key.to_string());
        let (id, source) = match entry.kind {
            TimelineKind::Alert => (format!("alert:{}", entry.reference), alert.rule.id.clone()),
            TimelineKind::Event => {
                (format!("event:{}", entry.reference), entry.source.clone().unwrap_or_default())
            }
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        out.push(EvidenceItem { id, time: entry.time, what: entry.title.clone(), source, host });
    }
    out
}

/// The evidence ids of the alerts at `indices` in `case` (and the events they rest on).
pub fn ids_of_alerts(case: &Case, indices: &[usize]) -> Vec<String> {
    let mut ids = Vec::new();
    for &i in indices {
        let Some(alert) = case.alerts.get(i) else { continue };
        ids.extend(alert.ids.first().map(|id| format!("alert:{id}")));
        ids.extend(alert.evidence.iter().map(|e| format!("event:{}", e.event_uid)));
    }
    ids.dedup();
    ids
}
