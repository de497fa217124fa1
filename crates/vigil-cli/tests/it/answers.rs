//! Every route of the real server, called with real data (the scenario ingested, cased and
//! triaged), its answer checked against the schema the OpenAPI document gives for that route
//! and status. A route the document lists and this test does not call fails the test, so a new
//! route arrives with its answer checked.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::schema::violations;
use crate::server::{Serve, call};
use crate::{repo, scratch};

/// Calls routes and checks each answer against the document.
struct Client {
    url: String,
    doc: Value,
    called: BTreeSet<String>,
    failures: Vec<String>,
}

impl Client {
    /// `method template` called as `path`; the answer's JSON, checked, when it is a success.
    fn answer(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Value {
        let (status, answer) = call(method, &format!("{}{path}", self.url), headers, body).expect("request");
        let key = format!("{method} {template}");
        self.called.insert(key.clone());
        if !matches!(status, 200 | 202) {
            self.failures.push(format!("{key}: {status} {answer}"));
            return answer;
        }
        let pointer = format!(
            "/paths/{}/{}/responses/{status}/content/application~1json/schema",
            template.replace('~', "~0").replace('/', "~1"),
            method.to_lowercase()
        );
        match self.doc.pointer(&pointer) {
            None => self.failures.push(format!("{key}: the document gives no schema for {status}")),
            Some(schema) => {
                for violation in violations(&self.doc, schema, &answer) {
                    self.failures.push(format!("{key} {status}: {violation}"));
                }
            }
        }
        answer
    }
}

impl Client {
    /// The text at `pointer` in an answer; the test stops there without it, saying what did
    /// not match so far (often why).
    fn text(&self, value: &Value, pointer: &str) -> String {
        match value.pointer(pointer).and_then(Value::as_str) {
            Some(text) => text.to_owned(),
            None => {
                panic!("no {pointer} in {value}\nanswers not matching so far:\n{}", self.failures.join("\n"))
            }
        }
    }
}

/// An SSM session start by `user` (the built-in rule for Systems Manager sessions fires on it).
fn ssm_session(user: &str, n: u32) -> String {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"), "userName": user},
        "eventTime": format!("2026-03-02T11:{n:02}:00Z"), "eventSource": "ssm.amazonaws.com",
        "eventName": "StartSession", "awsRegion": "eu-west-1", "sourceIPAddress": "10.20.0.5",
        "eventID": format!("5d2b8c1a-0000-4000-8000-{n:012}"), "recipientAccountId": "111122223333"
    })
    .to_string()
}

#[test]
fn every_answer_of_every_route_matches_the_openapi_document() {
    let dir = scratch("answers");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let serve = Serve::start(&data, None);
    let password = serve.admin_password.clone().expect("first start prints the admin password");
    let (status, doc) = call("GET", &format!("{}/api/v1/openapi.json", serve.url), &[], None).expect("doc");
    assert_eq!(status, 200);
    let mut api = Client { url: serve.url.clone(), doc, called: BTreeSet::new(), failures: Vec::new() };
    let none: &[(&str, &str)] = &[];

    api.answer("GET", "/healthz", "/healthz", none, None);
    api.answer("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", none, None);
    let login = json!({"name": "admin", "password": password}).to_string();
    let (cookie, csrf) = crate::server::admin_session(&serve, &password);
    api.answer("POST", "/api/v1/login", "/api/v1/login", none, Some(login.as_bytes()));
    let admin = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];

    let service = json!({"name": "svc-ingest", "role": "ingest"}).to_string();
    api.answer("POST", "/api/v1/users", "/api/v1/users", &admin, Some(service.as_bytes()));
    let new_token =
        |scope: &str| json!({"owner": "svc-ingest", "scopes": [scope], "expires_in_days": 1}).to_string();
    let ingest =
        api.answer("POST", "/api/v1/tokens", "/api/v1/tokens", &admin, Some(new_token("ingest").as_bytes()));
    let webhook = api.answer(
        "POST",
        "/api/v1/tokens",
        "/api/v1/tokens",
        &admin,
        Some(new_token("webhook:cloudtrail").as_bytes()),
    );
    let ingest_bearer = format!("Bearer {}", api.text(&ingest, "/token"));
    let sender = [("Authorization", ingest_bearer.as_str())];

    let mut sent = 0;
    for file in ["windows-lateral-movement.json", "cloudtrail.json", "syslog.log"] {
        let body = std::fs::read(repo().join("samples").join(file)).expect("sample");
        let receipt = api.answer("POST", "/api/v1/ingest", "/api/v1/ingest", &sender, Some(&body));
        sent += receipt["stored"].as_i64().unwrap_or_default();
    }
    api.answer(
        "POST",
        "/api/v1/ingest",
        "/api/v1/ingest?format=okta",
        &sender,
        Some(b"{\"eventType\": 1}\n{broken\n"),
    );
    let webhook_bearer = format!("Bearer {}", api.text(&webhook, "/token"));
    let cloudtrail = std::fs::read(repo().join("samples/cloudtrail.json")).expect("sample");
    api.answer(
        "POST",
        "/api/v1/webhooks/{source}",
        "/api/v1/webhooks/cloudtrail",
        &[("Authorization", &webhook_bearer)],
        Some(&cloudtrail),
    );
    let settled = format!("/api/v1/status?settled_at={sent}");
    let progress = api.answer("GET", "/api/v1/status", &settled, &sender, None);
    assert_eq!(progress["settled"], true, "{progress}");
    api.answer("GET", "/api/v1/status", "/api/v1/status", &admin, None);

    let cases = api.answer("GET", "/api/v1/cases", "/api/v1/cases", &admin, None);
    let listed = cases["cases"].as_array().cloned().unwrap_or_default();
    assert!(listed.len() >= 3, "{cases}");
    let titled = |words: &str| {
        let case = listed.iter().find(|c| c["title"].as_str().is_some_and(|t| t.contains(words)));
        api.text(case.unwrap_or(&Value::Null), "/id")
    };
    let lateral = titled("Brute Force Followed By A Successful Logon");
    let probe = titled("SSH Login Attempt");
    for (template, suffix) in [
        ("/api/v1/cases/{id}", ""),
        ("/api/v1/cases/{id}/timeline", "/timeline"),
        ("/api/v1/cases/{id}/graph", "/graph"),
        ("/api/v1/cases/{id}/sla", "/sla"),
        ("/api/v1/cases/{id}/recommendation", "/recommendation"),
    ] {
        api.answer("GET", template, &format!("/api/v1/cases/{lateral}{suffix}"), &admin, None);
    }
    let case_route = |id: &str, what: &str| format!("/api/v1/cases/{id}/{what}");
    let assign = json!({"assignee": "admin"}).to_string();
    api.answer(
        "POST",
        "/api/v1/cases/{id}/assign",
        &case_route(&lateral, "assign"),
        &admin,
        Some(assign.as_bytes()),
    );
    let comment = json!({"body": "ws-12 isolated by the desktop team"}).to_string();
    api.answer(
        "POST",
        "/api/v1/cases/{id}/comments",
        &case_route(&lateral, "comments"),
        &admin,
        Some(comment.as_bytes()),
    );
    // A malicious high case asks for a second person (202); the probe closes at once (200).
    let benign = json!({"to": "benign", "reason": "a red-team exercise"}).to_string();
    let waiting = api.answer(
        "POST",
        "/api/v1/cases/{id}/transition",
        &case_route(&lateral, "transition"),
        &admin,
        Some(benign.as_bytes()),
    );
    let resolved = json!({"to": "resolved", "reason": "scanner noise, blocked at the edge"}).to_string();
    let moved = api.answer(
        "POST",
        "/api/v1/cases/{id}/transition",
        &case_route(&probe, "transition"),
        &admin,
        Some(resolved.as_bytes()),
    );
    assert_eq!((&waiting["pending"], &moved["to"]), (&json!(true), &json!("resolved")), "{waiting} {moved}");
    api.answer("GET", "/api/v1/verdicts", "/api/v1/verdicts", &admin, None);

    // A bastion's two SSM sessions, closed as a false positive: the closing files a tuning
    // proposal, which a reviewer reads and rejects (this server has no folder to write rules to).
    let sessions: Vec<String> = [1, 2].iter().map(|i| ssm_session("ops-bastion", *i)).collect();
    let receipt = api.answer(
        "POST",
        "/api/v1/ingest",
        "/api/v1/ingest?format=cloudtrail",
        &sender,
        Some(sessions.join("\n").as_bytes()),
    );
    sent += receipt["stored"].as_i64().unwrap_or_default();
    let settled =
        api.answer("GET", "/api/v1/status", &format!("/api/v1/status?settled_at={sent}"), &sender, None);
    assert_eq!(settled["settled"], true, "{settled}");
    let cases = api.answer("GET", "/api/v1/cases", "/api/v1/cases", &admin, None);
    let ssm = cases["cases"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["title"].as_str().is_some_and(|t| t.contains("Systems Manager"))))
        .cloned()
        .unwrap_or_default();
    let ssm = api.text(&ssm, "/id");
    let fp = json!({"to": "false_positive", "reason": "the bastion's maintenance"}).to_string();
    api.answer(
        "POST",
        "/api/v1/cases/{id}/transition",
        &case_route(&ssm, "transition"),
        &admin,
        Some(fp.as_bytes()),
    );
    api.answer("GET", "/api/v1/learning", "/api/v1/learning?status=proposed", &admin, None);
    let filed = api.answer("GET", "/api/v1/cases/{id}/learning", &case_route(&ssm, "learning"), &admin, None);
    let task = api.text(&filed, "/tasks/0/id");
    api.answer("GET", "/api/v1/learning/{id}", &format!("/api/v1/learning/{task}"), &admin, None);
    let reject =
        json!({"decision": "reject", "rationale": "we would rather move the bastion to a service role"})
            .to_string();
    let decided = api.answer(
        "POST",
        "/api/v1/learning/{id}/decision",
        &format!("/api/v1/learning/{task}/decision"),
        &admin,
        Some(reject.as_bytes()),
    );
    assert_eq!(decided["case_state"], "learned", "{decided}");

    let alerts = api.answer("GET", "/api/v1/alerts", "/api/v1/alerts", &admin, None);
    let alert = api.text(&alerts, "/alerts/0/id");
    api.answer("GET", "/api/v1/alerts/{id}", &format!("/api/v1/alerts/{alert}"), &admin, None);
    let range = "/api/v1/events?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=5";
    let events = api.answer("GET", "/api/v1/events", range, &admin, None);
    let event = api.text(&events, "/events/0/id");
    api.answer("GET", "/api/v1/events/{id}", &format!("/api/v1/events/{event}"), &admin, None);
    let dead = api.answer("GET", "/api/v1/dead-letters", "/api/v1/dead-letters", &admin, None);
    assert!(dead["dead_letters"].as_array().is_some_and(|d| !d.is_empty()), "{dead}");

    let added = api.answer(
        "POST",
        "/api/v1/evidence",
        "/api/v1/evidence?name=note.txt&scope=global",
        &admin,
        Some(b"hello"),
    );
    let sha = api.text(&added, "/sha256");
    api.answer("GET", "/api/v1/evidence/{id}", &format!("/api/v1/evidence/{sha}"), &admin, None);
    let (status, _) =
        call("GET", &format!("{}/api/v1/evidence/{sha}/content", serve.url), &admin, None).expect("download");
    assert_eq!(status, 200);
    api.called.insert("GET /api/v1/evidence/{id}/content".into());
    let content = api.doc.pointer("/paths/~1api~1v1~1evidence~1{id}~1content/get/responses/200/content");
    assert!(content.is_some_and(|c| c.get("application/octet-stream").is_some()), "{content:?}");

    // The packet is a file too: it downloads, and it verifies as the server's.
    let mut request = crate::server::agent().get(format!("{}/api/v1/cases/{lateral}/packet", serve.url));
    for (k, v) in admin {
        request = request.header(k, v);
    }
    let mut response = request.call().expect("packet");
    assert_eq!(response.status().as_u16(), 200);
    let packet = response.body_mut().with_config().limit(64 << 20).read_to_vec().expect("packet bytes");
    let public = std::fs::read_to_string(data.join("audit-signing.pub")).expect("public key");
    let key = vigil_store::audit::key::parse_public_key(public.trim()).expect("key");
    let verified = vigil_report::packet::verify(&packet, &[key]).expect("the packet the API gives verifies");
    assert_eq!(verified.case, lateral);
    api.called.insert("GET /api/v1/cases/{id}/packet".into());
    let content = api.doc.pointer("/paths/~1api~1v1~1cases~1{id}~1packet/get/responses/200/content");
    assert!(content.is_some_and(|c| c.get("application/octet-stream").is_some()), "{content:?}");

    api.answer("GET", "/api/v1/scorecard", "/api/v1/scorecard", &admin, None);
    let soc2 = api.answer("GET", "/api/v1/compliance", "/api/v1/compliance?framework=soc2", &admin, None);
    assert_eq!(soc2["controls"].as_array().map(Vec::len), Some(18), "{soc2}");
    // An auditor granted the lateral-movement case reads it and its packet through the grant.
    let auditor =
        json!({"name": "aud", "role": "auditor", "password": "a long enough passphrase"}).to_string();
    api.answer("POST", "/api/v1/users", "/api/v1/users", &admin, Some(auditor.as_bytes()));
    let expires = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let grant = json!({"auditor": "aud", "case": lateral, "expires_at": expires, "reason": "SOC 2 sample"})
        .to_string();
    let made = api.answer("POST", "/api/v1/grants", "/api/v1/grants", &admin, Some(grant.as_bytes()));
    let grant_id = api.text(&made, "/id");
    api.answer("GET", "/api/v1/grants", "/api/v1/grants", &admin, None);
    let aud_token = json!({"owner": "aud", "scopes": ["grant_read"], "expires_in_days": 1}).to_string();
    let aud = api.answer("POST", "/api/v1/tokens", "/api/v1/tokens", &admin, Some(aud_token.as_bytes()));
    let aud_bearer = format!("Bearer {}", api.text(&aud, "/token"));
    let as_auditor = [("Authorization", aud_bearer.as_str())];
    let granted = api.answer("GET", "/api/v1/granted/cases", "/api/v1/granted/cases", &as_auditor, None);
    assert_eq!(granted["cases"].as_array().map(Vec::len), Some(1), "{granted}");
    api.answer(
        "GET",
        "/api/v1/granted/cases/{id}",
        &format!("/api/v1/granted/cases/{lateral}"),
        &as_auditor,
        None,
    );
    let mut request =
        crate::server::agent().get(format!("{}/api/v1/granted/cases/{lateral}/packet", serve.url));
    for (k, v) in as_auditor {
        request = request.header(k, v);
    }
    let mut response = request.call().expect("granted packet");
    assert_eq!(response.status().as_u16(), 200);
    let packet = response.body_mut().with_config().limit(64 << 20).read_to_vec().expect("packet bytes");
    vigil_report::packet::verify(&packet, &[key]).expect("the granted packet verifies");
    api.called.insert("GET /api/v1/granted/cases/{id}/packet".into());
    let path = format!("/api/v1/grants/{grant_id}/revoke");
    api.answer("POST", "/api/v1/grants/{id}/revoke", &path, &admin, Some(b""));
    api.answer("GET", "/api/v1/users", "/api/v1/users", &admin, None);
    let analyst =
        json!({"name": "ana", "role": "analyst", "password": "a long enough passphrase"}).to_string();
    api.answer("POST", "/api/v1/users", "/api/v1/users", &admin, Some(analyst.as_bytes()));
    api.answer("POST", "/api/v1/users/{id}/disable", "/api/v1/users/ana/disable", &admin, Some(b""));
    api.answer("POST", "/api/v1/users/{id}/enable", "/api/v1/users/ana/enable", &admin, Some(b""));
    let role = json!({"role": "responder"}).to_string();
    api.answer("POST", "/api/v1/users/{id}/role", "/api/v1/users/ana/role", &admin, Some(role.as_bytes()));
    // Response actions: the admin proposes, Ana (a responder now) answers.
    let scopes =
        json!({"owner": "ana", "scopes": ["case_read", "action_approve"], "expires_in_days": 1}).to_string();
    let ana = api.answer("POST", "/api/v1/tokens", "/api/v1/tokens", &admin, Some(scopes.as_bytes()));
    let ana_bearer = format!("Bearer {}", api.text(&ana, "/token"));
    let responder = [("Authorization", ana_bearer.as_str())];
    let propose =
        |host: &str| json!({"action": "isolate_host", "target": format!("host {host}")}).to_string();
    let route = format!("/api/v1/cases/{lateral}/actions");
    let template = "/api/v1/cases/{id}/actions";
    let isolate = api.answer("POST", template, &route, &admin, Some(propose("ws-12").as_bytes()));
    let other = api.answer("POST", template, &route, &admin, Some(propose("ws-13").as_bytes()));
    api.answer("GET", "/api/v1/actions", "/api/v1/actions?status=awaiting_approval", &admin, None);
    let inbox = api.answer("GET", "/api/v1/actions/inbox", "/api/v1/actions/inbox", &responder, None);
    // The two just proposed, and the playbooks' containment steps the engine proposed.
    let waiting = inbox["actions"].as_array().cloned().unwrap_or_default();
    let by = |kind: &str| waiting.iter().filter(|a| a["request"]["requested_by"]["kind"] == kind).count();
    assert_eq!(by("person"), 2, "{inbox}");
    assert!(by("playbook") >= 1, "{inbox}");
    let answer = |request: &Value| {
        json!({"request_sha256": request["request_sha256"], "rationale": "ws-12 beacons to the C2"})
            .to_string()
    };
    for (request, verb) in [(&isolate, "approve"), (&other, "reject")] {
        let id = api.text(request, "/id");
        api.answer("GET", "/api/v1/actions/{id}", &format!("/api/v1/actions/{id}"), &admin, None);
        let template = format!("/api/v1/actions/{{id}}/{verb}");
        let path = format!("/api/v1/actions/{id}/{verb}");
        let answered = api.answer("POST", &template, &path, &responder, Some(answer(request).as_bytes()));
        assert_eq!(
            answered["outcome"],
            if verb == "approve" { "approved" } else { "rejected" },
            "{answered}"
        );
    }
    // Run one: a block the responder approves, executed by the server's executor.
    let block = json!({"action": "block_indicator", "target": "ip 203.0.113.7"}).to_string();
    let block = api.answer("POST", template, &route, &admin, Some(block.as_bytes()));
    let id = api.text(&block, "/id");
    let path = format!("/api/v1/actions/{id}/approve");
    api.answer("POST", "/api/v1/actions/{id}/approve", &path, &responder, Some(answer(&block).as_bytes()));
    let path = format!("/api/v1/actions/{id}/execute");
    let queued = api.answer("POST", "/api/v1/actions/{id}/execute", &path, &admin, Some(b""));
    assert_eq!(queued["run"]["request_id"], id.as_str(), "{queued}");
    let run_path = format!("/api/v1/actions/{id}/run");
    let started = std::time::Instant::now();
    let run = loop {
        let run = api.answer("GET", "/api/v1/actions/{id}/run", &run_path, &admin, None);
        if run["run"]["status"] != "queued" && run["run"]["status"] != "running" {
            break run;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the run never ended: {run}");
    };
    assert_eq!(run["run"]["status"], "succeeded", "{run}");
    for (feed, media) in [("blocklist.txt", "text/plain"), ("blocklist.stix", "application/stix+json")] {
        let template = format!("/api/v1/feeds/{feed}");
        let mut get = crate::server::agent().get(format!("{}{template}", serve.url));
        for (k, v) in &admin {
            get = get.header(*k, *v);
        }
        let mut fetched = get.call().expect("feed");
        assert_eq!(fetched.status().as_u16(), 200);
        let body = fetched.body_mut().read_to_string().expect("feed text");
        assert!(body.contains("203.0.113.7"), "{body}");
        api.called.insert(format!("GET {template}"));
        let documented = api.doc["paths"][template.as_str()]["get"]["responses"]["200"]["content"].get(media);
        assert!(documented.is_some(), "{template} is documented as {media}");
    }
    // The metrics, as Prometheus scrapes them: gauges read from the store, here after one
    // run succeeded and the cases the scenario made.
    let mut get = crate::server::agent().get(format!("{}/metrics", serve.url));
    for (k, v) in &admin {
        get = get.header(*k, *v);
    }
    let mut scraped = get.call().expect("metrics");
    assert_eq!(scraped.status().as_u16(), 200);
    let text = scraped.body_mut().read_to_string().expect("metrics text");
    for line in [
        "# TYPE vigil_cases gauge",
        "vigil_action_runs{outcome=\"succeeded\"} 1",
        "vigil_pipeline_lag_events ",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    api.called.insert("GET /metrics".into());
    assert!(api.doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"].get("text/plain").is_some());
    let undo = json!({"rationale": "the address belongs to a partner"}).to_string();
    let path = format!("/api/v1/actions/{id}/rollback");
    let undo = api.answer("POST", "/api/v1/actions/{id}/rollback", &path, &admin, Some(undo.as_bytes()));
    assert_eq!(undo["request"]["action"], "unblock_indicator", "{undo}");

    api.answer("GET", "/api/v1/tokens", "/api/v1/tokens", &admin, None);
    let revoke = format!("/api/v1/tokens/{}/revoke", api.text(&webhook, "/id"));
    api.answer("POST", "/api/v1/tokens/{id}/revoke", &revoke, &admin, Some(b""));
    api.answer("GET", "/api/v1/rules", "/api/v1/rules", &admin, None);
    api.answer("POST", "/api/v1/rules/reload", "/api/v1/rules/reload", &admin, Some(b""));
    api.answer("GET", "/api/v1/audit", "/api/v1/audit?limit=200", &admin, None);
    let check = api.answer("GET", "/api/v1/audit/verify", "/api/v1/audit/verify", &admin, None);
    assert_eq!(check["intact"], true, "{check}");
    api.answer("GET", "/api/v1/me", "/api/v1/me", &admin, None);
    let change = json!({"current": password, "new": "another long passphrase"}).to_string();
    api.answer("POST", "/api/v1/me/password", "/api/v1/me/password", &admin, Some(change.as_bytes()));
    api.answer("POST", "/api/v1/logout", "/api/v1/logout", &admin, Some(b""));

    assert!(
        api.failures.is_empty(),
        "{} answers do not match the document:\n{}",
        api.failures.len(),
        api.failures.join("\n")
    );
    let listed: BTreeSet<String> = api.doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, _)| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let missed: Vec<&String> = listed.difference(&api.called).collect();
    assert!(missed.is_empty(), "routes this test does not call: {missed:?}");
}
