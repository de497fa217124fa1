//! A recommendation's containment steps as action requests on its case: one per step and
//! entity it touches, proposed by the playbook (never approved by it), decided by the policy
//! in force with what the inventories say of the target. The same step on the same target is
//! the same request however often the case is redrafted.

use sha2::Digest;
use vigil_correlate::Case;
use vigil_model::{ActionRequest, Component, EntityKind, Requester};
use vigil_policy::{Context, Criticality, Environment, Policy, Tier, decide};
use vigil_store::{ActionRequestRow, ActionStatus, By, WriteTx, time};
use vigil_triage::Recommendation;
use vigil_triage::context::Context as Triage;
use vigil_triage::playbook::Phase;

use crate::Result;

/// What the inventories say of a target: a host's environment, criticality and tags.
pub fn target_context(triage: &Triage, target: Option<&vigil_model::Entity>) -> Context {
    let mut context = Context::default();
    let Some(target) = target.filter(|t| t.kind == EntityKind::Host) else { return context };
    let Some(asset) = triage.assets.as_ref().and_then(|a| a.entries.get(&target.key)) else { return context };
    if let Some(word) = &asset.environment {
        context.environment = Environment::from_inventory(word);
    }
    context.criticality = asset.criticality.as_deref().and_then(Criticality::from_inventory);
    context.tags.extend(asset.tags.iter().cloned());
    context
}

/// The request id of a step on a target for a case: the same inputs, the same id.
fn request_id(request: &ActionRequest) -> String {
    let target =
        request.target.as_ref().map(|t| format!("{} {}", t.kind.as_str(), t.key)).unwrap_or_default();
    let case = request.case.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
    let digest =
        hex::encode(sha2::Sha256::digest(format!("{case}\n{}\n{target}", request.action).as_bytes()));
    format!("act_pb_{}", &digest[..24])
}

/// Proposes the containment steps of `recommendation`'s playbook; returns how many are new.
pub async fn propose(
    tx: &mut WriteTx<'_>,
    policy: &Policy,
    triage: &Triage,
    case: &Case,
    recommendation: &Recommendation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize> {
    let Some(plan) = &recommendation.playbook else { return Ok(0) };
    let by = By::vigil(Component::Triage);
    let mut new = 0;
    for step in plan.steps.iter().filter(|s| s.phase == Phase::Contain) {
        for touched in &step.touches {
            // A step names its target as `kind key`; one Vigil cannot name proposes nothing.
            let Ok(target) = vigil_policy::cases::entity(touched) else { continue };
            let request = ActionRequest {
                action: step.action.clone(),
                target: Some(target),
                parameters: Default::default(),
                case: Some(case.id.clone()),
                requested_by: Requester::Playbook(format!("{}@{}", plan.id, plan.version)),
            };
            let mut context = target_context(triage, request.target.as_ref());
            context.severity = Some(case.severity);
            context.confidence = Some(recommendation.confidence);
            if step.action.starts_with("revoke_")
                && request.target.as_ref().is_some_and(|t| t.kind == EntityKind::User)
            {
                context.effects.revokes_credentials_of.extend(request.target.iter().map(|t| t.key.clone()));
            }
            let decision = decide(policy, &request, &context);
            let status = match decision.tier {
                Tier::Automatic => ActionStatus::Approved,
                Tier::Approvals { .. } => ActionStatus::AwaitingApproval,
                Tier::Forbidden => ActionStatus::Forbidden,
            };
            let expires =
                now + chrono::Duration::seconds(i64::try_from(decision.expires_in_secs).unwrap_or(86_400));
            let row = ActionRequestRow {
                id: request_id(&request),
                request_sha256: request.hash(&policy.sha256),
                policy_sha256: policy.sha256.clone(),
                decision: decision.summary(),
                request,
                status,
                requested_at: String::new(),
                expires_at: time::stamp(expires),
                updated_at: String::new(),
            };
            if tx.propose_action_once(&row, &by).await? {
                new += 1;
            }
        }
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Triage {
        let mut triage = Triage::default();
        triage
            .load_assets(
                "assets.yml",
                "as_of: 2026-11-30T00:00:00Z\nassets:\n  DC-01.corp.example: {criticality: critical, environment: production, tags: [crown_jewel]}\n  lab-7: {environment: lab}\n",
            )
            .expect("assets");
        triage
    }

    #[test]
    fn a_host_s_inventory_entry_gives_its_environment_criticality_and_tags() {
        let triage = inventory();
        let host = |name: &str| vigil_model::Entity::new(EntityKind::Host, name);
        let dc = target_context(&triage, host("dc-01").as_ref());
        assert_eq!((dc.environment, dc.criticality), (Environment::Production, Some(Criticality::Critical)));
        assert!(dc.tags.contains("crown_jewel"));
        assert_eq!(target_context(&triage, host("lab-7").as_ref()).environment, Environment::NonProduction);
        assert_eq!(target_context(&triage, host("ws-99").as_ref()).environment, Environment::Unknown);
        let user = vigil_model::Entity::new(EntityKind::User, "dc-01");
        assert_eq!(
            target_context(&triage, user.as_ref()),
            Context::default(),
            "only hosts are in the asset inventory"
        );
    }

    #[test]
    fn the_same_step_on_the_same_target_of_the_same_case_is_the_same_request() {
        let request = |case: &str, key: &str| ActionRequest {
            action: "isolate_host".into(),
            target: vigil_model::Entity::new(EntityKind::Host, key),
            parameters: Default::default(),
            case: Some(case.into()),
            requested_by: Requester::Playbook("host-compromise@1".into()),
        };
        assert_eq!(request_id(&request("c1", "ws-12")), request_id(&request("c1", "WS-12.corp.example")));
        assert_ne!(request_id(&request("c1", "ws-12")), request_id(&request("c2", "ws-12")));
        assert_ne!(request_id(&request("c1", "ws-12")), request_id(&request("c1", "ws-13")));
    }
}
