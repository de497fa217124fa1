//! What the analyst knows beyond the logs, loaded from files a SOC keeps: an asset inventory,
//! an identity inventory, allow-lists of known-benign activity and IOC lists. Each file says
//! when it was true (`as_of`); a recommendation shows which inputs it had, which it lacked and
//! how old they were.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::history::{History, PriorVerdict};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub owner: Option<String>,
    /// `low`, `medium`, `high` or `critical`.
    pub criticality: Option<String>,
    /// `production`, `staging`, `development`, …
    pub environment: Option<String>,
    /// `internet` or `internal`.
    pub exposure: Option<String>,
    /// Labels the response policy matches on (`crown_jewel`, `pci`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    #[serde(default)]
    pub privileged_groups: Vec<String>,
    pub department: Option<String>,
    pub manager: Option<String>,
    pub last_seen: Option<String>,
}

/// Activity known to be benign: a rule (by id) on an entity (`host ws-12`, `user corp\svc-scan`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    pub rule: Option<String>,
    pub entity: Option<String>,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetFile {
    as_of: String,
    assets: BTreeMap<String, Asset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    as_of: String,
    identities: BTreeMap<String, Identity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    as_of: String,
    allow: Vec<AllowRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IocFile {
    as_of: String,
    iocs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFile {
    as_of: String,
    verdicts: Vec<PriorVerdict>,
}

/// One input with where it came from and when it was true (ms since the epoch).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Input<T> {
    pub source: String,
    pub as_of: i64,
    pub entries: T,
}

/// Everything the analyst may know; a `None` is an input the SOC has not given.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Context {
    pub assets: Option<Input<BTreeMap<String, Asset>>>,
    pub identities: Option<Input<BTreeMap<String, Identity>>>,
    pub allow: Option<Input<Vec<AllowRule>>>,
    pub iocs: Option<Input<Vec<String>>>,
    pub history: Option<Input<History>>,
}

fn as_of(file: &str, text: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).map_err(|e| Error::Context {
        file: file.to_owned(),
        message: format!("as_of {text:?} is not RFC 3339: {e}"),
    })
}

fn parse<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T> {
    yaml_serde::from_str(text).map_err(|e| Error::Context { file: file.to_owned(), message: e.to_string() })
}

/// Keys are compared as clustering keys entities: lowercased, hosts by short name.
fn keyed<T>(entries: BTreeMap<String, T>, host: bool) -> BTreeMap<String, T> {
    entries
        .into_iter()
        .map(|(k, v)| {
            let k = k.trim().to_lowercase();
            let k = if host { k.split('.').next().unwrap_or(&k).to_owned() } else { k };
            (k, v)
        })
        .collect()
}

impl Context {
    pub fn load_assets(&mut self, file: &str, text: &str) -> Result<()> {
        let f: AssetFile = parse(file, text)?;
        self.assets = Some(Input {
            source: file.into(),
            as_of: as_of(file, &f.as_of)?,
            entries: keyed(f.assets, true),
        });
        Ok(())
    }

    pub fn load_identities(&mut self, file: &str, text: &str) -> Result<()> {
        let f: IdentityFile = parse(file, text)?;
        self.identities = Some(Input {
            source: file.into(),
            as_of: as_of(file, &f.as_of)?,
            entries: keyed(f.identities, false),
        });
        Ok(())
    }

    pub fn load_allow(&mut self, file: &str, text: &str) -> Result<()> {
        let f: AllowFile = parse(file, text)?;
        self.allow = Some(Input { source: file.into(), as_of: as_of(file, &f.as_of)?, entries: f.allow });
        Ok(())
    }

    pub fn load_iocs(&mut self, file: &str, text: &str) -> Result<()> {
        let f: IocFile = parse(file, text)?;
        let entries = f.iocs.into_iter().map(|i| i.trim().to_lowercase()).collect();
        self.iocs = Some(Input { source: file.into(), as_of: as_of(file, &f.as_of)?, entries });
        Ok(())
    }

    pub fn load_history(&mut self, file: &str, text: &str) -> Result<()> {
        let f: HistoryFile = parse(file, text)?;
        let history = History::from_verdicts(&f.verdicts);
        self.history = Some(Input { source: file.into(), as_of: as_of(file, &f.as_of)?, entries: history });
        Ok(())
    }

    /// Each input: its name, whether it was given, and its age in days at `now`.
    pub fn inventory(&self, now: i64) -> Vec<InputStatus> {
        let age = |as_of: i64| ((now - as_of).max(0) as f64 / 86_400_000.0 * 10.0).round() / 10.0;
        [
            ("asset inventory", self.assets.as_ref().map(|i| (i.source.clone(), i.as_of))),
            ("identity inventory", self.identities.as_ref().map(|i| (i.source.clone(), i.as_of))),
            ("allow-list", self.allow.as_ref().map(|i| (i.source.clone(), i.as_of))),
            ("IOC list", self.iocs.as_ref().map(|i| (i.source.clone(), i.as_of))),
            ("verdict history", self.history.as_ref().map(|i| (i.source.clone(), i.as_of))),
        ]
        .into_iter()
        .map(|(name, given)| InputStatus {
            input: name.into(),
            present: given.is_some(),
            source: given.as_ref().map(|g| g.0.clone()),
            age_days: given.map(|g| age(g.1)),
        })
        .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct InputStatus {
    pub input: String,
    pub present: bool,
    pub source: Option<String>,
    pub age_days: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventories_load_with_their_date_and_keys_like_entities() {
        let mut c = Context::default();
        c.load_assets(
            "assets.yml",
            "as_of: 2026-11-30T00:00:00Z\nassets:\n  WS-12.corp.example: {owner: alice, criticality: high, environment: production, exposure: internal}\n",
        )
        .expect("assets");
        assert_eq!(c.assets.as_ref().map(|a| a.entries.contains_key("ws-12")), Some(true));
        let status = c.inventory(c.assets.as_ref().map_or(0, |a| a.as_of) + 36 * 3_600_000);
        assert_eq!(status[0].age_days, Some(1.5));
        assert!(!status[1].present, "no identity inventory was given");
    }

    #[test]
    fn a_misspelt_key_or_a_bad_date_is_an_error_naming_the_file() {
        let mut c = Context::default();
        let err = c.load_assets(
            "a.yml",
            "as_of: 2026-11-30T00:00:00Z\nassets:\n  h: {owner: x, critcality: high}\n",
        );
        assert!(err.err().is_some_and(|e| e.to_string().starts_with("a.yml")));
        let err = c.load_iocs("i.yml", "as_of: yesterday\niocs: []\n");
        assert!(err.err().is_some_and(|e| e.to_string().contains("RFC 3339")));
    }
}
