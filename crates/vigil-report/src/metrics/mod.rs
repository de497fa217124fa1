//! SOC metrics from the audit trail and the stored events, never from counters: each case's
//! history is read back from its signed records (`history`), the metrics are defined once over
//! those histories (`define`), and `gather` reads a period's cases from the store.

mod define;
mod gather;
mod history;
#[cfg(test)]
pub(crate) mod metrics_tests;

pub use define::{Automation, Durations, Evidence, Metrics, RuleVerdicts, Verdicts, compute, evidence_gaps};
pub use gather::{cases_made, history_of};
pub use history::{AlertFacts, CaseFacts, CaseHistory, Closing, Step, histories, ms};
