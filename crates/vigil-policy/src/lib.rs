//! Vigil's approval policy, as code: which response actions run automatically, which need one
//! or two people and from which roles, which never run, and why. Pure: the caller brings the
//! policy text, the request, what is known of its target and the approvals given; this crate
//! decides and is the only place an [`Approved`] request can be made.

mod approve;
pub mod cases;
mod context;
mod decide;
mod document;
mod error;

pub use approve::{Approval, Approved, Authorization, Ignored, Verdict, authorize, reauthorize};
pub use context::{BlastRadius, Context, Criticality, Effects, Environment};
pub use decide::{Decision, decide, matches};
pub use document::{APPROVER_ROLES, MAX_APPROVALS, Policy, Rule, Tier, When, duration_secs};
pub use error::{Error, Problem};

/// The policy Vigil ships, and its tests.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.yml");
pub const DEFAULT_POLICY_TESTS: &str = include_str!("../policies/default.test.yml");

/// The shipped policy, parsed (its text is checked by this crate's tests).
pub fn default_policy() -> Result<Policy, Error> {
    Policy::parse(DEFAULT_POLICY)
}
