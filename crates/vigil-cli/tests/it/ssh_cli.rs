//! The SSH connector through the running `vigil serve`, against `sshd` in a network namespace
//! the test creates: `vigil connectors check`, then a host isolated (proposed, approved,
//! executed, verified from nftables on the host, and seen: another machine can no longer
//! reach it while the management address can), rolled back the same way, an audit trail
//! that verifies, and Vigil's private key nowhere in what it wrote or said.

#[path = "../../../vigil-respond/tests/support/netns.rs"]
mod netns;

use std::process::Command;

use netns::Lab;

use crate::actions_cli::{run_ended, vigil};
use crate::crash_actions::{responders, seed_case};
use crate::directory_cli::{connectors_check, contains, files};
use crate::scratch;
use crate::server::Serve;

#[test]
fn a_host_is_isolated_over_ssh_through_vigil_serve_and_released_and_the_key_never_shows() {
    let lab = Lab::start();
    let dir = scratch("ssh");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "respond:\n  ssh:\n    key_file: \"{}\"\n    management: {}\n    gateway: gw-1\n    hosts:\n      gw-1: {{address: \"{}:22\", host_key: \"{}\"}}\n",
            lab.key_file().display(),
            lab.management,
            lab.host,
            lab.host_key
        ),
    )
    .expect("config");
    // What must never show: Vigil's private key. Its fourth base64 line on holds the secret
    // half, and a leak would carry the file's lines as they are.
    let key_text = std::fs::read_to_string(lab.key_file()).expect("key");
    let secret_lines: Vec<String> =
        key_text.lines().filter(|l| !l.starts_with("-----")).skip(3).map(str::to_owned).collect();
    assert!(!secret_lines.is_empty(), "{key_text}");

    let (ok, mut said) = connectors_check(&config);
    assert!(ok && said.contains("respond.ssh") && said.contains("isolate_host"), "{said}");

    let mut serve = Serve::start(&data, Some(&config));
    let (rita, sam) = responders(&serve);
    let mut say = |(ok, text): (bool, String)| {
        said.push_str(&text);
        assert!(ok, "{text}");
        text
    };
    let proposed = say(vigil(&serve, &rita, &["propose", "c1", "isolate_host", "--target", "host gw-1"]));
    assert!(proposed.contains("vigil_isolation") && proposed.contains(&lab.management), "{proposed}");
    let id = proposed.split_whitespace().next().expect("the request id first").to_owned();
    let approved = say(vigil(&serve, &sam, &["approve", &id, "--rationale", "gw-1 beacons to the C2"]));
    assert!(approved.contains("outcome: approved"), "{approved}");
    say(vigil(&serve, &rita, &["execute", &id]));
    let log = say((true, run_ended(&serve, &rita, &id)));
    assert!(log.contains("succeeded") && log.contains("verify"), "{log}");
    assert!(!lab.reaches(Some(&lab.o), &lab.host_on_o, 22), "another machine is cut off");
    assert!(lab.reaches(None, &lab.host, 22), "the management address still reaches the host");

    let undo = say(vigil(&serve, &rita, &["rollback", &id, "--rationale", "reimaged and clean"]));
    assert!(undo.contains("release_isolation"), "{undo}");
    let undo_id = undo.split_whitespace().next().expect("the rollback's id first").to_owned();
    say(vigil(&serve, &sam, &["approve", &undo_id, "--rationale", "confirmed clean"]));
    say(vigil(&serve, &rita, &["execute", &undo_id]));
    let log = say((true, run_ended(&serve, &rita, &undo_id)));
    assert!(log.contains("succeeded") && log.contains("rollback_verify"), "{log}");
    assert!(lab.reaches(Some(&lab.o), &lab.host_on_o, 22), "reachable again");
    say(vigil(&serve, &rita, &["--json", "show", &id]));
    serve.kill();

    let verified =
        Command::new(env!("CARGO_BIN_EXE_vigil")).arg("verify").arg(&data).output().expect("verify");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let server_log = serve.log.lock().map(|l| l.clone()).unwrap_or_default();
    for (what, text) in [("the server's log", server_log.as_bytes()), ("what the CLI said", said.as_bytes())]
    {
        for line in &secret_lines {
            assert!(!contains(text, line.as_bytes()), "the private key is in {what}");
        }
    }
    for (path, bytes) in files(&data) {
        for line in &secret_lines {
            assert!(!contains(&bytes, line.as_bytes()), "the private key is in {}", path.display());
        }
    }
}
