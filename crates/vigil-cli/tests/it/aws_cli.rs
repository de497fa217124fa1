//! The AWS connector through the running `vigil serve`, against moto's server (which checks
//! every signature and the principal's policies): `vigil connectors check`, then an access key
//! deactivated with the two approvals cloud containment in production needs, verified from
//! IAM, rolled back and verified again, the story in an audit trail that verifies, and Vigil's
//! AWS secret nowhere in what it wrote or said. And a `kill -9` after IAM took the change but
//! before Vigil heard of it: on restart the change is verified, not made again.

#[path = "../../../vigil-respond/tests/support/moto.rs"]
mod moto;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

use moto::Moto;

use crate::actions_cli::{run_ended, vigil};
use crate::crash_actions::{responders_named, seed_case};
use crate::directory_cli::{contains, files};
use crate::scratch;
use crate::server::Serve;

fn config(dir: &std::path::Path, endpoint: &str, moto: &Moto) -> std::path::PathBuf {
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "respond:\n  aws:\n    region: us-east-1\n    endpoint: \"{endpoint}\"\n    quarantine_group: {}\n    timeout_secs: 30\n",
            moto.get("quarantine_group")
        ),
    )
    .expect("config");
    config
}

fn with_credentials(command: &mut Command, moto: &Moto) {
    command
        .env("AWS_ACCESS_KEY_ID", moto.get("vigil_key"))
        .env("AWS_SECRET_ACCESS_KEY", moto.get("vigil_secret"))
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE");
}

fn serve(data: &std::path::Path, config: &std::path::Path, moto: &Moto) -> Serve {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command.args(["serve", "--listen", "127.0.0.1:0", "--data"]).arg(data).arg("--config").arg(config);
    with_credentials(&mut command, moto);
    Serve::spawn(command, false, false)
}

fn key_status(moto: &Moto) -> String {
    let keys =
        moto.call("iam", "list_access_keys", serde_json::json!({"UserName": "mallory"})).expect("keys");
    keys["AccessKeyMetadata"][0]["Status"].as_str().expect("status").to_owned()
}

/// Proposed by the first bearer, approved by the others until the decision is in; the
/// request's id and how many approvals it took.
fn approved(serve: &Serve, bearers: &[String], args: &[&str], said: &mut String) -> (String, usize) {
    let (ok, proposed) = vigil(serve, &bearers[0], args);
    said.push_str(&proposed);
    assert!(ok, "{proposed}");
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();
    for (n, approver) in bearers[1..].iter().enumerate() {
        let (ok, answer) =
            vigil(serve, approver, &["approve", &id, "--rationale", "confirmed on the bridge call"]);
        said.push_str(&answer);
        assert!(ok, "{answer}");
        if answer.contains("outcome: approved") {
            return (id, n + 1);
        }
    }
    panic!("{id} was not approved: {said}");
}

#[test]
fn an_access_key_is_deactivated_with_two_approvals_verified_in_iam_rolled_back_and_the_secret_never_shows() {
    let moto = Moto::start();
    let dir = scratch("aws");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let config = config(&dir, &moto.endpoint, &moto);
    let key = moto.get("access_key");

    let mut check = Command::new(env!("CARGO_BIN_EXE_vigil"));
    check.args(["connectors", "check", "--config"]).arg(&config);
    with_credentials(&mut check, &moto);
    let out = check.output().expect("vigil connectors check");
    let mut said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.contains("respond.aws") && said.contains("user/vigil-responder"),
        "{said}"
    );
    assert!(said.contains(&moto.get("quarantine_group")), "the quarantine group is read: {said}");

    let mut serve = serve(&data, &config, &moto);
    let bearers = responders_named(&serve, &["rita", "sam", "tom"]);
    let target = format!("access_key {key}");
    let (id, approvals) = approved(
        &serve,
        &bearers,
        &["propose", "c1", "deactivate_access_key", "--target", &target],
        &mut said,
    );
    assert_eq!(approvals, 2, "cloud containment where no inventory names the environment: two people");
    let (ok, queued) = vigil(&serve, &bearers[0], &["execute", &id]);
    assert!(ok, "{queued}");
    let log = run_ended(&serve, &bearers[0], &id);
    said.push_str(&log);
    assert!(log.contains("succeeded") && log.contains("verify"), "{log}");
    assert_eq!(key_status(&moto), "Inactive");

    let (ok, undo) =
        vigil(&serve, &bearers[0], &["rollback", &id, "--rationale", "mallory's laptop was reimaged"]);
    said.push_str(&undo);
    assert!(ok && undo.contains("activate_access_key"), "{undo}");
    let undo_id = undo.split_whitespace().next().expect("the rollback's id first").to_owned();
    for approver in &bearers[1..] {
        let (_, answer) =
            vigil(&serve, approver, &["approve", &undo_id, "--rationale", "the key is needed back"]);
        said.push_str(&answer);
        if answer.contains("outcome: approved") {
            break;
        }
    }
    let (ok, queued) = vigil(&serve, &bearers[0], &["execute", &undo_id]);
    assert!(ok, "{queued}");
    let log = run_ended(&serve, &bearers[0], &undo_id);
    said.push_str(&log);
    assert!(log.contains("succeeded") && log.contains("rollback_verify"), "{log}");
    assert_eq!(key_status(&moto), "Active");
    let (_, shown) = vigil(&serve, &bearers[0], &["--json", "show", &id]);
    said.push_str(&shown);
    serve.kill();

    let verified =
        Command::new(env!("CARGO_BIN_EXE_vigil")).arg("verify").arg(&data).output().expect("verify");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let secret = moto.get("vigil_secret");
    let server_log = serve.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(!server_log.is_empty());
    for (what, text) in [("the server's log", server_log.as_bytes()), ("what the CLI said", said.as_bytes())]
    {
        assert!(!contains(text, secret.as_bytes()), "the AWS secret is in {what}");
    }
    for (path, bytes) in files(&data) {
        assert!(!contains(&bytes, secret.as_bytes()), "the AWS secret is in {}", path.display());
    }
}

/// One HTTP/1.1 message (head and Content-Length body) from `reader`, or `None` at the end.
fn http_message(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        message.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    message.extend_from_slice(&body);
    Some(message)
}

/// A loopback proxy to moto that forwards every request but keeps back the answer to the
/// first UpdateAccessKey, and says so: IAM has taken the change and Vigil has not heard of it.
fn update_landed_proxy(to: String) -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tell, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        for client in listener.incoming().map_while(Result::ok) {
            let (held, tell, to) = (std::sync::Arc::clone(&held), tell.clone(), to.clone());
            std::thread::spawn(move || {
                let mut from_client = BufReader::new(client.try_clone().expect("clone"));
                let mut to_client = client;
                let Ok(server) = TcpStream::connect(&to) else { return };
                let mut from_server = BufReader::new(server.try_clone().expect("clone"));
                let mut to_server = server;
                while let Some(request) = http_message(&mut from_client) {
                    if to_server.write_all(&request).is_err() {
                        return;
                    }
                    let Some(answer) = http_message(&mut from_server) else { return };
                    let update = contains(&request, b"Action=UpdateAccessKey");
                    if update && !held.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        let _ = tell.send(());
                        // Keep the connection open and say nothing until Vigil is killed.
                        let mut rest = Vec::new();
                        let _ = from_client.read_to_end(&mut rest);
                        return;
                    }
                    if to_client.write_all(&answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, told)
}

#[test]
fn killed_after_iam_took_the_change_vigil_verifies_it_on_restart_and_does_not_repeat_it() {
    let moto = Moto::start();
    let dir = scratch("aws-kill");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let (endpoint, landed) = update_landed_proxy(moto.endpoint.trim_start_matches("http://").to_owned());
    let config = config(&dir, &endpoint, &moto);
    let key = moto.get("access_key");

    let mut serve = serve(&data, &config, &moto);
    let bearers = responders_named(&serve, &["rita", "sam", "tom"]);
    let mut said = String::new();
    let target = format!("access_key {key}");
    let (id, _) = approved(
        &serve,
        &bearers,
        &["propose", "c1", "deactivate_access_key", "--target", &target],
        &mut said,
    );
    let (ok, queued) = vigil(&serve, &bearers[0], &["execute", &id]);
    assert!(ok, "{queued}");
    landed.recv_timeout(std::time::Duration::from_secs(30)).expect("the update reaches IAM");
    serve.kill();
    assert_eq!(key_status(&moto), "Inactive", "the change landed");

    let serve = self::serve(&data, &config, &moto);
    let log = run_ended(&serve, &bearers[0], &id);
    assert!(log.contains("succeeded"), "{log}");
    drop(serve);
    let steps = crate::crash_actions::runtime().block_on(async {
        let store = vigil_store::Store::open_dir(&data).await.expect("store");
        let run = store.run_of(&id).await.expect("run").expect("a run");
        let steps = store.run_log(&run.id).await.expect("log");
        store.close().await;
        steps
    });
    let executed = steps.iter().filter(|s| s.step == "execute" && s.outcome == "started").count();
    assert_eq!(executed, 1, "executed once, verified after the restart: {steps:?}");
    let verified = steps.iter().find(|s| s.step == "verify" && s.outcome == "ok").expect("verified");
    assert_eq!(verified.detail["after_restart"], serde_json::json!(true), "{steps:?}");
    assert_eq!(key_status(&moto), "Inactive");
}
