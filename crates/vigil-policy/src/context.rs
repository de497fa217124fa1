//! What is known about a request when it is decided: its target's environment, criticality and
//! tags (from the inventories), its blast radius (from the inventories and the store), the
//! case's severity and confidence, facts the caller established, and what the action would do
//! to Vigil itself (for the guards no policy can switch off).

use std::collections::BTreeSet;

use serde::Deserialize;
use vigil_model::Severity;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    NonProduction,
    /// No inventory says: treated as production by every rule.
    #[default]
    Unknown,
}

impl Environment {
    /// Whether a rule asking for `wanted` matches a target in this environment; an unknown
    /// environment is production, since guessing otherwise lowers the bar.
    pub fn matches(self, wanted: Environment) -> bool {
        match wanted {
            Environment::Production => matches!(self, Environment::Production | Environment::Unknown),
            other => self == other,
        }
    }

    /// Reads an inventory's word for it (`prod`, `production`, `staging`, …).
    pub fn from_inventory(word: &str) -> Environment {
        match word.trim().to_ascii_lowercase().as_str() {
            "prod" | "production" | "prd" => Environment::Production,
            "" | "unknown" => Environment::Unknown,
            _ => Environment::NonProduction,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

impl Criticality {
    pub fn from_inventory(word: &str) -> Option<Criticality> {
        match word.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Criticality::Low),
            "medium" => Some(Criticality::Medium),
            "high" => Some(Criticality::High),
            "critical" => Some(Criticality::Critical),
            _ => None,
        }
    }
}

/// Who and what an action would affect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlastRadius {
    pub users: u32,
    pub hosts: u32,
    pub services: u32,
    pub accounts: u32,
}

/// What the action would do to Vigil's own footing, established by the caller from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Effects {
    /// It would disable, lock or demote the last enabled admin.
    pub locks_out_last_admin: bool,
    /// Its target is the host Vigil runs on.
    pub isolates_vigil_server: bool,
    /// The people whose sessions or tokens it would revoke.
    pub revokes_credentials_of: BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Context {
    pub environment: Environment,
    pub criticality: Option<Criticality>,
    pub tags: BTreeSet<String>,
    pub blast_radius: BlastRadius,
    pub severity: Option<Severity>,
    pub confidence: Option<f64>,
    pub facts: BTreeSet<String>,
    pub effects: Effects,
}
