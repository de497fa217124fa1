//! `vigil hunt` on the bundled samples and on hostile input.

use crate::{repo, scratch, vigil};

#[test]
fn hunt_samples_reports_alerts_by_level_rule_host_user_and_exits_0() {
    let dir = scratch("hunt-samples");
    let samples = repo().join("samples");
    let run = vigil(&["hunt", samples.to_str().expect("utf-8")], &dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    for expected in [
        "Office Application Starts Encoded PowerShell",
        "CloudTrail Logging Stopped, Deleted or Narrowed",
        "Okta MFA Factor Removed Or Reset",
        "ws-12.corp.example",
        "level",
        "host",
        "user",
    ] {
        assert!(stdout.contains(expected), "summary lacks {expected:?}:\n{stdout}");
    }
}

#[test]
fn min_level_above_every_alert_exits_1() {
    let dir = scratch("hunt-min-level");
    let samples = repo().join("samples");
    let run = vigil(&["hunt", samples.to_str().expect("utf-8"), "--min-level", "critical"], &dir);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stdout).contains("no alerts"));
}

#[test]
fn json_alerts_carry_the_rule_author_and_licence_and_ocsf_alerts_are_findings() {
    let dir = scratch("hunt-json");
    let samples = repo().join("samples");
    let run = vigil(&["hunt", samples.to_str().expect("utf-8"), "--json"], &dir);
    assert_eq!(run.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let alerts: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "alert").collect();
    let cases: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "case").collect();
    assert_eq!(alerts.len() + cases.len(), lines.len());
    assert!(!alerts.is_empty() && !cases.is_empty());
    assert!(alerts.iter().all(|a| a["rule"]["author"] == "Vigil" && a["rule"]["license"] == "Apache-2.0"));
    let single_record =
        alerts.iter().filter(|a| a.get("correlation").is_none() && a.get("behaviour").is_none());
    assert!(single_record.clone().count() > 0);
    assert!(single_record.into_iter().all(|a| a["event_uid"].as_str().is_some_and(|u| u.len() == 32)));

    let run = vigil(&["hunt", samples.to_str().expect("utf-8"), "--ocsf"], &dir);
    let findings: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(findings.len(), alerts.len());
    assert!(findings.iter().all(|f| f["class_uid"] == 2004 && f["unmapped"]["rule"]["author"] == "Vigil"));
    assert!(findings.iter().any(|f| f["finding_info"]["attacks"][0]["technique"]["uid"] == "T1059.001"));
}

#[test]
fn hostile_log_text_is_escaped_in_the_terminal_summary() {
    let dir = scratch("hunt-hostile");
    let line = "{\"eventVersion\":\"1.09\",\"eventSource\":\"cloudtrail.amazonaws.com\",\"eventName\":\"StopLogging\",\"eventTime\":\"2026-03-02T10:05:00Z\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"198.51.100.7\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"evil\\u001b[2J\\u001b]0;pwned\\u0007\"},\"recipientAccountId\":\"1\"}\n";
    std::fs::write(dir.join("trail.json"), line).expect("input");
    let run = vigil(&["hunt", "trail.json"], &dir);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{7}'), "{stdout:?}");
    assert!(stdout.contains("evil\\u{1b}[2J"), "{stdout}");
}

#[test]
fn rules_directory_adds_rules_and_bad_rules_are_reported_not_fatal() {
    let dir = scratch("hunt-rules");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(
        rules.join("bad.yml"),
        "title: Broken\nlogsource: {product: aws}\ndetection:\n  s: {eventName|nope: x}\n  condition: s\n",
    )
    .expect("rule");
    std::fs::write(rules.join("good.yml"), "title: Any Console Login\nid: 11111111-0000-4000-8000-000000000001\nauthor: Tester\nlevel: low\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {eventName: ConsoleLogin}\n  condition: s\n").expect("rule");
    let samples = repo().join("samples");
    let run = vigil(
        &["hunt", samples.to_str().expect("utf-8"), "--rules", "rules", "--no-builtin", "--show-diagnostics"],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 not loaded"), "{stderr}");
    assert!(stderr.contains("bad.yml") && stderr.contains("nope"), "{stderr}");
    assert!(String::from_utf8_lossy(&run.stdout).contains("Any Console Login"));
}

#[test]
fn correlations_fire_across_files_in_time_order() {
    let dir = scratch("hunt-correlation");
    let line = |event_id: u32, minute: u32| {
        format!(
            "{{\"EventTime\":\"2026-03-02 10:{minute:02}:00\",\"@timestamp\":\"2026-03-02T10:{minute:02}:00.000Z\",\"Hostname\":\"dc-01.corp.example\",\"EventID\":{event_id},\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"Channel\":\"Security\",\"TargetUserName\":\"alice\",\"TargetDomainName\":\"CORP\",\"LogonType\":\"3\",\"IpAddress\":\"198.51.100.7\"}}\n"
        )
    };
    // The success is in a file read before the failures: only time order makes it "after".
    std::fs::write(dir.join("a-success.json"), line(4624, 6)).expect("input");
    let failures: String = (0..5).map(|m| line(4625, m)).collect();
    std::fs::write(dir.join("b-failures.json"), failures).expect("input");
    let run = vigil(&["hunt", "a-success.json", "b-failures.json"], &dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("Brute Force Followed By A Successful Logon"), "{stdout}");
    assert!(!stdout.contains("Windows Failed Logon"), "building blocks are not alerts: {stdout}");
}

fn okta_sign_in(time: &str, user: &str, ip: &str) -> String {
    serde_json::json!({
        "uuid": format!("{user}-{time}"), "published": time, "eventType": "user.session.start",
        "actor": {"type": "User", "alternateId": user}, "client": {"ipAddress": ip},
        "outcome": {"result": "SUCCESS"}, "target": []
    })
    .to_string()
}

#[test]
fn impossible_travel_fires_with_a_geoip_database_and_says_what_it_lacks_without_one() {
    let dir = scratch("hunt-travel");
    let log = dir.join("okta.json");
    let lines = [
        okta_sign_in("2026-03-02T09:00:00Z", "alice@corp.example", "198.51.100.7"),
        okta_sign_in("2026-03-02T10:00:00Z", "alice@corp.example", "203.0.113.20"),
    ];
    std::fs::write(&log, lines.join("\n")).expect("write log");
    let db = repo().join("crates/vigil-detect/fixtures/geo-test.mmdb");
    let run = vigil(
        &["hunt", log.to_str().expect("utf-8"), "--geoip", db.to_str().expect("utf-8"), "--json"],
        &dir,
    );
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|l: &serde_json::Value| l["type"] == "alert")
        .collect();
    let travel = alerts.iter().find(|a| a["rule"]["id"] == "vigil-impossible-travel").expect("travel alert");
    assert_eq!(travel["behaviour"]["group"][0][1], "alice@corp.example");
    assert_eq!(travel["events"].as_array().map(Vec::len), Some(2));
    assert!(travel["behaviour"]["summary"].as_str().is_some_and(|s| s.contains("DE then US")), "{travel}");

    let run = vigil(&["hunt", log.to_str().expect("utf-8")], &dir);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("impossible travel needs a geo-IP database"));
}

#[test]
fn a_configuration_with_a_misspelt_key_is_an_error_naming_it() {
    let dir = scratch("hunt-bad-config");
    let config = dir.join("vigil.yml");
    std::fs::write(&config, "detect:\n  behaviour:\n    mass_file_chnage: {min_files: 5}\n").expect("write");
    let samples = repo().join("samples");
    let run =
        vigil(&["hunt", samples.to_str().expect("utf-8"), "--config", config.to_str().expect("utf-8")], &dir);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("mass_file_chnage"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn the_example_configuration_runs() {
    let dir = scratch("hunt-example-config");
    let samples = repo().join("samples");
    let example = repo().join("vigil.example.yml");
    let run = vigil(
        &["hunt", samples.to_str().expect("utf-8"), "--config", example.to_str().expect("utf-8")],
        &dir,
    );
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
}

#[test]
fn the_html_report_runs_no_script_and_escapes_hostile_alert_fields() {
    let dir = scratch("hunt-report");
    let line = "{\"eventVersion\":\"1.09\",\"eventSource\":\"cloudtrail.amazonaws.com\",\"eventName\":\"StopLogging\",\"eventTime\":\"2026-03-02T10:05:00Z\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"198.51.100.7\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/<script>alert(1)</script>\",\"userName\":\"<script>alert(1)</script>\\u001b[2J\"},\"recipientAccountId\":\"1\"}\n";
    std::fs::write(dir.join("trail.json"), line).expect("input");
    let run = vigil(&["hunt", "trail.json", "--report", "report.html"], &dir);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.to_ascii_lowercase().contains("<script"), "the report holds a script element");
    assert!(!html.contains('\u{1b}'), "a terminal escape reached the report");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the hostile name is shown, escaped");
    assert!(html.contains("<svg"), "the entity graph is drawn");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing is fetched from elsewhere"
    );
    assert!(html.contains("CloudTrail Logging Stopped"), "the alert is listed");
}

#[test]
fn the_case_table_and_case_json_of_the_samples_are_stable() {
    let dir = scratch("hunt-cases");
    let samples = dir.join("samples");
    std::fs::create_dir_all(&samples).expect("dir");
    for entry in std::fs::read_dir(repo().join("samples")).expect("samples") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, samples.join(path.file_name().expect("name"))).expect("copy");
    }
    let run = vigil(&["hunt", "samples"], &dir);
    assert_eq!(run.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let table: String = stdout.split("\nlevel ").next().unwrap_or_default().to_owned();
    insta::assert_snapshot!("sample_case_table", table);

    let run = vigil(&["hunt", "samples", "--json"], &dir);
    let cases: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|l| l["type"] == "case")
        .map(|l| l["case"].clone())
        .collect();
    insta::assert_json_snapshot!("sample_cases", cases);
}

#[test]
fn each_case_gets_a_recommendation_that_cites_its_own_evidence_and_names_missing_context() {
    let dir = scratch("hunt-triage");
    std::fs::write(
        dir.join("assets.yml"),
        "as_of: 2026-03-01T00:00:00Z\nassets:\n  ws-12: {owner: alice, criticality: high, environment: production, exposure: internal}\n",
    )
    .expect("assets");
    std::fs::write(dir.join("vigil.yml"), "triage:\n  assets: assets.yml\n").expect("config");
    let samples = repo().join("samples");
    let run = vigil(&["hunt", samples.to_str().expect("utf-8"), "--json", "--config", "vigil.yml"], &dir);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|l| l["type"] == "case")
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let (case, r) = (&line["case"], &line["recommendation"]);
        let mut evidence: Vec<String> = Vec::new();
        for alert in case["alerts"].as_array().into_iter().flatten() {
            evidence.extend(
                alert["ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i.as_str())
                    .map(|i| format!("alert:{i}")),
            );
            evidence.extend(
                alert["evidence"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["event_uid"].as_str())
                    .map(|u| format!("event:{u}")),
            );
        }
        for cited in r["supporting"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(r["contradicting"].as_array().into_iter().flatten())
        {
            assert!(
                evidence.iter().any(|e| Some(e.as_str()) == cited.as_str()),
                "{cited} is not evidence of case {}",
                case["id"]
            );
        }
        assert_eq!(r["inputs"][0]["input"], "asset inventory");
        assert_eq!(r["inputs"][0]["present"], true);
        assert_eq!(r["inputs"][1]["present"], false, "no identity inventory was given");
    }
    let ws12 = lines
        .iter()
        .find(|l| l["case"]["title"].as_str().is_some_and(|t| t.contains("ws-12")))
        .expect("the ws-12 case");
    let unknowns: Vec<&str> = ws12["recommendation"]["unknowns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str())
        .collect();
    assert!(unknowns.iter().any(|u| u.contains("identity inventory")), "{unknowns:?}");
    assert!(!unknowns.iter().any(|u| u.contains("asset inventory")), "{unknowns:?}");
    let plan = &ws12["recommendation"]["playbook"];
    assert!(plan["steps"].as_array().is_some_and(|s| !s.is_empty()), "{plan}");
}

#[test]
fn asking_a_case_answers_from_its_evidence_or_says_i_dont_know() {
    let dir = scratch("hunt-ask");
    let samples = repo().join("samples");
    let run = vigil(&["hunt", samples.to_str().expect("utf-8"), "--json", "--out", "hunt.jsonl"], &dir);
    assert_eq!(run.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("hunt.jsonl")).expect("hunt written");
    let case = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .find(|l| l["type"] == "case" && l["case"]["title"].as_str().is_some_and(|t| t.contains("ws-12")))
        .expect("the ws-12 case");
    let id = case["case"]["id"].as_str().expect("id")[..8].to_owned();
    let run = vigil(&["ask", "--cases", "hunt.jsonl", "--case", &id, "Which service was installed?"], &dir);
    let answer = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{answer}{}", String::from_utf8_lossy(&run.stderr));
    assert!(answer.contains("[alert:") || answer.contains("[event:"), "{answer}");
    let run = vigil(&["ask", "--cases", "hunt.jsonl", "--case", &id, "Was data sent to dropbox?"], &dir);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("I don't know"));
}

#[test]
fn hunt_into_a_closed_pipe_ends_quietly_with_status_0() {
    let dir = scratch("hunt-closed-pipe");
    let samples = repo().join("samples");
    for extra in [&["--json"][..], &[][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["hunt", samples.to_str().expect("utf-8")])
            .args(extra)
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("vigil runs");
        // The reader is gone before the first line is written, as `| head -1` is after one.
        drop(child.stdout.take());
        let run = child.wait_with_output().expect("vigil ends");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{extra:?}: {stderr}");
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{extra:?}: {stderr}");
    }
}
