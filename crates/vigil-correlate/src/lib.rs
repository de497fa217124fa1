//! Vigil's correlation stage: the entities behind each alert, alerts clustered into cases over
//! the entities they share (rare ones weigh more) with the reason for every merge, each case's
//! timeline, and ATT&CK tactics and techniques. No IO.

mod alert;
mod assemble;
pub mod attack;
mod case;
mod cluster;
pub mod entities;
mod shared;
mod weights;

pub use alert::{Alert, Evidence, RuleRef};
pub use assemble::Cases;
pub use case::{Case, CaseEntity, FoldedAlert, Merge, TacticUse, TechniqueUse, TimelineEntry, TimelineKind};
pub use cluster::{
    ClusterConfig, Clustered, IDS_PER_FOLDED_ALERT, Repeats, cluster, cluster_placed, is_identity,
};
pub use shared::Shared;
