//! What Vigil keeps of a rule for its alerts: identity, level, ATT&CK tags, and the author and
//! licence the Detection Rule License requires on every alert.

use rsigma_parser::{CorrelationRule, SigmaRule};
use serde::{Deserialize, Serialize};
use vigil_model::Severity;

/// Sigma rule levels, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text.to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The OCSF severity an alert of this level carries.
    pub fn severity(self) -> Severity {
        match self {
            Level::Informational => Severity::Informational,
            Level::Low => Severity::Low,
            Level::Medium => Severity::Medium,
            Level::High => Severity::High,
            Level::Critical => Severity::Critical,
        }
    }
}

/// A loaded rule's identity and provenance (read back from a hunt's JSON output too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// The rule's `id`, or a stable id derived from its file and title when it has none.
    pub id: String,
    pub title: String,
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The licence the rule is published under, with what it requires of us.
    pub license: String,
    pub tags: Vec<String>,
    pub file: String,
    /// Named by a correlation rule that does not `generate` its rules' alerts: its detections
    /// feed the correlation and are not alerts of their own (Sigma's convention).
    #[serde(default)]
    pub building_block: bool,
}

/// The licence note every alert from a rule carries. SigmaHQ rules are under the Detection Rule
/// License 1.1, which requires the author's attribution on each alert.
fn license_note(license: &Option<String>) -> String {
    match license {
        Some(license) => license.clone(),
        None => "Detection Rule License (DRL) 1.1".to_owned(),
    }
}

impl RuleInfo {
    pub fn from_sigma(rule: &SigmaRule, file: &str) -> RuleInfo {
        let meta = Meta {
            id: rule.id.as_ref(),
            title: &rule.title,
            level: rule.level.as_ref().map(|l| l.as_str()),
            status: rule.status.as_ref().map(|s| format!("{s:?}")),
            description: rule.description.as_ref(),
            author: rule.author.as_ref(),
            license: &rule.license,
            tags: &rule.tags,
        };
        meta.into_info(file)
    }

    pub fn from_correlation(rule: &CorrelationRule, file: &str) -> RuleInfo {
        let meta = Meta {
            id: rule.id.as_ref().or(rule.name.as_ref()),
            title: &rule.title,
            level: rule.level.as_ref().map(|l| l.as_str()),
            status: rule.status.as_ref().map(|s| format!("{s:?}")),
            description: rule.description.as_ref(),
            author: rule.author.as_ref(),
            license: &rule.license,
            tags: &rule.tags,
        };
        meta.into_info(file)
    }

    /// ATT&CK technique ids from the rule's tags (`attack.t1059.001` → `T1059.001`).
    pub fn techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack.t").map(|rest| format!("T{}", rest.to_ascii_uppercase())))
            .collect()
    }
}

/// The metadata detection and correlation rules share.
struct Meta<'a> {
    id: Option<&'a String>,
    title: &'a String,
    level: Option<&'static str>,
    status: Option<String>,
    description: Option<&'a String>,
    author: Option<&'a String>,
    license: &'a Option<String>,
    tags: &'a Vec<String>,
}

impl Meta<'_> {
    fn into_info(self, file: &str) -> RuleInfo {
        RuleInfo {
            id: self.id.cloned().unwrap_or_else(|| format!("{file}#{}", self.title)),
            title: self.title.clone(),
            level: self.level.and_then(Level::parse).unwrap_or(Level::Medium),
            status: self.status.map(|s| s.to_ascii_lowercase()),
            description: self.description.cloned(),
            author: self.author.cloned(),
            license: license_note(self.license),
            tags: self.tags.clone(),
            file: file.to_owned(),
            building_block: false,
        }
    }
}
