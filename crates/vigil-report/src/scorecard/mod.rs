//! The weekly scorecard: one ISO week's metrics (of the cases made that week), their trend over
//! the weeks before, the noisiest rules with their false-positive rate, the rules that never
//! fired, the SLA breaches, the response steps run and rolled back, and the rules the week's
//! verdicts say to tune. Written as JSON and as HTML (`html`), with SVG charts (`chart`).

mod chart;
pub mod html;

pub use chart::{duration, share};
#[cfg(test)]
mod scorecard_tests;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde::Serialize;
use vigil_store::{SlaBreach, Store};

use crate::metrics::{self, CaseHistory, Metrics, RuleVerdicts, compute};
use crate::{Error, Result};

/// How many weeks the trends show, the scorecard's own included.
pub const TREND_WEEKS: u32 = 8;

/// A rule Vigil runs, as the scorecard names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
}

/// An ISO week: `2026-W48`, Monday 00:00 UTC to the next Monday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Week {
    pub year: i32,
    pub week: u32,
}

impl Week {
    pub fn parse(text: &str) -> Result<Week> {
        let bad = || Error::Config(format!("{text:?} is not an ISO week like 2026-W48"));
        let (year, week) = text.split_once("-W").ok_or_else(bad)?;
        let week = Week { year: year.parse().map_err(|_| bad())?, week: week.parse().map_err(|_| bad())? };
        week.monday().ok_or_else(bad)?;
        Ok(week)
    }

    pub fn containing(t: DateTime<Utc>) -> Week {
        let iso = t.iso_week();
        Week { year: iso.year(), week: iso.week() }
    }

    fn monday(self) -> Option<NaiveDate> {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
    }

    /// Its first instant, in ms since the epoch.
    pub fn start_ms(self) -> i64 {
        self.monday().and_then(|d| d.and_hms_opt(0, 0, 0)).map_or(0, |t| t.and_utc().timestamp_millis())
    }

    pub fn end_ms(self) -> i64 {
        self.start_ms() + 7 * 86_400_000
    }

    /// The week after this one.
    pub fn forward(self) -> Week {
        Week::containing(DateTime::from_timestamp_millis(self.end_ms()).unwrap_or_default())
    }

    /// The week `n` weeks before this one.
    pub fn back(self, n: u32) -> Week {
        let t = DateTime::from_timestamp_millis(self.start_ms() - i64::from(n) * 7 * 86_400_000)
            .unwrap_or_default();
        Week::containing(t)
    }
}

impl std::fmt::Display for Week {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

/// One week of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WeekPoint {
    pub week: String,
    pub cases: usize,
    pub mttd_secs: Option<f64>,
    pub mtta_secs: Option<f64>,
    pub mttr_secs: Option<f64>,
    pub time_to_decision_secs: Option<f64>,
    pub precision: Option<f64>,
    pub automation_rate: Option<f64>,
    pub evidence_share: Option<f64>,
}

/// The steps of one action kind that ran to an end in the week's cases.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ActionTally {
    pub action: String,
    pub succeeded: usize,
    pub failed: usize,
    pub rolled_back: usize,
    /// Of those that executed, how many Vigil ran on its own initiative.
    pub automated: usize,
}

/// A rule the week's verdicts say to tune: most of its judged alerts were false positives.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TuningCandidate {
    pub rule_id: String,
    pub title: String,
    pub false_positives: usize,
    pub judged: usize,
    pub false_positive_rate: f64,
}

/// A learning task a closed case filed that waits for review.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WaitingProposal {
    pub id: String,
    /// `tuning`, `regression`, …
    pub kind: String,
    pub title: String,
    pub case_id: String,
    pub filed_at: String,
    /// Its replay would hide an alert of a case judged malicious (two people must accept it).
    pub hides_malicious: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Scorecard {
    pub week: String,
    pub from: String,
    pub to: String,
    pub generated_at: String,
    pub metrics: Metrics,
    /// The weeks up to this one, oldest first.
    pub trend: Vec<WeekPoint>,
    /// The rules with alerts in the week's cases, most false positives first (at most 10).
    pub noisiest_rules: Vec<RuleVerdicts>,
    /// How many rules ran, when the scorecard was told.
    pub rules_running: Option<usize>,
    /// Rules that raised no alert in the week's cases (when the rules running are known).
    pub silent_rules: Option<Vec<RuleInfo>>,
    pub sla_breaches: Vec<SlaBreach>,
    pub actions: Vec<ActionTally>,
    pub tuning: Vec<TuningCandidate>,
    /// The learning proposals waiting for review now (`/ui/learning`), oldest first.
    pub proposals_waiting: Vec<WaitingProposal>,
}

/// A rule is a tuning candidate with at least this many judged alerts…
const TUNING_MIN_JUDGED: usize = 2;
/// …and at least this share of them false positives.
const TUNING_MIN_FP_RATE: f64 = 0.5;

fn point(week: Week, m: &Metrics) -> WeekPoint {
    WeekPoint {
        week: week.to_string(),
        cases: m.cases,
        mttd_secs: m.mttd.mean_secs,
        mtta_secs: m.mtta.mean_secs,
        mttr_secs: m.mttr.mean_secs,
        time_to_decision_secs: m.time_to_decision.mean_secs,
        precision: m.verdicts.precision,
        automation_rate: m.automation.rate,
        evidence_share: m.evidence.share,
    }
}

/// The scorecard of `week` from what `histories` (the cases made over the trend's weeks) and
/// `breaches` (the week's) say; `rules`: the rules running, when known.
pub fn assemble(
    week: Week,
    histories: &[CaseHistory],
    breaches: Vec<SlaBreach>,
    rules: Option<&[RuleInfo]>,
    generated_at: String,
) -> Scorecard {
    let made_in = |w: Week| -> Vec<CaseHistory> {
        histories
            .iter()
            .filter(|h| h.created_ms.is_some_and(|c| c >= w.start_ms() && c < w.end_ms()))
            .cloned()
            .collect()
    };
    let trend: Vec<WeekPoint> = (0..TREND_WEEKS)
        .rev()
        .map(|n| {
            let w = week.back(n);
            point(w, &compute(&made_in(w)))
        })
        .collect();
    let this = made_in(week);
    let metrics = compute(&this);
    let noisiest_rules: Vec<RuleVerdicts> = metrics.rules.iter().take(10).cloned().collect();
    let fired: BTreeSet<&str> = metrics.rules.iter().map(|r| r.rule_id.as_str()).collect();
    let silent_rules = rules
        .map(|rules| rules.iter().filter(|r| !fired.contains(r.id.as_str())).cloned().collect::<Vec<_>>());
    let mut actions: BTreeMap<&str, ActionTally> = BTreeMap::new();
    for step in this.iter().filter(|h| !h.merged()).flat_map(|h| h.steps.iter()) {
        let tally = actions
            .entry(step.action.as_str())
            .or_insert_with(|| ActionTally { action: step.action.clone(), ..ActionTally::default() });
        match step.status.as_str() {
            "succeeded" => tally.succeeded += 1,
            "failed" => tally.failed += 1,
            "rolled_back" => tally.rolled_back += 1,
            _ => {}
        }
        tally.automated += usize::from(step.executed() && step.automated());
    }
    let tuning = metrics
        .rules
        .iter()
        .filter_map(|r| {
            let judged = r.verdicts.true_positives + r.verdicts.false_positives;
            let rate = r.false_positive_rate?;
            (judged >= TUNING_MIN_JUDGED && rate >= TUNING_MIN_FP_RATE).then(|| TuningCandidate {
                rule_id: r.rule_id.clone(),
                title: r.title.clone(),
                false_positives: r.verdicts.false_positives,
                judged,
                false_positive_rate: rate,
            })
        })
        .collect();
    Scorecard {
        week: week.to_string(),
        from: vigil_store::time::from_millis(week.start_ms()),
        to: vigil_store::time::from_millis(week.end_ms()),
        generated_at,
        metrics,
        trend,
        noisiest_rules,
        rules_running: rules.map(<[RuleInfo]>::len),
        silent_rules,
        sla_breaches: breaches,
        actions: actions.into_values().collect(),
        tuning,
        proposals_waiting: Vec::new(),
    }
}

/// The scorecard of `week`, read from `store` as it stands now.
pub async fn build(store: &Store, week: Week, rules: Option<&[RuleInfo]>) -> Result<Scorecard> {
    let first = week.back(TREND_WEEKS - 1);
    let from = vigil_store::time::from_millis(first.start_ms());
    let to = vigil_store::time::from_millis(week.end_ms());
    let (histories, _) = metrics::cases_made(store, &from, &to).await?;
    let breaches = store
        .sla_breaches_between(
            &vigil_store::time::from_millis(week.start_ms()),
            &vigil_store::time::from_millis(week.end_ms()),
        )
        .await?;
    let mut card = assemble(week, &histories, breaches, rules, store.clock().stamp());
    card.proposals_waiting = store
        .learning_tasks(Some("proposed"))
        .await?
        .into_iter()
        .map(|t| WaitingProposal {
            id: t.id,
            kind: t.kind.as_str().to_owned(),
            title: t.title,
            case_id: t.case_id,
            filed_at: t.created_at,
            hides_malicious: t.hides_malicious,
        })
        .collect();
    Ok(card)
}
