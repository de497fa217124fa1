//! What a closing case teaches, worked out from the store before the closing commits: for a
//! malicious verdict, a regression test per rule that caught it (`regression`) and draft rules
//! for what came before its first alert (`detection`); for a false-positive or benign verdict,
//! a Sigma filter for each rule that fired in the case, built from the records of the rule's
//! benign alerts and replayed against every alert of the rule in the replay period, labelled by
//! the verdicts of their cases; for any verdict, an edit of the playbook the response departed
//! from (`runbook`). Replaying a filter against the rule's alerts is replaying against the
//! stored events: a filter can only remove its rule's alerts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_detect::replay::{Firing, Label, ReplayOutcome, propose_and_replay, replay};
use vigil_detect::{RuleFile, RuleInfo, RuleSet, RuleSetConfig};
use vigil_model::view::SourceView;
use vigil_model::{CaseId, CaseState};
use vigil_store::{CaseFilter, LearningKind, LearningTask, Store, StoredEvent, VerdictFilter, time};

use crate::decode::decode_views;
use crate::error::Result;

pub mod detection;
pub mod regression;
pub mod runbook;

/// The rules a learner replays, as files and as loaded rules.
pub struct Learner {
    files: Vec<RuleFile>,
    /// Every rule in force, loaded: an event none of them fires on raised no alert.
    set: RuleSet,
    rules: HashMap<String, RuleInfo>,
    config: RuleSetConfig,
    /// How far back proposals are replayed, in milliseconds.
    pub period_ms: i64,
    /// At most this many alerts of a rule are replayed.
    pub max_alerts: i64,
    /// The playbooks in force, which runbook edits are proposed against.
    pub library: Vec<vigil_triage::playbook::Playbook>,
    /// How far before a malicious case's first alert its entities' events are searched, in milliseconds.
    pub lookback_ms: i64,
}

impl Learner {
    pub fn new(files: Vec<RuleFile>, config: RuleSetConfig, period_days: u32) -> Result<Learner, String> {
        let (set, _) = RuleSet::load(&files, &config).map_err(|e| e.to_string())?;
        let rules = set.rules().into_iter().map(|r| (r.id.clone(), r.clone())).collect();
        Ok(Learner {
            files,
            set,
            rules,
            config,
            period_ms: i64::from(period_days) * 86_400_000,
            max_alerts: 5_000,
            library: Vec::new(),
            lookback_ms: 24 * 3_600_000,
        })
    }

    /// The learner, searching `hours` before a malicious case's first alert for earlier events.
    pub fn with_lookback_hours(mut self, hours: u32) -> Learner {
        self.lookback_ms = i64::from(hours) * 3_600_000;
        self
    }

    /// The learner, proposing runbook edits against `library`.
    pub fn with_library(mut self, library: Vec<vigil_triage::playbook::Playbook>) -> Learner {
        self.library = library;
        self
    }

    /// A loaded rule by id.
    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.get(id)
    }
}

/// The rule loaded from its own file(s) alone, to find which view of an event it fires on.
fn rule_alone(learner: &Learner, rule: &RuleInfo) -> Option<RuleSet> {
    let files: Vec<RuleFile> = learner.files.iter().filter(|f| f.name == rule.file).cloned().collect();
    RuleSet::load(&files, &learner.config).map(|(set, _)| set).ok()
}

/// The stored events an alert's finding cites, with their views, skipping those already in
/// `seen` (and adding the rest). An event purged by retention, or one whose views no longer
/// read, can no longer be replayed: it is left out.
async fn cited_events(
    store: &Store,
    finding: &Value,
    seen: &mut BTreeSet<String>,
) -> Result<Vec<(StoredEvent, Vec<SourceView>)>> {
    let Ok(finding) = vigil_correlate::Alert::deserialize(finding) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for evidence in finding.evidence {
        if !seen.insert(evidence.event_uid.clone()) {
            continue;
        }
        let Some(event) = store.event(&evidence.event_uid).await? else { continue };
        let Ok(views) = decode_views(&event.views, &event.raw) else { continue };
        out.push((event, views));
    }
    Ok(out)
}

fn label_of_state(state: CaseState) -> Label {
    match state {
        CaseState::FalsePositive | CaseState::Benign => Label::Benign,
        CaseState::Resolved => Label::Malicious,
        _ => Label::Unjudged,
    }
}

/// The firings of `rule` in the replay period, each labelled by its case's verdict; the closing
/// case's own alerts are always in, labelled as it is being closed.
async fn firings(
    store: &Store,
    learner: &Learner,
    rule: &RuleInfo,
    closing: Option<(&CaseId, Label)>,
    now_ms: i64,
) -> Result<Vec<Firing>> {
    let since = time::from_millis(now_ms - learner.period_ms);
    let mut alerts = store.rule_alerts(&rule.id, &since, learner.max_alerts).await?;
    if let Some((case, _)) = closing {
        let own = store.case_alerts(case).await?;
        let seen: BTreeSet<String> = alerts.iter().map(|a| a.id.to_string()).collect();
        alerts.extend(own.into_iter().filter(|a| a.rule_id == rule.id && !seen.contains(&a.id.to_string())));
    }
    // Verdict rows say what a case became even after it moved on to `learned`.
    let filter = VerdictFilter { rule: Some(rule.id.clone()), entity: None, case: None, limit: 100_000 };
    let mut verdicts: HashMap<String, Label> = HashMap::new();
    for v in store.find_verdicts(&filter).await? {
        let label = if v.verdict == "malicious" { Label::Malicious } else { Label::Benign };
        let entry = verdicts.entry(v.case_id.to_string()).or_insert(label);
        if label == Label::Malicious {
            *entry = Label::Malicious;
        }
    }
    let Some(only_rule) = rule_alone(learner, rule) else { return Ok(Vec::new()) };
    let mut states: HashMap<String, Label> = HashMap::new();
    let mut seen_events = BTreeSet::new();
    let mut out = Vec::new();
    for alert in alerts {
        let case = alert.case_id.clone();
        let label = match (&case, closing) {
            (Some(c), Some((closing_case, label))) if c == closing_case => label,
            (Some(c), _) => match verdicts.get(c.as_str()) {
                Some(l) => *l,
                None => match states.get(c.as_str()) {
                    Some(l) => *l,
                    None => {
                        let l = store.case(c).await?.map_or(Label::Unjudged, |row| label_of_state(row.state));
                        states.insert(c.to_string(), l);
                        l
                    }
                },
            },
            (None, _) => Label::Unjudged,
        };
        for (event, views) in cited_events(store, &alert.finding, &mut seen_events).await? {
            let firing = views.into_iter().find_map(|view| {
                let d = only_rule.evaluate(&view).into_iter().find(|d| d.rule.id == rule.id)?;
                Some((view, d.matched.into_iter().map(|(f, _)| f).collect()))
            });
            if let Some((view, matched)) = firing {
                out.push(Firing {
                    rule: rule.clone(),
                    event_uid: event.id,
                    matched,
                    view,
                    label,
                    case: case.as_ref().map(ToString::to_string),
                });
            }
        }
    }
    Ok(out)
}

/// Every view of the events cited by alerts (from `since` on) of cases judged malicious, whatever
/// their rule: a value an attack touched (an account, an address, a host) is never excluded.
/// At most `max_alerts` alerts are read.
async fn malicious_views(store: &Store, learner: &Learner, since: &str) -> Result<Vec<SourceView>> {
    let mut cases: BTreeSet<CaseId> =
        store.verdicts().await?.into_iter().filter(|v| v.verdict == "malicious").map(|v| v.case_id).collect();
    let resolved =
        CaseFilter { state: Some(CaseState::Resolved), limit: learner.max_alerts, ..CaseFilter::default() };
    cases.extend(store.cases(&resolved).await?.into_iter().map(|c| c.id));
    let (mut views, mut read, mut seen) = (Vec::new(), 0, BTreeSet::new());
    for case in cases {
        for alert in store.case_alerts(&case).await? {
            if alert.time.as_str() < since || read >= learner.max_alerts {
                continue;
            }
            read += 1;
            for (_, cited) in cited_events(store, &alert.finding, &mut seen).await? {
                views.extend(cited);
            }
        }
    }
    Ok(views)
}

/// What a replay found, as a task keeps it and a reviewer reads it.
pub fn replay_summary(outcome: &ReplayOutcome, firings: &[Firing], since: &str, until: &str) -> Value {
    let removed: BTreeSet<usize> =
        [&outcome.removed_benign, &outcome.removed_malicious, &outcome.removed_unjudged]
            .into_iter()
            .flatten()
            .copied()
            .collect();
    let mut by_case: BTreeMap<(String, Label), (usize, usize)> = BTreeMap::new();
    for (i, f) in firings.iter().enumerate() {
        let counts = by_case.entry((f.case.clone().unwrap_or_default(), f.label)).or_default();
        counts.0 += 1;
        counts.1 += usize::from(removed.contains(&i));
    }
    json!({
        "period": {"from": since, "to": until},
        "replayed": outcome.replayed,
        "removed": {
            "benign": outcome.removed_benign.len(),
            "malicious": outcome.removed_malicious.len(),
            "unjudged": outcome.removed_unjudged.len(),
        },
        "hides_malicious": outcome.hides_malicious(),
        "by_case": by_case.into_iter().map(|((case, label), (alerts, removed))| json!({
            "case": if case.is_empty() { Value::Null } else { Value::String(case) },
            "verdict": label, "alerts": alerts, "removed": removed,
        })).collect::<Vec<_>>(),
    })
}

/// A learning task's id: `lt-` and hex of a digest of what the task is about, so filing the
/// same task twice files it once.
fn task_id(digest: &[u8]) -> String {
    format!("lt-{}", &hex::encode(digest)[..20])
}

/// The learning tasks a case closing to `to` files: a tuning filter per rule of the case when
/// it is judged false positive or benign; a regression test per rule when it is judged
/// malicious, with draft rules for what it showed before its first alert that raised none; and, whatever the verdict, an edit of the playbook the case followed when its
/// response departed from it. Computed before the closing commits, from the store.
pub async fn tasks_for_closing(
    store: &Store,
    learner: &Learner,
    case: &CaseId,
    to: CaseState,
    now_ms: i64,
) -> Result<Vec<LearningTask>> {
    let mut tasks = match label_of_state(to) {
        Label::Malicious => {
            let rule_ids = case_rules(store, case).await?;
            let mut tasks = regression::tasks(store, learner, case, &rule_ids, now_ms).await?;
            tasks.extend(detection::tasks(store, learner, case, now_ms).await?);
            tasks
        }
        Label::Benign => tuning_tasks(store, learner, case, now_ms).await?,
        Label::Unjudged => return Ok(Vec::new()),
    };
    tasks.extend(runbook::task(store, &learner.library, case, now_ms).await?);
    Ok(tasks)
}

async fn case_rules(store: &Store, case: &CaseId) -> Result<BTreeSet<String>> {
    Ok(store.case_alerts(case).await?.into_iter().map(|a| a.rule_id).collect())
}

/// A filter per Sigma rule of a case judged false positive or benign, each replayed.
async fn tuning_tasks(
    store: &Store,
    learner: &Learner,
    case: &CaseId,
    now_ms: i64,
) -> Result<Vec<LearningTask>> {
    let rule_ids = case_rules(store, case).await?;
    let (since, until) = (time::from_millis(now_ms - learner.period_ms), time::from_millis(now_ms));
    let attacked = malicious_views(store, learner, &since).await?;
    let mut tasks = Vec::new();
    for rule_id in rule_ids {
        // Behavioural and correlation alerts have no rule file a filter could be loaded beside.
        let Some(rule) = learner.rule(&rule_id) else { continue };
        let firings = firings(store, learner, rule, Some((case, Label::Benign)), now_ms).await?;
        let tainted: Vec<&SourceView> = attacked.iter().collect();
        let tunings =
            propose_and_replay(&learner.files, &firings, &tainted, &learner.config).unwrap_or_default();
        for t in tunings {
            let mut summary = replay_summary(&t.replay, &firings, &since, &until);
            summary["exclusions"] = serde_json::to_value(&t.proposal.exclusions).unwrap_or_default();
            summary["uncovered"] = json!(t.proposal.uncovered.len());
            let id = task_id(&Sha256::digest(format!("{case}\0{}", t.proposal.id)));
            let title = format!("Tuning: {}", rule.title);
            let artefact = t.proposal.to_yaml();
            tasks.push(LearningTask {
                rule_id: Some(rule.id.clone()),
                hides_malicious: t.replay.hides_malicious(),
                ..LearningTask::proposed(
                    id,
                    case.as_str(),
                    LearningKind::Tuning,
                    title,
                    artefact,
                    summary,
                    &until,
                )
            });
        }
    }
    Ok(tasks)
}

/// Replays a reviewer's edited filter for `rule_id` as the proposal was replayed. An error
/// names why the filter cannot be used.
pub async fn replay_edited(
    store: &Store,
    learner: &Learner,
    rule_id: &str,
    filter: &str,
    now_ms: i64,
) -> Result<std::result::Result<Value, String>> {
    let Some(rule) = learner.rule(rule_id) else {
        return Ok(Err(format!("rule {rule_id} is not loaded")));
    };
    let firings = firings(store, learner, rule, None, now_ms).await?;
    let refs: Vec<&Firing> = firings.iter().collect();
    let (since, until) = (time::from_millis(now_ms - learner.period_ms), time::from_millis(now_ms));
    Ok(replay(&learner.files, rule, filter, &refs, &learner.config)
        .map(|outcome| replay_summary(&outcome, &firings, &since, &until)))
}
