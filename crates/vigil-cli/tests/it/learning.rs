//! The learning loop through the running server: a case closed as false positive files a
//! tuning proposal with its replay; a detection engineer's acceptance writes the filter to the
//! rules folder and reloads the engine; the same activity ingested again raises no alert while
//! someone else's still does; the case becomes `learned`; the audit trail holds each step.

use serde_json::{Value, json};

use crate::scratch;
use crate::server::{Serve, admin_session, call, ingest_token};

/// The built-in rule `Interactive Session Started Through Systems Manager` (low).
const SSM_SESSION: &str = "6f0d3a1e-5b7c-4c1e-9a51-7a1c0e3b9d18";

/// An SSM session start by `user` from `ip`.
fn session(user: &str, ip: &str, minute: u32, id: u32) -> String {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{}", user.to_uppercase()),
                         "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333", "userName": user},
        "eventTime": format!("2026-11-30T10:{minute:02}:00Z"),
        "eventSource": "ssm.amazonaws.com", "eventName": "StartSession", "awsRegion": "eu-west-1",
        "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"target": "i-0abc1234def567890"},
        "eventID": format!("7c1e0d52-0000-4000-8000-{id:012}"), "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
    .to_string()
}

pub struct Api<'a> {
    pub url: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
}

impl Api<'_> {
    pub fn get(&self, path: &str) -> Value {
        let (status, body) = call("GET", &format!("{}{path}", self.url), &self.headers, None).expect("GET");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The id of the open queue's case whose title holds `words`.
    pub fn case_titled(&self, words: &str) -> String {
        let cases = self.get("/api/v1/cases");
        cases["cases"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["title"].as_str().is_some_and(|t| t.contains(words))))
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("no case titled {words}: {cases}"))
            .to_owned()
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let text = body.to_string();
        call("POST", &format!("{}{path}", self.url), &self.headers, Some(text.as_bytes())).expect("POST")
    }
}

pub fn ingest(serve: &Serve, token: &str, lines: &[String], stored_so_far: &mut i64) {
    let bearer = format!("Bearer {token}");
    let sender = Api { url: &serve.url, headers: vec![("Authorization", bearer.as_str())] };
    let body = lines.join("\n");
    let (status, receipt) = call(
        "POST",
        &format!("{}/api/v1/ingest?format=cloudtrail", serve.url),
        &sender.headers,
        Some(body.as_bytes()),
    )
    .expect("ingest");
    assert_eq!(status, 200, "{receipt}");
    *stored_so_far += receipt["stored"].as_i64().unwrap_or_default();
    let settled = sender.get(&format!("/api/v1/status?settled_at={stored_so_far}"));
    assert_eq!(settled["settled"], true, "{settled}");
}

fn alerts_by(api: &Api<'_>, user: &str) -> usize {
    let alerts = api.get("/api/v1/alerts?limit=500");
    alerts["alerts"]
        .as_array()
        .map(|a| a.iter().filter(|x| x["rule_id"] == SSM_SESSION && x.to_string().contains(user)).count())
        .unwrap_or(0)
}

#[test]
fn a_false_positive_becomes_a_reviewed_filter_and_the_same_activity_no_longer_alerts() {
    let dir = scratch("learning");
    let _ = std::fs::remove_dir_all(&dir);
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules folder");
    let config = dir.join("vigil.yml");
    std::fs::write(&config, "serve:\n  rules: [rules]\nlearning:\n  replay_days: 3650\n").expect("config");
    let serve = Serve::start(&dir.join("data"), Some(&config));
    let token = ingest_token(&serve);
    let password = serve.admin_password.clone().expect("admin password");
    let (cookie, csrf) = admin_session(&serve, &password);
    let api =
        Api { url: &serve.url, headers: vec![("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())] };
    let mut stored = 0;

    // A month earlier an intruder stopped the trail from the address the bastion uses (a NAT):
    // judged malicious, that address is never excluded by a filter.
    let stop = json!({
        "eventVersion": "1.09", "eventTime": "2026-10-30T03:00:00Z",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/intruder", "userName": "intruder"},
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "eu-west-1",
        "sourceIPAddress": "10.20.0.5", "eventID": "7c1e0d52-0000-4000-8000-0000000000aa",
        "recipientAccountId": "111122223333"
    });
    ingest(&serve, &token, &[stop.to_string()], &mut stored);
    let intrusion = api.case_titled("intruder");
    let resolve = json!({"to": "resolved", "reason": "stolen keys; rotated"});
    let (status, moved) = api.post(&format!("/api/v1/cases/{intrusion}/transition"), &resolve);
    assert_eq!(status, 200, "{moved}");

    // The bastion's automation opens sessions every morning: two alerts, one case.
    ingest(
        &serve,
        &token,
        &[session("ops-bastion", "10.20.0.5", 1, 1), session("ops-bastion", "10.20.0.5", 7, 2)],
        &mut stored,
    );
    assert_eq!(alerts_by(&api, "ops-bastion"), 2);
    let case = api.case_titled("Systems Manager");

    let close = json!({"to": "false_positive", "reason": "the bastion's scheduled maintenance sessions"});
    let (status, moved) = api.post(&format!("/api/v1/cases/{case}/transition"), &close);
    assert_eq!(status, 200, "{moved}");

    // The closing filed a tuning proposal, replayed against the rule's stored alerts.
    let tasks = api.get(&format!("/api/v1/cases/{case}/learning"));
    let task = tasks["tasks"].as_array().and_then(|t| t.first()).cloned().expect("a learning task");
    assert_eq!(task["kind"], "tuning", "{task}");
    assert_eq!(task["status"], "proposed");
    assert_eq!(task["replay"]["removed"]["benign"], 2, "{task}");
    assert_eq!(task["replay"]["removed"]["malicious"], 0);
    assert_eq!(task["hides_malicious"], false);
    let artefact = task["artefact"].as_str().expect("artefact");
    assert!(
        artefact.contains("condition: not selection") && !artefact.contains("\"eventName\""),
        "{artefact}"
    );
    assert!(artefact.contains("ops-bastion") && !artefact.contains("10.20.0.5"), "{artefact}");
    let id = task["id"].as_str().expect("id").to_owned();
    let waiting = api.get("/api/v1/learning?status=proposed");
    let kinds: Vec<&str> =
        waiting["tasks"].as_array().expect("tasks").iter().filter_map(|t| t["kind"].as_str()).collect();
    assert_eq!(kinds, ["regression", "tuning"], "the intrusion's regression test, then the filter");

    // A decision needs a rationale; with one, the filter is written and the engine reloads.
    let (status, _) = api
        .post(&format!("/api/v1/learning/{id}/decision"), &json!({"decision": "accept", "rationale": " "}));
    assert_eq!(status, 400);
    let accept =
        json!({"decision": "accept", "rationale": "scheduled sessions from the bastion, owned by ops"});
    let (status, decided) = api.post(&format!("/api/v1/learning/{id}/decision"), &accept);
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["decided"], "accepted");
    assert_eq!(decided["case_state"], "learned", "{decided}");
    let written = decided["written"].as_str().expect("written");
    assert!(written.starts_with(rules.to_str().expect("utf-8")), "{written}");
    assert!(std::fs::read_to_string(written).expect("filter file").contains(&id));
    assert!(decided["rules_loaded"].as_u64().is_some_and(|n| n > 0), "{decided}");

    // The same activity again raises nothing; someone else's session still does.
    ingest(&serve, &token, &[session("ops-bastion", "10.20.0.5", 31, 3)], &mut stored);
    assert_eq!(alerts_by(&api, "ops-bastion"), 2, "the filter lets the bastion's session through");
    ingest(&serve, &token, &[session("mallory", "203.0.113.50", 33, 4)], &mut stored);
    assert_eq!(alerts_by(&api, "mallory"), 1, "the filter is narrower than the rule");

    // Mallory's case, judged malicious, becomes a regression test of the rule; accepted, it is
    // written in SigmaHQ's layout and passes `vigil rules test`.
    let mallory = api.case_titled("mallory");
    let resolve = json!({"to": "resolved", "reason": "not ours: the key was stolen"});
    let (status, moved) = api.post(&format!("/api/v1/cases/{mallory}/transition"), &resolve);
    assert_eq!(status, 200, "{moved}");
    let filed = api.get(&format!("/api/v1/cases/{mallory}/learning"));
    let test = filed["tasks"].as_array().and_then(|t| t.first()).cloned().expect("a regression task");
    assert_eq!(test["kind"], "regression", "{test}");
    assert!(
        test["artefact"].as_str().is_some_and(|a| a.contains("match_count: 1") && a.contains(SSM_SESSION)),
        "{test}"
    );
    let test_id = test["id"].as_str().expect("id").to_owned();
    let keep = json!({"decision": "accept", "rationale": "the stolen key's session must keep alerting"});
    let (status, decided) = api.post(&format!("/api/v1/learning/{test_id}/decision"), &keep);
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["case_state"], "learned", "{decided}");
    assert!(decided["rules_loaded"].is_null(), "a regression test changes no rule: {decided}");
    let folder = std::path::PathBuf::from(decided["written"].as_str().expect("written"));
    assert!(folder.join("info.yml").is_file() && folder.join(format!("{SSM_SESSION}.json")).is_file());
    let tested = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["rules", "test", "--builtin", "--rules"])
        .arg(&rules)
        .arg(rules.join("regression_data"))
        .output()
        .expect("vigil rules test");
    let said = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success() && said.contains("1 passed, 0 failed"), "{said}");
    // The same folder asking for more matches than the events give fails, naming the rule.
    let info = std::fs::read_to_string(folder.join("info.yml")).expect("info.yml");
    std::fs::write(folder.join("info.yml"), info.replace("match_count: 1", "match_count: 5")).expect("edit");
    let strict = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["rules", "test", "--builtin", "--rules"])
        .arg(&rules)
        .arg(rules.join("regression_data"))
        .output()
        .expect("vigil rules test");
    let said = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("rule {SSM_SESSION} matched")) && said.contains("expected at least 5"),
        "{said}"
    );

    // A decided task cannot be decided again.
    let (status, _) = api.post(&format!("/api/v1/learning/{id}/decision"), &accept);
    assert_eq!(status, 409);

    // The audit trail holds each step, in order, for this case and the rules.
    let trail = api.get("/api/v1/audit?limit=1000");
    let actions: Vec<String> = trail["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["target"] == format!("case:{case}") || r["target"] == "rules")
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    let position = |action: &str| {
        actions.iter().position(|a| a == action).unwrap_or_else(|| panic!("no {action} in {actions:?}"))
    };
    assert!(position("learning.propose") < position("learning.decide"), "{actions:?}");
    assert!(position("learning.decide") < position("rules.write"), "{actions:?}");
    assert!(position("rules.write") < position("rules.reload"), "{actions:?}");
    let learned = trail["records"].as_array().expect("records").iter().any(|r| {
        let detail: Value = serde_json::from_str(r["detail"].as_str().unwrap_or("{}")).unwrap_or_default();
        r["action"] == "case.transition" && r["target"] == format!("case:{case}") && detail["to"] == "learned"
    });
    assert!(learned, "the move to learned is audited");
}
