//! `vigil policy` as a lead runs it: the shipped policy explained row by row of the table it
//! implements, a broken policy refused with its line, and policy tests that pass and fail.

use std::path::Path;

use crate::{scratch, vigil};

fn explain(args: &[&str], cwd: &Path) -> String {
    let mut all = vec!["policy", "explain", "default"];
    all.extend_from_slice(args);
    let run = vigil(&all, cwd);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stdout).into_owned()
}

#[test]
fn explain_on_the_default_policy_prints_the_tier_of_each_row_of_the_table() {
    let dir = scratch("policy-explain");
    let rows: &[(&[&str], &str, &str)] = &[
        (&["--action", "enrich"], ": automatic", "read-and-record"),
        (&["--action", "summarize_case"], ": automatic", "read-and-record"),
        (&["--action", "open_ticket"], ": automatic", "read-and-record"),
        (&["--action", "snapshot_evidence"], ": automatic", "read-and-record"),
        (&["--action", "revoke_vigil_token", "--target", "user alice"], ": one person", "token-revocation"),
        (
            &[
                "--action",
                "revoke_sessions",
                "--target",
                "user alice",
                "--severity",
                "critical",
                "--fact",
                "token_seen_from_ioc",
            ],
            ": automatic",
            "emergency-token-revocation (pre-approved emergency rule)",
        ),
        (&["--action", "isolate_host", "--target", "host ws-12"], ": one person", "host-isolation"),
        (
            &[
                "--action",
                "deactivate_access_key",
                "--target",
                "access_key AKIA1",
                "--environment",
                "production",
            ],
            ": two people",
            "cloud-containment-in-production",
        ),
        (&["--action", "reimage_host", "--target", "host ws-12"], ": two people", "irreversible"),
        (&["--action", "delete_resource"], ": forbidden", "no-deletion"),
    ];
    for (args, tier, rule) in rows {
        let out = explain(args, &dir);
        let first = out.lines().next().unwrap_or_default();
        assert!(first.contains(tier), "{args:?}: {out}");
        assert!(out.contains(&format!("rule:   {rule}")), "{args:?}: {out}");
        assert!(out.contains("request sha256"), "{out}");
    }
}

#[test]
fn explain_reads_the_target_from_the_asset_inventory() {
    let dir = scratch("policy-inventory");
    std::fs::write(
        dir.join("assets.yml"),
        "as_of: 2026-11-30T00:00:00Z\nassets:\n  dc-01: {criticality: critical, environment: production, tags: [crown_jewel]}\n  lab-7: {environment: lab}\n",
    )
    .expect("assets");
    std::fs::write(dir.join("vigil.yml"), "triage:\n  assets: assets.yml\n").expect("config");
    let jewel = explain(
        &["--action", "isolate_host", "--target", "host dc-01.corp.example", "--config", "vigil.yml"],
        &dir,
    );
    assert!(jewel.lines().next().is_some_and(|l| l.contains("two people")), "{jewel}");
    assert!(jewel.contains("rule:   crown-jewel") && jewel.contains("tags crown_jewel"), "{jewel}");
    let lab = explain(
        &["--action", "deactivate_access_key", "--target", "access_key AKIA1", "--config", "vigil.yml"],
        &dir,
    );
    assert!(lab.contains("environment unknown (rules treat it as production)"), "no inventory entry: {lab}");
}

#[test]
fn lint_names_the_line_of_each_error_and_exits_1() {
    let dir = scratch("policy-lint");
    std::fs::write(
        dir.join("site.yml"),
        "version: 1\nname: site\nrules:\n  - name: fast\n    when: {action: [isolate_host]}\n    decide: {approvals: 1, roles: [auditor]}\n",
    )
    .expect("policy");
    let run = vigil(&["policy", "lint", "site.yml"], &dir);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("site.yml:6:") && stderr.contains("\"auditor\" cannot approve"), "{stderr}");
    let ok = vigil(&["policy", "lint", "default"], &dir);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("12 rules, valid"));
}

#[test]
fn policy_test_runs_the_tests_beside_the_policy_and_fails_on_a_wrong_expectation() {
    let dir = scratch("policy-test");
    let written = vigil(&["policy", "default"], &dir);
    std::fs::write(dir.join("site.yml"), &written.stdout).expect("policy");
    std::fs::write(
        dir.join("site.test.yml"),
        "tests:\n  - name: isolation is one person\n    request: {action: isolate_host, target: host ws-12}\n    expect: {approvals: 1}\n  - name: wrongly automatic\n    request: {action: disable_account, target: user bob}\n    expect: automatic\n",
    )
    .expect("tests");
    let run = vigil(&["policy", "test", "site.yml"], &dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok    isolation is one person"), "{stdout}");
    assert!(
        stdout.contains("FAIL  wrongly automatic: wanted Automatic, the policy decided one person"),
        "{stdout}"
    );
    assert!(stdout.contains("2 tests, 1 passed, 1 failed"), "{stdout}");
    let shipped = vigil(&["policy", "test", "default"], &dir);
    assert_eq!(shipped.status.code(), Some(0), "{}", String::from_utf8_lossy(&shipped.stdout));
}

/// The site's policy read again on reload: a changed policy decides the next request; one that
/// does not lint is refused and the one in force stays.
#[test]
fn a_reload_puts_the_policy_on_disk_in_force_and_a_broken_one_changes_nothing() {
    use serde_json::json;

    use crate::server::{Serve, admin_session, call};

    let dir = scratch("policy-reload");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    crate::crash_actions::seed_case(&data);
    let policy = dir.join("site-policy.yml");
    std::fs::write(&policy, vigil_policy::DEFAULT_POLICY).expect("policy");
    let config = dir.join("vigil.yml");
    std::fs::write(&config, "respond:\n  policy: site-policy.yml\n").expect("config");
    let serve = Serve::start(&data, Some(&config));
    let admin = admin_session(&serve, serve.admin_password.as_deref().expect("password"));
    let session = [("Cookie", admin.0.as_str()), ("X-CSRF-Token", admin.1.as_str())];
    let reload =
        || call("POST", &format!("{}/api/v1/rules/reload", serve.url), &session, Some(b"")).expect("reload");
    let propose = |host: &str| {
        let body = json!({"action": "isolate_host", "target": format!("host {host}")}).to_string();
        call("POST", &format!("{}/api/v1/cases/c1/actions", serve.url), &session, Some(body.as_bytes()))
            .expect("propose")
            .1
    };
    assert_eq!(propose("ws-1")["decision"]["rule"], "host-isolation");

    let stricter = vigil_policy::DEFAULT_POLICY.replace(
        "when: {category: [host_isolation]}\n    decide: {approvals: 1, roles: [responder, lead, admin]}",
        "when: {category: [host_isolation]}\n    decide: forbidden",
    );
    std::fs::write(&policy, &stricter).expect("policy");
    let (status, reloaded) = reload();
    assert_eq!(status, 200, "{reloaded}");
    assert_eq!(reloaded["policy_sha256"], vigil_policy::Policy::parse(&stricter).expect("parses").sha256);
    assert_eq!(propose("ws-2")["status"], "forbidden", "the reloaded policy decides");

    std::fs::write(&policy, "version: 1\nrules: [").expect("policy");
    let (status, refused) = reload();
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("site-policy.yml")), "{refused}");
    assert_eq!(propose("ws-3")["status"], "forbidden", "the policy in force stays");
}
