//! What an audit record says happened: the action, one of a closed list, and its outcome. The
//! chain stores both as text (`case.transition`, `refused`), so a trail written by any version
//! still verifies; what Vigil writes comes from these types only.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every kind of change or attempt the audit trail records, as `<object>.<verb>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum AuditAction {
    CaseCreate,
    CaseUpdate,
    CaseTransition,
    CaseAssign,
    CaseComment,
    CaseVerdict,
    RecommendationCreate,
    UserCreate,
    UserLogin,
    UserDisable,
    UserEnable,
    TokenCreate,
    TokenRevoke,
    EvidenceAdd,
    RetentionPurge,
    RulesReload,
    /// `vigil serve` told to serve a trail that does not verify (or does not match its witness).
    AuditBrokenAccepted,
    /// A request refused for its principal's role or scopes, or for a missing CSRF token.
    AccessRefused,
    UserPasswordChange,
    UserRoleChange,
    /// A closing that waits for a second person's confirmation.
    CaseCloseRequested,
    /// A response action proposed on a case, with the policy's decision.
    ActionPropose,
    /// A person's approval of a response action request.
    ActionApprove,
    /// A person's rejection of a response action request.
    ActionReject,
    /// A response action request moved on (approved, expired, superseded…).
    ActionStatus,
    /// The executor's work on an approved request: queued, each step, and how the run ended.
    ActionRun,
    /// A case's SLA clock ran past its target.
    CaseSlaBreach,
    /// A lead granted an auditor access to cases until a date.
    GrantCreate,
    GrantRevoke,
    /// An auditor read what a grant covers (a case, its packet, the list).
    AuditorView,
    /// A closed case's learning task filed with its replay (a filter, a regression test, …).
    LearningPropose,
    /// A detection engineer's acceptance or rejection of a learning task, with the rationale.
    LearningDecide,
    /// An accepted rule change written where the rules live.
    RulesWrite,
    /// An accepted playbook edit written to the site's playbook folder.
    PlaybooksWrite,
}

impl AuditAction {
    pub const ALL: [AuditAction; 34] = [
        AuditAction::CaseCreate,
        AuditAction::CaseUpdate,
        AuditAction::CaseTransition,
        AuditAction::CaseAssign,
        AuditAction::CaseComment,
        AuditAction::CaseVerdict,
        AuditAction::RecommendationCreate,
        AuditAction::UserCreate,
        AuditAction::UserLogin,
        AuditAction::UserDisable,
        AuditAction::UserEnable,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::EvidenceAdd,
        AuditAction::RetentionPurge,
        AuditAction::RulesReload,
        AuditAction::AuditBrokenAccepted,
        AuditAction::AccessRefused,
        AuditAction::UserPasswordChange,
        AuditAction::UserRoleChange,
        AuditAction::CaseCloseRequested,
        AuditAction::ActionPropose,
        AuditAction::ActionApprove,
        AuditAction::ActionReject,
        AuditAction::ActionStatus,
        AuditAction::ActionRun,
        AuditAction::CaseSlaBreach,
        AuditAction::GrantCreate,
        AuditAction::GrantRevoke,
        AuditAction::AuditorView,
        AuditAction::LearningPropose,
        AuditAction::LearningDecide,
        AuditAction::RulesWrite,
        AuditAction::PlaybooksWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::CaseCreate => "case.create",
            AuditAction::CaseUpdate => "case.update",
            AuditAction::CaseTransition => "case.transition",
            AuditAction::CaseAssign => "case.assign",
            AuditAction::CaseComment => "case.comment",
            AuditAction::CaseVerdict => "case.verdict",
            AuditAction::RecommendationCreate => "recommendation.create",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserLogin => "user.login",
            AuditAction::UserDisable => "user.disable",
            AuditAction::UserEnable => "user.enable",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::EvidenceAdd => "evidence.add",
            AuditAction::RetentionPurge => "retention.purge",
            AuditAction::RulesReload => "rules.reload",
            AuditAction::AuditBrokenAccepted => "audit.broken_accepted",
            AuditAction::AccessRefused => "access.refused",
            AuditAction::UserPasswordChange => "user.password_change",
            AuditAction::UserRoleChange => "user.role_change",
            AuditAction::CaseCloseRequested => "case.close_requested",
            AuditAction::ActionPropose => "action.propose",
            AuditAction::ActionApprove => "action.approve",
            AuditAction::ActionReject => "action.reject",
            AuditAction::ActionStatus => "action.status",
            AuditAction::ActionRun => "action.run",
            AuditAction::CaseSlaBreach => "case.sla_breach",
            AuditAction::GrantCreate => "grant.create",
            AuditAction::GrantRevoke => "grant.revoke",
            AuditAction::AuditorView => "auditor.view",
            AuditAction::LearningPropose => "learning.propose",
            AuditAction::LearningDecide => "learning.decide",
            AuditAction::RulesWrite => "rules.write",
            AuditAction::PlaybooksWrite => "playbooks.write",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an audited attempt ended. A refusal (bad credentials, a forbidden or illegal change) and
/// a failure (the change was allowed but did not happen) are recorded as such, with the reason
/// in the record's detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Refused,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_distinct_object_dot_verb_name() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert!(names.iter().all(|n| n.split_once('.').is_some_and(|(o, v)| !o.is_empty() && !v.is_empty())));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }
}
