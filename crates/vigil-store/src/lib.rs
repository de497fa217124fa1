//! Vigil's persistence: one code path for SQLite (the default, in one data directory) and
//! PostgreSQL, with the audit trail written in the same transaction as every change it records.
//!
//! - [`Store`] opens a database and brings its schema up to date (`migrations`).
//! - [`WriteTx`] is the only way to change anything; audited changes take the chain's lock and
//!   commit with a signed checkpoint.
//! - [`audit`] is the chain: hashing, signing, verifying, exporting.

mod actions;
pub mod audit;
mod blocklist;
mod cases;
mod clock;
mod close_requests;
mod cluster;
mod error;
mod events;
mod evidence;
mod gauges;
mod grants;
mod learning;
mod migrations;
mod mutes;
mod queue;
mod retention;
mod runs;
mod sessions;
mod sla;
mod store;
mod tickets;
pub mod time;
mod users;
mod verdicts;
mod write;

pub use actions::{ActionRequestRow, ActionStatus, ApprovalRow};
pub use blocklist::BlockEntry;
pub use cases::{AlertRow, By, CaseFilter, CaseRow, Comment};
pub use clock::{Clock, ManualClock};
pub use close_requests::CloseRequest;
pub use cluster::{Leases, NodeRow, PartitionLease, PartitionRow, create_database, has_role};
pub use error::{Error, Result};
pub use events::{NewEvent, PipelineEvent, StoredDeadLetter, StoredEvent};
pub use evidence::EvidenceMeta;
pub use gauges::Gauges;
pub use grants::Grant;
pub use learning::{Decided, Decision, LearningKind, LearningTask, Review};
pub use migrations::LATEST as SCHEMA_VERSION;
pub use mutes::RuleMute;
pub use queue::{Owner, QueueFilter, QueueOrder, QueuePage};
pub use retention::{Purged, Retention};
pub use runs::{ActionRun, RunStatus, RunStep};
pub use sessions::SessionRow;
pub use sla::SlaBreach;
pub use store::{Backend, DATABASE_FILE, Store};
pub use tickets::Ticket;
pub use users::{TokenRow, UserRow};
pub use verdicts::{VerdictFilter, VerdictRow, judged_cases_at, verdicts_at};
pub use write::WriteTx;

#[cfg(test)]
mod conformance;
