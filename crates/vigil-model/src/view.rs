//! How Sigma rules see a record: its fields under the source's own names, and the Sigma
//! logsource (product, service, categories) it belongs to. The detection stage evaluates rules
//! against this view; the OCSF event is what later stages use.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Sigma logsource as an event carries it. An event may belong to several categories
/// (a Sysmon registry value set is both `registry_set` and `registry_event`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogSource {
    pub product: Option<String>,
    pub service: Option<String>,
    pub categories: Vec<String>,
}

impl LogSource {
    pub fn new(product: &str, service: Option<&str>) -> Self {
        LogSource {
            product: Some(product.to_owned()),
            service: service.map(str::to_owned),
            categories: Vec::new(),
        }
    }

    pub fn with_category(mut self, category: &str) -> Self {
        self.categories.push(category.to_owned());
        self
    }
}

/// One record as Sigma rules read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceView {
    pub logsource: LogSource,
    /// A JSON object; nested objects are reached by dotted paths (`userIdentity.type`).
    pub fields: Value,
}
