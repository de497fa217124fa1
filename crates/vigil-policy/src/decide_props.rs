//! Properties of `decide` and `authorize` over generated policies, requests and approvals.

use std::collections::BTreeSet;

use proptest::prelude::*;
use vigil_model::{ACTIONS, ActionCategory, ActionRequest, Requester, Severity};

use crate::approve::{Approval, Authorization, Verdict, authorize};
use crate::context::{BlastRadius, Context, Environment};
use crate::decide::decide;
use crate::document::{ActionName, Bounds, Policy, Rule, SeverityName, Tier, When};

fn tier_of(level: u8) -> Tier {
    let roles: BTreeSet<String> = ["lead".to_owned(), "responder".to_owned()].into();
    match level {
        0 => Tier::Automatic,
        1..=3 => Tier::Approvals { required: level, roles },
        _ => Tier::Forbidden,
    }
}

fn when() -> impl Strategy<Value = When> {
    (
        prop::option::of(prop::collection::vec(0..ACTIONS.len(), 1..3)),
        prop::option::of(prop::collection::vec(0..ActionCategory::ALL.len(), 1..3)),
        prop::option::of(prop_oneof![Just(Environment::Production), Just(Environment::NonProduction)]),
        prop::option::of(prop_oneof![Just(Severity::High), Just(Severity::Critical)]),
        prop::option::of(0u32..20),
        prop::option::of(any::<bool>()),
        prop::option::of(Just(vec!["token_seen_from_ioc".to_owned()])),
    )
        .prop_map(|(actions, categories, environment, severity, users, reversible, facts)| When {
            action: actions.map(|a| a.into_iter().map(|i| ActionName(&ACTIONS[i])).collect()),
            category: categories.map(|c| c.into_iter().map(|i| ActionCategory::ALL[i]).collect()),
            environment,
            severity_at_least: severity.map(SeverityName),
            blast_radius_over: users.map(|n| Bounds { users: Some(n), ..Bounds::default() }),
            reversible,
            facts_all: facts,
            ..When::default()
        })
}

/// Rules as (conditions, tier level), and the default's level.
fn shape() -> impl Strategy<Value = (Vec<(When, u8)>, Option<u8>)> {
    (prop::collection::vec((when(), 0u8..5), 0..8), prop::option::of(0u8..5))
}

fn policy(rules: &[(When, u8)], default: Option<u8>, raise: &[u8]) -> Policy {
    let level = |i: usize, l: u8| l.saturating_add(raise.get(i).copied().unwrap_or(0)).min(4);
    Policy {
        name: "generated".into(),
        rules: rules
            .iter()
            .enumerate()
            .map(|(i, (when, l))| Rule {
                name: format!("r{i}"),
                description: None,
                when: when.clone(),
                decide: tier_of(level(i, *l)),
                emergency: false,
            })
            .collect(),
        default: default.map(|l| tier_of(level(rules.len(), l))),
        expires_in_secs: 3_600,
        sha256: "p".into(),
        lines: Vec::new(),
    }
}

fn context() -> impl Strategy<Value = Context> {
    (
        prop_oneof![
            Just(Environment::Production),
            Just(Environment::NonProduction),
            Just(Environment::Unknown)
        ],
        prop::option::of(prop_oneof![Just(Severity::Medium), Just(Severity::High), Just(Severity::Critical)]),
        0u32..40,
        any::<bool>(),
    )
        .prop_map(|(environment, severity, users, ioc)| Context {
            environment,
            severity,
            blast_radius: BlastRadius { users, ..BlastRadius::default() },
            facts: if ioc { ["token_seen_from_ioc".to_owned()].into() } else { BTreeSet::new() },
            ..Context::default()
        })
}

fn request(action: usize, model: bool) -> ActionRequest {
    ActionRequest {
        action: ACTIONS[action].name.into(),
        target: None,
        parameters: Default::default(),
        case: None,
        requested_by: if model { Requester::Model("m".into()) } else { Requester::Person("alice".into()) },
        plan_sha256: None,
    }
}

proptest! {
    #[test]
    fn a_stricter_policy_never_allows_what_a_looser_one_refused(
        (rules, default) in shape(),
        raise in prop::collection::vec(0u8..3, 9),
        action in 0..ACTIONS.len(),
        model in any::<bool>(),
        context in context(),
    ) {
        let loose = decide(&policy(&rules, default, &[]), &request(action, model), &context);
        let strict = decide(&policy(&rules, default, &raise), &request(action, model), &context);
        prop_assert!(strict.tier.bar() >= loose.tier.bar(), "{loose:?} then {strict:?}");
    }

    #[test]
    fn no_policy_lets_an_irreversible_action_run_on_fewer_than_two_people(
        (rules, default) in shape(),
        action in 0..ACTIONS.len(),
        context in context(),
    ) {
        let decision = decide(&policy(&rules, default, &[]), &request(action, false), &context);
        if !ACTIONS[action].reversible() {
            prop_assert!(decision.tier.bar() >= 2, "{decision:?}");
        }
    }

    #[test]
    fn adding_an_approval_never_undoes_an_approval(
        (rules, default) in shape(),
        action in 0..ACTIONS.len(),
        context in context(),
        people in prop::collection::vec((0usize..6, 0usize..4, any::<bool>()), 0..6),
        extra in (0usize..6, 0usize..4),
    ) {
        let policy = policy(&rules, default, &[]);
        let request = request(action, false);
        let names = ["alice", "bob", "carol", "dave", "erin", "frank"];
        let roles = ["lead", "responder", "analyst", "auditor"];
        let hash = request.hash(&policy.sha256);
        let make = |who: usize, role: usize, enabled: bool, at: i64| Approval {
            approver: names[who].into(),
            role: roles[role].into(),
            enabled,
            may_approve: true,
            request_sha256: hash.clone(),
            verdict: Verdict::Approve,
            rationale: "seen".into(),
            at_ms: at,
        };
        let mut given: Vec<Approval> =
            people.iter().enumerate().map(|(i, (w, r, e))| make(*w, *r, *e, i as i64)).collect();
        let before = authorize(&policy, &request, &context, &given, 0, 100);
        given.push(make(extra.0, extra.1, true, 50));
        let after = authorize(&policy, &request, &context, &given, 0, 100);
        if matches!(before, Authorization::Approved(_)) {
            prop_assert!(matches!(after, Authorization::Approved(_)), "{before:?} then {after:?}");
        }
        // Never approved by fewer people than the decision asks.
        if let Authorization::Approved(approved) = after {
            prop_assert_eq!(approved.approvers().len() as u16, approved.decision().tier.bar().min(u16::from(u8::MAX)));
            prop_assert!(!approved.approvers().contains(&"alice".to_owned()));
        }
    }
}
