//! Auditor grants, generated from the route table: an auditor granted case A reads A (and its
//! packet, each read audited) and learns nothing of case B through any route of the API or
//! any page, including the scorecard and compliance report; once the grant expires on the
//! store's clock, A is gone too. A lead makes and revokes grants; an analyst cannot.

use std::time::Duration;

use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_server::routes::{Method, ROUTES};
use vigil_store::{By, CaseRow, time};

use crate::Server;

const A: &str = "case-a-41c9";
const B: &str = "case-b-7f3e";
const B_TITLE: &str = "Payroll exfiltration known only to the SOC";

fn case(server: &Server, id: &str, title: &str) {
    let engine = By::vigil(Component::Engine);
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        let row = CaseRow {
            id: id.into(),
            title: title.into(),
            state: CaseState::New,
            severity: 5,
            assignee: None,
            first_seen: time::from_millis(1_764_000_000_000),
            last_seen: time::from_millis(1_764_000_360_000),
            updated_at: String::new(),
            body: json!({"alerts": [], "timeline": []}),
        };
        tx.save_case(&row, &engine).await.expect("save");
        tx.transition_case(&id.into(), CaseState::Correlated, "clustered", &engine).await.expect("correlate");
        tx.commit().await.expect("commit");
    });
}

/// Every path of the table with its placeholders naming B.
fn about_b(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { B } else { seg }).collect::<Vec<_>>().join("/")
}

#[test]
fn an_auditor_granted_case_a_reads_a_and_nothing_of_b_through_any_route_nor_a_after_expiry() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").expect("time").to_utc();
    let (clock, hands) = vigil_store::Clock::manual(start);
    let server = Server::with_clock(clock);
    case(&server, A, "Beacon from ws-1");
    case(&server, B, B_TITLE);
    let lead = server.user_with_token("lea", "lead");
    let analyst = server.user_with_token("ana", "analyst");
    let auditor = server.user_with_token("aud", "auditor");
    // Both cases breach their critical SLA, so the scorecard has B to leak if it would.
    hands.advance(Duration::from_secs(20 * 60));
    server.block_on(vigil_server::sla::sweep(&server.state)).expect("sweep");

    let grant = json!({"auditor": "aud", "case": A, "expires_at": "2026-12-03T09:00:00Z", "reason": "SOC 2 audit, sample case"});
    let refused = server.post("/api/v1/grants", &analyst, grant.to_string().as_bytes());
    assert_eq!(refused.status, 403, "an analyst grants nothing");
    let made = server.post("/api/v1/grants", &lead, grant.to_string().as_bytes());
    assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
    let to_self = json!({"auditor": "ana", "case": A, "expires_at": "2026-12-03T09:00:00Z", "reason": "r"});
    assert_eq!(
        server.post("/api/v1/grants", &lead, to_self.to_string().as_bytes()).status,
        400,
        "grants are for auditors"
    );

    // Every route of the API, as the auditor, about B (and the lists): nothing of B.
    let bearer = format!("Bearer {auditor}");
    let mut leaks = Vec::new();
    let mut paths: Vec<(Method, String)> = ROUTES.iter().map(|r| (r.method, about_b(r.path))).collect();
    paths.push((Method::Get, "/api/v1/compliance?framework=soc2".into()));
    for page in [
        "/ui/queue",
        "/ui/scorecard",
        "/ui/compliance",
        "/ui/granted",
        "/ui/events",
        "/ui/audit",
        "/ui/inbox",
    ] {
        paths.push((Method::Get, page.into()));
    }
    paths.push((Method::Get, format!("/ui/cases/{B}")));
    paths.push((Method::Get, format!("/ui/granted/{B}")));
    for (method, path) in &paths {
        let body = (*method == Method::Post).then_some(&b"{}"[..]);
        let answer = server.request(method.as_str(), path, &[("Authorization", &bearer)], body);
        let text = String::from_utf8_lossy(&answer.body);
        if text.contains(B) || text.contains(B_TITLE) || (answer.status < 300 && path.contains(B)) {
            leaks.push(format!("{} {path}: {} {text}", method.as_str(), answer.status));
        }
    }
    assert!(leaks.is_empty(), "{} routes told the auditor of B:\n{}", leaks.len(), leaks.join("\n"));

    // A, through the grant: the case, its packet, the pages; each read audited.
    let read = server.get(&format!("/api/v1/granted/cases/{A}"), &auditor);
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["case"]["title"], "Beacon from ws-1");
    let packet = server.get(&format!("/api/v1/granted/cases/{A}/packet"), &auditor);
    assert_eq!(packet.status, 200);
    vigil_report::packet::verify(&packet.body, &[server.store.public_key()]).expect("the packet verifies");
    let listed = server.get("/api/v1/granted/cases", &auditor).json();
    assert_eq!(listed["cases"].as_array().map(Vec::len), Some(1), "{listed}");
    let card = server.get("/api/v1/scorecard", &auditor);
    assert!(String::from_utf8_lossy(&card.body).contains(A), "the auditor's scorecard keeps A's breach");
    let views: Vec<_> = server
        .audit()
        .into_iter()
        .filter(|r| r.action == "auditor.view" && r.actor.starts_with("aud "))
        .map(|r| (r.target, r.detail))
        .collect();
    assert!(views.contains(&(format!("case:{A}"), r#"{"read":"case"}"#.to_owned())), "{views:?}");
    assert!(views.contains(&(format!("case:{A}"), r#"{"read":"packet"}"#.to_owned())), "{views:?}");
    assert!(
        views.contains(&("reports".to_owned(), r#"{"read":"scorecard 2026-W49"}"#.to_owned())),
        "{views:?}"
    );
    assert!(!views.iter().any(|(t, _)| t.contains(B)), "{views:?}");

    // Two days on, the grant has expired by itself: A is gone as B is.
    hands.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(server.get(&format!("/api/v1/granted/cases/{A}"), &auditor).status, 404);
    assert_eq!(server.get(&format!("/api/v1/granted/cases/{A}/packet"), &auditor).status, 404);
    let listed = server.get("/api/v1/granted/cases", &auditor).json();
    assert_eq!(listed["cases"].as_array().map(Vec::len), Some(0), "{listed}");
    let card = server.get("/api/v1/scorecard", &auditor);
    assert!(!String::from_utf8_lossy(&card.body).contains(A), "an expired grant shows nothing");
}

#[test]
fn a_revoked_grant_covers_nothing_and_a_period_grant_covers_the_cases_with_events_in_it() {
    let server = Server::start();
    case(&server, A, "Beacon from ws-1");
    let lead = server.user_with_token("lea", "lead");
    let auditor = server.user_with_token("aud", "auditor");
    let period = json!({"auditor": "aud", "from": "2025-11-24T00:00:00Z", "to": "2025-11-25T00:00:00Z",
                        "expires_at": "2099-01-01T00:00:00Z", "reason": "the November incident"});
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let period = {
        let mut p = period;
        p["expires_at"] = json!(expires);
        p
    };
    let made = server.post("/api/v1/grants", &lead, period.to_string().as_bytes()).json();
    let id = made["id"].as_str().expect("grant id").to_owned();
    assert_eq!(server.get(&format!("/api/v1/granted/cases/{A}"), &auditor).status, 200);
    let revoked = server.post(&format!("/api/v1/grants/{id}/revoke"), &lead, b"");
    assert_eq!(revoked.status, 200);
    assert_eq!(server.get(&format!("/api/v1/granted/cases/{A}"), &auditor).status, 404);
    let actions: Vec<String> =
        server.audit().into_iter().filter(|r| r.target == format!("grant:{id}")).map(|r| r.action).collect();
    assert_eq!(actions, ["grant.create", "grant.revoke"]);
}
