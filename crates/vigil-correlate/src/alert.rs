//! What clustering consumes: one alert, whatever raised it (a Sigma rule, a correlation, a
//! behavioural detector), with the entities it is about and the events it rests on.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_model::{AlertId, Entity, Severity};

/// The rule behind an alert, as a case shows it (DRL 1.1 requires the author on every alert).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub level: Severity,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub license: String,
}

/// One event an alert rests on, as a timeline shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    pub event_uid: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// Where it was read: file path, or source name.
    pub source: String,
    pub class_name: String,
    pub summary: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alert {
    /// Unique per alert (the Detection Finding's uid).
    pub id: AlertId,
    /// Shared by every alert of the rule: a rule that fires a million times is one `RuleRef`.
    pub rule: Arc<RuleRef>,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub entities: Vec<Entity>,
    /// User entities the events show to be one person. Stored with the alert: a restart that
    /// lost them would cluster differently from the live engine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<(Entity, Entity)>,
    pub evidence: Vec<Evidence>,
    /// What a correlation or behavioural detector saw, in a sentence.
    pub summary: Option<String>,
    /// The tenant whose events raised it, when they name one. Alerts of two tenants never
    /// share a case, whatever entity names they share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}
