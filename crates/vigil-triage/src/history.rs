//! Verdicts analysts gave earlier: which rule, on which entity, a person judged benign or
//! malicious. The scorer weighs them (`prior_benign`, `prior_malicious`), so a rule an analyst
//! has closed as benign on the same account before counts toward benign, and one confirmed
//! malicious counts the other way. Only human verdicts belong here: auto-triage's own closures
//! are not evidence of anything.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use vigil_correlate::{Case, FoldedAlert};
use vigil_model::{CaseId, Entity, EntityKind};

/// What an analyst concluded about a case.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Judged {
    Benign,
    Malicious,
}

/// One rule on one entity, as a closed case left it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorVerdict {
    /// The rule id.
    pub rule: String,
    /// `kind key`, as entities print: `user corp\svc-backup`, `cloud_principal arn:aws:…`.
    pub entity: String,
    pub verdict: Judged,
    /// The case the verdict was given on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseId>,
}

/// How often a rule on an entity was judged each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Tally {
    pub benign: u32,
    pub malicious: u32,
}

/// A verdict's case, as the evidence path of a judgement that rests on it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Precedent {
    pub case: CaseId,
    pub verdict: Judged,
}

/// What one rule on one entity was judged, and the latest cases that judged it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
struct Judgements {
    tally: Tally,
    cases: Vec<Precedent>,
}

/// How many cases a rule on an entity keeps as precedents.
const PRECEDENTS: usize = 5;

/// Every prior verdict, by rule and entity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct History {
    by_rule: BTreeMap<String, BTreeMap<String, Judgements>>,
    verdicts: usize,
}

/// Entities that name one actor or machine. A cloud account, a service endpoint or a process
/// name is shared by everything in it, so a verdict on it says nothing about the next alert.
fn identifies(entity: &Entity) -> bool {
    !matches!(
        entity.kind,
        EntityKind::CloudAccount | EntityKind::Service | EntityKind::Process | EntityKind::Rule
    )
}

/// The distinct (rule id, entity) pairs a verdict on these alerts covers: each rule on each
/// identifying entity its alert named.
pub fn pairs<'a>(alerts: impl IntoIterator<Item = (&'a str, &'a [Entity])>) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    alerts
        .into_iter()
        .flat_map(|(rule, entities)| entities.iter().filter(|e| identifies(e)).map(move |e| (rule, e)))
        .map(|(rule, e)| (rule.to_owned(), e.to_string()))
        .filter(|pair| seen.insert(pair.clone()))
        .collect()
}

impl History {
    pub fn from_verdicts<'a>(verdicts: impl IntoIterator<Item = &'a PriorVerdict>) -> History {
        let mut history = History::default();
        for v in verdicts {
            history.add(v);
        }
        history
    }

    pub fn add(&mut self, v: &PriorVerdict) {
        let judged =
            self.by_rule.entry(v.rule.clone()).or_default().entry(v.entity.to_lowercase()).or_default();
        match v.verdict {
            Judged::Benign => judged.tally.benign += 1,
            Judged::Malicious => judged.tally.malicious += 1,
        }
        if let Some(case) = &v.case {
            let precedent = Precedent { case: case.clone(), verdict: v.verdict };
            judged.cases.retain(|p| *p != precedent);
            judged.cases.push(precedent);
            if judged.cases.len() > PRECEDENTS {
                judged.cases.remove(0);
            }
        }
        self.verdicts += 1;
    }

    /// Takes back verdicts added earlier (training scores each case against the others only).
    pub fn remove(&mut self, v: &PriorVerdict) {
        let Some(judged) = self.by_rule.get_mut(&v.rule).and_then(|e| e.get_mut(&v.entity.to_lowercase()))
        else {
            return;
        };
        let count = match v.verdict {
            Judged::Benign => &mut judged.tally.benign,
            Judged::Malicious => &mut judged.tally.malicious,
        };
        if *count > 0 {
            *count -= 1;
            self.verdicts -= 1;
            if let Some(case) = &v.case {
                judged.cases.retain(|p| !(p.case == *case && p.verdict == v.verdict));
            }
        }
    }

    /// How many verdicts it holds.
    pub fn len(&self) -> usize {
        self.verdicts
    }

    pub fn is_empty(&self) -> bool {
        self.verdicts == 0
    }

    /// The verdicts a case judged `verdict` leaves: its rules on their identifying entities.
    pub fn of_case(case: &Case, verdict: Judged) -> Vec<PriorVerdict> {
        pairs(case.alerts.iter().map(|a| (a.rule.id.as_str(), a.entities.as_slice())))
            .into_iter()
            .map(|(rule, entity)| PriorVerdict { rule, entity, verdict, case: Some(case.id.clone()) })
            .collect()
    }

    /// What analysts said before about this alert's rule on any of its identifying entities,
    /// and the cases they said it on.
    pub fn judge(&self, alert: &FoldedAlert) -> (Tally, Vec<Precedent>) {
        let mut tally = Tally::default();
        let mut cases = Vec::new();
        let Some(entities) = self.by_rule.get(&alert.rule.id) else {
            return (tally, cases);
        };
        for e in alert.entities.iter().filter(|e| identifies(e)) {
            if let Some(judged) = entities.get(&e.to_string().to_lowercase()) {
                tally.benign += judged.tally.benign;
                tally.malicious += judged.tally.malicious;
                cases.extend(judged.cases.iter().cloned());
            }
        }
        cases.sort();
        cases.dedup();
        (tally, cases)
    }
}

#[cfg(test)]
mod tests {
    use vigil_correlate::{Alert, ClusterConfig, RuleRef, cluster};
    use vigil_model::Severity;

    use super::*;

    fn case(rule: &str, user: &str) -> Case {
        let alert = Alert {
            tenant: None,
            id: format!("{rule}-{user}").into(),
            rule: std::sync::Arc::new(RuleRef {
                id: rule.into(),
                title: rule.into(),
                level: Severity::Low,
                tags: vec![],
                author: None,
                license: "x".into(),
            }),
            time: 0,
            entities: vec![
                Entity::new(EntityKind::User, user).expect("user"),
                Entity::new(EntityKind::CloudAccount, "111122223333").expect("account"),
            ],
            aliases: vec![],
            evidence: vec![],
            summary: None,
        };
        cluster(&[alert], &ClusterConfig::default()).remove(0)
    }

    #[test]
    fn a_verdict_counts_for_the_same_rule_on_the_same_actor_only() {
        let judged = case("r1", "svc-backup");
        let history = History::from_verdicts(&History::of_case(&judged, Judged::Benign));
        assert_eq!(history.len(), 1, "the shared cloud account leaves no verdict");
        let (tally, precedents) = history.judge(&judged.alerts[0]);
        assert_eq!(tally, Tally { benign: 1, malicious: 0 });
        assert_eq!(precedents, [Precedent { case: judged.id.clone(), verdict: Judged::Benign }]);
        assert_eq!(history.judge(&case("r1", "alice").alerts[0]).0, Tally::default(), "another actor");
        assert_eq!(history.judge(&case("r2", "svc-backup").alerts[0]).0, Tally::default(), "another rule");
    }

    #[test]
    fn removing_a_verdict_takes_back_exactly_what_it_added() {
        let judged = case("r1", "svc-backup");
        let verdicts = History::of_case(&judged, Judged::Malicious);
        let mut history = History::from_verdicts(&verdicts);
        history.add(&verdicts[0]);
        history.remove(&verdicts[0]);
        assert_eq!(history.judge(&judged.alerts[0]).0, Tally { benign: 0, malicious: 1 });
        history.remove(&verdicts[0]);
        history.remove(&verdicts[0]);
        assert!(history.is_empty(), "never below zero");
        assert!(history.judge(&judged.alerts[0]).1.is_empty(), "the case is no longer a precedent");
    }
}
