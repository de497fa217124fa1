//! The learning loop's other proposals through the running server: a case judged malicious
//! whose intruder was busy before the first alert files a draft detection of what came
//! earlier, and its response, which departed from the playbook (a block the playbook lacks, a
//! step the responder refused), files a playbook edit. Accepting each writes it, commits it to
//! the folder's git repository, and reloads: the draft then raises an alert on someone else's
//! same call, and the playbook in force is the new version.

use std::process::Command;

use serde_json::{Value, json};

use crate::learning::{Api, ingest};
use crate::scratch;
use crate::server::{Serve, admin_session, call, ingest_token};

/// A CloudTrail record of `name` on `source` by `user` from `ip` at `time`.
fn call_by(user: &str, source: &str, name: &str, ip: &str, time: &str, id: u32) -> String {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{}", user.to_uppercase()),
                         "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333",
                         "userName": user, "accessKeyId": format!("AKIA{}", user.to_uppercase())},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
        "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0",
        "eventID": format!("9d2f0e61-0000-4000-8000-{id:012}"), "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
    .to_string()
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn task_of<'a>(tasks: &'a Value, kind: &str) -> &'a Value {
    tasks["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} task: {tasks}"))
}

#[test]
fn a_late_detected_intrusion_drafts_a_detection_and_its_response_edits_the_playbook() {
    let dir = scratch("learning-drafts");
    let _ = std::fs::remove_dir_all(&dir);
    for folder in ["rules", "playbooks"] {
        std::fs::create_dir_all(dir.join(folder)).expect("folder");
    }
    git(&dir, &["init", "--quiet"]);
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        "serve:\n  rules: [rules]\ntriage:\n  playbooks: [playbooks]\n\
         learning:\n  replay_days: 3650\n  lookback_hours: 48\n  git: true\n",
    )
    .expect("config");
    let serve = Serve::start(&dir.join("data"), Some(&config));
    let token = ingest_token(&serve);
    let password = serve.admin_password.clone().expect("admin password");
    let (cookie, csrf) = admin_session(&serve, &password);
    let admin =
        Api { url: &serve.url, headers: vec![("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())] };
    let mut stored = 0;

    // Mallory looks around for an hour (nothing alerts), then stops the trail (an alert).
    let ip = "203.0.113.66";
    ingest(
        &serve,
        &token,
        &[
            call_by("mallory", "sts.amazonaws.com", "GetCallerIdentity", ip, "2026-11-30T09:00:00Z", 1),
            call_by(
                "mallory",
                "iam.amazonaws.com",
                "ListAttachedUserPolicies",
                ip,
                "2026-11-30T09:05:00Z",
                2,
            ),
            call_by("mallory", "cloudtrail.amazonaws.com", "StopLogging", ip, "2026-11-30T10:00:00Z", 3),
        ],
        &mut stored,
    );
    let case = admin.case_titled("mallory");

    // The response: a responder refuses the playbook's session revocation and approves a
    // block of the address, which the executor runs and verifies.
    let ana = json!({"name": "ana", "role": "responder", "password": "a long enough passphrase"});
    let (status, made) = admin.post("/api/v1/users", &ana);
    assert_eq!(status, 200, "{made}");
    let scopes = json!({"owner": "ana", "scopes": ["case_read", "action_approve"], "expires_in_days": 1});
    let (status, ana_token) = admin.post("/api/v1/tokens", &scopes);
    assert_eq!(status, 200, "{ana_token}");
    let bearer = format!("Bearer {}", ana_token["token"].as_str().expect("token"));
    let responder = Api { url: &serve.url, headers: vec![("Authorization", bearer.as_str())] };
    let answer = |request: &Value, verb: &str, why: &str| {
        let id = request["id"].as_str().expect("request id");
        let body = json!({"request_sha256": request["request_sha256"], "rationale": why});
        let (status, answered) = responder.post(&format!("/api/v1/actions/{id}/{verb}"), &body);
        assert_eq!(status, 200, "{answered}");
    };
    let requests = admin.get("/api/v1/actions?status=awaiting_approval");
    let revoke = requests["actions"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|r| {
                r["request"]["action"] == "revoke_role_sessions" && r["request"]["case"] == case.as_str()
            })
        })
        .unwrap_or_else(|| panic!("the playbook proposed no session revocation: {requests}"))
        .clone();
    answer(&revoke, "reject", "the role is shared by the build fleet; revoking it stops every deploy");
    let (status, block) = admin.post(
        &format!("/api/v1/cases/{case}/actions"),
        &json!({"action": "block_indicator", "target": format!("ip {ip}")}),
    );
    assert_eq!(status, 200, "{block}");
    answer(&block, "approve", "the address is a VPS, not ours");
    let block_id = block["id"].as_str().expect("block id");
    let (status, queued) = admin.post(&format!("/api/v1/actions/{block_id}/execute"), &json!({}));
    assert_eq!(status, 202, "{queued}");
    let run = loop {
        let run = admin.get(&format!("/api/v1/actions/{block_id}/run"));
        if run["run"]["status"] != "queued" && run["run"]["status"] != "running" {
            break run;
        }
    };
    assert_eq!(run["run"]["status"], "succeeded", "{run}");

    let (status, moved) = admin.post(
        &format!("/api/v1/cases/{case}/transition"),
        &json!({"to": "resolved", "reason": "trail back on"}),
    );
    assert_eq!(status, 200, "{moved}");
    let tasks = admin.get(&format!("/api/v1/cases/{case}/learning"));

    // The draft: both calls before the first alert, keyed on what was called, not on who.
    let draft = task_of(&tasks, "detection");
    let text = draft["artefact"].as_str().expect("draft text");
    for called in ["GetCallerIdentity", "ListAttachedUserPolicies"] {
        assert!(text.contains(called), "{text}");
    }
    assert!(!text.contains("mallory") && !text.contains(ip), "who and where are never in a draft: {text}");
    assert_eq!(draft["replay"]["early_events"].as_array().map(Vec::len), Some(2), "{draft}");
    assert_eq!(draft["replay"]["added"]["this_case"], 2, "{draft}");
    assert_eq!(draft["replay"]["added"]["elsewhere"], 0, "{draft}");

    // The playbook edit: the block added, the refused revocation taken out, one version up.
    let edit = task_of(&tasks, "runbook");
    assert_eq!(edit["replay"]["playbook"], "cloud-credential-abuse", "{edit}");
    assert_eq!(
        (edit["replay"]["from_version"].as_u64(), edit["replay"]["to_version"].as_u64()),
        (Some(1), Some(2))
    );
    let diff = edit["replay"]["diff"].as_str().expect("diff");
    assert!(diff.lines().any(|l| l.starts_with('+') && l.contains("block_indicator")), "{diff}");
    assert!(diff.lines().any(|l| l.starts_with('-') && l.contains("revoke_role_sessions")), "{diff}");
    let why = edit["replay"]["removed_steps"][0]["why"].as_str().unwrap_or_default();
    assert!(why.contains("rejected by ana") && why.contains("build fleet"), "{edit}");
    assert!(
        tasks["tasks"].as_array().is_some_and(|t| t.iter().any(|t| t["kind"] == "regression")),
        "{tasks}"
    );

    // Accepting the draft writes it, commits it with the reviewer as author, and reloads.
    let draft_id = draft["id"].as_str().expect("task id");
    let accept = json!({"decision": "accept", "rationale": "discovery calls from outside the office"});
    let (status, decided) = admin.post(&format!("/api/v1/learning/{draft_id}/decision"), &accept);
    assert_eq!(status, 200, "{decided}");
    assert!(decided["rules_loaded"].as_u64().is_some_and(|n| n > 0), "{decided}");
    let written = decided["written"].as_str().expect("written");
    assert!(written.contains("git commit"), "{written}");
    let log = git(&dir, &["log", "--format=%an|%s|%b", "-n", "1"]);
    assert!(log.starts_with("admin|Vigil learning: accept detection"), "{log}");
    assert!(log.contains(draft_id) && log.contains("discovery calls from outside the office"), "{log}");

    // Someone else making the same call now raises the draft's alert.
    ingest(
        &serve,
        &token,
        &[call_by(
            "eve",
            "sts.amazonaws.com",
            "GetCallerIdentity",
            "198.51.100.4",
            "2026-12-01T08:00:00Z",
            4,
        )],
        &mut stored,
    );
    let rule_id = draft["rule_id"].as_str().expect("draft rule id");
    let alerts = admin.get("/api/v1/alerts?limit=500");
    let caught = alerts["alerts"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["rule_id"] == rule_id && x.to_string().contains("eve")));
    assert!(caught, "the accepted draft raised no alert on eve's call: {alerts}");

    // Accepting the edit writes the playbook, commits it, and the reload puts version 2 in force.
    let edit_id = edit["id"].as_str().expect("task id");
    let accept = json!({"decision": "accept", "rationale": "blocking the source is what we always do here"});
    let (status, decided) = admin.post(&format!("/api/v1/learning/{edit_id}/decision"), &accept);
    assert_eq!(status, 200, "{decided}");
    let written =
        std::fs::read_to_string(dir.join("playbooks/cloud-credential-abuse.yml")).expect("playbook written");
    assert!(written.contains("version: 2") && written.contains("block_indicator"), "{written}");
    assert!(!written.contains("revoke_role_sessions"), "{written}");
    assert_eq!(git(&dir, &["rev-list", "--count", "HEAD"]).trim(), "2");
    // A stale edit of the same playbook (filed against version 1) is now refused.
    let (status, refused) = admin.post(&format!("/api/v1/learning/{edit_id}/decision"), &accept);
    assert_ne!(status, 200, "{refused}");

    // The audit trail: filed, decided, written (rule and playbook), reloaded.
    let (_, audit) =
        call("GET", &format!("{}/api/v1/audit?limit=500", serve.url), &admin.headers, None).expect("audit");
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["action"].as_str()).collect())
        .unwrap_or_default();
    for action in ["learning.propose", "learning.decide", "rules.write", "playbooks.write", "rules.reload"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}
