//! A case judged malicious that was detected late becomes draft detections: the events of its
//! users, hosts, principals and keys in the `lookback` before its first alert on which no rule
//! in force fires are drafted into Sigma rules (`vigil_detect::draft`), one per logsource, and
//! each draft is replayed against the stored events of the replay period, so the reviewer sees
//! what it would have caught here and what else it would add.

use std::collections::BTreeSet;

use serde::Deserialize as _;
use serde_json::{Value, json};
use vigil_detect::draft::{About, DraftRule, draft};
use vigil_detect::{RuleFile, RuleSet};
use vigil_model::CaseId;
use vigil_model::view::SourceView;
use vigil_model::{Entity, EntityKind};
use vigil_store::{LearningKind, LearningTask, Store, StoredEvent, time};

use super::Learner;
use crate::decode::decode_views;
use crate::error::Result;

/// Events before the first alert read at most (the newest of the lookback, oldest first).
const MAX_EARLY_EVENTS: i64 = 20_000;
/// Events of the replay period a draft is replayed against at most.
pub const MAX_REPLAY_EVENTS: usize = 50_000;
const PAGE: i64 = 2_000;

/// Entities that say who or what acted; addresses and accounts are shared too widely to say
/// which earlier events belong to the intrusion.
fn ties(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::User
            | EntityKind::Host
            | EntityKind::CloudPrincipal
            | EntityKind::AccessKey
            | EntityKind::Email
    )
}

/// Calls `each` with every stored event in `[from, to)` in time order, at most `max`; says
/// whether it stopped at `max`.
async fn each_event<F>(store: &Store, from: &str, to: &str, max: usize, mut each: F) -> Result<bool>
where
    F: FnMut(StoredEvent),
{
    let (mut cursor, mut at_cursor, mut read) = (from.to_owned(), BTreeSet::<String>::new(), 0usize);
    loop {
        let page = store.events_between(&cursor, to, PAGE + at_cursor.len() as i64).await?;
        let fresh: Vec<StoredEvent> = page.into_iter().filter(|e| !at_cursor.contains(&e.id)).collect();
        if fresh.is_empty() {
            return Ok(false);
        }
        for event in fresh {
            if read >= max {
                return Ok(true);
            }
            read += 1;
            if event.time != cursor {
                cursor.clone_from(&event.time);
                at_cursor.clear();
            }
            at_cursor.insert(event.id.clone());
            each(event);
        }
    }
}

/// A draft loaded on its own; an error names why it cannot be used.
fn load_draft(learner: &Learner, text: &str) -> std::result::Result<RuleSet, String> {
    let file = RuleFile { name: "draft.yml".into(), text: text.to_owned() };
    match RuleSet::load(&[file], &learner.config) {
        Ok((set, diagnostics)) if diagnostics.is_empty() && set.len() == 1 => Ok(set),
        Ok((_, diagnostics)) if !diagnostics.is_empty() => {
            Err(diagnostics.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join("; "))
        }
        Ok(_) => Err("the document must hold exactly one rule".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Where one draft fires in a replay.
#[derive(Default)]
struct Fired {
    here: usize,
    elsewhere: usize,
    examples: Vec<String>,
}

/// The drafts' replays, in one pass over the events of `[since, until)`: for each, the events
/// it fires on, split into this case's early events and the rest; an error for a draft that
/// does not load.
pub async fn replay_drafts(
    store: &Store,
    learner: &Learner,
    texts: &[String],
    early: &BTreeSet<String>,
    case: &str,
    since: &str,
    until: &str,
) -> Result<Vec<std::result::Result<Value, String>>> {
    let sets: Vec<std::result::Result<RuleSet, String>> =
        texts.iter().map(|t| load_draft(learner, t)).collect();
    let mut fired: Vec<Fired> = sets.iter().map(|_| Fired::default()).collect();
    let mut replayed = 0usize;
    let capped = each_event(store, since, until, MAX_REPLAY_EVENTS, |event| {
        replayed += 1;
        let Ok(views) = decode_views(&event.views, &event.raw) else { return };
        for (set, fired) in sets.iter().zip(fired.iter_mut()) {
            let Ok(set) = set else { continue };
            if !views.iter().any(|v| !set.evaluate(v).is_empty()) {
                continue;
            }
            if early.contains(&event.id) {
                fired.here += 1;
            } else {
                fired.elsewhere += 1;
                if fired.examples.len() < 10 {
                    fired.examples.push(event.id.clone());
                }
            }
        }
    })
    .await?;
    Ok(sets
        .into_iter()
        .zip(fired)
        .map(|(set, f)| {
            set.map(|_| {
                json!({
                    "period": {"from": since, "to": until},
                    "replayed_events": replayed,
                    "capped": capped,
                    "added": {"this_case": f.here, "elsewhere": f.elsewhere, "elsewhere_examples": f.examples},
                    "early_events": early,
                    "removed": {"benign": 0, "malicious": 0, "unjudged": 0},
                    "hides_malicious": false,
                    "by_case": [
                        {"case": case, "verdict": "malicious", "alerts": f.here, "added": f.here},
                        {"case": Value::Null, "verdict": "unjudged", "alerts": f.elsewhere, "added": f.elsewhere},
                    ],
                })
            })
        })
        .collect())
}

/// Replays a reviewer's edit of a draft as the draft was replayed: the replay period, and
/// always the window the draft was made from, against the same early events.
pub async fn replay_edited(
    store: &Store,
    learner: &Learner,
    task: &LearningTask,
    text: &str,
    now_ms: i64,
) -> Result<std::result::Result<Value, String>> {
    let early: BTreeSet<String> = task.replay["early_events"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let period = time::from_millis(now_ms - learner.period_ms);
    let drafted_from = task.replay["period"]["from"].as_str().unwrap_or(&period).to_owned();
    let since = period.min(drafted_from);
    let until = time::from_millis(now_ms);
    let texts = [text.to_owned()];
    let mut replays = replay_drafts(store, learner, &texts, &early, &task.case_id, &since, &until).await?;
    Ok(replays.pop().unwrap_or_else(|| Err("nothing replayed".into())).map(|mut replay| {
        replay["undrafted_events"] = task.replay["undrafted_events"].clone();
        replay
    }))
}

/// The detection drafts a case closing as malicious files: none when its first alert came with
/// its first event, or when what came before says nothing a rule can key on.
pub async fn tasks(
    store: &Store,
    learner: &Learner,
    case: &CaseId,
    now_ms: i64,
) -> Result<Vec<LearningTask>> {
    let alerts = store.case_alerts(case).await?;
    let Some(first) = alerts.iter().map(|a| a.time.clone()).min() else { return Ok(Vec::new()) };
    let Some(first_ms) = time::to_millis(&first) else { return Ok(Vec::new()) };
    let mut entities: BTreeSet<Entity> = BTreeSet::new();
    let mut cited: BTreeSet<String> = BTreeSet::new();
    let mut tags: BTreeSet<String> = BTreeSet::new();
    for alert in &alerts {
        if let Some(rule) = learner.rule(&alert.rule_id) {
            tags.extend(rule.tags.iter().filter(|t| t.starts_with("attack.")).cloned());
        }
        let Ok(finding) = vigil_correlate::Alert::deserialize(&alert.finding) else { continue };
        entities.extend(finding.entities.into_iter().filter(|e| ties(e.kind)));
        cited.extend(finding.evidence.into_iter().map(|e| e.event_uid));
    }
    if entities.is_empty() {
        return Ok(Vec::new());
    }
    let from = time::from_millis(first_ms - learner.lookback_ms);
    let mut early_views: Vec<SourceView> = Vec::new();
    let mut early: BTreeSet<String> = BTreeSet::new();
    let mut window = Vec::new();
    each_event(store, &from, &first, MAX_EARLY_EVENTS as usize, |event| window.push(event)).await?;
    for event in window {
        if cited.contains(&event.id) {
            continue;
        }
        let Ok(ocsf) = vigil_ocsf::Event::deserialize(&event.ocsf) else { continue };
        if !vigil_correlate::entities::extract(&ocsf).entities.iter().any(|e| entities.contains(e)) {
            continue;
        }
        let Ok(views) = decode_views(&event.views, &event.raw) else { continue };
        // A rule in force fires on it: it raised an alert, or would now.
        if views.iter().any(|v| !learner.set.evaluate(v).is_empty()) {
            continue;
        }
        early.insert(event.id.clone());
        early_views.extend(views);
    }
    if early_views.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&SourceView> = early_views.iter().collect();
    let tags: Vec<String> = tags.into_iter().collect();
    let until = time::from_millis(now_ms);
    let about = About { case: case.as_str(), tags: &tags, date: &until[..10] };
    let (drafts, undrafted) = draft(&refs, &about);
    // The replay period, and always the lookback the draft was made from, however old.
    let since = time::from_millis((now_ms - learner.period_ms).min(first_ms - learner.lookback_ms));
    let texts: Vec<String> = drafts.iter().map(DraftRule::to_yaml).collect();
    let replays = replay_drafts(store, learner, &texts, &early, case.as_str(), &since, &until).await?;
    let mut tasks = Vec::new();
    for ((d, text), replay) in drafts.iter().zip(texts).zip(replays) {
        // A draft that does not load, or would not fire on its own events, is not filed.
        let Ok(mut replay) = replay else { continue };
        if replay["added"]["this_case"].as_u64() == Some(0) {
            continue;
        }
        replay["undrafted_events"] = json!(undrafted);
        tasks.push(task(case, d, text, replay, &until));
    }
    Ok(tasks)
}

fn task(case: &CaseId, d: &DraftRule, artefact: String, replay: Value, at: &str) -> LearningTask {
    let title = format!("New detection: {}", d.title);
    let id = super::task_id(d.id.as_bytes());
    LearningTask {
        rule_id: Some(d.id.clone()),
        ..LearningTask::proposed(id, case.as_str(), LearningKind::Detection, title, artefact, replay, at)
    }
}
