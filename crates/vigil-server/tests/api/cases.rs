//! Case transitions through the API: the store's transition table decides, refusals are audited.

use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, time};

use crate::Server;

/// A recommended case of medium severity, as the engine leaves one.
pub fn recommended_case(server: &Server, id: &str) {
    recommended_case_of(server, id, 3);
}

/// A recommended case of OCSF severity `severity`.
pub fn recommended_case_of(server: &Server, id: &str, severity: i64) {
    let engine = By::vigil(Component::Engine);
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        let row = CaseRow {
            id: id.into(),
            title: "Lateral movement from ws-12".into(),
            state: CaseState::New,
            severity,
            assignee: None,
            first_seen: time::from_millis(1_700_000_000_000),
            last_seen: time::from_millis(1_700_000_360_000),
            updated_at: String::new(),
            body: json!({"alerts": []}),
        };
        tx.save_case(&row, &engine).await.expect("save");
        tx.transition_case(&id.into(), CaseState::Correlated, "clustered", &engine).await.expect("correlate");
        tx.transition_case(&id.into(), CaseState::Recommended, "drafted", &engine).await.expect("recommend");
        tx.commit().await.expect("commit");
    });
}

#[test]
fn a_person_cannot_approve_through_a_transition_and_the_refusal_is_audited() {
    let server = Server::start();
    let analyst = server.user_with_token("ana", "analyst");
    recommended_case(&server, "c1");
    for to in ["approved", "executed"] {
        let body = json!({"to": to, "reason": "looks right to me"}).to_string();
        let answer = server.post("/api/v1/cases/c1/transition", &analyst, body.as_bytes());
        assert_eq!((answer.status, answer.code().as_str()), (409, "conflict"), "{to}");
    }
    let records = server.block_on(server.store.audit_records(0, 1_000)).expect("audit");
    let refused: Vec<_> =
        records.iter().filter(|r| r.action == "case.transition" && r.outcome == "refused").collect();
    assert_eq!(refused.len(), 2, "{records:#?}");
    assert_eq!(refused[0].actor, format!("ana (token {})", analyst.split('_').nth(1).unwrap_or_default()));
    assert!(refused[0].detail.contains("approval policy"), "{}", refused[0].detail);
    let case = server.block_on(server.store.case(&"c1".into())).expect("case").expect("present");
    assert_eq!(case.state, CaseState::Recommended);

    let body = json!({"to": "benign", "reason": "the change window"}).to_string();
    let answer = server.post("/api/v1/cases/c1/transition", &analyst, body.as_bytes());
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let case = server.block_on(server.store.case(&"c1".into())).expect("case").expect("present");
    let history = case.body["lifecycle"]["history"].as_array().expect("history").clone();
    assert_eq!(history.last().map(|t| t["actor"]["kind"].clone()), Some(json!("token")));
}

#[test]
fn lengths_count_characters_not_bytes() {
    let server = Server::start();
    let analyst = server.user_with_token("ana", "analyst");
    recommended_case(&server, "c2");
    let reason: String = "€".repeat(700);
    let body = json!({"to": "benign", "reason": reason}).to_string();
    let answer = server.post("/api/v1/cases/c2/transition", &analyst, body.as_bytes());
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let too_long = json!({"body": "€".repeat(20_001)}).to_string();
    let answer = server.post("/api/v1/cases/c2/comments", &analyst, too_long.as_bytes());
    assert_eq!((answer.status, answer.code().as_str()), (400, "bad_request"));
}

#[test]
fn a_case_goes_only_to_an_enabled_person() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    recommended_case(&server, "c3");
    server.user_with_token("svc-ingest", "ingest");
    server.user_with_token("gone", "analyst");
    assert_eq!(server.post("/api/v1/users/gone/disable", &admin, b"").status, 200);
    for (who, why) in [("svc-ingest", "service"), ("gone", "disabled"), ("nobody", "no such user")] {
        let body = json!({"assignee": who}).to_string();
        let answer = server.post("/api/v1/cases/c3/assign", &admin, body.as_bytes());
        assert_eq!((answer.status, answer.code().as_str()), (400, "bad_request"), "{who}");
        assert!(answer.json()["error"]["message"].as_str().is_some_and(|m| m.contains(why)), "{who}");
    }
    server.user_with_token("ana", "analyst");
    let answer = server.post("/api/v1/cases/c3/assign", &admin, br#"{"assignee": "ana"}"#);
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
}

#[test]
fn closing_a_high_case_as_benign_needs_a_second_person_with_the_lead_role() {
    let server = Server::start();
    let ana = server.user_with_token("ana", "analyst");
    let ben = server.user_with_token("ben", "analyst");
    let lea = server.user_with_token("lea", "lead");
    recommended_case_of(&server, "h1", 4);
    let close = |token: &str, reason: &str| {
        let body = json!({"to": "benign", "reason": reason}).to_string();
        server.post("/api/v1/cases/h1/transition", token, body.as_bytes())
    };
    let state = || server.block_on(server.store.case(&"h1".into())).expect("case").expect("present").state;
    let asked = close(&ana, "the admin's own scheduled task");
    assert_eq!(asked.status, 202, "{}", String::from_utf8_lossy(&asked.body));
    assert_eq!(asked.json()["pending"], true);
    assert_eq!(state(), CaseState::Recommended, "nothing changes until confirmed");
    assert!(server.block_on(server.store.verdicts()).expect("verdicts").is_empty(), "no verdict yet");
    assert_eq!(close(&ana, "again").status, 409, "not the same person");
    assert_eq!(close(&ben, "me too").status, 403, "not without the lead role");
    let confirmed = close(&lea, "checked with the admin");
    assert_eq!(confirmed.status, 200, "{}", String::from_utf8_lossy(&confirmed.body));
    assert_eq!(confirmed.json()["confirmed_by"], "lea");
    assert_eq!(state(), CaseState::Benign);
    let lifecycle = server.block_on(server.store.lifecycle(&"h1".into())).expect("read").expect("case");
    assert!(
        lifecycle.history().last().is_some_and(|t| t.reason.contains("confirmed by lea")),
        "{lifecycle:?}"
    );
    let actions: Vec<String> = server.audit().into_iter().map(|r| r.action).collect();
    assert!(actions.iter().any(|a| a == "case.close_requested"));
}

#[test]
fn a_waiting_closing_goes_stale_when_the_case_moves() {
    let server = Server::start();
    let ana = server.user_with_token("ana", "analyst");
    let lea = server.user_with_token("lea", "lead");
    recommended_case_of(&server, "h2", 5);
    let body = json!({"to": "false_positive", "reason": "a scanner we run"}).to_string();
    assert_eq!(server.post("/api/v1/cases/h2/transition", &ana, body.as_bytes()).status, 202);
    // New alerts arrive: the engine drafts again, and the case moves.
    let engine = By::vigil(Component::Engine);
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        tx.transition_case(&"h2".into(), CaseState::Correlated, "2 new alerts", &engine).await.expect("move");
        tx.transition_case(&"h2".into(), CaseState::Recommended, "drafted again", &engine)
            .await
            .expect("move");
        tx.commit().await.expect("commit");
    });
    let late = server.post("/api/v1/cases/h2/transition", &lea, body.as_bytes());
    assert_eq!(late.status, 202, "the lead's is now a new request, not a confirmation of a stale one");
}
