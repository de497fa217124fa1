//! A compliance catalogue: one framework's controls (ids and titles as the framework publishes
//! them), each mapped to what in Vigil supports it: detections (by ATT&CK tactic and technique,
//! rule tag or rule id), response action kinds and categories, playbooks, and evidence types.
//! YAML, versioned (`catalogue: 1`); Vigil ships SOC 2, ISO/IEC 27001:2022, the HIPAA Security
//! Rule and PCI DSS v4.0, and a site's own framework is one more file in the same form.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use vigil_model::{ActionCategory, ActionKind};

use crate::{Error, Result};

/// The catalogue format this Vigil reads.
pub const CATALOGUE_VERSION: u32 = 1;

/// The frameworks Vigil ships, by the name `--framework` takes.
pub const SHIPPED: [(&str, &str); 4] = [
    ("soc2", include_str!("../../compliance/soc2.yml")),
    ("iso27001", include_str!("../../compliance/iso27001.yml")),
    ("hipaa", include_str!("../../compliance/hipaa.yml")),
    ("pci-dss", include_str!("../../compliance/pci-dss.yml")),
];

/// What a kind of evidence is, as the report counts it in a period.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Records of the signed, hash-chained audit trail.
    AuditTrail,
    /// Alerts of the period's cases, each citing the raw events it rests on.
    Alerts,
    /// Cases closed with a verdict.
    CaseRecords,
    /// Analysts' verdicts on rules and entities.
    Verdicts,
    /// People's approvals and rejections of response actions.
    Approvals,
    /// Run logs of response steps, sealed in the evidence vault.
    RunLogs,
    /// Files added to the evidence vault (snapshots, triage bundles, uploads).
    EvidenceFiles,
    /// SLA clocks measured on the period's cases, and their breaches.
    SlaRecords,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::AuditTrail => "audit_trail",
            EvidenceKind::Alerts => "alerts",
            EvidenceKind::CaseRecords => "case_records",
            EvidenceKind::Verdicts => "verdicts",
            EvidenceKind::Approvals => "approvals",
            EvidenceKind::RunLogs => "run_logs",
            EvidenceKind::EvidenceFiles => "evidence_files",
            EvidenceKind::SlaRecords => "sla_records",
        }
    }
}

/// Which detections support a control: a rule supports it when it carries one of the ATT&CK
/// tactics (`credential_access`), techniques (`T1110`, matching its sub-techniques too) or tags
/// named, or is named by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Detections {
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub tags: Vec<String>,
    pub rules: Vec<String>,
}

impl Detections {
    pub fn is_empty(&self) -> bool {
        self.tactics.is_empty() && self.techniques.is_empty() && self.tags.is_empty() && self.rules.is_empty()
    }

    /// Whether a rule with `id` and `tags` is one of these.
    pub fn cover(&self, id: &str, tags: &[String]) -> bool {
        if self.rules.iter().any(|r| r == id) {
            return true;
        }
        // SigmaHQ writes tactics both ways (`credential-access`, `credential_access`).
        let fold = |text: &str| text.to_ascii_lowercase().replace('_', "-");
        tags.iter().any(|tag| {
            let tag = fold(tag);
            self.tags.iter().any(|t| fold(t) == tag)
                || tag.strip_prefix("attack.").is_some_and(|name| {
                    self.tactics.iter().any(|t| fold(t) == name)
                        || self.techniques.iter().any(|t| {
                            let t = t.to_ascii_lowercase();
                            name == t || name.strip_prefix(&t).is_some_and(|rest| rest.starts_with('.'))
                        })
                })
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub detections: Detections,
    /// Response action kinds (`isolate_host`).
    #[serde(default)]
    pub actions: Vec<String>,
    /// Response action categories (`host_isolation`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Playbooks by id (`host-compromise`).
    #[serde(default)]
    pub playbooks: Vec<String>,
    #[serde(default)]
    pub evidence: Vec<EvidenceKind>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub catalogue: u32,
    /// The name `--framework` takes.
    pub framework: String,
    pub title: String,
    /// Which edition of the framework the controls are from.
    pub version: String,
    /// Where the control ids and titles come from.
    pub source: String,
    pub controls: Vec<Control>,
}

impl Framework {
    /// A catalogue from its YAML, checked: its version, unique control ids, and action kinds and
    /// categories Vigil knows.
    pub fn parse(text: &str) -> Result<Framework> {
        let framework: Framework =
            yaml_serde::from_str(text).map_err(|e| Error::Config(format!("compliance catalogue: {e}")))?;
        let bad =
            |what: String| Error::Config(format!("compliance catalogue {}: {what}", framework.framework));
        if framework.catalogue != CATALOGUE_VERSION {
            return Err(bad(format!(
                "catalogue {} (this Vigil reads {CATALOGUE_VERSION})",
                framework.catalogue
            )));
        }
        if framework.controls.is_empty() {
            return Err(bad("no controls".into()));
        }
        let mut ids = BTreeSet::new();
        for control in &framework.controls {
            if control.id.trim().is_empty() || control.title.trim().is_empty() {
                return Err(bad("a control without an id or a title".into()));
            }
            if !ids.insert(control.id.as_str()) {
                return Err(bad(format!("control {} is listed twice", control.id)));
            }
            for action in &control.actions {
                if ActionKind::named(action).is_none() {
                    return Err(bad(format!("control {}: no action kind is called {action:?}", control.id)));
                }
            }
            for category in &control.categories {
                if ActionCategory::parse(category).is_none() {
                    return Err(bad(format!(
                        "control {}: no action category is called {category:?}",
                        control.id
                    )));
                }
            }
        }
        Ok(framework)
    }

    /// A framework Vigil ships, by name.
    pub fn shipped(name: &str) -> Result<Framework> {
        let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            Error::Config(format!(
                "no framework is called {name:?} ({}; or a catalogue file)",
                names.join(", ")
            ))
        })?;
        Framework::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_catalogue_parses_and_maps_each_control_to_something() {
        for (name, _) in SHIPPED {
            let framework = Framework::shipped(name).expect(name);
            assert_eq!(framework.framework, name);
            for control in &framework.controls {
                let mapped = !control.detections.is_empty()
                    || !control.actions.is_empty()
                    || !control.categories.is_empty()
                    || !control.playbooks.is_empty()
                    || !control.evidence.is_empty();
                assert!(mapped, "{name} {} maps to nothing", control.id);
            }
        }
    }

    #[test]
    fn a_technique_covers_its_sub_techniques_and_not_its_neighbours_and_tactics_match_either_spelling() {
        let d = Detections {
            techniques: vec!["T1110".into()],
            tactics: vec!["execution".into(), "credential-access".into()],
            ..Detections::default()
        };
        let tags = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(d.cover("r", &tags(&["attack.t1110.003"])));
        assert!(d.cover("r", &tags(&["attack.T1110"])));
        assert!(!d.cover("r", &tags(&["attack.t11100"])));
        assert!(d.cover("r", &tags(&["attack.execution"])));
        assert!(d.cover("r", &tags(&["attack.credential_access"])));
        assert!(!d.cover("r", &tags(&["attack.persistence", "cve.2021-44228"])));
    }

    #[test]
    fn a_catalogue_with_an_unknown_action_a_duplicate_or_another_version_is_refused() {
        let base = "catalogue: 1\nframework: site\ntitle: Site\nversion: '1'\nsource: ours\ncontrols:\n";
        let cases = [
            (format!("{base}  - {{id: A.1, title: One, actions: [launch_missiles]}}\n"), "launch_missiles"),
            (format!("{base}  - {{id: A.1, title: One}}\n  - {{id: A.1, title: Again}}\n"), "twice"),
            (base.replace("catalogue: 1", "catalogue: 2") + "  - {id: A.1, title: One}\n", "catalogue 2"),
            (format!("{base}  - {{id: A.1, title: One, evidence: [gut_feeling]}}\n"), "gut_feeling"),
        ];
        for (text, said) in cases {
            let e = Framework::parse(&text).expect_err(said).to_string();
            assert!(e.contains(said), "{e}");
        }
    }
}
