//! Every kind of alert as clustering reads it: a Sigma detection, a correlation, a behavioural
//! detector's finding — each with its entities, its cited evidence and its rule.

use std::sync::Arc;

use vigil_correlate::entities::{extract, from_group_field};
use vigil_correlate::{Alert, Evidence, RuleRef};
use vigil_detect::behaviour::BehaviourAlert;
use vigil_detect::{CorrelationAlert, Detection, RuleInfo, behaviour_uid, correlation_uid, detection_uid};
use vigil_model::{Entity, EntityKind};
use vigil_ocsf::Event;

pub fn rule(info: &RuleInfo) -> Arc<RuleRef> {
    Arc::new(RuleRef {
        id: info.id.clone(),
        title: info.title.clone(),
        level: info.level.severity(),
        tags: info.tags.clone(),
        author: info.author.clone(),
        license: info.license.clone(),
    })
}

fn evidence(event: &Event, source: &str) -> Evidence {
    Evidence {
        event_uid: event.metadata.uid.clone().unwrap_or_default(),
        time: event.time,
        source: source.to_owned(),
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
    /// The tenant the record belongs to, when it names one.
    tenant: Option<String>,
}

impl Record {
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    pub fn of(event: &Event, source: &str) -> Record {
        Record {
            entities: extract(event),
            evidence: evidence(event, source),
            tenant: event.metadata.tenant_uid.clone(),
        }
    }
}

/// A Sigma detection on `record`.
pub fn from_detection(detection: &Detection, record: &Record) -> Alert {
    Alert {
        tenant: record.tenant.clone(),
        id: detection_uid(&detection.rule, &record.evidence.event_uid).into(),
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
    // Two tenants' correlations over the same group at the same time are two alerts (a
    // cluster's partitions raise them apart; neither may pass for the other).
    let id = match &trigger.tenant {
        None => correlation_uid(alert, time),
        Some(tenant) => vigil_model::EventId::for_tenant(&correlation_uid(alert, time), tenant).to_string(),
    };
    Alert {
        tenant: trigger.tenant.clone(),
        id: id.into(),
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
/// cites. `tenant` is the tenant whose events the detector watched.
pub fn from_behaviour(alert: &BehaviourAlert, tenant: Option<&str>) -> Alert {
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
        tenant: tenant.map(str::to_owned),
        id: behaviour_uid(alert).into(),
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
