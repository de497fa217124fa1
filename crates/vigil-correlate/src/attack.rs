//! MITRE ATT&CK: tactics in kill-chain order and techniques by id, from the compact table
//! `attack/enterprise.tsv` that `scripts/gen_attack_table.py` generates from MITRE's STIX bundle
//! (MITRE's notice: `attack/LICENSE-ATTACK.txt`). Sigma already tags with ATT&CK v19 names
//! (`attack.stealth`, `attack.defense-impairment`, techniques from T1685 on) that v18.1 lacks:
//! the v19 tactics are aliased into the kill chain, and unknown technique ids are kept as given.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

const TABLE: &str = include_str!("attack/enterprise.tsv");

/// A tactic: its ATT&CK id where it has one, short name (`credential-access`) and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Tactic {
    pub id: Option<String>,
    pub short_name: String,
    pub name: String,
    /// Position in the kill chain (reconnaissance first).
    pub order: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Technique {
    pub id: String,
    /// `None` for ids this table does not know (newer ATT&CK releases).
    pub name: Option<String>,
    pub tactics: Vec<String>,
    /// For a v19 id SigmaHQ already uses: the v18.1 technique its rules carried before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previously: Option<String>,
}

/// ATT&CK v19 techniques SigmaHQ's rules are tagged with, and the v18.1 technique the same
/// rules carried before SigmaHQ retagged them (read off the rules: netsh firewall rules were
/// T1562.004, event log clearing T1070.001, and so on). Ids whose earlier technique is not
/// clear from the rules (T1685, T1686, T1689, T1690) are kept without one.
const V19_TECHNIQUES: &[(&str, &str)] = &[
    ("T1685.001", "T1562.002"),
    ("T1685.002", "T1562.008"),
    ("T1685.004", "T1562.012"),
    ("T1685.005", "T1070.001"),
    ("T1685.006", "T1070.002"),
    ("T1686.001", "T1562.007"),
    ("T1686.003", "T1562.004"),
];

pub struct Attack {
    tactics: Vec<Tactic>,
    techniques: HashMap<String, Technique>,
    version: String,
}

/// v19 tactics Sigma uses that the v18.1 table lacks: (short name, name, the tactic it follows).
const V19_TACTICS: &[(&str, &str, &str)] = &[
    ("stealth", "Stealth", "privilege-escalation"),
    ("defense-impairment", "Defense Impairment", "stealth"),
];

impl Attack {
    /// The embedded table.
    pub fn get() -> &'static Attack {
        static ATTACK: OnceLock<Attack> = OnceLock::new();
        ATTACK.get_or_init(|| Attack::parse(TABLE))
    }

    fn parse(table: &str) -> Attack {
        let mut tactics: Vec<Tactic> = Vec::new();
        let mut techniques = HashMap::new();
        let version = table
            .lines()
            .next()
            .and_then(|l| l.split("Enterprise ").nth(1))
            .and_then(|l| l.split(',').next())
            .unwrap_or("?")
            .to_owned();
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["tactic", id, short, name] => tactics.push(Tactic {
                    id: Some((*id).to_owned()),
                    short_name: (*short).to_owned(),
                    name: (*name).to_owned(),
                    order: 0,
                }),
                ["technique", id, name, phases] => {
                    let tactics = phases.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect();
                    techniques.insert(
                        (*id).to_owned(),
                        Technique {
                            id: (*id).to_owned(),
                            name: Some((*name).to_owned()),
                            tactics,
                            previously: None,
                        },
                    );
                }
                _ => {}
            }
        }
        // v18.1's Defense Evasion became v19's Stealth (same id); Defense Impairment is new.
        for (short, name, after) in V19_TACTICS {
            let position =
                tactics.iter().position(|t| t.short_name == *after).map_or(tactics.len(), |p| p + 1);
            let id = (*short == "stealth")
                .then(|| {
                    tactics.iter().find(|t| t.short_name == "defense-evasion").and_then(|t| t.id.clone())
                })
                .flatten();
            tactics.insert(
                position,
                Tactic { id, short_name: (*short).to_owned(), name: (*name).to_owned(), order: 0 },
            );
        }
        tactics.retain(|t| t.short_name != "defense-evasion");
        for (i, t) in tactics.iter_mut().enumerate() {
            t.order = i as u32;
        }
        Attack { tactics, techniques, version }
    }

    /// Every tactic, in kill-chain order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.tactics
    }

    /// The ATT&CK release the table was generated from.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The tactic a short name or id names (`defense-evasion` and `TA0005` are `stealth`).
    pub fn tactic(&self, name: &str) -> Option<&Tactic> {
        let name = name.trim().to_ascii_lowercase().replace('_', "-");
        let name = if name == "defense-evasion" { "stealth".to_owned() } else { name };
        self.tactics.iter().find(|t| {
            t.short_name == name || t.id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(&name))
        })
    }

    /// The technique with this id; an id the table does not know is kept, without a name.
    pub fn technique(&self, id: &str) -> Technique {
        let id = id.trim().to_ascii_uppercase();
        if let Some(known) = self.techniques.get(&id) {
            return known.clone();
        }
        match V19_TECHNIQUES.iter().find(|(new, _)| *new == id) {
            Some((_, old)) => {
                let old = self.techniques.get(*old);
                Technique {
                    id,
                    name: old.and_then(|t| t.name.clone()),
                    tactics: old.map(|t| t.tactics.clone()).unwrap_or_default(),
                    previously: old.map(|t| t.id.clone()),
                }
            }
            None => Technique { id, name: None, tactics: Vec::new(), previously: None },
        }
    }

    /// The tactics and techniques of Sigma tags (`attack.credential-access`, `attack.t1110.003`).
    pub fn from_tags<'a>(&self, tags: impl IntoIterator<Item = &'a str>) -> (Vec<&Tactic>, Vec<Technique>) {
        let mut tactics: Vec<&Tactic> = Vec::new();
        let mut techniques: Vec<Technique> = Vec::new();
        for tag in tags {
            let Some(rest) = tag.strip_prefix("attack.") else { continue };
            let is_technique = rest.len() >= 5
                && rest.as_bytes()[0].eq_ignore_ascii_case(&b't')
                && rest[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
            if is_technique {
                let technique = self.technique(rest);
                if !techniques.iter().any(|t| t.id == technique.id) {
                    techniques.push(technique);
                }
            } else if let Some(tactic) = self.tactic(rest)
                && !tactics.contains(&tactic)
            {
                tactics.push(tactic);
            }
        }
        // A technique implies its tactics even where the rule does not tag them.
        for short in techniques.iter().flat_map(|t| t.tactics.clone()) {
            if let Some(tactic) = self.tactic(&short)
                && !tactics.contains(&tactic)
            {
                tactics.push(tactic);
            }
        }
        tactics.sort_by_key(|t| t.order);
        (tactics, techniques)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_the_kill_chain_and_named_techniques() {
        let attack = Attack::get();
        assert_eq!(attack.version(), "18.1");
        let order: Vec<&str> = attack.tactics.iter().map(|t| t.short_name.as_str()).collect();
        assert_eq!(order.first(), Some(&"reconnaissance"));
        assert_eq!(order.last(), Some(&"impact"));
        let stealth = order.iter().position(|t| *t == "stealth").expect("stealth");
        assert_eq!(order[stealth + 1], "defense-impairment");
        assert_eq!(order[stealth + 2], "credential-access");
        assert_eq!(
            attack.technique("t1059.001").name.as_deref(),
            Some("Command and Scripting Interpreter: PowerShell")
        );
        assert_eq!(attack.tactic("TA0005").map(|t| t.short_name.as_str()), Some("stealth"));
        assert_eq!(attack.tactic("defense-evasion").map(|t| t.name.as_str()), Some("Stealth"));
    }

    #[test]
    fn sigma_tags_give_tactics_in_kill_chain_order_and_keep_unknown_techniques() {
        let (tactics, techniques) = Attack::get().from_tags([
            "attack.impact",
            "attack.defense-impairment",
            "attack.t1685",
            "attack.t1110.003",
            "car.2013-01-002",
        ]);
        let names: Vec<&str> = tactics.iter().map(|t| t.short_name.as_str()).collect();
        assert_eq!(names, ["defense-impairment", "credential-access", "impact"]);
        assert_eq!(techniques[0].id, "T1685");
        assert_eq!(techniques[0].name, None);
        assert_eq!(techniques[1].name.as_deref(), Some("Brute Force: Password Spraying"));
        let firewall = Attack::get().technique("T1686.003");
        assert_eq!(firewall.previously.as_deref(), Some("T1562.004"));
        assert_eq!(firewall.name.as_deref(), Some("Impair Defenses: Disable or Modify System Firewall"));
    }
}
