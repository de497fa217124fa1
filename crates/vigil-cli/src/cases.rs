//! `vigil hunt`'s alerts as clustering reads them (entities, evidence, rule), and the case
//! table it prints.

use std::fmt::Write;
use std::path::Path;

use vigil_correlate::entities::{extract, from_group_field};
use vigil_correlate::{Alert, Case, Evidence, RuleRef};
use vigil_detect::behaviour::BehaviourAlert;
use vigil_detect::{CorrelationAlert, Detection, RuleInfo, behaviour_uid, correlation_uid, detection_uid};
use vigil_model::{Entity, EntityKind};
use vigil_ocsf::Event;

use vigil_triage::Recommendation;

use crate::terminal::safe;

fn rule(info: &RuleInfo) -> RuleRef {
    RuleRef {
        id: info.id.clone(),
        title: info.title.clone(),
        level: info.level.severity(),
        tags: info.tags.clone(),
        author: info.author.clone(),
        license: info.license.clone(),
    }
}

fn evidence(event: &Event, source: &Path) -> Evidence {
    Evidence {
        event_uid: event.metadata.uid.clone().unwrap_or_default(),
        time: event.time,
        source: source.display().to_string(),
        class_name: event.class_name.clone(),
        summary: event.message.clone().or_else(|| {
            event.metadata.event_code.as_ref().map(|c| format!("{} (event {c})", event.class_name))
        }),
    }
}

/// A record that fired a rule: what it names and where it was read. Read once per record, for
/// every alert it raises and for the correlations replayed over it.
#[derive(Clone)]
pub struct Record {
    entities: vigil_correlate::entities::Extracted,
    evidence: Evidence,
}

impl Record {
    pub fn of(event: &Event, source: &Path) -> Record {
        Record { entities: extract(event), evidence: evidence(event, source) }
    }
}

/// A Sigma detection on `record`.
pub fn from_detection(detection: &Detection, record: &Record) -> Alert {
    Alert {
        id: detection_uid(&detection.rule, &record.evidence.event_uid),
        rule: rule(&detection.rule),
        time: record.evidence.time,
        entities: record.entities.entities.clone(),
        aliases: record.entities.aliases.clone(),
        evidence: vec![record.evidence.clone()],
        summary: None,
    }
}

/// A correlation that fired at `time` on the record `trigger`: its entities are its group-by
/// values and what the record names; it cites the record.
pub fn from_correlation(alert: &CorrelationAlert, time: i64, trigger: &Record) -> Alert {
    let group: Vec<String> = alert.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Alert {
        id: correlation_uid(alert, time),
        rule: rule(&alert.rule),
        time,
        entities: alert
            .group
            .iter()
            .filter_map(|(k, v)| from_group_field(k, v))
            .chain(trigger.entities.entities.iter().cloned())
            .collect(),
        aliases: trigger.entities.aliases.clone(),
        evidence: vec![trigger.evidence.clone()],
        summary: Some(format!(
            "{} {} over {} s ({})",
            alert.correlation_type,
            alert.value,
            alert.timespan_secs,
            group.join(", ")
        )),
    }
}

/// A behavioural detector's alert: its entities are what it is about, its evidence the events it
/// cites.
pub fn from_behaviour(alert: &BehaviourAlert) -> Alert {
    let entities = alert
        .group
        .iter()
        .filter_map(|(k, v)| match k.as_str() {
            "user" => Entity::new(EntityKind::User, v),
            "host" => Entity::new(EntityKind::Host, v),
            _ => None,
        })
        .collect();
    Alert {
        id: behaviour_uid(alert),
        rule: rule(&alert.rule),
        time: alert.time,
        entities,
        aliases: Vec::new(),
        evidence: alert
            .events
            .iter()
            .map(|uid| Evidence {
                event_uid: uid.clone(),
                time: alert.time,
                source: String::new(),
                class_name: "cited event".into(),
                summary: None,
            })
            .collect(),
        summary: Some(alert.summary.clone()),
    }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn span(case: &Case) -> String {
    let minutes = (case.last_seen - case.first_seen) / 60_000;
    match minutes {
        0 => time(case.first_seen),
        m if m < 120 => format!("{} +{m}m", time(case.first_seen)),
        m if m < 2 * 24 * 60 => format!("{} +{}h", time(case.first_seen), m / 60),
        m => format!("{} +{}d", time(case.first_seen), m / (24 * 60)),
    }
}

/// The case table: severity, alerts, time span, tactics, techniques and key entities per case,
/// then the built-in analyst's verdict, confidence and top reasons.
pub fn table(cases: &[Case], recommendations: &[Recommendation]) -> String {
    let mut out = String::new();
    if cases.is_empty() {
        return out;
    }
    let alerts: u64 = cases.iter().map(Case::alert_count).sum();
    let _ = writeln!(out, "{} cases from {alerts} alerts\n", cases.len());
    let _ = writeln!(
        out,
        "{:<9} {:<13} {:>6}  {:<22} {:<34} {:<24} key entities / title",
        "case", "severity", "alerts", "time span", "tactics", "techniques"
    );
    let mut ranked: Vec<(&Case, Option<&Recommendation>)> =
        cases.iter().enumerate().map(|(i, c)| (c, recommendations.get(i))).collect();
    ranked.sort_by(|(a, _), (b, _)| {
        b.severity
            .cmp(&a.severity)
            .then(b.alert_count().cmp(&a.alert_count()))
            .then(a.first_seen.cmp(&b.first_seen))
    });
    for &(case, recommendation) in ranked.iter().take(40) {
        let tactics: Vec<&str> = case.tactics.iter().map(|t| t.short_name.as_str()).collect();
        let techniques: Vec<&str> = case.techniques.iter().take(3).map(|t| t.id.as_str()).collect();
        let more = if case.techniques.len() > 3 {
            format!(" +{}", case.techniques.len() - 3)
        } else {
            String::new()
        };
        let entities: Vec<String> = case
            .key_entities(3)
            .iter()
            .map(|e| format!("{} {}", e.entity.kind.as_str(), e.entity.key))
            .collect();
        let _ = writeln!(
            out,
            "{:<9} {:<13} {:>6}  {:<22} {:<34} {:<24} {}",
            &case.id[..8.min(case.id.len())],
            case.severity.name(),
            case.alert_count(),
            span(case),
            safe(&tactics.join(","), 34),
            format!("{}{more}", techniques.join(",")),
            safe(&entities.join(", "), 80)
        );
        let _ = writeln!(out, "{:<9} {}", "", safe(&case.title, 110));
        if let Some(r) = recommendation {
            let reasons: Vec<String> = r
                .contributions
                .iter()
                .filter(|c| c.contribution.abs() >= 0.05)
                .take(3)
                .map(|c| format!("{} {:+.1}", c.feature, c.contribution))
                .collect();
            let unknowns = if r.unknowns.is_empty() {
                String::new()
            } else {
                format!("; {} unknowns", r.unknowns.len())
            };
            let closed = if case.lifecycle.state().is_closed() {
                format!(" [{} by {}]", case.lifecycle.state(), vigil_triage::autotriage::ACTOR)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:<9} {} (confidence {:.2}): {}{unknowns}{closed}",
                "",
                r.verdict.as_str().replace('_', " "),
                r.confidence,
                reasons.join(", ")
            );
        }
    }
    if ranked.len() > 40 {
        let _ = writeln!(out, "… and {} more cases (--json or --report lists them all)", ranked.len() - 40);
    }
    out.push('\n');
    out
}

/// Now, in ms since the epoch: how old the context inputs are is measured against it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Now, as RFC 3339 UTC (for the report's header only; nothing else reads the clock).
pub fn now_rfc3339() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
