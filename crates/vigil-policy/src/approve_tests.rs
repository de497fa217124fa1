//! Every way an approval must not count, against the shipped policy.

use vigil_model::{ActionRequest, Entity, EntityKind, Requester};

use super::*;
use crate::Environment;

const ASKED: i64 = 1_000_000;

fn policy() -> Policy {
    crate::default_policy().expect("policy")
}

/// Cloud containment in production: two people from lead, responder or admin.
fn two_person_request() -> (ActionRequest, Context) {
    let request = ActionRequest {
        action: "deactivate_access_key".into(),
        target: Some(Entity { kind: EntityKind::AccessKey, key: "akiaexample".into() }),
        parameters: Default::default(),
        case: Some("c1".into()),
        requested_by: Requester::Person("alice".into()),
        plan_sha256: None,
    };
    (request, Context { environment: Environment::Production, ..Context::default() })
}

fn approval(who: &str, role: &str, request: &ActionRequest) -> Approval {
    Approval {
        approver: who.into(),
        role: role.into(),
        enabled: true,
        may_approve: true,
        request_sha256: request.hash(&policy().sha256),
        verdict: Verdict::Approve,
        rationale: "the key was used from the attacker's address".into(),
        at_ms: ASKED + 60_000,
    }
}

fn outcome(approvals: &[Approval]) -> Authorization {
    let (request, context) = two_person_request();
    authorize(&policy(), &request, &context, approvals, ASKED, ASKED + 120_000)
}

fn ignored_because(approvals: &[Approval], words: &str) {
    match outcome(approvals) {
        Authorization::Pending { ignored, need, .. } => {
            assert!(need >= 1);
            assert!(ignored.iter().any(|i| i.reason.contains(words)), "{ignored:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_distinct_people_with_the_role_approve() {
    let (request, _) = two_person_request();
    match outcome(&[approval("bob", "lead", &request), approval("carol", "responder", &request)]) {
        Authorization::Approved(approved) => {
            assert_eq!(approved.approvers(), ["bob", "carol"]);
            assert_eq!(approved.request_sha256(), request.hash(&policy().sha256));
            assert_eq!(approved.decision().rule, "cloud-containment-in-production");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn self_approval_does_not_count() {
    let (request, _) = two_person_request();
    ignored_because(&[approval("alice", "lead", &request), approval("bob", "lead", &request)], "requester");
}

#[test]
fn the_same_person_twice_counts_once() {
    let (request, _) = two_person_request();
    ignored_because(&[approval("bob", "lead", &request), approval("bob", "lead", &request)], "counts once");
}

#[test]
fn an_approver_without_the_role_does_not_count() {
    let (request, _) = two_person_request();
    ignored_because(
        &[approval("bob", "analyst", &request), approval("carol", "lead", &request)],
        "role analyst",
    );
}

#[test]
fn an_auditor_or_an_ingest_account_never_counts() {
    let (request, _) = two_person_request();
    ignored_because(
        &[approval("aud", "auditor", &request), approval("carol", "lead", &request)],
        "role auditor",
    );
    ignored_because(
        &[approval("svc", "ingest", &request), approval("carol", "lead", &request)],
        "role ingest",
    );
}

#[test]
fn an_approval_after_expiry_does_not_count_and_the_request_expires() {
    let (request, context) = two_person_request();
    let late = |who: &str| Approval { at_ms: ASKED + 5 * 3_600_000, ..approval(who, "lead", &request) };
    let now = ASKED + 6 * 3_600_000;
    match authorize(&policy(), &request, &context, &[late("bob"), late("carol")], ASKED, now) {
        Authorization::Expired { expired_at_ms, .. } => assert_eq!(expired_at_ms, ASKED + 4 * 3_600_000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_approval_of_changed_parameters_does_not_count() {
    let (request, context) = two_person_request();
    let approvals = [approval("bob", "lead", &request), approval("carol", "lead", &request)];
    let mut changed = request.clone();
    changed.parameters.insert("also".into(), serde_json::json!("delete the user"));
    match authorize(&policy(), &changed, &context, &approvals, ASKED, ASKED + 1) {
        Authorization::Pending { ignored, need: 2, .. } => {
            assert!(ignored.iter().all(|i| i.reason.contains("another request")), "{ignored:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_approval_replayed_on_another_request_does_not_count() {
    let (request, context) = two_person_request();
    let approvals = [approval("bob", "lead", &request), approval("carol", "lead", &request)];
    let other = ActionRequest {
        target: Some(Entity { kind: EntityKind::AccessKey, key: "akiaother".into() }),
        ..request.clone()
    };
    assert!(matches!(
        authorize(&policy(), &other, &context, &approvals, ASKED, ASKED + 1),
        Authorization::Pending { need: 2, .. }
    ));
}

#[test]
fn a_disabled_approver_does_not_count() {
    let (request, _) = two_person_request();
    let disabled = Approval { enabled: false, ..approval("bob", "lead", &request) };
    ignored_because(&[disabled, approval("carol", "lead", &request)], "disabled");
}

#[test]
fn an_approval_through_a_token_without_the_scope_does_not_count() {
    let (request, _) = two_person_request();
    let unscoped = Approval { may_approve: false, ..approval("bob", "lead", &request) };
    ignored_because(&[unscoped, approval("carol", "lead", &request)], "approve permission");
}

#[test]
fn an_approval_without_a_rationale_does_not_count() {
    let (request, _) = two_person_request();
    let silent = Approval { rationale: "  ".into(), ..approval("bob", "lead", &request) };
    ignored_because(&[silent, approval("carol", "lead", &request)], "rationale");
}

#[test]
fn one_approval_of_two_is_pending_and_says_how_many_more() {
    let (request, _) = two_person_request();
    match outcome(&[approval("bob", "lead", &request)]) {
        Authorization::Pending { need, counted, .. } => {
            assert_eq!((need, counted), (1, vec!["bob".to_owned()]))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rejection_by_an_eligible_person_rejects_whatever_else_was_given() {
    let (request, _) = two_person_request();
    let no = Approval {
        verdict: Verdict::Reject,
        rationale: "the key is the billing service's".into(),
        ..approval("dave", "lead", &request)
    };
    match outcome(&[approval("bob", "lead", &request), no, approval("carol", "lead", &request)]) {
        Authorization::Rejected { by, rationale, .. } => {
            assert_eq!(by, "dave");
            assert!(rationale.contains("billing"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_approver_whose_own_credentials_the_action_revokes_does_not_count() {
    let request = ActionRequest {
        action: "revoke_vigil_token".into(),
        target: Some(Entity { kind: EntityKind::User, key: "bob".into() }),
        parameters: Default::default(),
        case: None,
        requested_by: Requester::Person("alice".into()),
        plan_sha256: None,
    };
    let mut context = Context::default();
    context.effects.revokes_credentials_of.insert("bob".into());
    let bob = approval("bob", "responder", &request);
    match authorize(&policy(), &request, &context, &[bob], ASKED, ASKED + 1) {
        Authorization::Pending { ignored, .. } => assert!(ignored[0].reason.contains("own credentials")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_policy_raised_between_approval_and_execution_sends_the_request_back() {
    let request = ActionRequest {
        action: "isolate_host".into(),
        target: Some(Entity { kind: EntityKind::Host, key: "ws-12".into() }),
        parameters: Default::default(),
        case: Some("c1".into()),
        requested_by: Requester::Person("alice".into()),
        plan_sha256: None,
    };
    let context = Context::default();
    let loose = policy();
    let bob = approval("bob", "responder", &request);
    let Authorization::Approved(approved) =
        authorize(&loose, &request, &context, std::slice::from_ref(&bob), ASKED, ASKED + 1)
    else {
        panic!("one responder approves isolation");
    };
    let stricter = Policy::parse(&crate::DEFAULT_POLICY.replace(
        "when: {category: [host_isolation]}\n    decide: {approvals: 1, roles: [responder, lead, admin]}",
        "when: {category: [host_isolation]}\n    decide: {approvals: 2, roles: [responder, lead, admin]}",
    ))
    .expect("stricter policy");
    assert_ne!(stricter.sha256, loose.sha256);
    let bound = approved.request_sha256().to_owned();
    let at_execution = |policy: &Policy| {
        reauthorize(policy, &request, &bound, &context, std::slice::from_ref(&bob), ASKED, ASKED + 2)
    };
    match at_execution(&stricter) {
        Authorization::Pending { need: 1, counted, decision, .. } => {
            assert_eq!((counted, decision.tier.bar()), (vec!["bob".to_owned()], 2));
        }
        other => panic!("{other:?}"),
    }
    // The same bar under a reworded policy: the approval stands.
    let reworded =
        Policy::parse(&crate::DEFAULT_POLICY.replace("one responder decides", "a responder decides"))
            .expect("reworded");
    assert_ne!(reworded.sha256, loose.sha256);
    assert_eq!(at_execution(&reworded).code(), "approved");
    // A forbidding policy stops it.
    let forbidding = Policy::parse(&crate::DEFAULT_POLICY.replace(
        "when: {category: [host_isolation]}\n    decide: {approvals: 1, roles: [responder, lead, admin]}",
        "when: {category: [host_isolation]}\n    decide: forbidden",
    ))
    .expect("forbidding policy");
    assert!(matches!(at_execution(&forbidding), Authorization::Forbidden { .. }));
    // An approval bound to another request's hash counts for nothing, whatever the policy.
    let other = reauthorize(&loose, &request, &"0".repeat(64), &context, &[bob], ASKED, ASKED + 2);
    assert!(matches!(other, Authorization::Pending { need: 1, .. }), "{other:?}");
}

#[test]
fn a_model_proposal_never_approves_itself() {
    let request = ActionRequest {
        action: "snapshot_evidence".into(),
        target: None,
        parameters: Default::default(),
        case: Some("c1".into()),
        requested_by: Requester::Model("narrator".into()),
        plan_sha256: None,
    };
    match authorize(&policy(), &request, &Context::default(), &[], ASKED, ASKED + 1) {
        Authorization::Pending { need: 1, decision, .. } => {
            assert!(decision.why.contains("a model proposed it"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_action_vigil_does_not_have_is_forbidden() {
    let request = ActionRequest {
        action: "run_shell".into(),
        target: None,
        parameters: Default::default(),
        case: None,
        requested_by: Requester::Model("narrator".into()),
        plan_sha256: None,
    };
    match authorize(&policy(), &request, &Context::default(), &[], ASKED, ASKED + 1) {
        Authorization::Forbidden { decision } => assert_eq!(decision.rule, "guard:unknown-action"),
        other => panic!("{other:?}"),
    }
}
