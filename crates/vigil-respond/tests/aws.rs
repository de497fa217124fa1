//! The AWS connector against moto's server on loopback, which checks every request's SigV4
//! signature and the principal's policies as AWS does: each action's plan, precheck, execute
//! and verify, its rollback verified, what AWS holds read back through boto3, and the faults
//! it must survive. Run by `.ci/run` with `--features connector-tests`.
#![cfg(feature = "connector-tests")]

#[path = "support/moto.rs"]
mod moto;

use std::sync::Arc;
use std::time::Duration;

use moto::Moto;
use serde_json::{Value, json};
use vigil_model::{ActionRequest, Entity, EntityKind, Requester};
use vigil_respond::connectors::{
    Aws, AwsCredentials, AwsSettings, BlockBucketPublicAccess, CredentialSource, DeactivateAccessKey,
    DenyAllPolicy, QuarantineInstance, RemoveConsoleLogin, SnapshotVolumes,
};
use vigil_respond::{Action, Cx, Error, Step, Undo};
use vigil_store::{By, Store};

fn settings(moto: &Moto) -> AwsSettings {
    AwsSettings {
        region: "us-east-1".into(),
        endpoint: Some(moto.endpoint.clone()),
        credentials: CredentialSource::Static(AwsCredentials {
            access_key_id: moto.get("vigil_key"),
            secret_access_key: moto.get("vigil_secret"),
            session_token: None,
        }),
        quarantine_group: Some(moto.get("quarantine_group")),
        timeout: Duration::from_secs(10),
    }
}

fn aws(moto: &Moto) -> Arc<Aws> {
    Arc::new(Aws::new(settings(moto)).expect("aws"))
}

fn request(action: &str, target: Option<(EntityKind, &str)>, parameters: Value) -> ActionRequest {
    ActionRequest {
        action: action.into(),
        target: target.map(|(kind, key)| Entity { kind, key: key.into() }),
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

/// Plan, precheck, execute and verify as the executor does; returns the precheck's state.
async fn run(action: &dyn Action, cx: &Cx, request: &ActionRequest, key: &str) -> Value {
    let plan = action.plan(cx, request).await.expect("plan");
    assert!(plan.runnable, "{plan:?}");
    let prior = action.precheck(cx, request).await.expect("precheck");
    let step = Step { request, key, prior: &prior };
    action.execute(cx, step).await.expect("execute");
    let probe = action.verify(cx, step).await.expect("verify");
    assert!(probe.holds, "verified from AWS: {}", probe.observed);
    prior
}

async fn roll_back(action: &dyn Action, cx: &Cx, request: &ActionRequest, prior: &Value) {
    let step = Step { request, key: "run_undo", prior };
    action.rollback(cx, step).await.expect("rollback");
    let probe = action.verify_rollback(cx, step).await.expect("verify rollback");
    assert!(probe.holds, "the rollback verified from AWS: {}", probe.observed);
}

fn key_status(moto: &Moto, key: &str) -> String {
    let keys = moto.call("iam", "list_access_keys", json!({"UserName": "mallory"})).expect("keys");
    let found = keys["AccessKeyMetadata"].as_array().expect("keys").iter().find(|k| k["AccessKeyId"] == key);
    found.expect("the key")["Status"].as_str().expect("status").to_owned()
}

#[tokio::test]
async fn an_access_key_is_deactivated_and_reactivated_as_iam_reports_it() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let action = DeactivateAccessKey::new(aws(&moto));
    let key = moto.get("access_key");
    let req = request("deactivate_access_key", Some((EntityKind::AccessKey, &key)), json!({}));
    let plan = action.plan(&cx, &req).await.expect("plan");
    assert!(plan.changes[0].contains(&key) && plan.changes[0].contains("IAM user mallory"), "{plan:?}");
    let prior = run(&action, &cx, &req, "run_key").await;
    assert_eq!(key_status(&moto, &key), "Inactive");
    roll_back(&action, &cx, &req, &prior).await;
    assert_eq!(key_status(&moto, &key), "Active");
    assert!(
        action
            .check()
            .await
            .expect("check")
            .is_some_and(|c| c["arn"].as_str().is_some_and(|a| a.ends_with("user/vigil-responder")))
    );
}

#[tokio::test]
async fn a_deny_all_policy_holds_on_a_user_and_on_the_role_behind_a_session_until_the_rollback() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let action = DenyAllPolicy::new(aws(&moto));
    for (target, get, args) in [
        (
            "arn:aws:iam::123456789012:user/mallory",
            "get_user_policy",
            json!({"UserName": "mallory", "PolicyName": "VigilDenyAll"}),
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/ci-deploy/build-42",
            "get_role_policy",
            json!({"RoleName": "ci-deploy", "PolicyName": "VigilDenyAll"}),
        ),
    ] {
        let req = request("attach_deny_all_policy", Some((EntityKind::CloudPrincipal, target)), json!({}));
        let prior = run(&action, &cx, &req, "run_deny").await;
        let policy = moto.call("iam", get, args.clone()).expect("the policy");
        assert_eq!(policy["PolicyDocument"]["Statement"][0]["Effect"], json!("Deny"), "{policy}");
        assert_eq!(policy["PolicyDocument"]["Statement"][0]["Action"], json!("*"), "{policy}");
        let again = action.plan(&cx, &req).await.expect("plan");
        assert!(!again.runnable, "attached once: {again:?}");
        roll_back(&action, &cx, &req, &prior).await;
        assert!(moto.call("iam", get, args).expect_err("gone").contains("NoSuchEntity"));
    }
}

#[tokio::test]
async fn removing_a_console_password_is_irreversible_and_verified_from_iam() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let action = RemoveConsoleLogin::new(aws(&moto));
    assert_eq!(action.undo(), Undo::Irreversible);
    let req = request(
        "remove_console_login",
        Some((EntityKind::CloudPrincipal, "arn:aws:iam::123456789012:user/mallory")),
        json!({}),
    );
    let plan = action.plan(&cx, &req).await.expect("plan");
    assert!(plan.changes[0].contains("IRREVERSIBLE") && plan.undo == Undo::Irreversible, "{plan:?}");
    run(&action, &cx, &req, "run_login").await;
    assert!(
        moto.call("iam", "get_login_profile", json!({"UserName": "mallory"}))
            .expect_err("gone")
            .contains("NoSuchEntity")
    );
    let bob = request("remove_console_login", Some((EntityKind::CloudPrincipal, "user/bob")), json!({}));
    assert!(!action.plan(&cx, &bob).await.expect("plan").runnable, "bob has no console password");
    let role =
        request("remove_console_login", Some((EntityKind::CloudPrincipal, "role/ci-deploy")), json!({}));
    assert!(action.plan(&cx, &role).await.is_err(), "a role has no console password");
}

#[tokio::test]
async fn blocking_a_buckets_public_access_is_rolled_back_to_exactly_what_it_was() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let action = BlockBucketPublicAccess::new(aws(&moto));
    let read = |bucket: &str| moto.call("s3", "get_public_access_block", json!({"Bucket": bucket}));

    let req = request("block_bucket_public_access", None, json!({"bucket": "case-exports"}));
    let before = read("case-exports").expect("a partial configuration");
    let prior = run(&action, &cx, &req, "run_s3").await;
    let on = read("case-exports").expect("configuration");
    assert!(
        on["PublicAccessBlockConfiguration"].as_object().expect("config").values().all(|v| v == true),
        "{on}"
    );
    roll_back(&action, &cx, &req, &prior).await;
    assert_eq!(read("case-exports").expect("configuration"), before, "the exact configuration is back");

    let none = request("block_bucket_public_access", None, json!({"bucket": "open-data"}));
    let prior = run(&action, &cx, &none, "run_s3_2").await;
    assert_eq!(prior["public_access_block"], Value::Null);
    roll_back(&action, &cx, &none, &prior).await;
    assert!(read("open-data").expect_err("none again").contains("NoSuchPublicAccessBlockConfiguration"));

    let missing = request("block_bucket_public_access", None, json!({"bucket": "no-such-bucket"}));
    assert!(matches!(action.plan(&cx, &missing).await, Err(Error::TargetGone(_))));
}

fn instance_groups(moto: &Moto) -> Vec<String> {
    let found = moto
        .call("ec2", "describe_instances", json!({"InstanceIds": [moto.get("instance")]}))
        .expect("instance");
    let mut groups: Vec<String> = found["Reservations"][0]["Instances"][0]["SecurityGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["GroupId"].as_str().expect("id").to_owned())
        .collect();
    groups.sort();
    groups
}

#[tokio::test]
async fn an_instance_is_quarantined_its_groups_restored_and_its_volumes_snapshotted_once_per_run() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let instance = moto.get("instance");
    let mut original: Vec<String> = moto.world["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g.as_str().expect("id").to_owned())
        .collect();
    original.sort();
    let quarantine = QuarantineInstance::new(aws(&moto)).expect("quarantine");
    let req = request("quarantine_instance", Some((EntityKind::Host, &instance)), json!({}));
    let plan = quarantine.plan(&cx, &req).await.expect("plan");
    assert!(
        plan.changes[0].contains(&moto.get("quarantine_group")) && plan.changes[0].contains(&original[0]),
        "{plan:?}"
    );
    let prior = run(&quarantine, &cx, &req, "run_q").await;
    assert_eq!(instance_groups(&moto), [moto.get("quarantine_group")]);
    roll_back(&quarantine, &cx, &req, &prior).await;
    assert_eq!(instance_groups(&moto), original);

    let snapshot = SnapshotVolumes::new(aws(&moto));
    let req = request("snapshot_instance_volumes", Some((EntityKind::Host, &instance)), json!({}));
    let prior = run(&snapshot, &cx, &req, "run_snap").await;
    // A crash after AWS took the snapshots: the run's key finds them, none is taken twice.
    snapshot.execute(&cx, Step { request: &req, key: "run_snap", prior: &prior }).await.expect("again");
    let taken = moto
        .call(
            "ec2",
            "describe_snapshots",
            json!({"Filters": [{"Name": "tag:vigil-run", "Values": ["run_snap"]}]}),
        )
        .expect("snapshots");
    let volumes = prior["volumes"].as_array().expect("volumes").len();
    assert!(volumes >= 1);
    assert_eq!(taken["Snapshots"].as_array().expect("snapshots").len(), volumes, "{taken}");

    let gone = request("quarantine_instance", Some((EntityKind::Host, "i-0123456789abcdef0")), json!({}));
    assert!(matches!(quarantine.plan(&cx, &gone).await, Err(Error::TargetGone(_))));
}

#[tokio::test]
async fn a_key_deactivated_by_someone_else_after_the_precheck_is_reported_and_left_alone() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let action = DeactivateAccessKey::new(aws(&moto));
    let key = moto.get("access_key");
    let req = request("deactivate_access_key", Some((EntityKind::AccessKey, &key)), json!({}));
    let prior = action.precheck(&cx, &req).await.expect("precheck");
    moto.call(
        "iam",
        "update_access_key",
        json!({"UserName": "mallory", "AccessKeyId": key, "Status": "Inactive"}),
    )
    .expect("someone else");
    let e =
        action.execute(&cx, Step { request: &req, key: "run_x", prior: &prior }).await.expect_err("changed");
    assert!(matches!(e, Error::TargetChanged(_)), "{e}");
}

#[tokio::test]
async fn refused_credentials_fail_without_the_secret_and_an_unreachable_endpoint_is_worth_retrying() {
    let moto = Moto::start();
    let (cx, _d) = cx().await;
    let key = moto.get("access_key");
    let req = request("deactivate_access_key", Some((EntityKind::AccessKey, &key)), json!({}));

    let mut wrong = settings(&moto);
    wrong.credentials = CredentialSource::Static(AwsCredentials {
        access_key_id: moto.get("vigil_key"),
        secret_access_key: "not-the-vigil-secret".into(),
        session_token: None,
    });
    let action = DeactivateAccessKey::new(Arc::new(Aws::new(wrong).expect("aws")));
    let e = action.plan(&cx, &req).await.expect_err("bad signature");
    assert!(matches!(&e, Error::Failed(m) if m.contains("SignatureDoesNotMatch")), "{e}");
    assert!(!e.to_string().contains("not-the-vigil-secret"), "{e}");

    let mut unknown = settings(&moto);
    unknown.credentials = CredentialSource::Static(AwsCredentials {
        access_key_id: "AKIAUNKNOWNUNKNOWN00".into(),
        secret_access_key: "whatever".into(),
        session_token: None,
    });
    let e = DeactivateAccessKey::new(Arc::new(Aws::new(unknown).expect("aws")))
        .plan(&cx, &req)
        .await
        .expect_err("unknown key");
    assert!(matches!(&e, Error::Failed(m) if m.contains("InvalidClientTokenId")), "{e}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = AwsSettings { endpoint: Some(format!("http://127.0.0.1:{port}")), ..settings(&moto) };
    let e = DeactivateAccessKey::new(Arc::new(Aws::new(down).expect("aws")))
        .plan(&cx, &req)
        .await
        .expect_err("down");
    assert!(e.is_transient(), "{e}");

    // Takes the connection and says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let slow = AwsSettings {
        endpoint: Some(format!("http://{}", silent.local_addr().expect("addr"))),
        timeout: Duration::from_millis(300),
        ..settings(&moto)
    };
    let e = DeactivateAccessKey::new(Arc::new(Aws::new(slow).expect("aws")))
        .plan(&cx, &req)
        .await
        .expect_err("slow");
    assert!(e.is_transient(), "{e}");
    drop(silent);
}
