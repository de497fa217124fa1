//! Severity, with OCSF's names and ids so that every surface speaks one scale.

use serde::{Deserialize, Serialize};

/// OCSF `severity_id`. `Other` (99) is OCSF's escape hatch and is kept for round-tripping.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Unknown,
    Informational,
    Low,
    Medium,
    High,
    Critical,
    Fatal,
    Other,
}

impl Severity {
    pub fn id(self) -> u8 {
        match self {
            Severity::Unknown => 0,
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
            Severity::Fatal => 6,
            Severity::Other => 99,
        }
    }

    /// OCSF's caption for the id.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
            Severity::Fatal => "Fatal",
            Severity::Other => "Other",
        }
    }

    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Severity::Unknown,
            1 => Severity::Informational,
            2 => Severity::Low,
            3 => Severity::Medium,
            4 => Severity::High,
            5 => Severity::Critical,
            6 => Severity::Fatal,
            99 => Severity::Other,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for id in (0..=6).chain([99]) {
            let severity = Severity::from_id(id).expect("known id");
            assert_eq!(severity.id(), id);
        }
        assert_eq!(Severity::from_id(7), None);
    }
}
