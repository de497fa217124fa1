//! Response actions Vigil knows: each kind's name, the category policy speaks of, the entity
//! kind it acts on, and whether it can be undone (and by which action). A request to run one on
//! one target, and the hash an approval binds to.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{CaseId, Entity, EntityKind};

/// What kind of change an action makes: the categories a policy's rules name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActionCategory {
    /// Reads more context; changes nothing outside Vigil.
    Enrichment,
    CaseSummary,
    Ticket,
    EvidenceSnapshot,
    TokenRevocation,
    HostIsolation,
    CloudContainment,
    AccountContainment,
    ProcessContainment,
    NetworkBlock,
    RuleMute,
    Eradication,
    Recovery,
    Notification,
    Deletion,
}

impl ActionCategory {
    pub const ALL: [ActionCategory; 15] = [
        ActionCategory::Enrichment,
        ActionCategory::CaseSummary,
        ActionCategory::Ticket,
        ActionCategory::EvidenceSnapshot,
        ActionCategory::TokenRevocation,
        ActionCategory::HostIsolation,
        ActionCategory::CloudContainment,
        ActionCategory::AccountContainment,
        ActionCategory::ProcessContainment,
        ActionCategory::NetworkBlock,
        ActionCategory::RuleMute,
        ActionCategory::Eradication,
        ActionCategory::Recovery,
        ActionCategory::Notification,
        ActionCategory::Deletion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionCategory::Enrichment => "enrichment",
            ActionCategory::CaseSummary => "case_summary",
            ActionCategory::Ticket => "ticket",
            ActionCategory::EvidenceSnapshot => "evidence_snapshot",
            ActionCategory::TokenRevocation => "token_revocation",
            ActionCategory::HostIsolation => "host_isolation",
            ActionCategory::CloudContainment => "cloud_containment",
            ActionCategory::AccountContainment => "account_containment",
            ActionCategory::ProcessContainment => "process_containment",
            ActionCategory::NetworkBlock => "network_block",
            ActionCategory::RuleMute => "rule_mute",
            ActionCategory::Eradication => "eradication",
            ActionCategory::Recovery => "recovery",
            ActionCategory::Notification => "notification",
            ActionCategory::Deletion => "deletion",
        }
    }

    pub fn parse(name: &str) -> Option<ActionCategory> {
        ActionCategory::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ActionCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One kind of action: how policy and people know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionKind {
    pub name: &'static str,
    pub category: ActionCategory,
    /// The entity kind it acts on; `None` for an action on the case itself.
    pub target: Option<EntityKind>,
    /// The action that undoes it, if any; `None` is irreversible unless `self_undoing`.
    pub undo: Option<&'static str>,
    /// Changes nothing that needs undoing: a read, a snapshot, a ticket of Vigil's own, or a
    /// revoked session or token (its owner signs in again, or is issued a new one).
    pub self_undoing: bool,
    pub summary: &'static str,
}

impl ActionKind {
    /// Whether what it changes can be put back: it has an undo, or changes nothing that needs one.
    pub fn reversible(&self) -> bool {
        self.undo.is_some() || self.self_undoing
    }

    /// The kind named `name`, if Vigil has it.
    pub fn named(name: &str) -> Option<&'static ActionKind> {
        ACTIONS.iter().find(|a| a.name == name)
    }
}

const fn kind(
    name: &'static str,
    category: ActionCategory,
    target: Option<EntityKind>,
    undo: Option<&'static str>,
    self_undoing: bool,
    summary: &'static str,
) -> ActionKind {
    ActionKind { name, category, target, undo, self_undoing, summary }
}

use ActionCategory as C;
use EntityKind as E;

/// Every action Vigil knows, the playbooks' steps among them. A playbook or a model naming any
/// other action proposes nothing.
pub const ACTIONS: &[ActionKind] = &[
    kind("enrich", C::Enrichment, None, None, true, "Re-run enrichment of the case's entities"),
    kind("summarize_case", C::CaseSummary, None, None, true, "Draft the case summary"),
    kind("open_ticket", C::Ticket, None, None, true, "Open an internal ticket with owner, SLA and playbook"),
    kind(
        "open_external_ticket",
        C::Ticket,
        None,
        None,
        true,
        "Open the ticket in the site's ticketing system and keep its id",
    ),
    kind(
        "snapshot_evidence",
        C::EvidenceSnapshot,
        None,
        None,
        true,
        "Copy the case's events and alerts into the evidence vault",
    ),
    kind(
        "collect_triage_package",
        C::EvidenceSnapshot,
        Some(E::Host),
        None,
        true,
        "Collect memory and a triage image",
    ),
    kind(
        "revoke_vigil_token",
        C::TokenRevocation,
        Some(E::User),
        None,
        true,
        "Revoke a Vigil API token or session",
    ),
    kind("revoke_sessions", C::TokenRevocation, Some(E::User), None, true, "Sign the account out everywhere"),
    kind(
        "isolate_host",
        C::HostIsolation,
        Some(E::Host),
        Some("release_isolation"),
        false,
        "Cut the host off the network",
    ),
    kind(
        "release_isolation",
        C::Recovery,
        Some(E::Host),
        Some("isolate_host"),
        false,
        "Reconnect an isolated host",
    ),
    kind(
        "deactivate_access_key",
        C::CloudContainment,
        Some(E::AccessKey),
        Some("activate_access_key"),
        false,
        "Deactivate a cloud access key",
    ),
    kind(
        "activate_access_key",
        C::Recovery,
        Some(E::AccessKey),
        Some("deactivate_access_key"),
        false,
        "Reactivate a cloud access key",
    ),
    kind(
        "attach_deny_all_policy",
        C::CloudContainment,
        Some(E::CloudPrincipal),
        Some("detach_deny_all_policy"),
        false,
        "Attach an inline policy that denies the principal everything",
    ),
    kind(
        "detach_deny_all_policy",
        C::Recovery,
        Some(E::CloudPrincipal),
        Some("attach_deny_all_policy"),
        false,
        "Delete the deny-all inline policy Vigil attached",
    ),
    kind(
        "remove_console_login",
        C::CloudContainment,
        Some(E::CloudPrincipal),
        None,
        false,
        "Delete a cloud user's console password (it cannot be put back)",
    ),
    kind(
        "block_bucket_public_access",
        C::CloudContainment,
        None,
        Some("restore_bucket_public_access"),
        false,
        "Turn on every Block Public Access setting of a storage bucket",
    ),
    kind(
        "restore_bucket_public_access",
        C::Recovery,
        None,
        Some("block_bucket_public_access"),
        false,
        "Put back a bucket's public access settings as they were",
    ),
    kind(
        "quarantine_instance",
        C::HostIsolation,
        Some(E::Host),
        Some("release_instance_quarantine"),
        false,
        "Swap a cloud instance's security groups for the quarantine group",
    ),
    kind(
        "release_instance_quarantine",
        C::Recovery,
        Some(E::Host),
        Some("quarantine_instance"),
        false,
        "Give a quarantined instance its security groups back",
    ),
    kind(
        "snapshot_instance_volumes",
        C::EvidenceSnapshot,
        Some(E::Host),
        None,
        true,
        "Snapshot a cloud instance's disks as evidence",
    ),
    kind(
        "gateway_block_address",
        C::NetworkBlock,
        Some(E::Ip),
        Some("gateway_unblock_address"),
        false,
        "Drop everything from and to an address at the gateway",
    ),
    kind(
        "gateway_unblock_address",
        C::Recovery,
        Some(E::Ip),
        Some("gateway_block_address"),
        false,
        "Let an address through the gateway again",
    ),
    kind(
        "kill_process",
        C::ProcessContainment,
        Some(E::Host),
        None,
        false,
        "Kill a process on a host by pid and image (it cannot be brought back)",
    ),
    kind(
        "collect_triage_bundle",
        C::EvidenceSnapshot,
        Some(E::Host),
        None,
        true,
        "Read a host's processes, sockets, logins and auth log into the evidence vault",
    ),
    kind(
        "revoke_role_sessions",
        C::CloudContainment,
        Some(E::CloudPrincipal),
        None,
        true,
        "Revoke a cloud principal's active sessions",
    ),
    kind(
        "remove_public_access",
        C::CloudContainment,
        Some(E::CloudPrincipal),
        Some("restore_access"),
        false,
        "Remove public or cross-account access",
    ),
    kind(
        "remove_unexpected_grants",
        C::CloudContainment,
        Some(E::CloudPrincipal),
        Some("restore_access"),
        false,
        "Remove grants the attacker added",
    ),
    kind(
        "restore_access",
        C::Recovery,
        Some(E::CloudPrincipal),
        None,
        false,
        "Put back access a containment removed",
    ),
    kind(
        "disable_account",
        C::AccountContainment,
        Some(E::User),
        Some("enable_account"),
        false,
        "Disable the account",
    ),
    kind(
        "enable_account",
        C::Recovery,
        Some(E::User),
        Some("disable_account"),
        false,
        "Re-enable the account",
    ),
    kind(
        "force_password_reset",
        C::AccountContainment,
        Some(E::User),
        Some("cancel_password_reset"),
        false,
        "Require a new password at the next sign-in",
    ),
    kind(
        "cancel_password_reset",
        C::Recovery,
        Some(E::User),
        Some("force_password_reset"),
        false,
        "Lift a required password change",
    ),
    kind(
        "remove_privileged_groups",
        C::AccountContainment,
        Some(E::User),
        Some("restore_group_memberships"),
        false,
        "Take the account out of privileged groups",
    ),
    kind(
        "restore_group_memberships",
        C::Recovery,
        Some(E::User),
        Some("remove_privileged_groups"),
        false,
        "Put the account back in the groups it was taken out of",
    ),
    kind(
        "reset_credentials",
        C::AccountContainment,
        Some(E::User),
        None,
        false,
        "Reset the password and keys",
    ),
    kind(
        "review_mfa_factors",
        C::AccountContainment,
        Some(E::User),
        None,
        false,
        "Remove MFA factors the owner does not recognise",
    ),
    kind(
        "suspend_process",
        C::ProcessContainment,
        Some(E::Process),
        Some("resume_process"),
        false,
        "Suspend a process",
    ),
    kind(
        "resume_process",
        C::Recovery,
        Some(E::Process),
        Some("suspend_process"),
        false,
        "Resume a suspended process",
    ),
    kind(
        "block_indicator",
        C::NetworkBlock,
        Some(E::Ip),
        Some("unblock_indicator"),
        false,
        "Add an indicator to Vigil's blocklist feed",
    ),
    kind(
        "unblock_indicator",
        C::Recovery,
        Some(E::Ip),
        Some("block_indicator"),
        false,
        "Take an indicator off the blocklist feed",
    ),
    kind(
        "block_egress_destination",
        C::NetworkBlock,
        Some(E::Ip),
        Some("unblock_indicator"),
        false,
        "Block a destination at the egress",
    ),
    kind(
        "mute_rule",
        C::RuleMute,
        Some(E::Rule),
        Some("unmute_rule"),
        false,
        "Mute a rule for one entity for a time",
    ),
    kind("unmute_rule", C::Recovery, Some(E::Rule), Some("mute_rule"), false, "Unmute a muted rule"),
    kind(
        "remove_persistence",
        C::Eradication,
        Some(E::Host),
        None,
        false,
        "Remove services, tasks and run keys",
    ),
    kind("reimage_host", C::Recovery, Some(E::Host), None, false, "Rebuild the host from a known-good image"),
    kind(
        "restore_from_backup",
        C::Recovery,
        Some(E::Host),
        None,
        false,
        "Restore files from the last clean backup",
    ),
    kind(
        "restore_logging",
        C::Recovery,
        Some(E::CloudPrincipal),
        None,
        false,
        "Re-enable logging an attacker turned off",
    ),
    kind(
        "notify_data_owner",
        C::Notification,
        Some(E::User),
        None,
        false,
        "Tell the data owner what left and when",
    ),
    kind(
        "notify_webhook",
        C::Notification,
        None,
        None,
        true,
        "Post the case to the team's chat or ticketing webhook",
    ),
    kind(
        "notify_email",
        C::Notification,
        None,
        None,
        true,
        "Email the case to the on-call address and its assets' owners",
    ),
    kind("delete_resource", C::Deletion, None, None, false, "Delete a resource"),
];

/// Who asks for an action: a person, or a part of Vigil proposing one (never approving it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Requester {
    Person(String),
    /// A playbook step of the built-in analyst's recommendation.
    Playbook(String),
    /// Text a language model wrote: a proposal at most.
    Model(String),
    /// A case's SLA clock that ran out, escalating: a notification, proposed like any other.
    Escalation(String),
}

impl Requester {
    /// The person asking, if a person is.
    pub fn person(&self) -> Option<&str> {
        match self {
            Requester::Person(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requester::Person(name) => write!(f, "{name}"),
            Requester::Playbook(id) => write!(f, "playbook {id}"),
            Requester::Model(name) => write!(f, "model {name}"),
            Requester::Escalation(clock) => write!(f, "SLA escalation ({clock})"),
        }
    }
}

/// A person's answer to a request: approve or reject. Stored and audited by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        }
    }

    pub fn parse(name: &str) -> Option<Verdict> {
        [Verdict::Approve, Verdict::Reject].into_iter().find(|v| v.as_str() == name)
    }

    /// The audit trail's name for giving this answer.
    pub fn audit_action(self) -> crate::AuditAction {
        match self {
            Verdict::Approve => crate::AuditAction::ActionApprove,
            Verdict::Reject => crate::AuditAction::ActionReject,
        }
    }
}

/// A request to run one action on one target, for a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActionRequest {
    /// The action's name, one of [`ACTIONS`].
    pub action: String,
    /// What it acts on; `None` for an action on the case itself.
    pub target: Option<Entity>,
    /// The action's own parameters (a mute's duration, a ticket's owner).
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    pub case: Option<CaseId>,
    pub requested_by: Requester,
    /// The hash of the plan approvers are shown (what running it will change), bound into the
    /// request's hash: an approval is of that plan, and of no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
}

impl ActionRequest {
    /// The SHA-256 an approval binds to: the action, target, parameters and case, the plan's
    /// hash once the request is planned, and the hash of the policy in force. Who asked is not part of it (the same change asked twice is the
    /// same change); anything else changed is another request.
    pub fn hash(&self, policy_sha256: &str) -> String {
        let mut bound = serde_json::json!({
            "action": self.action,
            "target": self.target.as_ref().map(|t| format!("{} {}", t.kind.as_str(), t.key)),
            "parameters": self.parameters,
            "case": self.case,
            "policy": policy_sha256,
        });
        if let (Some(plan), Some(bound)) = (&self.plan_sha256, bound.as_object_mut()) {
            bound.insert("plan".into(), serde_json::Value::String(plan.clone()));
        }
        // serde_json's maps keep insertion order here, and `parameters` is a BTreeMap: the
        // bytes are the same for the same request.
        let mut digest = Sha256::new();
        digest.update(bound.to_string().as_bytes());
        digest.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The action's kind, if Vigil has one of that name.
    pub fn kind(&self) -> Option<&'static ActionKind> {
        ActionKind::named(&self.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_undo_names_an_action_of_the_catalog_on_the_same_kind_of_target() {
        for action in ACTIONS {
            if let Some(undo) = action.undo {
                let undo = ActionKind::named(undo).unwrap_or_else(|| panic!("{} undo {undo}", action.name));
                assert_eq!(undo.target, action.target, "{}", action.name);
            }
        }
        let mut names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "each action is named once");
    }

    #[test]
    fn every_playbook_style_name_is_in_the_catalog_and_irreversible_ones_say_so() {
        assert!(ActionKind::named("isolate_host").is_some_and(ActionKind::reversible));
        assert!(ActionKind::named("reimage_host").is_some_and(|a| !a.reversible()));
        assert!(ActionKind::named("snapshot_evidence").is_some_and(ActionKind::reversible));
        assert!(ActionKind::named("rm -rf /").is_none());
    }

    #[test]
    fn a_changed_parameter_or_policy_is_another_request() {
        let request = ActionRequest {
            action: "mute_rule".into(),
            target: Some(Entity { kind: EntityKind::Rule, key: "r1".into() }),
            parameters: BTreeMap::from([("for".into(), serde_json::json!("1h"))]),
            case: Some(CaseId::from("c1")),
            requested_by: Requester::Person("alice".into()),
            plan_sha256: None,
        };
        let hash = request.hash("p1");
        assert_eq!(hash.len(), 64);
        assert_eq!(
            hash,
            ActionRequest { requested_by: Requester::Person("bob".into()), ..request.clone() }.hash("p1")
        );
        let mut longer = request.clone();
        longer.parameters.insert("for".into(), serde_json::json!("30d"));
        assert_ne!(hash, longer.hash("p1"));
        assert_ne!(hash, request.hash("p2"));
        let planned = ActionRequest { plan_sha256: Some("a".repeat(64)), ..request.clone() };
        assert_ne!(hash, planned.hash("p1"), "the plan is part of what is approved");
        let replanned = ActionRequest { plan_sha256: Some("b".repeat(64)), ..request.clone() };
        assert_ne!(planned.hash("p1"), replanned.hash("p1"));
    }
}
