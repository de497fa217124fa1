//! Vigil's versioned playbook library (`playbooks/*.yml`): contain, eradicate and recover
//! steps, each naming an action and the kind of entity it touches. A recommendation picks the
//! playbook whose tactics the case reaches most and resolves each step to the case's own
//! entities. No code here, or anywhere in triage, can run an action. A site's folders of
//! playbooks (`library_with`) add playbooks and replace a built-in one by a later version of it:
//! that is where accepted runbook edits from the learning loop go.

use std::path::{Path, PathBuf};

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

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Contain,
    Eradicate,
    Recover,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Contain => "contain",
            Phase::Eradicate => "eradicate",
            Phase::Recover => "recover",
        }
    }
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

/// The library with the playbooks in `dirs` (`*.yml`, `*.yaml`, read in name order): a playbook
/// whose id is built in replaces it when its version is higher (a lower or equal version is
/// an error: an edit that does not say it is newer would silently lose to the binary's); a
/// new id is added after the built-in ones. A folder that does not exist yet holds none.
pub fn library_with(dirs: &[PathBuf]) -> Result<Vec<Playbook>> {
    let mut library = library()?;
    let builtin = library.len();
    for dir in dirs {
        for path in playbook_files(dir)? {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::Playbook { file: file.clone(), message: e.to_string() })?;
            let playbook: Playbook = yaml_serde::from_str(&text)
                .map_err(|e| Error::Playbook { file: file.clone(), message: e.to_string() })?;
            match library.iter().position(|p| p.id == playbook.id) {
                Some(i) if library[i].version >= playbook.version => {
                    return Err(Error::Playbook {
                        file,
                        message: format!(
                            "playbook {} version {} is not newer than the version {} it would replace",
                            playbook.id, playbook.version, library[i].version
                        ),
                    });
                }
                Some(i) if i < builtin => library[i] = playbook,
                Some(_) => {
                    return Err(Error::Playbook {
                        file,
                        message: format!("playbook {} is defined twice in the folders", playbook.id),
                    });
                }
                None => library.push(playbook),
            }
        }
    }
    Ok(library)
}

fn playbook_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Playbook { file: dir.display().to_string(), message: e.to_string() }),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A playbook as the library writes them: one line per step, every text double-quoted (a JSON
/// string is a YAML double-quoted scalar), so two versions diff step by step.
pub fn to_yaml(playbook: &Playbook) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let list = |items: &[String]| items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", ");
    let mut out = String::from(
        "# Vigil playbook. Each step names an action and the kind of entity it touches; a\n\
         # recommendation resolves it to the case's own entities. Nothing here runs by itself.\n",
    );
    out.push_str(&format!(
        "id: {}\nversion: {}\ntitle: {}\n",
        quote(&playbook.id),
        playbook.version,
        quote(&playbook.title)
    ));
    out.push_str(&format!(
        "when_tactics: [{}]\ntargets: [{}]\nsteps:\n",
        list(&playbook.when_tactics),
        list(&playbook.targets)
    ));
    for step in &playbook.steps {
        out.push_str(&format!(
            "  - {{phase: {}, action: {}, target: {}, description: {}}}\n",
            step.phase.as_str(),
            quote(&step.action),
            quote(&step.target),
            quote(&step.description)
        ));
    }
    out
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
    fn every_playbook_written_as_yaml_reads_back_the_same() {
        for p in library().expect("library parses") {
            let back: Playbook = yaml_serde::from_str(&to_yaml(&p)).expect("written playbook parses");
            assert_eq!(back, p);
        }
        let mut odd = library().expect("library parses").remove(0);
        odd.steps[0].description = "it's: \"quoted\" # not a comment\n{x}".into();
        let back: Playbook = yaml_serde::from_str(&to_yaml(&odd)).expect("hostile text parses");
        assert_eq!(back, odd);
    }

    #[test]
    fn a_folder_replaces_a_built_in_playbook_only_with_a_newer_version() {
        let dir = std::env::temp_dir().join(format!("vigil-playbooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut newer = library()
            .expect("library parses")
            .into_iter()
            .find(|p| p.id == "host-compromise")
            .expect("built in");
        newer.version += 1;
        newer.steps.truncate(1);
        std::fs::write(dir.join("host-compromise.yml"), to_yaml(&newer)).expect("write");
        let with = library_with(std::slice::from_ref(&dir)).expect("folder reads");
        assert_eq!(with.iter().find(|p| p.id == "host-compromise"), Some(&newer));
        assert_eq!(with.len(), library().expect("library").len());

        newer.version -= 1;
        std::fs::write(dir.join("host-compromise.yml"), to_yaml(&newer)).expect("write");
        let err = library_with(std::slice::from_ref(&dir)).expect_err("same version refused");
        assert!(err.to_string().contains("not newer"), "{err}");
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert!(library_with(&[dir]).is_ok(), "a folder not created yet holds no playbook");
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
