//! A case as clustering builds it: its alerts (duplicates folded, with a count), the entities
//! they share, ATT&CK tactics in kill-chain order and techniques with the alerts behind them,
//! the timeline, and the reason for every merge.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_model::{Actor, AlertId, CaseId, CaseState, Component, Entity, EventId, Lifecycle, Severity};

use crate::alert::{Evidence, RuleRef};
use crate::attack::Attack;

/// Alerts of one rule on the same entities, folded into one with a count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FoldedAlert {
    pub rule: Arc<RuleRef>,
    /// The ids of the alerts folded here (the first few when there are many; `count` says how many).
    pub ids: Vec<AlertId>,
    pub count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub entities: Vec<Entity>,
    pub evidence: Vec<Evidence>,
    pub summary: Option<String>,
}

/// Why an alert joined a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Merge {
    /// The alert that joined, and the alert in the case it was joined to (indices into `alerts`).
    pub alert: usize,
    pub joined_to: usize,
    /// The entities the two share, weightiest first.
    pub shared: Vec<Entity>,
    pub gap_ms: i64,
    pub score: f64,
    /// In words: `joined by host ws-12 and user corp\alice, 9 minutes apart`.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseEntity {
    pub entity: Entity,
    /// How many of the case's alerts name it.
    pub alerts: usize,
    /// What sharing it weighs in clustering (rare entities more).
    pub weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TacticUse {
    pub id: Option<String>,
    pub short_name: String,
    pub name: String,
    pub alerts: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TechniqueUse {
    pub id: String,
    pub name: Option<String>,
    /// For a v19 id: the v18.1 technique it continues.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previously: Option<String>,
    pub alerts: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Alert,
    Event,
}

/// One line of a case's timeline: an alert, or an event an alert rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelineEntry {
    pub time: i64,
    pub kind: TimelineKind,
    pub title: String,
    pub level: Option<Severity>,
    /// Where the event was read (events only).
    pub source: Option<String>,
    /// The alert id or event uid: the evidence reference.
    pub reference: String,
    /// The alert this line belongs to (index into `alerts`).
    pub alert: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Case {
    /// Derived from the ids of its alerts: the same alerts make the same case.
    pub id: CaseId,
    pub title: String,
    pub severity: Severity,
    pub lifecycle: Lifecycle,
    pub first_seen: i64,
    pub last_seen: i64,
    pub alerts: Vec<FoldedAlert>,
    pub entities: Vec<CaseEntity>,
    pub tactics: Vec<TacticUse>,
    pub techniques: Vec<TechniqueUse>,
    pub merges: Vec<Merge>,
    /// Cases this one would have joined but for the size cap.
    pub continues: Vec<CaseId>,
    pub timeline: Vec<TimelineEntry>,
}

impl Case {
    /// How many alerts the case holds, folded duplicates counted.
    pub fn alert_count(&self) -> u64 {
        self.alerts.iter().map(|a| a.count).sum()
    }

    /// The entities that say most about the case: the weightiest shared by most alerts.
    pub fn key_entities(&self, n: usize) -> Vec<&CaseEntity> {
        let mut ranked: Vec<&CaseEntity> = self.entities.iter().filter(|e| e.weight > 0.0).collect();
        ranked.sort_by(|a, b| {
            (b.weight * b.alerts as f64)
                .total_cmp(&(a.weight * a.alerts as f64))
                .then_with(|| a.entity.cmp(&b.entity))
        });
        ranked.truncate(n);
        ranked
    }

    /// The id of the case these alerts make, derived from their ids.
    pub(crate) fn id_of(alerts: &[FoldedAlert]) -> CaseId {
        let mut ids: Vec<&str> = alerts.iter().flat_map(|a| a.ids.iter().map(AlertId::as_str)).collect();
        ids.sort_unstable();
        CaseId::new(EventId::from_content("vigil-case", ids.join("\n").as_bytes()).to_string())
    }

    /// Builds a case from its alerts (in time order) and merges, with entity weights.
    pub(crate) fn build(
        alerts: Vec<FoldedAlert>,
        merges: Vec<Merge>,
        weight: &dyn Fn(&Entity) -> f64,
    ) -> Case {
        let id = Case::id_of(&alerts);
        let severity = alerts.iter().map(|a| a.rule.level).max().unwrap_or(Severity::Unknown);
        let first_seen = alerts.iter().map(|a| a.first_seen).min().unwrap_or(0);
        let last_seen = alerts.iter().map(|a| a.last_seen).max().unwrap_or(0);

        let mut counts: BTreeMap<&Entity, usize> = BTreeMap::new();
        for a in &alerts {
            for e in &a.entities {
                *counts.entry(e).or_default() += 1;
            }
        }
        let entities = counts
            .into_iter()
            .map(|(e, n)| CaseEntity { entity: e.clone(), alerts: n, weight: weight(e) })
            .collect();

        let attack = Attack::get();
        let mut tactics: Vec<TacticUse> = Vec::new();
        let mut techniques: Vec<TechniqueUse> = Vec::new();
        let mut tactic_order: BTreeMap<String, u32> = BTreeMap::new();
        for (i, a) in alerts.iter().enumerate() {
            let (ts, qs) = attack.from_tags(a.rule.tags.iter().map(String::as_str));
            for t in ts {
                tactic_order.insert(t.short_name.clone(), t.order);
                match tactics.iter_mut().find(|u| u.short_name == t.short_name) {
                    Some(u) => u.alerts.push(i),
                    None => tactics.push(TacticUse {
                        id: t.id.clone(),
                        short_name: t.short_name.clone(),
                        name: t.name.clone(),
                        alerts: vec![i],
                    }),
                }
            }
            for q in qs {
                match techniques.iter_mut().find(|u| u.id == q.id) {
                    Some(u) => u.alerts.push(i),
                    None => techniques.push(TechniqueUse {
                        id: q.id,
                        name: q.name,
                        previously: q.previously,
                        alerts: vec![i],
                    }),
                }
            }
        }
        tactics.sort_by_key(|t| tactic_order.get(&t.short_name).copied().unwrap_or(u32::MAX));
        techniques.sort_by(|a, b| a.id.cmp(&b.id));

        let mut timeline = Vec::with_capacity(alerts.iter().map(|a| 1 + a.evidence.len()).sum::<usize>());
        let mut seen_events = std::collections::HashSet::new();
        for (i, a) in alerts.iter().enumerate() {
            let times = if a.count > 1 { format!(" (×{})", a.count) } else { String::new() };
            timeline.push(TimelineEntry {
                time: a.first_seen,
                kind: TimelineKind::Alert,
                title: format!("{}{times}", a.rule.title),
                level: Some(a.rule.level),
                source: None,
                reference: a.ids.first().map(AlertId::to_string).unwrap_or_default(),
                alert: i,
            });
            for ev in &a.evidence {
                if !seen_events.insert(ev.event_uid.as_str()) {
                    continue;
                }
                timeline.push(TimelineEntry {
                    time: ev.time,
                    kind: TimelineKind::Event,
                    title: ev.summary.clone().unwrap_or_else(|| ev.class_name.clone()),
                    level: None,
                    source: Some(ev.source.clone()),
                    reference: ev.event_uid.clone(),
                    alert: i,
                });
            }
        }
        // Events before the alerts they raise when the times are equal.
        timeline.sort_by(|a, b| {
            (a.time, a.kind == TimelineKind::Alert, &a.reference).cmp(&(
                b.time,
                b.kind == TimelineKind::Alert,
                &b.reference,
            ))
        });

        let mut lifecycle = Lifecycle::default();
        // Clustering is the correlation step; a hunt has no enrichment inputs to skip past.
        let _ = lifecycle.transition(
            CaseState::Correlated,
            &Actor::vigil(Component::Engine),
            last_seen,
            &match alerts.iter().map(|a| a.count).sum::<u64>() {
                1 => "1 alert, nothing shared with other alerts".to_owned(),
                n => format!("{n} alerts clustered over shared entities"),
            },
        );
        let mut case = Case {
            id,
            title: String::new(),
            severity,
            lifecycle,
            first_seen,
            last_seen,
            alerts,
            entities,
            tactics,
            techniques,
            merges,
            continues: Vec::new(),
            timeline,
        };
        case.title = title(&case);
        case
    }
}

/// The weightiest alert's rule, how many other rules, and the case's key entity.
fn title(case: &Case) -> String {
    let Some(top) = case
        .alerts
        .iter()
        .max_by(|a, b| a.rule.level.cmp(&b.rule.level).then(b.first_seen.cmp(&a.first_seen)))
    else {
        return String::new();
    };
    let mut rules: Vec<&str> = case.alerts.iter().map(|a| a.rule.id.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let others = match rules.len() - 1 {
        0 => String::new(),
        1 => " and 1 other rule".to_owned(),
        n => format!(" and {n} other rules"),
    };
    let about = case
        .key_entities(1)
        .first()
        .map(|e| format!(" ({} {})", e.entity.kind.as_str(), e.entity.key))
        .unwrap_or_default();
    format!("{}{others}{about}", top.rule.title)
}
