//! A case judged malicious becomes a regression test of each Sigma rule that caught it: the
//! case's events that fired the rule, in SigmaHQ's `regression_data` layout (an `info.yml`
//! naming the rule and how many times it must match, and the records, one per line, in the
//! format they arrived in), so the rule keeps firing on them as it changes. The task keeps the
//! `info.yml` as its document and the events by id; accepting it writes the folder
//! `regression_data/<task id>/` where learnt rules go.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_detect::regression::{RegressionInfo, RegressionTest, RuleRef};
use vigil_model::CaseId;
use vigil_store::{LearningKind, LearningTask, Store, StoredEvent, time};

use super::{Learner, cited_events, rule_alone};
use crate::error::Result;

/// The name a stored format is read back by, and the file extension its records get. EVTX
/// records are kept rendered as JSON, which Vigil reads as `evtx_json`.
fn written_as(format: &str) -> (&str, &'static str) {
    match format {
        "evtx" => ("evtx_json", "json"),
        "syslog" | "auditd" | "nxlog" | "csv" => (format, "log"),
        other => (other, "json"),
    }
}

/// One record as a line of the test file: JSON records compacted onto one line, line
/// formats as they arrived.
pub fn record_line(event: &StoredEvent) -> String {
    match serde_json::from_slice::<Value>(&event.raw) {
        Ok(value) if value.is_object() => value.to_string(),
        _ => String::from_utf8_lossy(&event.raw).trim_end_matches(['\r', '\n']).replace('\n', " "),
    }
}

/// The regression tasks a case closing as malicious files, one per Sigma rule of the case.
pub async fn tasks(
    store: &Store,
    learner: &Learner,
    case: &CaseId,
    rule_ids: &BTreeSet<String>,
    now_ms: i64,
) -> Result<Vec<LearningTask>> {
    let alerts = store.case_alerts(case).await?;
    let mut out = Vec::new();
    for rule_id in rule_ids {
        let Some(rule) = learner.rule(rule_id) else { continue };
        let Some(alone) = rule_alone(learner, rule) else { continue };
        // The events that fire the rule, by the format they were read in.
        let mut by_format: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for alert in alerts.iter().filter(|a| a.rule_id == *rule_id) {
            for (event, views) in cited_events(store, &alert.finding, &mut seen).await? {
                if views.iter().any(|v| alone.evaluate(v).iter().any(|d| d.rule.id == rule.id)) {
                    by_format.entry(event.format).or_default().push(event.id);
                }
            }
        }
        if by_format.is_empty() {
            continue;
        }
        let digest = Sha256::digest(format!("{case}\0regression\0{}", rule.id));
        let task_id = super::task_id(&digest);
        let several = by_format.len() > 1;
        let mut tests = Vec::new();
        let mut files = Vec::new();
        for (format, events) in &by_format {
            let (kind, ext) = written_as(format);
            let file =
                if several { format!("{}-{kind}.{ext}", rule.id) } else { format!("{}.{ext}", rule.id) };
            tests.push(RegressionTest {
                name: Some("Positive Detection Test".into()),
                kind: Some(kind.to_owned()),
                provider: None,
                match_count: Some(events.len()),
                path: format!("regression_data/{task_id}/{file}"),
            });
            files.push(json!({"file": file, "format": kind, "events": events, "matches": events.len()}));
        }
        let info = RegressionInfo {
            id: vigil_detect::tune::name_uuid(&digest),
            description: Some(format!("Events of case {case}, judged malicious")),
            date: Some(time::from_millis(now_ms)[..10].to_owned()),
            author: Some("Vigil learning".into()),
            rule_metadata: vec![RuleRef { id: rule.id.clone(), title: Some(rule.title.clone()) }],
            regression_tests_info: tests,
        };
        let replay = json!({"tests": files, "removed": {"benign": 0, "malicious": 0, "unjudged": 0}});
        let title = format!("Regression test: {}", rule.title);
        let at = time::from_millis(now_ms);
        out.push(LearningTask {
            rule_id: Some(rule.id.clone()),
            ..LearningTask::proposed(
                task_id,
                case.as_str(),
                LearningKind::Regression,
                title,
                info.to_yaml(),
                replay,
                &at,
            )
        });
    }
    Ok(out)
}
