//! The directory connector through the running `vigil serve`: `vigil connectors check` against
//! a real slapd, then a case's account disabled (proposed, approved, executed, verified from the
//! directory and by signing in), rolled back the same way, the whole story in an audit trail
//! that verifies, and Vigil's directory password nowhere in what it wrote or said.

#[path = "../../../vigil-respond/tests/support/certs.rs"]
pub mod certs;
#[path = "../../../vigil-respond/tests/support/slapd.rs"]
mod slapd;

use std::process::Command;

use slapd::{Slapd, VIGIL_DN, VIGIL_PASSWORD};

use crate::actions_cli::{run_ended, vigil};
use crate::crash_actions::{responders, seed_case};
use crate::scratch;
use crate::server::Serve;

const ALICE: &str = "uid=alice,ou=people,dc=vigil,dc=test";

fn config(dir: &std::path::Path, slapd: &Slapd) -> std::path::PathBuf {
    config_at(dir, &slapd.url(), "", slapd)
}

/// `vigil.yml` with the directory at `url`; `extra` adds settings to its section.
fn config_at(dir: &std::path::Path, url: &str, extra: &str, slapd: &Slapd) -> std::path::PathBuf {
    let secret = dir.join("ldap-password");
    std::fs::write(&secret, format!("{VIGIL_PASSWORD}\n")).expect("secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "respond:\n  directory:\n    url: \"{url}\"\n    ca_file: \"{}\"\n    bind_dn: \"{VIGIL_DN}\"\n    password_file: ldap-password\n    base_dn: \"ou=people,dc=vigil,dc=test\"\n    dialect: openldap\n    privileged_groups: [\"cn=admins,ou=groups,dc=vigil,dc=test\"]\n{extra}",
            slapd.ca_file().display()
        ),
    )
    .expect("config");
    config
}

pub fn connectors_check(config: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["connectors", "check", "--config"])
        .arg(config)
        .output()
        .expect("vigil connectors check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Every file under `dir`, as bytes.
pub fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    found
}

#[test]
fn an_account_is_disabled_verified_in_the_directory_rolled_back_and_the_password_never_shows() {
    let slapd = Slapd::start();
    let dir = scratch("directory");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let config = config(&dir, &slapd);

    let (ok, checked) = connectors_check(&config);
    assert!(ok && checked.contains("ok") && checked.contains("respond.directory"), "{checked}");
    assert!(checked.contains("disable_account, force_password_reset, remove_privileged_groups"), "{checked}");

    let said = std::cell::RefCell::new(String::new());
    let mut serve = Serve::start(&data, Some(&config));
    let (rita, sam) = responders(&serve);
    let say = |(ok, text): (bool, String)| {
        said.borrow_mut().push_str(&text);
        assert!(ok, "{text}");
        text
    };
    let proposed = say(vigil(&serve, &rita, &["propose", "c1", "disable_account", "--target", "user alice"]));
    assert!(proposed.contains(ALICE) && proposed.contains("pwdAccountLockedTime"), "{proposed}");
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();
    let approved =
        say(vigil(&serve, &sam, &["approve", &id, "--rationale", "alice's session is the attacker's"]));
    assert!(approved.contains("outcome: approved"), "{approved}");
    say(vigil(&serve, &rita, &["execute", &id]));
    let log = run_ended(&serve, &rita, &id);
    said.borrow_mut().push_str(&log);
    assert!(log.contains("succeeded") && log.contains("verify"), "{log}");
    assert_eq!(slapd.values(ALICE, "pwdAccountLockedTime"), ["000001010000Z"]);
    assert!(slapd.sign_in(ALICE, "alice-password").contains("Invalid credentials"));

    let undo = say(vigil(&serve, &rita, &["rollback", &id, "--rationale", "alice was on the phone with us"]));
    let undo_id = undo.split_whitespace().next().expect("the rollback's id first").to_owned();
    assert!(undo.contains("enable_account"), "{undo}");
    say(vigil(&serve, &sam, &["approve", &undo_id, "--rationale", "confirmed with alice"]));
    say(vigil(&serve, &rita, &["execute", &undo_id]));
    let log = run_ended(&serve, &rita, &undo_id);
    said.borrow_mut().push_str(&log);
    assert!(log.contains("succeeded") && log.contains("rollback_verify"), "{log}");
    assert!(slapd.values(ALICE, "pwdAccountLockedTime").is_empty());
    assert_eq!(slapd.sign_in(ALICE, "alice-password"), "ok");
    say(vigil(&serve, &rita, &["--json", "show", &id]));
    serve.kill();

    let verified =
        Command::new(env!("CARGO_BIN_EXE_vigil")).arg("verify").arg(&data).output().expect("verify");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));

    let server_log = serve.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(!server_log.is_empty());
    for (what, text) in
        [("the server's log", server_log.as_bytes()), ("what the CLI said", said.borrow().as_bytes())]
    {
        assert!(!contains(text, VIGIL_PASSWORD.as_bytes()), "the directory password is in {what}");
    }
    for (path, bytes) in files(&data) {
        assert!(
            !contains(&bytes, VIGIL_PASSWORD.as_bytes()),
            "the directory password is in {}",
            path.display()
        );
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One whole LDAP message from the front of `buffer` (BER: SEQUENCE, length), if it has one.
fn ldap_message(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    if buffer.len() < 2 {
        return None;
    }
    let (length, header) = match buffer[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let n = usize::from(long & 0x7f);
            if buffer.len() < 2 + n {
                return None;
            }
            (buffer[2..2 + n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), 2 + n)
        }
    };
    if buffer.len() < header + length {
        return None;
    }
    Some(buffer.drain(..header + length).collect())
}

/// The protocol operation's tag of an LDAP message: after the SEQUENCE header and messageID.
fn operation(message: &[u8]) -> Option<u8> {
    let header = if message.get(1)? & 0x80 == 0 { 2 } else { 2 + usize::from(message[1] & 0x7f) };
    let id_length = usize::from(*message.get(header + 1)?);
    message.get(header + 2 + id_length).copied()
}

/// A loopback proxy to the directory (plain LDAP) that forwards every message but holds back
/// the first ModifyResponse and says so: the change has landed in the directory, and Vigil
/// has not heard of it.
fn modify_landed_proxy(to: String) -> (String, std::sync::mpsc::Receiver<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let url = format!("ldap://{}", listener.local_addr().expect("addr"));
    let (tell, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = std::net::TcpStream::connect(&to) else { return };
            let (mut c_in, mut s_out) =
                (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
            std::thread::spawn(move || std::io::copy(&mut c_in, &mut s_out));
            let (mut s_in, mut c_out) = (server, client);
            let (held, tell) = (std::sync::Arc::clone(&held), tell.clone());
            std::thread::spawn(move || {
                let (mut buffer, mut chunk) = (Vec::new(), [0u8; 4096]);
                while let Ok(n @ 1..) = s_in.read(&mut chunk) {
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(message) = ldap_message(&mut buffer) {
                        // 0x67: [APPLICATION 7] ModifyResponse.
                        if operation(&message) == Some(0x67)
                            && !held.swap(true, std::sync::atomic::Ordering::SeqCst)
                        {
                            let _ = tell.send(());
                            return;
                        }
                        if c_out.write_all(&message).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, told)
}

#[test]
fn killed_after_the_directory_took_the_change_vigil_verifies_it_on_restart_and_does_not_repeat_it() {
    let slapd = Slapd::start();
    let dir = scratch("directory-kill");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let (url, landed) = modify_landed_proxy(format!("127.0.0.1:{}", slapd.port));
    // The proxy reads LDAP, so this test's connection is the plain one, asked for by name.
    let config = config_at(&dir, &url, "    transport: plain\n    timeout_secs: 30\n", &slapd);

    let mut serve = Serve::start(&data, Some(&config));
    let (rita, sam) = responders(&serve);
    let (ok, proposed) =
        vigil(&serve, &rita, &["propose", "c1", "disable_account", "--target", "user alice"]);
    assert!(ok && proposed.contains("(plain)"), "{proposed}");
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();
    let (ok, approved) = vigil(&serve, &sam, &["approve", &id, "--rationale", "contain alice"]);
    assert!(ok, "{approved}");
    let (ok, queued) = vigil(&serve, &rita, &["execute", &id]);
    assert!(ok, "{queued}");
    landed.recv_timeout(std::time::Duration::from_secs(30)).expect("the modify reaches the directory");
    serve.kill();
    assert_eq!(slapd.values(ALICE, "pwdAccountLockedTime"), ["000001010000Z"], "the change landed");

    let serve = Serve::start(&data, Some(&config));
    let log = run_ended(&serve, &rita, &id);
    assert!(log.contains("succeeded") && log.matches("execute").count() == 1, "{log}");
    drop(serve);
    let store_log = crate::crash_actions::runtime().block_on(async {
        let store = vigil_store::Store::open_dir(&data).await.expect("store");
        let run = store.run_of(&id).await.expect("run").expect("a run");
        let steps = store.run_log(&run.id).await.expect("log");
        store.close().await;
        steps
    });
    let executed = store_log.iter().filter(|s| s.step == "execute" && s.outcome == "started").count();
    assert_eq!(executed, 1, "executed once, verified after the restart: {store_log:?}");
    let verified = store_log.iter().find(|s| s.step == "verify" && s.outcome == "ok").expect("verified");
    assert_eq!(
        (verified.attempt, &verified.detail["after_restart"]),
        (2, &serde_json::json!(true)),
        "{store_log:?}"
    );
}
