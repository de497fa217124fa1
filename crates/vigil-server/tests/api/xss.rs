//! The pages' XSS suite over HTTP: every payload of `tests/support/xss_payloads.txt` placed in every
//! field an attacker reaches (log fields of Okta, CloudTrail, Windows and syslog records
//! through the ingest API, records that fail to read, case titles and timelines, alert titles
//! and summaries, recommendations, transition reasons, comments, rule titles, descriptions,
//! authors and tags, action targets, ticket ids from a ticketing system) and every view that shows them opened: no payload reaches the HTML as markup
//! (neither as written nor as JSON writes it), and each is shown as text somewhere.

use serde_json::json;
use vigil_engine::runner::RuleSummary;
use vigil_model::{CaseState, Component};
use vigil_store::{AlertRow, By, CaseRow, time};

use crate::Server;
use crate::ui::{person, sign_in, text};

#[path = "../support/hostile_records.rs"]
mod hostile;

use hostile::payloads;

/// `text` as the pages escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The forms a payload takes in a page: as written, and inside a JSON string (raw records and
/// OCSF documents are shown as JSON).
fn forms(payload: &str) -> Vec<String> {
    let json = serde_json::to_string(payload).unwrap_or_default();
    vec![payload.to_owned(), json[1..json.len() - 1].to_owned()]
}

/// Fails on any form of any payload in `html` unescaped; returns the payloads shown as text.
fn check(path: &str, html: &str, payloads: &[&str]) -> Vec<usize> {
    let mut shown = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        for form in forms(p) {
            if form.contains(['<', '>', '"']) {
                assert!(!html.contains(&form), "{path}: payload {i} {form:?} reached the page as markup");
            }
            if html.contains(&escaped(&form)) {
                shown.push(i);
            }
        }
    }
    assert!(!html.contains("window.__xss=1</script>"), "{path}");
    shown
}

fn plant(server: &Server, payloads: &[&str]) {
    let engine = By::vigil(Component::Engine);
    let mallory = By::user("mallory", "test");
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        for (i, p) in payloads.iter().enumerate() {
            let id = format!("x{i}");
            let alert = format!("a{i}");
            let row = CaseRow {
                id: id.as_str().into(),
                title: (*p).to_owned(),
                state: CaseState::New,
                severity: 4,
                assignee: None,
                first_seen: time::from_millis(1_700_000_000_000),
                last_seen: time::from_millis(1_700_000_360_000 + i as i64),
                updated_at: String::new(),
                body: json!({
                    "alerts": [{"id": alert}],
                    "timeline": [{"time": 1_700_000_000_000_i64, "kind": "alert", "title": p, "reference": p}],
                }),
            };
            tx.save_case(&row, &engine).await.expect("case");
            tx.save_alert(&AlertRow {
                id: alert.as_str().into(),
                case_id: Some(id.as_str().into()),
                rule_id: (*p).to_owned(),
                title: (*p).to_owned(),
                severity: 4,
                time: time::from_millis(1_700_000_000_000),
                finding: json!({"summary": p, "evidence": [{"event_uid": p, "time": 1, "class_name": p, "source": p, "summary": p}]}),
            })
            .await
            .expect("alert");
            tx.transition_case(&id.as_str().into(), CaseState::Correlated, p, &engine).await.expect("move");
            tx.add_recommendation(
                &id.as_str().into(),
                &json!({
                    "verdict": p, "confidence": 0.5, "drafted_by": p, "hypothesis": p,
                    "supporting": [format!("event:{p}"), format!("alert:{p}"), p], "unknowns": [p],
                    "playbook": {"title": p, "steps": [{"phase": p, "action": p, "description": p, "touches": [p], "blast_radius": [p]}]},
                }),
                &engine,
            )
            .await
            .expect("recommendation");
            tx.transition_case(&id.as_str().into(), CaseState::Recommended, p, &engine).await.expect("move");
            tx.comment_case(&id.as_str().into(), p, &mallory).await.expect("comment");
            // A ticket id as a ticketing system answered it, and the host it named.
            tx.open_ticket(&vigil_store::Ticket {
                id: format!("t{i}"),
                case_id: id.as_str().into(),
                title: (*p).to_owned(),
                owner: (*p).to_owned(),
                sla_due_at: time::from_millis(1_700_000_000_000),
                playbook: None,
                body: (*p).to_owned(),
                created_at: time::from_millis(1_700_000_000_000),
                external_id: Some((*p).to_owned()),
                external_host: Some((*p).to_owned()),
            })
            .await
            .expect("ticket");
        }
        tx.commit().await.expect("commit");
    });
    *server.engine.rules.lock().expect("rules") = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| RuleSummary {
            id: format!("rule-{i}"),
            title: (*p).to_owned(),
            description: Some((*p).to_owned()),
            level: "high".into(),
            tags: vec![(*p).to_owned()],
            author: Some((*p).to_owned()),
            license: (*p).to_owned(),
        })
        .collect();
}

/// Records of each source with the payloads in the fields their people and programs write,
/// and bodies that cannot be read at all, through the ingest API.
fn ingest(server: &Server, token: &str, payloads: &[&str]) {
    for (what, body) in hostile::bodies(payloads, "198.51.100.7") {
        let answer = server.post(&format!("/api/v1/ingest?format={what}&source=xss"), token, body.as_bytes());
        assert_eq!(answer.status, 200, "{what}: {}", text(&answer));
    }
    for p in payloads {
        let body = hostile::unreadable(p);
        let answer = server.post("/api/v1/ingest?format=okta&source=xss", token, body.as_bytes());
        assert_eq!(answer.status, 200, "{}", text(&answer));
    }
}

#[test]
fn no_payload_in_any_field_reaches_any_page_as_markup() {
    let server = Server::start();
    let payloads = payloads();
    assert!(payloads.len() >= 100, "{} payloads", payloads.len());
    plant(&server, &payloads);
    let token = server.user_with_token("feeder", "admin");
    ingest(&server, &token, &payloads);
    person(&server, "ada", "admin");
    let (cookie, _) = sign_in(&server, "ada");
    let page = |path: &str| {
        let answer = server.request("GET", path, &[("Cookie", &cookie)], None);
        assert_eq!(answer.status, 200, "{path}: {}", text(&answer));
        assert!(answer.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
        text(&answer)
    };
    let mut shown = vec![std::collections::BTreeSet::new(); 8];
    let mut see = |view: usize, path: &str| {
        let html = page(path);
        shown[view].extend(check(path, &html, &payloads));
        html
    };
    for n in 1..=3 {
        see(0, &format!("/ui/queue?page={n}"));
    }
    for i in 0..payloads.len() {
        see(1, &format!("/ui/cases/x{i}"));
    }
    let events = server.get("/api/v1/events?from=2000-01-01T00:00:00Z&limit=1000", &token).json();
    let ids: Vec<String> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    assert!(ids.len() >= 3 * payloads.len(), "{} events stored", ids.len());
    for id in &ids {
        see(2, &format!("/ui/events/{id}"));
    }
    see(3, "/ui/events?range=all");
    see(3, "/ui/events?range=all&q=__xss");
    see(4, "/ui/dead-letters");
    see(5, "/ui/rules");
    see(5, "/ui/rules?q=__xss");
    let head = server.audit().len();
    for after in (0..head).step_by(100) {
        see(6, &format!("/ui/audit?after={after}"));
    }
    see(7, "/ui/inbox");
    for (view, name) in
        [(0, "queue"), (1, "case"), (2, "event"), (4, "dead letters"), (5, "rules"), (6, "audit")]
    {
        assert_eq!(shown[view].len(), payloads.len(), "every payload is shown as text on the {name} pages");
    }
    assert!(!shown[3].is_empty(), "the events search shows payloads as text");
}

#[test]
fn a_payload_typed_into_a_search_is_shown_back_as_text() {
    let server = Server::start();
    person(&server, "ana", "analyst");
    let (cookie, _) = sign_in(&server, "ana");
    for (i, p) in payloads().iter().enumerate() {
        let q = crate::ui::encode(p);
        for path in [format!("/ui/events?q={q}"), format!("/ui/rules?q={q}")] {
            let answer = server.request("GET", &path, &[("Cookie", &cookie)], None);
            assert_eq!(answer.status, 200, "payload {i}: {path}: {}", text(&answer));
            let html = text(&answer);
            check(&path, &html, &[p]);
            assert!(html.contains(&escaped(p.trim())), "payload {i} echoed as text: {path}");
        }
    }
}
