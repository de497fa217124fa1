//! Vigil's triage stage: each case's evidence as items with stable ids, the context a SOC keeps
//! (inventories, allow-lists, IOCs, earlier analyst verdicts) with its freshness, an explainable scorer whose weights are
//! trained on labelled cases, the playbook library, and the recommendation that ties them
//! together: a verdict, a hypothesis that cites evidence, a plan resolved to the case's own
//! entities with its blast radius, and the context it lacked. Triage drafts; it cannot act.

pub mod ask;
pub mod autotriage;
pub mod context;
mod error;
pub mod evidence;
pub mod features;
pub mod history;
pub mod model;
pub mod narrator;
pub mod playbook;
mod recommend;

pub use error::{Error, Result};
pub use recommend::{PlannedStep, PlaybookPlan, Recommendation, Verdict, recommend};
