//! The SSH connector against real hosts: `sshd` in a network namespace this test creates,
//! nftables in it, and two more namespaces to see what gets through. Isolation cuts the other
//! machine off while the management address still reaches the host; a gateway block stops
//! what the host forwards; a process is killed by pid and image; a triage bundle is sealed;
//! and the faults: a host key that is not the pinned one, a key the host does not take, a
//! host that is down. Run by `.ci/run` (as root) with `--features connector-tests`.
#![cfg(feature = "connector-tests")]

#[path = "support/netns.rs"]
mod netns;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use netns::Lab;
use serde_json::{Value, json};
use vigil_model::{ActionRequest, Entity, EntityKind, Requester};
use vigil_respond::connectors::{
    CollectTriageBundle, GatewayBlock, HostSettings, IsolateHost, KillProcess, Ssh, SshSettings,
};
use vigil_respond::{Action, Cx, Error, Step, Undo};
use vigil_store::{By, Store};

fn settings(lab: &Lab) -> SshSettings {
    let key = russh::keys::load_secret_key(lab.key_file(), None).expect("Vigil's key");
    SshSettings {
        hosts: BTreeMap::from([(
            "gw-1".to_owned(),
            HostSettings {
                address: format!("{}:22", lab.host),
                user: "root".into(),
                host_key: lab.host_key.clone(),
            },
        )]),
        key: Arc::new(key),
        management: lab.management.parse().expect("ip"),
        gateway: Some("gw-1".into()),
        timeout: Duration::from_secs(10),
    }
}

fn ssh(lab: &Lab) -> Arc<Ssh> {
    Arc::new(Ssh::new(settings(lab)).expect("ssh"))
}

fn request(action: &str, target: (EntityKind, &str), parameters: Value) -> ActionRequest {
    ActionRequest {
        action: action.into(),
        target: Some(Entity { kind: target.0, key: target.1.into() }),
        parameters: serde_json::from_value(parameters).expect("parameters"),
        case: Some("c1".into()),
        requested_by: Requester::Person("rita".into()),
        plan_sha256: None,
    }
}

async fn cx() -> (Cx, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_dir(dir.path()).await.expect("store");
    (Cx { store, by: By::user("rita", "test") }, dir)
}

async fn run(action: &dyn Action, cx: &Cx, request: &ActionRequest, key: &str) -> Value {
    let plan = action.plan(cx, request).await.expect("plan");
    assert!(plan.runnable, "{plan:?}");
    let prior = action.precheck(cx, request).await.expect("precheck");
    let step = Step { request, key, prior: &prior };
    action.execute(cx, step).await.expect("execute");
    let probe = action.verify(cx, step).await.expect("verify");
    assert!(probe.holds, "verified on the host: {}", probe.observed);
    prior
}

async fn roll_back(action: &dyn Action, cx: &Cx, request: &ActionRequest, prior: &Value) {
    let step = Step { request, key: "run_undo", prior };
    action.rollback(cx, step).await.expect("rollback");
    let probe = action.verify_rollback(cx, step).await.expect("verify rollback");
    assert!(probe.holds, "the rollback verified on the host: {}", probe.observed);
}

#[tokio::test]
async fn an_isolated_host_answers_only_the_management_address_until_the_rollback() {
    let lab = Lab::start();
    let (cx, _d) = cx().await;
    assert!(lab.reaches(Some(&lab.o), &lab.host_on_o, 22) && lab.reaches(None, &lab.host, 22));
    let isolate = IsolateHost::new(ssh(&lab));
    let req = request("isolate_host", (EntityKind::Host, "gw-1"), json!({}));
    let plan = isolate.plan(&cx, &req).await.expect("plan");
    assert!(plan.changes[0].contains(&lab.management) && plan.undo == Undo::Rollback, "{plan:?}");

    let prior = run(&isolate, &cx, &req, "run_iso").await;
    assert!(!lab.reaches(Some(&lab.o), &lab.host_on_o, 22), "the other machine is cut off");
    assert!(lab.reaches(None, &lab.host, 22), "the management address still reaches it");
    assert!(!isolate.plan(&cx, &req).await.expect("plan").runnable, "isolated once");

    roll_back(&isolate, &cx, &req, &prior).await;
    assert!(lab.reaches(Some(&lab.o), &lab.host_on_o, 22), "reachable again after the rollback");
    assert!(lab.reaches(None, &lab.host, 22));
}

#[tokio::test]
async fn an_address_blocked_at_the_gateway_is_not_forwarded_until_the_rollback() {
    let lab = Lab::start();
    let (cx, _d) = cx().await;
    assert!(lab.reaches(Some(&lab.o), &lab.target, 8080), "O reaches T through H");
    let block = GatewayBlock::new(ssh(&lab)).expect("gateway");
    let req = request("gateway_block_address", (EntityKind::Ip, &lab.target), json!({}));
    let plan = block.plan(&cx, &req).await.expect("plan");
    assert!(plan.changes[0].contains("creating the table"), "{plan:?}");
    let prior = run(&block, &cx, &req, "run_block").await;
    assert!(!lab.reaches(Some(&lab.o), &lab.target, 8080), "blocked at the gateway");
    roll_back(&block, &cx, &req, &prior).await;
    assert!(lab.reaches(Some(&lab.o), &lab.target, 8080), "forwarded again");

    let own = request("gateway_block_address", (EntityKind::Ip, &lab.management), json!({}));
    assert!(block.plan(&cx, &own).await.is_err(), "Vigil never blocks its own management address");
}

#[tokio::test]
async fn a_process_is_killed_by_pid_and_image_and_a_reused_pid_is_left_alone() {
    let mut lab = Lab::start();
    let (cx, _d) = cx().await;
    let pid = lab.spawn_in_host("miner");
    let kill = KillProcess::new(ssh(&lab));
    assert_eq!(kill.undo(), Undo::Irreversible);
    let wrong = request("kill_process", (EntityKind::Host, "gw-1"), json!({"pid": pid, "image": "sshd"}));
    let e = kill.plan(&cx, &wrong).await.expect_err("not sshd");
    assert!(matches!(e, Error::TargetChanged(_)) && e.to_string().contains("miner"), "{e}");

    let req =
        request("kill_process", (EntityKind::Host, "gw-1"), json!({"pid": pid, "image": "/opt/x/miner"}));
    run(&kill, &cx, &req, "run_kill").await;
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(lab.wait_for(pid).signal(), Some(9), "killed with SIGKILL");
}

#[tokio::test]
async fn a_triage_bundle_of_the_host_is_sealed_into_the_evidence_vault_once() {
    let lab = Lab::start();
    let (cx, _d) = cx().await;
    let bundle = CollectTriageBundle::new(ssh(&lab));
    let req = request("collect_triage_bundle", (EntityKind::Host, "gw-1"), json!({}));
    run(&bundle, &cx, &req, "run_triage").await;
    let prior = json!({"host": "gw-1"});
    let effect =
        bundle.execute(&cx, Step { request: &req, key: "run_triage", prior: &prior }).await.expect("again");
    let sha = effect["evidence_sha256"].as_str().expect("sealed");
    let content = cx.store.evidence_content(sha).await.expect("read").expect("in the vault");
    let document: Value = serde_json::from_slice(&content).expect("JSON");
    assert_eq!(document["reads"]["processes"]["status"], json!(0), "{document}");
    assert!(document["reads"]["processes"]["stdout"].as_str().is_some_and(|p| p.contains("sshd")));
    assert!(document["reads"]["sockets"]["stdout"].as_str().is_some_and(|s| s.contains(":22")), "{document}");
}

#[tokio::test]
async fn a_host_key_that_is_not_pinned_a_refused_key_and_a_host_that_is_down_each_fail_as_they_should() {
    let lab = Lab::start();
    let (cx, _d) = cx().await;
    let req = request("isolate_host", (EntityKind::Host, "gw-1"), json!({}));

    let mut other_key = settings(&lab);
    other_key.hosts.get_mut("gw-1").expect("host").host_key =
        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    let e = IsolateHost::new(Arc::new(Ssh::new(other_key).expect("ssh")))
        .plan(&cx, &req)
        .await
        .expect_err("pinned");
    assert!(
        matches!(&e, Error::Failed(m) if m.contains(&lab.host_key) && m.contains("not the pinned")),
        "{e}"
    );

    let mut stranger = settings(&lab);
    let stranger_key = lab.dir.path().join("stranger_key");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger_key)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let key = russh::keys::load_secret_key(&stranger_key, None).expect("key");
    stranger.key = Arc::new(key);
    let e = IsolateHost::new(Arc::new(Ssh::new(stranger).expect("ssh")))
        .plan(&cx, &req)
        .await
        .expect_err("refused");
    assert!(matches!(&e, Error::Failed(m) if m.contains("refused Vigil's key")), "{e}");

    let mut down = settings(&lab);
    down.hosts.get_mut("gw-1").expect("host").address = format!("{}:2222", lab.host);
    let e = IsolateHost::new(Arc::new(Ssh::new(down).expect("ssh"))).plan(&cx, &req).await.expect_err("down");
    assert!(e.is_transient(), "{e}");
}
