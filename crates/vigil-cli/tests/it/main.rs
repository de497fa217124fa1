//! The `vigil` binary run as a user runs it.

mod actions_cli;
mod answers;
#[cfg(feature = "connector-tests")]
mod aws_cli;
#[cfg(feature = "cluster-tests")]
mod cluster;
mod crash;
mod crash_actions;
#[cfg(feature = "connector-tests")]
mod directory_cli;
#[cfg(feature = "connector-tests")]
mod email_cli;
mod end_to_end;
mod hunt;
mod learning;
mod learning_drafts;
mod packet_cli;
mod policy;
mod schema;
mod server;
#[cfg(feature = "connector-tests")]
mod ssh_cli;
mod tamper;
mod tune;
mod witness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn vigil(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil")).args(args).current_dir(cwd).output().expect("vigil runs")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn normalize_samples_writes_ocsf_lines_and_a_summary_and_exits_0() {
    let dir = scratch("samples");
    let out = dir.join("events.jsonl");
    let samples = repo().join("samples");
    let run = vigil(
        &["normalize", samples.to_str().expect("utf-8 path"), "--out", out.to_str().expect("utf-8")],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&out).expect("output written");
    let events: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert!(events.len() >= 10, "{} events", events.len());
    assert!(events.iter().all(|e| e["metadata"]["version"] == "1.5.0"));
    assert!(stderr.contains("0 dead letters"), "{stderr}");
    for format in ["evtx_json", "okta", "cloudtrail", "syslog", "auditd"] {
        assert!(stderr.contains(format), "summary lists {format}: {stderr}");
    }
    assert!(stderr.contains("Authentication"), "summary lists classes: {stderr}");
    // Piped stderr: no progress bar drawing characters.
    assert!(!stderr.contains('\u{1b}'), "no terminal escapes when piped: {stderr:?}");
}

#[test]
fn rejected_records_go_to_the_dead_letter_file_and_exit_1() {
    let dir = scratch("dead");
    let input = dir.join("mixed.json");
    std::fs::write(&input, "{\"eventType\":\"user.session.start\",\"published\":\"2026-03-02T10:00:00Z\",\"actor\":{\"alternateId\":\"a@b.c\"}}\n{broken\n")
        .expect("input");
    let run = vigil(&["normalize", "mixed.json", "--out", "out.jsonl"], &dir);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let dead =
        std::fs::read_to_string(dir.join("out.jsonl.dead-letters.jsonl")).expect("dead letters written");
    let letter: serde_json::Value =
        serde_json::from_str(dead.lines().next().expect("one letter")).expect("JSON");
    assert_eq!(letter["locator"]["line"]["line"], 2);
    assert_eq!(letter["format"], "okta");
    assert!(letter["reason"].as_str().is_some_and(|r| r.starts_with("invalid JSON")), "{letter}");
    assert_eq!(std::fs::read_to_string(dir.join("out.jsonl")).expect("events").lines().count(), 1);
}

#[test]
fn format_override_and_unknown_format_name() {
    let dir = scratch("override");
    std::fs::write(dir.join("a.txt"), "<38>1 2026-03-02T10:45:00Z host app - - - hello\n").expect("input");
    let run = vigil(&["normalize", "a.txt", "--format", "syslog"], &dir);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let line = String::from_utf8_lossy(&run.stdout);
    assert!(line.contains("\"message\":\"hello\""), "{line}");
    let run = vigil(&["normalize", "a.txt", "--format", "nope"], &dir);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("possible values"));
}

#[test]
fn missing_input_is_an_error_with_exit_2() {
    let dir = scratch("missing");
    let run = vigil(&["normalize", "does-not-exist"], &dir);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("does-not-exist"));
}
