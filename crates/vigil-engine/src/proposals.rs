//! A recommendation's containment steps as action requests on its case: one per step and
//! entity it touches, proposed by the playbook (never approved by it), decided by the policy
//! in force with what the inventories say of the target. The same step on the same target is
//! the same request however often the case is redrafted.

use sha2::Digest;
use vigil_correlate::Case;
use vigil_model::{ActionCategory, ActionRequest, Component, EntityKind, Requester, Severity};
use vigil_policy::{BlastRadius, Context, Criticality, Environment, Policy, decide};
use vigil_respond::Registry;
use vigil_store::{ActionStatus, By, Store, WriteTx};
use vigil_triage::Recommendation;
use vigil_triage::context::Context as Triage;
use vigil_triage::playbook::Phase;

use crate::Result;

/// What the inventories say of a target: a host's environment, criticality and tags.
pub fn target_context(triage: &Triage, target: Option<&vigil_model::Entity>) -> Context {
    let mut context = Context::default();
    let Some(target) = target.filter(|t| t.kind == EntityKind::Host) else { return context };
    let Some(asset) = triage.assets.as_ref().and_then(|a| a.entries.get(&*target.key)) else {
        return context;
    };
    if let Some(word) = &asset.environment {
        context.environment = Environment::from_inventory(word);
    }
    context.criticality = asset.criticality.as_deref().and_then(Criticality::from_inventory);
    context.tags.extend(asset.tags.iter().cloned());
    context
}

/// Everything a request is decided on: what the inventories say of its target, the case's
/// severity and confidence, and the effects the guards look for. The engine proposing a step
/// and a person proposing or approving it decide on these same facts.
pub async fn decision_context(
    store: &Store,
    triage: &Triage,
    request: &ActionRequest,
    severity: Option<Severity>,
    confidence: Option<f64>,
) -> Result<Context> {
    let mut context = target_context(triage, request.target.as_ref());
    context.severity = severity;
    context.confidence = confidence;
    // An escalation is Vigil's own, proposed for a breach the store holds: the fact holds
    // only while that breach is on record, whoever decides (the proposal or the executor).
    if let (Requester::Escalation(clock), Some(case)) = (&request.requested_by, &request.case)
        && request.kind().map(|k| k.category) == Some(ActionCategory::Notification)
        && store.sla_breaches(case).await?.iter().any(|b| &b.clock == clock)
    {
        context.facts.insert(SLA_BREACHED.to_owned());
    }
    let Some(target) = &request.target else { return Ok(context) };
    let category = request.kind().map(|k| k.category);
    let seen = store.alerts_naming(target.kind.as_str(), &target.key, BLAST_RADIUS_ALERTS).await?;
    context.blast_radius = blast_radius(target, &seen);
    if category == Some(ActionCategory::TokenRevocation)
        && target.kind == EntityKind::User
        && let Some(iocs) = &triage.iocs
        && seen
            .iter()
            .any(|a| named(a).any(|e| e.kind == EntityKind::Ip && iocs.entries.iter().any(|i| *i == *e.key)))
    {
        context.facts.insert(TOKEN_SEEN_FROM_IOC.to_owned());
    }
    if target.kind == EntityKind::Host && own_host() == Some(&*target.key) {
        context.effects.isolates_vigil_server = true;
    }
    if target.kind == EntityKind::User {
        if category == Some(ActionCategory::TokenRevocation) {
            context.effects.revokes_credentials_of.insert(target.key.to_string());
        }
        if category == Some(ActionCategory::AccountContainment) {
            let admins: Vec<_> =
                store.users().await?.into_iter().filter(|u| u.role == ADMIN_ROLE && !u.disabled).collect();
            context.effects.locks_out_last_admin =
                admins.len() == 1 && admins[0].name.as_str() == &*target.key;
        }
    }
    Ok(context)
}

/// The fact an emergency rule asks for: an alert names the user together with an address on
/// the IOC list (their session or token was used from it).
pub const TOKEN_SEEN_FROM_IOC: &str = "token_seen_from_ioc";

/// The fact the SLA escalation rule asks for: the request escalates a breach on record.
pub const SLA_BREACHED: &str = "sla_breached";

/// How many of the newest alerts naming a target its blast radius is read from.
const BLAST_RADIUS_ALERTS: i64 = 5_000;

/// The entities an alert names, as stored.
fn named(alert: &vigil_store::AlertRow) -> impl Iterator<Item = vigil_model::Entity> + '_ {
    alert.finding["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| serde_json::from_value::<vigil_model::Entity>(e.clone()).ok())
}

/// Who and what acting on `target` reaches, as the alerts naming it show: the users, hosts,
/// cloud accounts, principals and keys, and services and processes seen with it, the target among them. A count of what
/// Vigil has seen, so at least what the action would touch.
pub fn blast_radius(target: &vigil_model::Entity, alerts: &[vigil_store::AlertRow]) -> BlastRadius {
    let mut seen: std::collections::BTreeSet<vigil_model::Entity> = alerts.iter().flat_map(named).collect();
    seen.insert(target.clone());
    let count = |kinds: &[EntityKind]| {
        u32::try_from(seen.iter().filter(|e| kinds.contains(&e.kind)).count()).unwrap_or(u32::MAX)
    };
    BlastRadius {
        users: count(&[EntityKind::User]),
        hosts: count(&[EntityKind::Host]),
        services: count(&[EntityKind::Service, EntityKind::Process]),
        accounts: count(&[EntityKind::CloudAccount, EntityKind::CloudPrincipal, EntityKind::AccessKey]),
    }
}

/// The role whose last enabled holder no action may lock out.
const ADMIN_ROLE: &str = "admin";

/// The host Vigil runs on, short and lowercased as entities name hosts: the target no
/// isolation may take.
pub fn own_host() -> Option<&'static str> {
    static HOST: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())?;
        vigil_model::Entity::new(EntityKind::Host, name.trim()).map(|e| e.key.to_string())
    })
    .as_deref()
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

/// Proposes the containment steps of `recommendation`'s playbook, each with its plan; one the
/// policy lets run by itself is queued for the executor. Returns how many are new. A step
/// already proposed for the case is not decided again (a redraft costs one lookup), unless new
/// evidence superseded it: then it is asked afresh, under the next id.
#[allow(clippy::too_many_arguments)]
pub async fn propose(
    tx: &mut WriteTx<'_>,
    store: &Store,
    registry: &Registry,
    policy: &Policy,
    triage: &Triage,
    case: &Case,
    recommendation: &Recommendation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize> {
    let Some(plan) = &recommendation.playbook else { return Ok(0) };
    let by = By::vigil(Component::Triage);
    let cx = vigil_respond::Cx { store: store.clone(), by: by.clone() };
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
                plan_sha256: None,
            };
            let Some(id) = free_request_id(tx, &request).await? else { continue };
            let context = decision_context(
                store,
                triage,
                &request,
                Some(case.severity),
                Some(recommendation.confidence),
            )
            .await?;
            let decision = decide(policy, &request, &context);
            let planned = registry.plan_or_reason(&cx, &request).await;
            let row = vigil_respond::decided_row(id, policy, request, &decision, &planned, now);
            let deadline = now.timestamp_millis().saturating_add(vigil_respond::RUN_DEADLINE_MS);
            vigil_respond::store_proposal(tx, &row, &planned, deadline, &by).await?;
            new += 1;
        }
    }
    Ok(new)
}

/// The id the step's request takes: its own, or the next one after every superseded one;
/// `None` when it is proposed and still stands.
async fn free_request_id(tx: &mut WriteTx<'_>, request: &ActionRequest) -> Result<Option<String>> {
    let base = request_id(request);
    for n in 1..=1_000 {
        let id = if n == 1 { base.clone() } else { format!("{base}_{n}") };
        match tx.action_status(&id).await? {
            None => return Ok(Some(id)),
            Some(ActionStatus::Superseded) => continue,
            Some(_) => return Ok(None),
        }
    }
    Ok(None)
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
            plan_sha256: None,
        };
        assert_eq!(request_id(&request("c1", "ws-12")), request_id(&request("c1", "WS-12.corp.example")));
        assert_ne!(request_id(&request("c1", "ws-12")), request_id(&request("c2", "ws-12")));
        assert_ne!(request_id(&request("c1", "ws-12")), request_id(&request("c1", "ws-13")));
    }

    async fn store_with_alerts(alerts: &[(&str, Vec<(&str, String)>)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let store = Store::open_dir(dir.path()).await.expect("store");
        let mut tx = store.write().await.expect("begin");
        for (id, entities) in alerts {
            let entities: Vec<_> =
                entities.iter().map(|(kind, key)| serde_json::json!({"kind": kind, "key": key})).collect();
            tx.save_alert(&vigil_store::AlertRow {
                id: (*id).into(),
                case_id: None,
                rule_id: "r1".into(),
                title: "Logon".into(),
                severity: 4,
                time: vigil_store::time::from_millis(1_700_000_000_000),
                finding: serde_json::json!({"entities": entities}),
            })
            .await
            .expect("alert");
        }
        tx.commit().await.expect("commit");
        (dir, store)
    }

    fn request(action: &str, kind: EntityKind, key: &str) -> ActionRequest {
        ActionRequest {
            action: action.into(),
            target: vigil_model::Entity::new(kind, key),
            parameters: Default::default(),
            case: None,
            requested_by: Requester::Person("alice".into()),
            plan_sha256: None,
        }
    }

    #[tokio::test]
    async fn a_host_sixty_users_sign_in_to_has_a_wide_blast_radius_and_needs_two_people() {
        let users: Vec<(&str, String)> = (0..60).map(|i| ("user", format!("u{i}"))).collect();
        let alerts: Vec<(&str, Vec<(&str, String)>)> = users
            .chunks(6)
            .enumerate()
            .map(|(i, chunk)| {
                let mut named = chunk.to_vec();
                named.push(("host", "ts-01".into()));
                (["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"][i], named)
            })
            .collect();
        let (_dir, store) = store_with_alerts(&alerts).await;
        let isolate = request("isolate_host", EntityKind::Host, "ts-01");
        let context =
            decision_context(&store, &Triage::default(), &isolate, None, None).await.expect("context");
        assert_eq!((context.blast_radius.users, context.blast_radius.hosts), (60, 1));
        let policy = vigil_policy::default_policy().expect("policy");
        assert_eq!(decide(&policy, &isolate, &context).rule, "wide-blast-radius");
        let quiet = request("isolate_host", EntityKind::Host, "ws-12");
        let context =
            decision_context(&store, &Triage::default(), &quiet, None, None).await.expect("context");
        assert_eq!((context.blast_radius.users, context.blast_radius.hosts), (0, 1), "only itself");
        assert_eq!(decide(&policy, &quiet, &context).rule, "host-isolation");
    }

    #[tokio::test]
    async fn a_user_seen_with_an_ioc_address_in_a_critical_case_is_revoked_by_the_emergency_rule() {
        let (_dir, store) = store_with_alerts(&[
            ("a1", vec![("user", "alice".into()), ("ip", "203.0.113.66".into())]),
            ("a2", vec![("user", "bob".into()), ("ip", "198.51.100.1".into())]),
        ])
        .await;
        let mut triage = Triage::default();
        triage.load_iocs("iocs.yml", "as_of: 2026-11-30T00:00:00Z\niocs: [203.0.113.66]\n").expect("iocs");
        let policy = vigil_policy::default_policy().expect("policy");
        let critical = Some(vigil_model::Severity::Critical);
        let alice = request("revoke_vigil_token", EntityKind::User, "alice");
        let context = decision_context(&store, &triage, &alice, critical, None).await.expect("context");
        assert!(context.facts.contains(TOKEN_SEEN_FROM_IOC));
        let decision = decide(&policy, &alice, &context);
        assert_eq!((decision.rule.as_str(), decision.tier.bar()), ("emergency-token-revocation", 0));
        let bob = request("revoke_vigil_token", EntityKind::User, "bob");
        let context = decision_context(&store, &triage, &bob, critical, None).await.expect("context");
        assert!(!context.facts.contains(TOKEN_SEEN_FROM_IOC), "bob's address is on no list");
        assert_eq!(decide(&policy, &bob, &context).rule, "token-revocation");
        let high = decision_context(&store, &triage, &alice, Some(vigil_model::Severity::High), None)
            .await
            .expect("context");
        assert_eq!(
            decide(&policy, &alice, &high).rule,
            "token-revocation",
            "the emergency needs a critical case"
        );
    }
}
