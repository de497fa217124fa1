//! Roles and permissions: the one table of who may do what. A route names the permission it
//! needs in its handler's signature (`Auth<perm::CaseWrite>`), and the route table repeats it so
//! it can be listed, documented and tested.

use serde::Serialize;

/// Declares the permissions once: the enum, its names, the list of all, and a marker type per
/// permission (in `perm`) for handler signatures.
macro_rules! permissions {
    ($($(#[$doc:meta])* $name:ident => $text:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Permission {
            $($(#[$doc])* $name,)*
        }

        impl Permission {
            pub const ALL: &[Permission] = &[$(Permission::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$name => $text,)*
                }
            }
        }

        /// One type per permission, named as it: `Auth<perm::CaseWrite>`.
        pub mod perm {
            use super::Permission;

            $(
                pub struct $name;
                impl super::super::Perm for $name {
                    const PERMISSION: Permission = Permission::$name;
                }
            )*
        }
    };
}

permissions! {
    /// Any signed-in principal (who am I, sign out).
    Session => "session",
    CaseRead => "case_read",
    CaseWrite => "case_write",
    AlertRead => "alert_read",
    EventRead => "event_read",
    EvidenceRead => "evidence_read",
    EvidenceWrite => "evidence_write",
    RuleRead => "rule_read",
    RuleAdmin => "rule_admin",
    UserRead => "user_read",
    UserAdmin => "user_admin",
    TokenAdmin => "token_admin",
    AuditRead => "audit_read",
    Ingest => "ingest",
    /// Ingest through one source's webhook URL (a token scoped `webhook:<source>` holds it).
    Webhook => "webhook",
    /// Propose a response action on a case; the policy decides what it then needs.
    ActionPropose => "action_propose",
    /// Approve or reject a response action request (the policy says whose answer counts).
    ActionApprove => "action_approve",
    /// Run an approved response action (the executor asks the policy again before it acts).
    ActionExecute => "action_execute",
    /// Read Vigil's blocklist feeds (what firewalls fetch).
    FeedRead => "feed_read",
    /// Read the SOC's reports: the weekly scorecard and the compliance report.
    ReportRead => "report_read",
    /// Scrape `/metrics` (a monitoring service's token).
    MetricsRead => "metrics_read",
    /// Grant auditors access to chosen cases or a period, until a date; revoke it.
    GrantAdmin => "grant_admin",
    /// Read the cases one's grants cover (and their packets), and nothing else.
    GrantRead => "grant_read",
    /// Review what closed cases propose to change: accept (writing the rule change and
    /// reloading), edit or reject a learning task.
    RuleTune => "rule_tune",
}

impl Permission {
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.iter().copied().find(|p| p.as_str() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Lead,
    Responder,
    Analyst,
    /// Read-only, audit trail included.
    Auditor,
    /// A service that only sends events.
    Ingest,
    /// Writes and tunes the detections: reviews what closed cases propose, reloads rules.
    DetectionEngineer,
}

use Permission::*;

const READ: &[Permission] = &[Session, CaseRead, AlertRead, EventRead, EvidenceRead, RuleRead, ReportRead];

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Lead,
        Role::Responder,
        Role::Analyst,
        Role::Auditor,
        Role::Ingest,
        Role::DetectionEngineer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Lead => "lead",
            Role::Responder => "responder",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Ingest => "ingest",
            Role::DetectionEngineer => "detection_engineer",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Every permission the role holds.
    pub fn permissions(self) -> Vec<Permission> {
        let mut p = match self {
            Role::Admin => return Permission::ALL.to_vec(),
            Role::Lead => [
                READ,
                &[
                    CaseWrite,
                    EvidenceWrite,
                    RuleAdmin,
                    UserRead,
                    AuditRead,
                    ActionPropose,
                    ActionApprove,
                    ActionExecute,
                    FeedRead,
                    MetricsRead,
                    GrantAdmin,
                    RuleTune,
                ],
            ]
            .concat(),
            Role::Responder => {
                [READ, &[CaseWrite, EvidenceWrite, ActionPropose, ActionApprove, ActionExecute, FeedRead]]
                    .concat()
            }
            Role::Analyst => {
                [READ, &[CaseWrite, EvidenceWrite, ActionPropose, ActionApprove, FeedRead]].concat()
            }
            // An auditor reads what a lead granted (cases, their packets) and the reports, and
            // every read through a grant is audited.
            Role::Auditor => vec![Session, ReportRead, GrantRead],
            // A service: it sends events, a firewall's account reads the feeds, and a monitoring
            // account scrapes the metrics.
            Role::Ingest => vec![Session, Ingest, Webhook, FeedRead, MetricsRead],
            // Reads cases to see why a rule misfired; changes rules, never cases or actions.
            Role::DetectionEngineer => [READ, &[RuleAdmin, RuleTune]].concat(),
        };
        p.sort();
        p
    }

    pub fn may(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_leads_and_admins_read_the_audit_trail_grant_auditors_and_nobody_but_admin_manages_users() {
        let holders =
            |p: Permission| Role::ALL.into_iter().filter(|r| r.may(p)).map(Role::as_str).collect::<Vec<_>>();
        assert_eq!(holders(AuditRead), ["admin", "lead"]);
        assert_eq!(holders(GrantAdmin), ["admin", "lead"]);
        // An auditor reads what grants cover and the reports, nothing else.
        assert_eq!(Role::Auditor.permissions(), [Session, ReportRead, GrantRead]);
        assert_eq!(holders(UserAdmin), ["admin"]);
        assert_eq!(holders(TokenAdmin), ["admin"]);
        assert_eq!(holders(Ingest), ["admin", "ingest"]);
        assert_eq!(holders(Webhook), ["admin", "ingest"]);
        assert_eq!(holders(ActionExecute), ["admin", "lead", "responder"]);
        assert_eq!(holders(RuleTune), ["admin", "lead", "detection_engineer"]);
        assert!(!Role::DetectionEngineer.may(CaseWrite) && !Role::DetectionEngineer.may(ActionApprove));
        assert!(
            !Role::Auditor.permissions().iter().any(|p| matches!(p, CaseWrite | EvidenceWrite | RuleAdmin))
        );
    }

    #[test]
    fn names_round_trip() {
        for &p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
