//! The SOC's metrics, each defined once, here, over case histories read from the audit trail
//! (`docs/metrics.md` gives the same formulas in words). Cases merged into another count in
//! the case that absorbed them, never twice; cases auto-triaged closed never waited for a person,
//! so they are out of the times people are measured by (and in the automation figures).

use std::collections::BTreeMap;

use serde::Serialize;

use super::history::{CaseHistory, Closing};

/// A duration over cases: how many had it, the mean and the median, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Durations {
    pub cases: usize,
    pub mean_secs: Option<f64>,
    pub median_secs: Option<f64>,
}

impl Durations {
    fn of(mut ms: Vec<i64>) -> Durations {
        if ms.is_empty() {
            return Durations::default();
        }
        ms.sort_unstable();
        let n = ms.len();
        let mean = ms.iter().map(|&m| m as f64).sum::<f64>() / n as f64 / 1000.0;
        let median =
            if n % 2 == 1 { ms[n / 2] as f64 } else { (ms[n / 2 - 1] + ms[n / 2]) as f64 / 2.0 } / 1000.0;
        Durations { cases: n, mean_secs: Some(mean), median_secs: Some(median) }
    }
}

/// Verdicts on alerts, through their case's closing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Verdicts {
    pub true_positives: usize,
    pub false_positives: usize,
    /// Alerts of cases closed as benign: the rule saw what it looks for, and it was allowed.
    pub benign: usize,
    /// true positives / (true positives + false positives).
    pub precision: Option<f64>,
}

impl Verdicts {
    fn count(&mut self, closing: Closing) {
        match closing {
            Closing::Resolved => self.true_positives += 1,
            Closing::FalsePositive => self.false_positives += 1,
            Closing::Benign => self.benign += 1,
            Closing::Duplicate => {}
        }
    }

    fn finish(&mut self) {
        let judged = self.true_positives + self.false_positives;
        self.precision = (judged > 0).then(|| self.true_positives as f64 / judged as f64);
    }

    /// false positives / (true positives + false positives).
    pub fn false_positive_rate(&self) -> Option<f64> {
        self.precision.map(|p| 1.0 - p)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RuleVerdicts {
    pub rule_id: String,
    pub title: String,
    /// Alerts of the rule in the period's cases, judged or not.
    pub alerts: usize,
    #[serde(flatten)]
    pub verdicts: Verdicts,
    pub false_positive_rate: Option<f64>,
}

/// Response steps that executed, and how many Vigil ran on its own initiative.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Automation {
    pub steps: usize,
    pub automated: usize,
    /// automated / steps.
    pub rate: Option<f64>,
    pub failed: usize,
    pub rolled_back: usize,
}

/// Closed cases whose evidence is complete and time-scoped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Evidence {
    pub closed_cases: usize,
    pub complete: usize,
    /// complete / closed cases.
    pub share: Option<f64>,
    /// Each incomplete case and what it lacks.
    pub incomplete: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Metrics {
    pub cases: usize,
    pub closed: usize,
    pub auto_triaged: usize,
    pub merged: usize,
    pub reopened: usize,
    /// Open cases no person has touched yet.
    pub unacknowledged: usize,
    /// Mean time to detect: the case's earliest event → the case (its first alert filed).
    pub mttd: Durations,
    /// Mean time to acknowledge: the case → the first thing a person did on it.
    pub mtta: Durations,
    /// Mean time to respond: the case → contained (first `executed`) or closed, whichever first.
    pub mttr: Durations,
    /// Executive time to decision: the case → the first approval or rejection of its actions.
    pub time_to_decision: Durations,
    pub verdicts: Verdicts,
    /// Per rule, noisiest (most false positives) first.
    pub rules: Vec<RuleVerdicts>,
    pub automation: Automation,
    pub evidence: Evidence,
}

/// What a closed case's evidence lacks (nothing when it is complete): alerts that cite events,
/// those events still in the store and no later than the closing (the decision rested on them),
/// a recommendation, every executed step's run log sealed, and each human tier's approvals.
pub fn evidence_gaps(case: &CaseHistory) -> Vec<String> {
    let mut gaps = Vec::new();
    let facts = &case.facts;
    if facts.alerts.is_empty() {
        gaps.push("no alerts".to_owned());
    }
    let closed = case.closed_ms().unwrap_or(i64::MAX);
    for alert in &facts.alerts {
        if alert.cites.is_empty() {
            gaps.push(format!("an alert of {} cites no event", alert.rule_id));
        }
        for uid in &alert.cites {
            match facts.events.get(uid) {
                None => gaps.push(format!("event {uid} is not in the store")),
                Some(&time) if time > closed => gaps.push(format!("event {uid} is later than the closing")),
                Some(_) => {}
            }
        }
    }
    if !facts.recommended {
        gaps.push("no recommendation".to_owned());
    }
    for step in case.steps.iter().filter(|s| s.executed()) {
        if !step.sealed {
            gaps.push(format!("{} ({}): run log not sealed", step.action, step.request));
        }
        if step.tier == "approvals" && step.approvals < step.required {
            gaps.push(format!(
                "{} ({}): {} of {} approvals recorded",
                step.action, step.request, step.approvals, step.required
            ));
        }
    }
    gaps.dedup();
    gaps
}

/// The metrics of `cases` (those made in the period), as their histories stand.
pub fn compute(cases: &[CaseHistory]) -> Metrics {
    let mut metrics = Metrics { cases: cases.len(), ..Metrics::default() };
    let (mut mttd, mut mtta, mut mttr, mut decide) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rules: BTreeMap<&str, RuleVerdicts> = BTreeMap::new();
    for case in cases {
        metrics.reopened += usize::from(case.reopened > 0);
        if case.merged() {
            metrics.merged += 1;
            metrics.closed += 1;
            continue;
        }
        let Some(created) = case.created_ms else { continue };
        if let Some(first) = case.facts.first_event_ms {
            mttd.push((created - first).max(0));
        }
        let closing = case.closing.map(|(c, _, _)| c);
        if closing.is_some() {
            metrics.closed += 1;
        }
        for alert in &case.facts.alerts {
            let rule = rules.entry(alert.rule_id.as_str()).or_insert_with(|| RuleVerdicts {
                rule_id: alert.rule_id.clone(),
                title: alert.title.clone(),
                alerts: 0,
                verdicts: Verdicts::default(),
                false_positive_rate: None,
            });
            rule.alerts += 1;
            if let Some(closing) = closing {
                rule.verdicts.count(closing);
                metrics.verdicts.count(closing);
            }
        }
        for step in case.steps.iter() {
            match step.status.as_str() {
                "failed" => metrics.automation.failed += 1,
                "rolled_back" => metrics.automation.rolled_back += 1,
                _ => {}
            }
            if step.executed() {
                metrics.automation.steps += 1;
                metrics.automation.automated += usize::from(step.automated());
            }
        }
        if closing.is_some() {
            metrics.evidence.closed_cases += 1;
            let gaps = evidence_gaps(case);
            if gaps.is_empty() {
                metrics.evidence.complete += 1;
            } else {
                metrics.evidence.incomplete.push((case.facts.id.clone(), gaps));
            }
        }
        if case.auto_triaged() {
            metrics.auto_triaged += 1;
            continue;
        }
        match case.acknowledged_ms {
            Some(ack) => mtta.push((ack - created).max(0)),
            None if closing.is_none() => metrics.unacknowledged += 1,
            None => {}
        }
        if let Some(end) = [case.contained_ms, case.closed_ms()].into_iter().flatten().min() {
            mttr.push((end - created).max(0));
        }
        if let Some(decided) = case.decided_ms {
            decide.push((decided - created).max(0));
        }
    }
    metrics.mttd = Durations::of(mttd);
    metrics.mtta = Durations::of(mtta);
    metrics.mttr = Durations::of(mttr);
    metrics.time_to_decision = Durations::of(decide);
    metrics.verdicts.finish();
    let mut rules: Vec<RuleVerdicts> = rules.into_values().collect();
    for rule in &mut rules {
        rule.verdicts.finish();
        rule.false_positive_rate = rule.verdicts.false_positive_rate();
    }
    rules.sort_by(|a, b| {
        b.verdicts
            .false_positives
            .cmp(&a.verdicts.false_positives)
            .then(b.alerts.cmp(&a.alerts))
            .then(a.rule_id.cmp(&b.rule_id))
    });
    metrics.rules = rules;
    let a = &mut metrics.automation;
    a.rate = (a.steps > 0).then(|| a.automated as f64 / a.steps as f64);
    let e = &mut metrics.evidence;
    e.share = (e.closed_cases > 0).then(|| e.complete as f64 / e.closed_cases as f64);
    metrics
}
