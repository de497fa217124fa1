//! `|expand` placeholders (`%Admins_Workstations%`): the values come from configuration. A rule
//! whose placeholders have no configured value is not loaded, and says so: evaluating it would
//! quietly match against the wrong thing.

use std::collections::{BTreeMap, BTreeSet};

use rsigma_eval::Pipeline;
use rsigma_parser::SigmaRule;

use crate::error::{Error, Result};

/// The placeholders a rule's `|expand` values name.
pub fn used_by(rule: &SigmaRule) -> BTreeSet<String> {
    let Ok(detection) = serde_json::to_string(&rule.detection) else { return BTreeSet::new() };
    if !detection.contains("Expand") && !detection.contains("expand") {
        return BTreeSet::new();
    }
    let mut names = BTreeSet::new();
    let mut rest = detection.as_str();
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end)
                if end > 0
                    && after[..end].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                names.insert(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    names
}

/// A pipeline that replaces each configured placeholder by its values.
pub fn pipeline(values: &BTreeMap<String, Vec<String>>) -> Result<Option<Pipeline>> {
    if values.is_empty() {
        return Ok(None);
    }
    // JSON is YAML, and building it with serde_json keeps configured values from being read as
    // YAML syntax.
    let doc = serde_json::json!({
        "name": "vigil placeholders",
        "priority": 10,
        "vars": values,
        "transformations": [{"id": "vigil_placeholders", "type": "value_placeholders"}],
    });
    rsigma_eval::parse_pipeline(&doc.to_string()).map(Some).map_err(|e| Error::Placeholders(e.to_string()))
}
