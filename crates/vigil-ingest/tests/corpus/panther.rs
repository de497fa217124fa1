//! Panther's labelled test events for the cloud and identity sources: the `log` of every line
//! of CloudTrail, Okta, Entra / Azure, GCP and GitHub normalizes to a valid OCSF event.

use std::io::BufRead;

use serde_json::Value;
use vigil_ingest::{RawRecord, by_name};
use vigil_model::Locator;

use crate::{data, violations};

/// Panther log type → Vigil format.
const FAMILIES: &[(&str, &str)] = &[
    ("AWS.CloudTrail", "cloudtrail"),
    ("Okta.SystemLog", "okta"),
    ("Azure.Audit", "entra"),
    ("Azure.MonitorActivity", "azure_activity"),
    ("GCP.AuditLog", "gcp_audit"),
    ("GCP.HTTPLoadBalancer", "gcp_audit"),
    ("GitHub.Audit", "github_audit"),
];

fn family(line: &Value) -> Option<&'static str> {
    let log_type =
        line["log"].get("p_log_type").and_then(Value::as_str).or_else(|| {
            match line["log_types"].as_array() {
                Some(types) if types.len() == 1 => types[0].as_str(),
                _ => None,
            }
        })?;
    FAMILIES.iter().find(|(t, _)| *t == log_type).map(|(_, f)| *f)
}

#[test]
fn panther_cloud_and_identity_logs_normalize_to_valid_ocsf() {
    let dir = data().join("panther-analysis/extracted_tests");
    let mut counts: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.unwrap_or_else(|e| panic!("{}:{n}: {e}", path.display()));
            let parsed: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{}:{n}: {e}", path.display()));
            let Some(format_name) = family(&parsed) else { continue };
            let format = by_name(format_name).expect("registered format");
            let text = parsed["log"].to_string();
            let record = RawRecord {
                locator: Locator::Record(n as u64 + 1),
                text,
                value: Some(parsed["log"].clone()),
                source_time: None,
            };
            let entry = counts.entry(format_name).or_default();
            entry.0 += 1;
            match format.map(&record) {
                Ok(event) => {
                    let event = event.finish();
                    let v = violations(&event);
                    if v.is_empty() {
                        entry.1 += 1;
                    } else {
                        problems.push(format!("{}:{} ({format_name}): {v:?}", path.display(), n + 1));
                    }
                }
                Err(e) => {
                    problems.push(format!("{}:{} ({format_name}): rejected: {e}", path.display(), n + 1))
                }
            }
        }
    }
    for (_, format) in FAMILIES {
        assert!(counts.get(format).is_some_and(|(n, _)| *n > 0), "no panther lines for {format}: {counts:?}");
    }
    assert!(problems.is_empty(), "{} problems (of {counts:?}):\n{}", problems.len(), problems.join("\n"));
}
