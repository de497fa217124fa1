//! `vigil actions` against a real `vigil serve`: one responder proposes a block, the other
//! finds it in their inbox and approves it, the first executes it and reads the run log; a
//! case posted to the webhook `vigil.yml` configures, signed with the secret the environment
//! holds.

use std::process::Command;

use crate::crash_actions::{responders, seed_case};
use crate::scratch;
use crate::server::Serve;

pub fn vigil(serve: &Serve, bearer: &str, args: &[&str]) -> (bool, String) {
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

/// The run log of request `id` once its run has ended (read again until then, at most 30 s).
pub fn run_ended(serve: &Serve, bearer: &str, id: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let (ok, log) = vigil(serve, bearer, &["run", id]);
        assert!(ok, "{log}");
        if !log.contains(" queued") && !log.contains(" running") {
            return log;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{log}");
    }
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
    let log = run_ended(&serve, &rita, &id);
    assert!(
        log.contains("succeeded") && log.contains("verify") && log.contains("sealed as evidence"),
        "{log}"
    );
    let (ok, json) = vigil(&serve, &rita, &["--json", "show", &id]);
    assert!(ok && serde_json::from_str::<serde_json::Value>(&json).is_ok(), "{json}");
}

/// A webhook receiver on loopback for one delivery: whether its signature held, and its body.
fn one_delivery(secret: &'static [u8]) -> (String, std::sync::mpsc::Receiver<(bool, serde_json::Value)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut headers = std::collections::HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.trim_end().split_once(": ") {
                headers.insert(k.to_ascii_lowercase(), v.to_owned());
            }
        }
        let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("key");
        mac.update(headers.get("x-vigil-timestamp").map_or("", String::as_str).as_bytes());
        mac.update(b".");
        mac.update(&body);
        let signed = headers.get("x-vigil-signature")
            == Some(&format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        let _ = tx.send((signed, serde_json::from_slice(&body).unwrap_or_default()));
    });
    (url, rx)
}

#[test]
fn a_case_is_posted_to_the_configured_webhook_signed_with_the_secret_from_the_environment() {
    const SECRET: &[u8] = b"the team's webhook secret";
    let dir = scratch("webhook");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let (url, delivered) = one_delivery(SECRET);
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!("respond:\n  webhook: {{url: \"{url}\", secret_env: VIGIL_TEST_HOOK_SECRET}}\n"),
    )
    .expect("config");
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .env("VIGIL_TEST_HOOK_SECRET", std::str::from_utf8(SECRET).expect("text"));
    let mut serve = Serve::spawn(command, false, false);
    let (rita, sam) = responders(&serve);
    let (ok, proposed) =
        vigil(&serve, &rita, &["propose", "c1", "notify_webhook", "--param", "message=please look at ws-12"]);
    assert!(
        ok && proposed.contains("to the webhook at 127.0.0.1:") && !proposed.contains("/hook"),
        "{proposed}"
    );
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();
    let (ok, approved) = vigil(&serve, &sam, &["approve", &id, "--rationale", "tell the team"]);
    assert!(ok && approved.contains("outcome: approved"), "{approved}");
    let (ok, queued) = vigil(&serve, &rita, &["execute", &id]);
    assert!(ok, "{queued}");
    let (signed, body) = delivered.recv_timeout(std::time::Duration::from_secs(30)).expect("a delivery");
    assert!(signed, "signed with the secret the environment holds: {body}");
    assert_eq!(
        (body["case"]["id"].as_str(), body["message"].as_str()),
        (Some("c1"), Some("please look at ws-12"))
    );
    let log = run_ended(&serve, &rita, &id);
    assert!(log.contains("succeeded") && log.contains("verify"), "{log}");
    let (_, shown) = vigil(&serve, &rita, &["--json", "show", &id]);
    serve.kill();
    // The secret is in no answer, log or file Vigil wrote.
    let server_log = serve.log.lock().map(|l| l.clone()).unwrap_or_default();
    let said = format!("{proposed}{approved}{queued}{log}{shown}");
    for text in [server_log.as_bytes(), said.as_bytes()] {
        assert!(!text.windows(SECRET.len()).any(|w| w == SECRET), "the webhook secret was shown");
    }
    let mut todo = vec![data.clone()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET),
                    "the webhook secret is in {}",
                    path.display()
                );
            }
        }
    }
}
