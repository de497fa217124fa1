//! Vigil's detection stage: Sigma rules, loaded with a diagnostic for every problem, routed by
//! logsource to the records they apply to, and evaluated against each record's own fields
//! ([`vigil_model::view::SourceView`]). Alerts become OCSF Detection Findings.
//!
//! No IO: rule files come in as text, events as views. The Sigma engine is `rsigma-eval`,
//! behind [`RuleSet`], so it can be replaced where measurements demand.

pub mod behaviour;
pub mod builtin;
mod config;
mod correlation;
mod diagnostic;
pub mod draft;
mod error;
mod filter;
mod finding;
mod keywords;
pub mod mapping;
mod parallel;
mod placeholders;
pub mod regression;
pub mod replay;
mod rule;
mod ruleset;
mod thresholds;
pub mod tune;
mod view_event;

pub use config::DetectConfig;
pub use correlation::{CorrelationAlert, Correlator};
pub use diagnostic::Diagnostic;
pub use error::{Error, Result};
pub use finding::{
    behaviour_finding, behaviour_uid, correlation_finding, correlation_uid, detection_uid, finding,
};
pub use mapping::FieldMapping;
pub use rule::{Level, RuleInfo};
pub use ruleset::{Detection, RuleFile, RuleSet, RuleSetConfig};
pub use thresholds::Threshold;
