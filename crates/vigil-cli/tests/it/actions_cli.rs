//! `vigil actions` against a real `vigil serve`: one responder proposes a block, the other
//! finds it in their inbox and approves it, the first executes it and reads the run log.

use std::process::Command;

use crate::crash_actions::{responders, seed_case};
use crate::scratch;
use crate::server::Serve;

fn vigil(serve: &Serve, bearer: &str, args: &[&str]) -> (bool, String) {
    let token = bearer.strip_prefix("Bearer ").expect("bearer");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("actions")
        .args(args)
        .env("VIGIL_URL", &serve.url)
        .env("VIGIL_TOKEN", token)
        .output()
        .expect("vigil actions runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_block_is_proposed_approved_executed_and_its_run_log_read_from_the_terminal() {
    let dir = scratch("actions-cli");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let serve = Serve::start(&data, None);
    let (rita, sam) = responders(&serve);
    let (ok, proposed) = vigil(
        &serve,
        &rita,
        &["propose", "c1", "block_indicator", "--target", "ip 203.0.113.9", "--param", "for=24h"],
    );
    assert!(ok, "{proposed}");
    assert!(
        proposed.contains("add 203.0.113.9 to Vigil's blocklist feed")
            && proposed.contains("awaiting_approval"),
        "{proposed}"
    );
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();

    let (ok, own) = vigil(&serve, &rita, &["approve", &id, "--rationale", "mine"]);
    assert!(!ok && own.contains("approval_not_counted"), "the requester cannot approve: {own}");
    let (_, inbox) = vigil(&serve, &sam, &["inbox"]);
    assert!(inbox.contains(&id), "{inbox}");
    let (ok, approved) = vigil(&serve, &sam, &["approve", &id, "--rationale", "the C2 address"]);
    assert!(ok && approved.contains("outcome: approved"), "{approved}");

    let (ok, queued) = vigil(&serve, &rita, &["execute", &id]);
    assert!(ok && queued.starts_with("run "), "{queued}");
    let started = std::time::Instant::now();
    let log = loop {
        let (ok, log) = vigil(&serve, &rita, &["run", &id]);
        assert!(ok, "{log}");
        if !log.contains(" queued") && !log.contains(" running") {
            break log;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{log}");
    };
    assert!(
        log.contains("succeeded") && log.contains("verify") && log.contains("sealed as evidence"),
        "{log}"
    );
    let (ok, json) = vigil(&serve, &rita, &["--json", "show", &id]);
    assert!(ok && serde_json::from_str::<serde_json::Value>(&json).is_ok(), "{json}");
}
