//! `notify_email` through the running `vigil serve`: `vigil connectors check` against a real
//! SMTP server (aiosmtpd, STARTTLS required, signing in), then a case mailed to the on-call
//! address and its host's owner from the asset inventory (proposed, approved, executed,
//! verified from the server's answer), what arrived read back from the server, an audit trail
//! that verifies, and the mail password nowhere in what Vigil wrote or said.

#[path = "../../../vigil-respond/tests/support/smtp.rs"]
mod smtp;

use std::process::Command;

use serde_json::json;
use smtp::{PASSWORD, Smtp, USER};
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, Store, time};

use crate::actions_cli::{run_ended, vigil};
use crate::crash_actions::{responders, runtime};
use crate::directory_cli::{certs, connectors_check, contains, files};
use crate::scratch;
use crate::server::Serve;

/// A recommended case on host ws-12, written before the first start.
fn seed_case(data: &std::path::Path) {
    runtime().block_on(async {
        let store = Store::open_dir(data).await.expect("store");
        let engine = By::vigil(Component::Engine);
        let mut tx = store.write().await.expect("begin");
        let case = CaseRow {
            id: "c1".into(),
            title: "Beaconing from ws-12".into(),
            state: CaseState::New,
            severity: 4,
            assignee: None,
            first_seen: time::from_millis(1_700_000_000_000),
            last_seen: time::from_millis(1_700_000_360_000),
            updated_at: String::new(),
            body: json!({"entities": [{"entity": {"kind": "host", "key": "ws-12"}}]}),
        };
        tx.save_case(&case, &engine).await.expect("case");
        tx.transition_case(&"c1".into(), CaseState::Correlated, "clustered", &engine).await.expect("move");
        tx.transition_case(&"c1".into(), CaseState::Recommended, "drafted", &engine).await.expect("move");
        tx.commit().await.expect("commit");
        store.close().await;
    });
}

#[test]
fn a_case_is_mailed_to_on_call_and_the_hosts_owner_over_starttls_and_the_password_never_shows() {
    let smtp = Smtp::start();
    let dir = scratch("email");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    std::fs::write(dir.join("assets.yml"), "as_of: 2026-11-30T00:00:00Z\nassets:\n  ws-12: {owner: alice}\n")
        .expect("assets");
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "triage:\n  assets: assets.yml\nrespond:\n  email:\n    host: 127.0.0.1\n    port: {}\n    ca_file: \"{}\"\n    from: \"Vigil <vigil@soc.example>\"\n    username: {USER}\n    password_env: VIGIL_TEST_SMTP_PASSWORD\n    on_call: [oncall@soc.example]\n    owner_domain: corp.example\n",
            smtp.port,
            smtp.ca_file().display()
        ),
    )
    .expect("config");

    let check = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["connectors", "check", "--config"])
        .arg(&config)
        .env("VIGIL_TEST_SMTP_PASSWORD", PASSWORD)
        .output()
        .expect("vigil connectors check");
    let checked =
        String::from_utf8_lossy(&check.stdout).into_owned() + &String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && checked.contains("respond.email") && checked.contains("notify_email"),
        "{checked}"
    );
    let (ok, unset) = connectors_check(&config);
    assert!(!ok && unset.contains("VIGIL_TEST_SMTP_PASSWORD"), "a missing secret is named: {unset}");

    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .env("VIGIL_TEST_SMTP_PASSWORD", PASSWORD);
    let mut serve = Serve::spawn(command, false, false);
    let (rita, sam) = responders(&serve);
    let mut said = checked;
    let (ok, proposed) =
        vigil(&serve, &rita, &["propose", "c1", "notify_email", "--param", "message=please isolate ws-12"]);
    said.push_str(&proposed);
    assert!(
        ok && proposed.contains("oncall@soc.example (on call)")
            && proposed.contains("alice@corp.example (owner of host ws-12)"),
        "{proposed}"
    );
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();
    let (ok, approved) = vigil(&serve, &sam, &["approve", &id, "--rationale", "tell the owner"]);
    assert!(ok && approved.contains("outcome: approved"), "{approved}");
    let (ok, queued) = vigil(&serve, &rita, &["execute", &id]);
    assert!(ok, "{queued}");
    let log = run_ended(&serve, &rita, &id);
    said.push_str(&log);
    assert!(log.contains("succeeded") && log.contains("verify"), "{log}");
    let (ok, shown) = vigil(&serve, &rita, &["--json", "show", &id]);
    said.push_str(&shown);
    assert!(ok, "{shown}");
    serve.kill();

    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["rcpt_tos"], json!(["oncall@soc.example", "alice@corp.example"]));
    assert_eq!(
        (received[0]["tls"].clone(), received[0]["authenticated_as"].clone()),
        (json!(true), json!(USER))
    );
    assert!(received[0]["content"].as_str().is_some_and(|c| c.contains("please isolate ws-12")));

    let verified =
        Command::new(env!("CARGO_BIN_EXE_vigil")).arg("verify").arg(&data).output().expect("verify");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let server_log = serve.log.lock().map(|l| l.clone()).unwrap_or_default();
    for (what, text) in [("the server's log", server_log.as_bytes()), ("what the CLI said", said.as_bytes())]
    {
        assert!(!contains(text, PASSWORD.as_bytes()), "the mail password is in {what}");
    }
    for (path, bytes) in files(&data) {
        assert!(!contains(&bytes, PASSWORD.as_bytes()), "the mail password is in {}", path.display());
    }
}
