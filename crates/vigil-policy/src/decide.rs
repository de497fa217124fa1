//! `decide`: the tier a request meets under a policy, and the rule that set it, in words. The
//! first rule whose conditions all hold decides; then the guards and floors no policy can
//! lower: an action Vigil does not have, locking out the last admin or isolating Vigil's own
//! host are forbidden; an irreversible action needs two people; a model's proposal needs one.

use std::collections::BTreeSet;

use vigil_model::{ActionKind, ActionRequest, Requester};

use crate::context::Context;
use crate::document::{Policy, Rule, Tier, When};

/// The roles asked for when a floor raises an automatic decision.
const FLOOR_ROLES: &[&str] = &["admin", "lead", "responder"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub tier: Tier,
    /// The rule that decided (`default`, or `guard:…`/`floor:…` when one did).
    pub rule: String,
    /// Why, in words.
    pub why: String,
    /// A pre-approved emergency rule decided.
    pub emergency: bool,
    pub policy_sha256: String,
    /// How long the request waits for its approvals.
    pub expires_in_secs: u64,
    /// The blast radius it was decided on, which approvers are shown.
    pub blast_radius: crate::BlastRadius,
}

impl Decision {
    /// The decision as stored with a request and shown by the API.
    pub fn summary(&self) -> serde_json::Value {
        let (tier, required, roles): (&str, u8, Vec<&str>) = match &self.tier {
            Tier::Automatic => ("automatic", 0, Vec::new()),
            Tier::Approvals { required, roles } => {
                ("approvals", *required, roles.iter().map(String::as_str).collect())
            }
            Tier::Forbidden => ("forbidden", 0, Vec::new()),
        };
        serde_json::json!({
            "tier": tier,
            "required": required,
            "roles": roles,
            "in_words": self.tier.to_string(),
            "rule": self.rule,
            "why": self.why,
            "emergency": self.emergency,
            "blast_radius": {
                "users": self.blast_radius.users,
                "hosts": self.blast_radius.hosts,
                "services": self.blast_radius.services,
                "accounts": self.blast_radius.accounts,
            },
        })
    }
}

pub fn decide(policy: &Policy, request: &ActionRequest, context: &Context) -> Decision {
    let decision = |tier: Tier, rule: &str, why: String, emergency: bool| Decision {
        tier,
        rule: rule.to_owned(),
        why,
        emergency,
        policy_sha256: policy.sha256.clone(),
        expires_in_secs: policy.expires_in_secs,
        blast_radius: context.blast_radius,
    };
    let Some(kind) = request.kind() else {
        return decision(
            Tier::Forbidden,
            "guard:unknown-action",
            format!("Vigil has no action named {:?}", request.action),
            false,
        );
    };
    if context.effects.locks_out_last_admin {
        return decision(
            Tier::Forbidden,
            "guard:last-admin",
            "it would lock out the last enabled admin, and no one could administer Vigil".into(),
            false,
        );
    }
    if context.effects.isolates_vigil_server {
        return decision(
            Tier::Forbidden,
            "guard:vigil-server",
            "its target is the host Vigil runs on: isolating it would cut off the response itself".into(),
            false,
        );
    }
    let mut chosen = match policy.rules.iter().find(|rule| matches(&rule.when, kind, context)) {
        Some(rule) => decision(rule.decide.clone(), &rule.name, because(rule, kind), rule.emergency),
        None => match &policy.default {
            Some(tier) => decision(
                tier.clone(),
                "default",
                format!("no rule names {} ({}): the policy's default", kind.name, kind.category),
                false,
            ),
            None => decision(
                Tier::Forbidden,
                "default",
                format!("no rule names {} ({}) and the policy has no default", kind.name, kind.category),
                false,
            ),
        },
    };
    if !kind.reversible() && chosen.tier.bar() < 2 {
        chosen.tier = Tier::Approvals { required: 2, roles: roles_of(&chosen.tier) };
        chosen.why = format!("{}; raised to two people: {} cannot be undone", chosen.why, kind.name);
        chosen.rule = format!("{} + floor:irreversible", chosen.rule);
    }
    if matches!(request.requested_by, Requester::Model(_)) && chosen.tier == Tier::Automatic {
        chosen.tier = Tier::Approvals { required: 1, roles: roles_of(&chosen.tier) };
        chosen.why = format!("{}; raised to one person: a model proposed it", chosen.why);
        chosen.rule = format!("{} + floor:model-proposal", chosen.rule);
        chosen.emergency = false;
    }
    chosen
}

fn roles_of(tier: &Tier) -> BTreeSet<String> {
    match tier {
        Tier::Approvals { roles, .. } => roles.clone(),
        _ => FLOOR_ROLES.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn because(rule: &Rule, kind: &ActionKind) -> String {
    let what = format!("{} ({})", kind.name, kind.category);
    match &rule.description {
        Some(text) => format!("rule {:?}: {text} [{what}]", rule.name),
        None => format!("rule {:?} matches {what}", rule.name),
    }
}

/// Whether every condition `when` gives holds. An unknown environment is production and an
/// unknown criticality the highest (a missing inventory never lowers a bar); an unknown
/// severity or confidence meets no `at_least` (an emergency rule needs them established).
pub fn matches(when: &When, kind: &ActionKind, context: &Context) -> bool {
    let action = when.action.as_ref().is_none_or(|names| names.iter().any(|n| n.0.name == kind.name));
    let category = when.category.as_ref().is_none_or(|c| c.contains(&kind.category));
    let environment = when.environment.is_none_or(|wanted| context.environment.matches(wanted));
    let criticality =
        when.criticality_at_least.is_none_or(|c| context.criticality.is_none_or(|have| have >= c));
    let tags = when.tags_any.as_ref().is_none_or(|tags| tags.iter().any(|t| context.tags.contains(t)));
    let severity = when
        .severity_at_least
        .is_none_or(|s| context.severity.is_some_and(|have| have.id() >= s.0.id() && have.id() != 99));
    let confidence =
        when.confidence_at_least.is_none_or(|c| context.confidence.is_some_and(|have| have >= c));
    let blast = when.blast_radius_over.is_none_or(|b| {
        let r = &context.blast_radius;
        b.users.is_some_and(|n| r.users > n)
            || b.hosts.is_some_and(|n| r.hosts > n)
            || b.services.is_some_and(|n| r.services > n)
            || b.accounts.is_some_and(|n| r.accounts > n)
    });
    let reversible = when.reversible.is_none_or(|r| kind.reversible() == r);
    let facts = when.facts_all.as_ref().is_none_or(|facts| facts.iter().all(|f| context.facts.contains(f)));
    action
        && category
        && environment
        && criticality
        && tags
        && severity
        && confidence
        && blast
        && reversible
        && facts
}

#[cfg(test)]
#[path = "decide_props.rs"]
mod props;
