//! The scenario through the real binary: events over HTTP and syslog (UDP and TCP), the
//! expected cases through the API, an analyst's change audited, the trail verified offline, and
//! the analyst's verdict read back as history by a hunt.

use std::io::Write;

use serde_json::{Value, json};

use crate::server::{Serve, admin_session, call, ingest_token};
use crate::{repo, scratch, vigil};

#[test]
fn a_scenario_over_http_and_syslog_becomes_cases_in_the_api() {
    let dir = scratch("e2e");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let config = dir.join("vigil.yml");
    std::fs::write(&config, "serve:\n  syslog_udp: 127.0.0.1:0\n  syslog_tcp: 127.0.0.1:0\n")
        .expect("config");
    let serve = Serve::start(&data, Some(&config));
    let token = ingest_token(&serve);
    let bearer = format!("Bearer {token}");

    let mut stored = 0;
    for file in ["windows-lateral-movement.json", "cloudtrail.json"] {
        let body = std::fs::read(repo().join("samples").join(file)).expect("sample");
        let (status, answer) =
            call("POST", &format!("{}/api/v1/ingest", serve.url), &[("Authorization", &bearer)], Some(&body))
                .expect("ingest");
        assert_eq!(status, 200, "{answer}");
        assert!(answer["rejected"].as_array().is_some_and(Vec::is_empty), "{answer}");
        stored += answer["stored"].as_i64().expect("stored");
    }
    let syslog = std::fs::read_to_string(repo().join("samples/syslog.log")).expect("sample");
    let lines: Vec<&str> = syslog.lines().filter(|l| !l.is_empty()).collect();
    // Two messages over TCP with octet counting, one over UDP.
    let mut tcp = std::net::TcpStream::connect(serve.syslog_tcp.as_deref().expect("tcp")).expect("connect");
    for line in &lines[..2] {
        write!(tcp, "{} {line}", line.len()).expect("send");
    }
    drop(tcp);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    udp.send_to(lines[2].as_bytes(), serve.syslog_udp.as_deref().expect("udp")).expect("send");

    let expected = stored + lines.len() as i64;
    let (status, progress) = call(
        "GET",
        &format!("{}/api/v1/status?settled_at={expected}", serve.url),
        &[("Authorization", &bearer)],
        None,
    )
    .expect("status");
    assert_eq!((status, &progress["settled"]), (200, &json!(true)), "{progress}");

    let password = serve.admin_password.clone().expect("admin password");
    let (cookie, csrf) = admin_session(&serve, &password);
    let session = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let (_, cases) = call("GET", &format!("{}/api/v1/cases", serve.url), &session, None).expect("cases");
    let cases = cases["cases"].as_array().expect("case list").clone();
    let titled =
        |text: &str| cases.iter().find(|c| c["title"].as_str().is_some_and(|t| t.contains(text))).cloned();
    let lateral =
        titled("Brute Force Followed By A Successful Logon").expect("the ws-12 intrusion is a case");
    let probe = titled("SSH Login Attempt For A User That Does Not Exist").expect("the syslog case");
    titled("CloudTrail Logging Stopped").expect("the cloud case");
    assert_eq!(lateral["state"], "recommended");

    let id = lateral["id"].as_str().expect("id");
    let (_, detail) =
        call("GET", &format!("{}/api/v1/cases/{id}", serve.url), &session, None).expect("detail");
    assert_eq!(detail["alerts"].as_array().map(Vec::len), Some(3), "{detail}");
    assert!(detail["recommendation"]["body"]["supporting"].as_array().is_some_and(|s| !s.is_empty()));
    let (_, graph) =
        call("GET", &format!("{}/api/v1/cases/{id}/graph", serve.url), &session, None).expect("graph");
    assert!(graph["nodes"].as_array().is_some_and(|n| n.iter().any(|n| n["id"] == "host:ws-12")), "{graph}");

    let transition = |id: &str, to: &str, reason: &str| {
        let body = json!({"to": to, "reason": reason}).to_string();
        let url = format!("{}/api/v1/cases/{id}/transition", serve.url);
        let (status, moved) = call("POST", &url, &session, Some(body.as_bytes())).expect("transition");
        assert_eq!(status, 200, "{moved}");
    };
    transition(id, "resolved", "contained: ws-12 reimaged");
    transition(probe["id"].as_str().expect("id"), "false_positive", "our vulnerability scanner");
    let (_, judged) =
        call("GET", &format!("{}/api/v1/verdicts?case={id}", serve.url), &session, None).expect("verdicts");
    let rows = judged["verdicts"].as_array().expect("verdict list");
    assert!(
        rows.iter().any(|v| v["entity"] == "host ws-12")
            && rows.iter().all(|v| v["verdict"] == "malicious" && v["actor"] == "admin"),
        "{judged}"
    );
    let (_, rules) = call("GET", &format!("{}/api/v1/rules", serve.url), &session, None).expect("rules");
    let listed = rules["rules"].as_array().expect("rule list");
    assert_eq!(rules["count"].as_u64(), Some(listed.len() as u64));
    assert!(listed.iter().any(|r| r["title"] == "Okta MFA Factor Removed Or Reset"), "{rules}");
    let (status, reloaded) =
        call("POST", &format!("{}/api/v1/rules/reload", serve.url), &session, None).expect("reload");
    assert_eq!((status, &reloaded["reloaded"]), (200, &json!(true)), "{reloaded}");
    let (_, audit) =
        call("GET", &format!("{}/api/v1/audit?limit=5000", serve.url), &session, None).expect("audit");
    let records = audit["records"].as_array().expect("records");
    assert!(records.iter().any(|r| r["action"] == "case.transition"
        && r["actor"] == "admin"
        && r["target"] == format!("case:{id}")));
    assert!(
        records.iter().any(|r| r["action"] == "case.verdict"
            && r["detail"].as_str().is_some_and(|d| d.contains(r#""verdict":"malicious""#))),
        "resolving the case is a verdict, audited with it"
    );
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "rules.reload"
                && r["outcome"].as_str().is_some_and(|o| o.starts_with("ok")))
    );
    // A service manager's stop (SIGTERM) ends the server cleanly.
    let mut serve = serve;
    let pid = serve.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    let status = serve.child.wait().expect("the server exits");
    assert!(status.success(), "{status}");
    drop(serve);

    let verified = vigil(&["verify", data.to_str().expect("utf-8")], &dir);
    let out = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{out}");
    assert!(out.starts_with("audit trail intact"), "{out}");

    // The export verifies anywhere, against the key the server published.
    let export = dir.join("audit.ndjson");
    let exported = vigil(
        &["export", "audit", data.to_str().expect("utf-8"), "--out", export.to_str().expect("utf-8")],
        &dir,
    );
    assert_eq!(exported.status.code(), Some(0), "{}", String::from_utf8_lossy(&exported.stderr));
    let key = data.join("audit-signing.pub");
    let checked =
        vigil(&["verify", export.to_str().expect("utf-8"), "--key", key.to_str().expect("utf-8")], &dir);
    assert_eq!(checked.status.code(), Some(0), "{}", String::from_utf8_lossy(&checked.stdout));

    // The verdict is history a hunt reads: the same intrusion again counts as judged malicious.
    let verdicts = dir.join("verdicts.yml");
    let exported = vigil(
        &["export", "verdicts", data.to_str().expect("utf-8"), "--out", verdicts.to_str().expect("utf-8")],
        &dir,
    );
    assert_eq!(exported.status.code(), Some(0), "{}", String::from_utf8_lossy(&exported.stderr));
    let file: Value = serde_json::from_slice(&std::fs::read(&verdicts).expect("read")).expect("JSON");
    assert!(
        file["verdicts"].as_array().is_some_and(|v| v
            .iter()
            .any(|v| v["entity"] == "host ws-12" && v["verdict"] == "malicious" && v["case"] == id)),
        "{file}"
    );
    std::fs::write(dir.join("vigil.yml"), "triage:\n  history: verdicts.yml\n").expect("config");
    let sample = repo().join("samples/windows-lateral-movement.json");
    let hunt = vigil(&["hunt", sample.to_str().expect("utf-8"), "--json", "--config", "vigil.yml"], &dir);
    let judged = String::from_utf8_lossy(&hunt.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["type"] == "case")
        .filter_map(|l| {
            l["recommendation"]["contributions"].as_array().and_then(|c| {
                c.iter().find(|c| c["feature"] == "prior_malicious").map(|c| c["value"].clone())
            })
        })
        .any(|v| v == 1.0);
    assert!(judged, "{}", String::from_utf8_lossy(&hunt.stderr));

    // And the verdicts are labelled data: a model trains on them alone.
    let trained = vigil(&["train", "--verdicts", data.to_str().expect("utf-8"), "--out", "model.json"], &dir);
    assert_eq!(trained.status.code(), Some(0), "{}", String::from_utf8_lossy(&trained.stderr));
    let model: Value =
        serde_json::from_slice(&std::fs::read(dir.join("model.json")).expect("model")).expect("JSON");
    assert_eq!((&model["provenance"]["malicious"], &model["provenance"]["benign"]), (&json!(1), &json!(1)));
    assert!(model["provenance"]["data"][0].as_str().is_some_and(|d| d.starts_with("analyst verdicts in")));
}

/// Each case as the sorted ids of its alerts, sorted: what a case holds, whatever its id.
fn case_sets(cases: impl IntoIterator<Item = Vec<String>>) -> Vec<Vec<String>> {
    let mut sets: Vec<Vec<String>> = cases
        .into_iter()
        .filter(|ids| !ids.is_empty())
        .map(|mut ids| {
            ids.sort();
            ids
        })
        .collect();
    sets.sort();
    sets
}

#[test]
fn hunt_and_serve_build_the_same_cases_even_across_a_restart() {
    let files = ["windows-lateral-movement.json", "cloudtrail.json", "okta-system-log.json"];
    let paths: Vec<String> =
        files.iter().map(|f| repo().join("samples").join(f).display().to_string()).collect();
    let dir = scratch("hunt-vs-serve");
    let mut args = vec!["hunt", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let hunt = crate::vigil(&args, &dir);
    assert_eq!(hunt.status.code(), Some(0), "{}", String::from_utf8_lossy(&hunt.stderr));
    let hunted = case_sets(String::from_utf8_lossy(&hunt.stdout).lines().filter_map(|line| {
        let line: Value = serde_json::from_str(line).ok()?;
        (line["type"] == "case").then(|| {
            line["case"]["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|a| a["ids"].as_array().cloned().unwrap_or_default())
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect()
        })
    }));
    assert!(hunted.len() >= 3, "{hunted:?}");

    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let mut serve = Serve::start(&data, None);
    let password = serve.admin_password.clone().expect("admin password");
    let token = ingest_token(&serve);
    let bearer = format!("Bearer {token}");
    let mut stored = 0;
    let mut send = |serve: &Serve, body: Vec<u8>| {
        let url = format!("{}/api/v1/ingest", serve.url);
        let (status, answer) =
            call("POST", &url, &[("Authorization", &bearer)], Some(&body)).expect("ingest");
        assert_eq!(status, 200, "{answer}");
        stored += answer["stored"].as_i64().expect("stored");
        let url = format!("{}/api/v1/status?settled_at={stored}", serve.url);
        let (_, progress) = call("GET", &url, &[("Authorization", &bearer)], None).expect("status");
        assert_eq!(progress["settled"], json!(true), "{progress}");
    };
    // The server dies in the middle of the scenario (between the failed logons of a burst) and
    // starts again on the same data.
    let windows = std::fs::read_to_string(repo().join("samples").join(files[0])).expect("sample");
    let lines: Vec<&str> = windows.lines().filter(|l| !l.trim().is_empty()).collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    send(&serve, first.join("\n").into_bytes());
    serve.kill();
    let serve = Serve::start(&data, None);
    send(&serve, second.join("\n").into_bytes());
    for file in &files[1..] {
        send(&serve, std::fs::read(repo().join("samples").join(file)).expect("sample"));
    }
    let (cookie, csrf) = admin_session(&serve, &password);
    let session = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let (_, cases) = call("GET", &format!("{}/api/v1/cases", serve.url), &session, None).expect("cases");
    let served = case_sets(cases["cases"].as_array().expect("case list").iter().map(|case| {
        let id = case["id"].as_str().expect("id");
        let (_, detail) =
            call("GET", &format!("{}/api/v1/cases/{id}", serve.url), &session, None).expect("detail");
        detail["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect::<Vec<String>>()
    }));
    assert_eq!(served, hunted);
}
