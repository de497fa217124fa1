//! The `detect` section of Vigil's configuration: placeholder values, correlation thresholds,
//! the behavioural detectors' settings, and where the geo-IP database is.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::behaviour::BehaviourConfig;
use crate::ruleset::RuleSetConfig;
use crate::thresholds::Threshold;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Values for `|expand` placeholders, by name (without the `%`).
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Thresholds and windows for correlation rules, by rule id or name.
    pub correlations: BTreeMap<String, Threshold>,
    pub behaviour: BehaviourConfig,
    /// A MaxMind-format database (GeoLite2/DB-IP city or country); impossible travel needs it.
    pub geoip_database: Option<PathBuf>,
}

impl DetectConfig {
    /// How the rule set is loaded under this configuration.
    pub fn rule_set_config(&self) -> RuleSetConfig {
        RuleSetConfig {
            placeholders: self.placeholders.clone(),
            thresholds: self.correlations.clone(),
            ..RuleSetConfig::default()
        }
    }
}
