//! Vigil's response half: the [`Action`] trait (plan, precheck, execute, verify, rollback),
//! Vigil's own actions, the [`Registry`] of what can run, how a decided request is stored and
//! queued, and the [`Executor`] that runs each approved request at most once, verifies it, and
//! can roll it back. Nothing here decides whether an action may run: that is the policy's, and
//! the executor asks it again before every run.

mod action;
pub mod builtin;
pub mod connectors;
mod error;
mod executor;
mod proposal;
mod registry;

pub use action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
pub use error::{Error, Result};
pub use executor::{Authority, Executor, RUN_DEADLINE_MS, Settings, approvals_now, queue};
pub use proposal::{decided_row, status_for, store_proposal};
pub use registry::{ROLLBACK_OF, Registry, rollback_of};

#[cfg(test)]
mod executor_tests;
