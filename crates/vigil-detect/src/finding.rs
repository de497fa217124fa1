//! Alerts as OCSF Detection Findings: the rule, its level and ATT&CK techniques, its author and
//! licence, the event it fired on and the fields that matched.

use serde_json::{Value, json};
use vigil_model::EventId;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use crate::behaviour::BehaviourAlert;
use crate::correlation::CorrelationAlert;
use crate::rule::RuleInfo;
use crate::ruleset::Detection;

/// A Detection Finding for `rule` at `time`, with everything every alert carries: severity from
/// the rule's level, the rule as the analytic, its ATT&CK techniques, and its author and licence.
fn rule_finding(rule: &RuleInfo, uid: String, time: i64, related_events: Vec<RelatedEvent>) -> Event {
    let mut f = Event::new(Class::DetectionFinding, 1, time, Metadata::new("Vigil", "Vigil Detect"));
    f.metadata.uid = Some(uid.clone());
    f.set_severity(rule.level.severity());
    f.message = Some(rule.title.clone());
    f.finding_info = Some(FindingInfo {
        uid,
        title: rule.title.clone(),
        desc: rule.description.clone(),
        analytic: Some(Analytic { uid: Some(rule.id.clone()), name: Some(rule.title.clone()), type_id: 1 }),
        attacks: rule
            .techniques()
            .into_iter()
            .map(|uid| Attack { technique: Some(Technique { uid, name: None }), tactic: None })
            .collect(),
        related_events,
    });
    f.unmapped.insert(
        "rule".into(),
        json!({
            "id": rule.id, "title": rule.title, "level": rule.level, "status": rule.status,
            "author": rule.author, "license": rule.license, "tags": rule.tags, "file": rule.file,
        }),
    );
    f
}

/// The uid of the finding `rule` raises on the event `event_uid`: the same detection is the
/// same finding however often it is produced.
pub fn detection_uid(rule: &RuleInfo, event_uid: &str) -> String {
    EventId::from_content("vigil-detect", format!("{}\n{event_uid}", rule.id).as_bytes()).to_string()
}

/// The uid of the finding a correlation raises at `time` for its group.
pub fn correlation_uid(alert: &CorrelationAlert, time: i64) -> String {
    let group: String = alert.group.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    EventId::from_content("vigil-correlate", format!("{}\n{group}{time}", alert.rule.id).as_bytes())
        .to_string()
}

/// The uid of the finding a behavioural detector raises, from its rule, time and cited events.
pub fn behaviour_uid(alert: &BehaviourAlert) -> String {
    let cited: String = alert.events.iter().map(|e| format!("{e}\n")).collect();
    EventId::from_content("vigil-behaviour", format!("{}\n{}\n{cited}", alert.rule.id, alert.time).as_bytes())
        .to_string()
}

/// The Detection Finding for `detection` on `event`.
pub fn finding(detection: &Detection, event: &Event) -> Event {
    let rule = &detection.rule;
    let event_uid = event.metadata.uid.clone().unwrap_or_default();
    let uid = detection_uid(rule, &event_uid);
    let related = vec![RelatedEvent { uid: event_uid, type_uid: Some(event.type_uid) }];
    let mut f = rule_finding(rule, uid, event.time, related);
    f.device = event.device.clone();
    let matched: serde_json::Map<String, Value> = detection.matched.iter().cloned().collect();
    f.unmapped.insert("matched_fields".into(), Value::Object(matched));
    f.finish()
}

/// The Detection Finding for a correlation that fired at `time` (ms since the epoch).
pub fn correlation_finding(alert: &CorrelationAlert, time: i64) -> Event {
    let rule = &alert.rule;
    let uid = correlation_uid(alert, time);
    let mut f = rule_finding(rule, uid, time, Vec::new());
    f.unmapped.insert(
        "correlation".into(),
        json!({"type": alert.correlation_type, "group": alert.group, "value": alert.value, "timespan_secs": alert.timespan_secs}),
    );
    f.finish()
}

/// The Detection Finding for a behavioural detector that fired, citing the events it rests on.
pub fn behaviour_finding(alert: &BehaviourAlert) -> Event {
    let rule = &alert.rule;
    let cited: String = alert.events.iter().map(|e| format!("{e}\n")).collect();
    let uid =
        EventId::from_content("vigil-behaviour", format!("{}\n{}\n{cited}", rule.id, alert.time).as_bytes())
            .to_string();
    let related = alert.events.iter().map(|uid| RelatedEvent { uid: uid.clone(), type_uid: None }).collect();
    let mut f = rule_finding(rule, uid, alert.time, related);
    f.message = Some(alert.summary.clone());
    f.unmapped.insert("behaviour".into(), json!({"group": alert.group, "summary": alert.summary}));
    f.finish()
}
