//! The directory connector against a real slapd (ppolicy, AD attributes, TLS): each action's
//! plan, precheck, execute, verify, rollback and verify again, read back from the directory
//! with `ldapsearch` and by signing in; and the faults it must survive. Run by `.ci/run` with
//! `--features connector-tests`.
#![cfg(feature = "connector-tests")]

#[path = "support/certs.rs"]
mod certs;
#[path = "support/slapd.rs"]
mod slapd;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slapd::{Slapd, VIGIL_DN, VIGIL_PASSWORD};
use vigil_model::{ActionRequest, Entity, EntityKind, Requester};
use vigil_respond::connectors::{
    AccountAction, Dialect, Directory, DirectorySettings, RemovePrivilegedGroups, Transport,
};
use vigil_respond::{Action, Cx, Error, Step};
use vigil_store::{By, Store};

const ALICE: &str = "uid=alice,ou=people,dc=vigil,dc=test";
const BOB: &str = "uid=bob,ou=people,dc=vigil,dc=test";
const DAVE: &str = "cn=dave,ou=ad,dc=vigil,dc=test";
const ADMINS: &str = "cn=admins,ou=groups,dc=vigil,dc=test";
const DOMAIN_ADMINS: &str = "cn=domain admins,ou=groups,dc=vigil,dc=test";
const PROTECTED: &str = "cn=protected,ou=groups,dc=vigil,dc=test";

fn settings(slapd: &Slapd, dialect: Dialect) -> DirectorySettings {
    DirectorySettings {
        url: slapd.url(),
        transport: Transport::StartTls,
        ca_file: Some(slapd.ca_file()),
        bind_dn: VIGIL_DN.into(),
        password: VIGIL_PASSWORD.into(),
        base_dn: match dialect {
            Dialect::OpenLdap => "ou=people,dc=vigil,dc=test".into(),
            Dialect::ActiveDirectory => "ou=ad,dc=vigil,dc=test".into(),
        },
        dialect,
        privileged_groups: vec![ADMINS.into(), DOMAIN_ADMINS.into()],
        timeout: Duration::from_secs(5),
    }
}

fn directory(settings: DirectorySettings) -> Arc<Directory> {
    Arc::new(Directory::new(settings).expect("directory"))
}

fn on_user(action: &str, user: &str) -> ActionRequest {
    ActionRequest {
        action: action.into(),
        target: Some(Entity { kind: EntityKind::User, key: user.into() }),
        parameters: Default::default(),
        case: None,
        requested_by: Requester::Person("rita".into()),
        plan_sha256: None,
    }
}

async fn cx() -> (Cx, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_dir(dir.path()).await.expect("store");
    (Cx { store, by: By::user("rita", "test") }, dir)
}

/// Plan, precheck, execute and verify, as the executor runs them; the prior state.
async fn run(action: &dyn Action, cx: &Cx, request: &ActionRequest) -> Value {
    let plan = action.plan(cx, request).await.expect("plan");
    assert!(plan.runnable, "{:?}", plan.changes);
    let prior = action.precheck(cx, request).await.expect("precheck");
    let step = Step { request, key: "run-1", prior: &prior };
    action.execute(cx, step).await.expect("execute");
    let probe = action.verify(cx, step).await.expect("verify");
    assert!(probe.holds, "the change holds: {}", probe.observed);
    prior
}

async fn roll_back(action: &dyn Action, cx: &Cx, request: &ActionRequest, prior: &Value) {
    let step = Step { request, key: "run-1", prior };
    action.rollback(cx, step).await.expect("rollback");
    let probe = action.verify_rollback(cx, step).await.expect("verify rollback");
    assert!(probe.holds, "the prior state is back: {}", probe.observed);
}

#[tokio::test]
async fn openldap_disable_locks_the_account_until_the_rollback_unlocks_it() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let disable = AccountAction::disable(directory(settings(&slapd, Dialect::OpenLdap)));
    let request = on_user("disable_account", "alice");
    assert_eq!(slapd.sign_in(ALICE, "alice-password"), "ok");

    let plan = disable.plan(&cx, &request).await.expect("plan");
    let words = plan.changes.join(" ");
    assert!(
        words.contains(ALICE) && words.contains("pwdAccountLockedTime") && words.contains("127.0.0.1"),
        "{words}"
    );

    let prior = run(&disable, &cx, &request).await;
    assert_eq!(slapd.values(ALICE, "pwdAccountLockedTime"), ["000001010000Z"]);
    assert!(slapd.sign_in(ALICE, "alice-password").contains("Invalid credentials"));
    let again = disable.plan(&cx, &request).await.expect("plan");
    assert!(!again.runnable && again.changes[0].contains("already disabled"), "{:?}", again.changes);

    roll_back(&disable, &cx, &request, &prior).await;
    assert!(slapd.values(ALICE, "pwdAccountLockedTime").is_empty());
    assert_eq!(slapd.sign_in(ALICE, "alice-password"), "ok");
}

#[tokio::test]
async fn active_directory_disable_sets_accountdisable_and_the_rollback_clears_only_that_bit() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let disable = AccountAction::disable(directory(settings(&slapd, Dialect::ActiveDirectory)));
    // By sAMAccountName with a domain, as Windows logs name users.
    let request = on_user("disable_account", "corp\\dave");
    let prior = run(&disable, &cx, &request).await;
    assert_eq!(slapd.values(DAVE, "userAccountControl"), ["66050"]);
    roll_back(&disable, &cx, &request, &prior).await;
    assert_eq!(slapd.values(DAVE, "userAccountControl"), ["66048"]);
}

#[tokio::test]
async fn a_forced_password_reset_holds_in_both_dialects_and_is_lifted_by_its_rollback() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let reset = AccountAction::force_password_reset(directory(settings(&slapd, Dialect::OpenLdap)));
    let request = on_user("force_password_reset", "alice@vigil.test");
    let prior = run(&reset, &cx, &request).await;
    assert_eq!(slapd.values(ALICE, "pwdReset"), ["TRUE"]);
    assert_eq!(slapd.sign_in(ALICE, "alice-password"), "must change");
    roll_back(&reset, &cx, &request, &prior).await;
    assert!(slapd.values(ALICE, "pwdReset").is_empty());
    assert_eq!(slapd.sign_in(ALICE, "alice-password"), "ok");

    let reset = AccountAction::force_password_reset(directory(settings(&slapd, Dialect::ActiveDirectory)));
    let request = on_user("force_password_reset", "dave@corp.vigil.test");
    let prior = run(&reset, &cx, &request).await;
    assert_eq!(slapd.values(DAVE, "pwdLastSet"), ["0"]);
    roll_back(&reset, &cx, &request, &prior).await;
    assert_eq!(slapd.values(DAVE, "pwdLastSet"), ["-1"], "AD's 'now', the old time cannot be written back");
}

#[tokio::test]
async fn privileged_groups_are_left_and_restored_from_the_memberships_the_precheck_kept() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let remove = RemovePrivilegedGroups::new(directory(settings(&slapd, Dialect::OpenLdap)));
    let request = on_user("remove_privileged_groups", "alice");
    let plan = remove.plan(&cx, &request).await.expect("plan");
    assert_eq!(plan.changes.len(), 2, "one change per group: {:?}", plan.changes);
    let prior = run(&remove, &cx, &request).await;
    assert!(!slapd.is_member(ADMINS, ALICE) && !slapd.is_member(DOMAIN_ADMINS, ALICE));
    assert!(slapd.is_member(ADMINS, VIGIL_DN), "other members stay");
    roll_back(&remove, &cx, &request, &prior).await;
    assert!(slapd.is_member(ADMINS, ALICE) && slapd.is_member(DOMAIN_ADMINS, ALICE));
}

#[tokio::test]
async fn a_removal_refused_at_the_second_group_is_rolled_back_from_the_first_and_verified() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let mut settings = settings(&slapd, Dialect::OpenLdap);
    settings.privileged_groups = vec![ADMINS.into(), PROTECTED.into()];
    let remove = RemovePrivilegedGroups::new(directory(settings));
    let request = on_user("remove_privileged_groups", "bob");
    let prior = remove.precheck(&cx, &request).await.expect("precheck");
    let step = Step { request: &request, key: "run-1", prior: &prior };
    let refused = remove.execute(&cx, step).await.expect_err("the ACL refuses cn=protected");
    let why = refused.to_string();
    assert!(why.contains(&format!("removed from: {ADMINS}")) && why.contains("insufficient access"), "{why}");
    assert!(!slapd.is_member(ADMINS, BOB), "the first step was done");
    // What the executor does after a failed execute of an action with a rollback.
    roll_back(&remove, &cx, &request, &prior).await;
    assert!(slapd.is_member(ADMINS, BOB) && slapd.is_member(PROTECTED, BOB));
}

#[tokio::test]
async fn an_account_disabled_by_someone_else_after_the_precheck_is_reported_and_left_alone() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let disable = AccountAction::disable(directory(settings(&slapd, Dialect::OpenLdap)));
    let request = on_user("disable_account", "alice");
    let prior = disable.precheck(&cx, &request).await.expect("precheck");
    slapd.admin_modify(&format!(
        "dn: {ALICE}\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 20261201000000Z\n"
    ));
    let step = Step { request: &request, key: "run-1", prior: &prior };
    let e = disable.execute(&cx, step).await.expect_err("changed");
    assert!(matches!(e, Error::TargetChanged(_)) && e.to_string().contains("someone else"), "{e}");
    assert_eq!(slapd.values(ALICE, "pwdAccountLockedTime"), ["20261201000000Z"], "the other lock stays");
    let gone = disable.precheck(&cx, &on_user("disable_account", "nobody")).await.expect_err("no such user");
    assert!(matches!(gone, Error::TargetGone(_)), "{gone}");
}

#[tokio::test]
async fn ldaps_works_and_an_untrusted_certificate_or_a_wrong_password_fails_without_the_secret() {
    let slapd = Slapd::start();
    let (cx, _d) = cx().await;
    let request = on_user("disable_account", "alice");
    let mut over_ldaps = settings(&slapd, Dialect::OpenLdap);
    over_ldaps.url = slapd.ldaps_url();
    over_ldaps.transport = Transport::Ldaps;
    let plan = AccountAction::disable(directory(over_ldaps.clone())).plan(&cx, &request).await.expect("plan");
    assert!(plan.runnable && plan.changes[0].contains("(ldaps)"), "{:?}", plan.changes);

    let mut untrusted = over_ldaps.clone();
    untrusted.ca_file =
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slapd/parse-only-ca.pem").into());
    let e = AccountAction::disable(directory(untrusted)).plan(&cx, &request).await.expect_err("untrusted");
    assert!(!e.is_transient() && e.to_string().contains("TLS refused"), "{e}");

    let mut wrong = settings(&slapd, Dialect::OpenLdap);
    wrong.password = "not-the-vigil-password".into();
    let e = AccountAction::disable(directory(wrong)).plan(&cx, &request).await.expect_err("refused");
    let why = e.to_string();
    assert!(!e.is_transient() && why.contains("refused Vigil's credentials"), "{why}");
    assert!(!why.contains("not-the-vigil-password") && !format!("{e:?}").contains("not-the-vigil-password"));
}

#[tokio::test]
async fn a_directory_that_is_down_or_never_answers_is_worth_retrying_until_the_deadline() {
    let (cx, _d) = cx().await;
    let request = on_user("disable_account", "alice");
    let slapd = Slapd::start();
    let mut down = settings(&slapd, Dialect::OpenLdap);
    down.timeout = Duration::from_millis(500);
    // A listener that takes the connection and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let mut slow = down.clone();
    slow.url = format!("ldap://{}", silent.local_addr().expect("addr"));
    let (down, slow) = (directory(down), directory(slow));
    drop(slapd);
    let e = AccountAction::disable(down).plan(&cx, &request).await.expect_err("down");
    assert!(e.is_transient() && e.to_string().contains("could not be reached"), "{e}");

    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            kept.push(socket);
        }
    });
    let e = AccountAction::disable(slow).plan(&cx, &request).await.expect_err("slow");
    assert!(e.is_transient(), "{e}");
    held.abort();
}
