//! Field mappings per source: where a source names a field differently from the rules written
//! for its logsource, the rule's field also matches the source's names. One small YAML file per
//! source under `mappings/`, compiled into a Sigma processing pipeline for the engines of that
//! logsource only, so other rules pay nothing.

use std::collections::BTreeMap;

use rsigma_eval::Pipeline;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The mappings shipped in the binary: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("okta.yml", include_str!("../mappings/okta.yml")),
    ("gcp_audit.yml", include_str!("../mappings/gcp_audit.yml")),
    ("azure_activity.yml", include_str!("../mappings/azure_activity.yml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    title: String,
    logsource: MappingLogSource,
    /// Rule field → the other names the source may give it.
    fields: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingLogSource {
    product: String,
    service: Option<String>,
}

/// A field mapping, ready to attach to the engines of its logsource.
#[derive(Clone)]
pub struct FieldMapping {
    title: String,
    product: String,
    service: Option<String>,
    pipeline: Pipeline,
}

impl std::fmt::Debug for FieldMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldMapping")
            .field("title", &self.title)
            .field("product", &self.product)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl FieldMapping {
    /// Parses a mapping file.
    pub fn parse(name: &str, text: &str) -> Result<FieldMapping> {
        let invalid = |e: String| Error::Mapping { file: name.to_owned(), message: e };
        let file: MappingFile = yaml_serde::from_str(text).map_err(|e| invalid(e.to_string()))?;
        // The rule's own name stays first, so a source that uses it still matches.
        let mapping: BTreeMap<&String, Vec<&String>> = file
            .fields
            .iter()
            .map(|(field, others)| (field, std::iter::once(field).chain(others).collect()))
            .collect();
        let doc = serde_json::json!({
            "name": &file.title,
            "priority": 20,
            "transformations": [{"id": format!("vigil_mapping_{name}"), "type": "field_name_mapping", "mapping": mapping}],
        });
        let pipeline = rsigma_eval::parse_pipeline(&doc.to_string()).map_err(|e| invalid(e.to_string()))?;
        Ok(FieldMapping {
            title: file.title.clone(),
            product: file.logsource.product.to_ascii_lowercase(),
            service: file.logsource.service.map(|s| s.to_ascii_lowercase()),
            pipeline,
        })
    }

    /// The mappings shipped in the binary.
    pub fn builtin() -> Result<Vec<FieldMapping>> {
        BUILTIN.iter().map(|(name, text)| FieldMapping::parse(name, text)).collect()
    }

    /// Whether rules of this (lowercased) logsource read sources this mapping covers.
    pub(crate) fn applies_to(&self, product: Option<&str>, service: Option<&str>) -> bool {
        product == Some(self.product.as_str())
            && self.service.as_deref().is_none_or(|s| service.is_none_or(|rule| rule == s))
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_mapping_parses() {
        let mappings = FieldMapping::builtin().expect("built-in mappings parse");
        assert_eq!(mappings.len(), BUILTIN.len());
        assert!(mappings[0].applies_to(Some("okta"), Some("okta")));
        assert!(!mappings[0].applies_to(Some("windows"), None));
    }

    #[test]
    fn a_mapping_with_an_unknown_key_is_an_error() {
        let text = "title: t\nlogsource: {product: okta}\nfields: {}\nfeilds: {}\n";
        let err = FieldMapping::parse("bad.yml", text).expect_err("rejected");
        assert!(err.to_string().contains("bad.yml"), "{err}");
    }
}
