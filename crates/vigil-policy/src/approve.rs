//! Approvals counted against a decision, and [`Approved`]: the proof that a request may run,
//! which nothing outside this crate can make. An approval counts only when it is a person's,
//! not the requester's, not a second one of the same person's, from an enabled account whose
//! credential carries the approve permission, with a role the rule names, for the exact request
//! (its hash), before the request expires, and with a rationale; the rest are listed with why
//! they did not count.

use vigil_model::ActionRequest;
pub use vigil_model::Verdict;

use crate::context::Context;
use crate::decide::{Decision, decide};
use crate::document::{Policy, Tier};

/// One person's answer to a request, with what the caller knows of them now.
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    pub approver: String,
    /// Their role now (not when they approved: a demoted approver no longer counts).
    pub role: String,
    /// The account is enabled now.
    pub enabled: bool,
    /// The session or token they approved through carries the approve permission.
    pub may_approve: bool,
    /// The request hash they approved.
    pub request_sha256: String,
    pub verdict: Verdict,
    pub rationale: String,
    pub at_ms: i64,
}

/// An approval that did not count, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    pub approver: String,
    pub reason: String,
}

/// A request policy and people have cleared to run. Made only by [`authorize`] and
/// [`reauthorize`]; the executor takes nothing else.
#[derive(Clone, Debug, PartialEq)]
pub struct Approved {
    request: ActionRequest,
    request_sha256: String,
    decision: Decision,
    approvers: Vec<String>,
}

impl Approved {
    pub fn request(&self) -> &ActionRequest {
        &self.request
    }

    pub fn request_sha256(&self) -> &str {
        &self.request_sha256
    }

    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The people whose approvals made up the quorum, in the order they approved.
    pub fn approvers(&self) -> &[String] {
        &self.approvers
    }
}

/// Where a request stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Authorization {
    Approved(Box<Approved>),
    /// Waiting for `need` more people.
    Pending {
        decision: Decision,
        counted: Vec<String>,
        need: u8,
        ignored: Vec<Ignored>,
        expires_at_ms: i64,
    },
    Rejected {
        decision: Decision,
        by: String,
        rationale: String,
    },
    Expired {
        decision: Decision,
        expired_at_ms: i64,
    },
    Forbidden {
        decision: Decision,
    },
}

impl Authorization {
    /// A stable code for the API and the run log.
    pub fn code(&self) -> &'static str {
        match self {
            Authorization::Approved(_) => "approved",
            Authorization::Pending { .. } => "awaiting_approval",
            Authorization::Rejected { .. } => "rejected",
            Authorization::Expired { .. } => "expired",
            Authorization::Forbidden { .. } => "forbidden_by_policy",
        }
    }
}

/// The request under the policy with these approvals, at `now_ms`; it was asked at
/// `requested_at_ms`.
pub fn authorize(
    policy: &Policy,
    request: &ActionRequest,
    context: &Context,
    approvals: &[Approval],
    requested_at_ms: i64,
    now_ms: i64,
) -> Authorization {
    let hash = request.hash(&policy.sha256);
    authorize_bound(policy, request, hash, context, approvals, requested_at_ms, now_ms)
}

/// The request at execution, under the policy in force then: the approvals given for the hash
/// it was approved under (`bound_sha256`, whatever policy was in force when it was asked) count
/// against the bar the policy sets now. A policy that raised the bar since leaves it
/// [`Authorization::Pending`] (back for approval); one that forbids it now forbids it.
pub fn reauthorize(
    policy: &Policy,
    request: &ActionRequest,
    bound_sha256: &str,
    context: &Context,
    approvals: &[Approval],
    requested_at_ms: i64,
    now_ms: i64,
) -> Authorization {
    authorize_bound(policy, request, bound_sha256.to_owned(), context, approvals, requested_at_ms, now_ms)
}

fn authorize_bound(
    policy: &Policy,
    request: &ActionRequest,
    hash: String,
    context: &Context,
    approvals: &[Approval],
    requested_at_ms: i64,
    now_ms: i64,
) -> Authorization {
    let decision = decide(policy, request, context);
    let expires_at_ms =
        requested_at_ms.saturating_add((decision.expires_in_secs as i64).saturating_mul(1_000));
    let (required, roles) = match &decision.tier {
        Tier::Forbidden => return Authorization::Forbidden { decision },
        Tier::Automatic => {
            return Authorization::Approved(Box::new(Approved {
                request: request.clone(),
                request_sha256: hash,
                decision,
                approvers: Vec::new(),
            }));
        }
        Tier::Approvals { required, roles } => (*required, roles.clone()),
    };
    let mut counted: Vec<String> = Vec::new();
    let mut ignored = Vec::new();
    let mut ordered: Vec<&Approval> = approvals.iter().collect();
    ordered.sort_by_key(|a| a.at_ms);
    for approval in ordered {
        let reason = if approval.request_sha256 != hash {
            Some(
                "it approved another request (a changed action, target, parameters, case or policy)"
                    .to_owned(),
            )
        } else if request.requested_by.person() == Some(approval.approver.as_str()) {
            Some("the requester cannot approve their own request".to_owned())
        } else if counted.contains(&approval.approver) {
            Some("the same person counts once".to_owned())
        } else if !approval.enabled {
            Some("the account is disabled".to_owned())
        } else if !approval.may_approve {
            Some("the credential it came through does not carry the approve permission".to_owned())
        } else if !roles.contains(&approval.role) {
            Some(format!(
                "the role {} is not one the rule names ({})",
                approval.role,
                roles.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
        } else if approval.at_ms > expires_at_ms {
            Some("it came after the request expired".to_owned())
        } else if approval.rationale.trim().is_empty() {
            Some("it gives no rationale".to_owned())
        } else if context.effects.revokes_credentials_of.contains(&approval.approver) {
            Some("the action revokes the approver's own credentials".to_owned())
        } else {
            None
        };
        match (reason, approval.verdict) {
            (Some(reason), _) => ignored.push(Ignored { approver: approval.approver.clone(), reason }),
            (None, Verdict::Reject) => {
                return Authorization::Rejected {
                    decision,
                    by: approval.approver.clone(),
                    rationale: approval.rationale.clone(),
                };
            }
            (None, Verdict::Approve) => counted.push(approval.approver.clone()),
        }
    }
    if counted.len() >= usize::from(required) {
        counted.truncate(usize::from(required));
        return Authorization::Approved(Box::new(Approved {
            request: request.clone(),
            request_sha256: hash,
            decision,
            approvers: counted,
        }));
    }
    if now_ms > expires_at_ms {
        return Authorization::Expired { decision, expired_at_ms: expires_at_ms };
    }
    let need = required - counted.len() as u8;
    Authorization::Pending { decision, counted, need, ignored, expires_at_ms }
}

#[cfg(test)]
#[path = "approve_tests.rs"]
mod tests;
