//! Vigil's versioned playbook library (`playbooks/*.yml`): contain, eradicate and recover
//! steps, each naming an action and the kind of entity it touches. A recommendation picks the
//! playbook whose tactics the case reaches most and resolves each step to the case's own
//! entities. No code here, or anywhere in triage, can run an action.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const LIBRARY: &[(&str, &str)] = &[
    ("ransomware.yml", include_str!("../playbooks/ransomware.yml")),
    ("data-exfiltration.yml", include_str!("../playbooks/data-exfiltration.yml")),
    ("cloud-credential-abuse.yml", include_str!("../playbooks/cloud-credential-abuse.yml")),
    ("account-compromise.yml", include_str!("../playbooks/account-compromise.yml")),
    ("host-compromise.yml", include_str!("../playbooks/host-compromise.yml")),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub phase: Phase,
    pub action: String,
    /// The entity kind it touches (`user`, `host`, `access_key`, …).
    pub target: String,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Contain,
    Eradicate,
    Recover,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub when_tactics: Vec<String>,
    /// The entity kinds a case must name for the playbook to apply.
    pub targets: Vec<String>,
    pub steps: Vec<Step>,
}

/// The library, in order of precedence (the most urgent first).
pub fn library() -> Result<Vec<Playbook>> {
    LIBRARY
        .iter()
        .map(|(file, text)| {
            yaml_serde::from_str(text)
                .map_err(|e| Error::Playbook { file: (*file).to_owned(), message: e.to_string() })
        })
        .collect()
}

/// The playbook for a case reaching `tactics` and naming entities of `kinds`: the most urgent
/// (earliest in the library) that shares a tactic with the case and can touch its entities. A
/// case that reached impact gets the ransomware playbook even if it also stole credentials.
pub fn choose<'a>(library: &'a [Playbook], tactics: &[&str], kinds: &[&str]) -> Option<&'a Playbook> {
    library.iter().find(|p| {
        p.targets.iter().any(|t| kinds.contains(&t.as_str()))
            && p.when_tactics.iter().any(|t| tactics.contains(&t.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_parses_and_every_step_has_a_phase_action_and_target() {
        let library = library().expect("library parses");
        assert_eq!(library.len(), LIBRARY.len());
        for p in &library {
            assert!(!p.steps.is_empty() && p.version >= 1, "{}", p.id);
            assert!(p.steps.iter().any(|s| s.phase == Phase::Contain), "{} has no containment", p.id);
        }
    }

    #[test]
    fn a_case_gets_the_playbook_its_tactics_and_entities_fit() {
        let library = library().expect("library parses");
        assert_eq!(
            choose(&library, &["impact", "execution"], &["host", "process"]).map(|p| p.id.as_str()),
            Some("ransomware")
        );
        assert_eq!(
            choose(&library, &["credential-access", "lateral-movement", "execution"], &["user", "host"])
                .map(|p| p.id.as_str()),
            Some("account-compromise")
        );
        assert_eq!(
            choose(&library, &["impact"], &["email"]),
            None,
            "no playbook for entities it cannot touch"
        );
    }
}
