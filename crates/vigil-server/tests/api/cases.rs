//! Case transitions through the API: the store's transition table decides, refusals are audited.

use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, time};

use crate::Server;

/// A recommended case, as the engine leaves one.
pub fn recommended_case(server: &Server, id: &str) {
    let engine = By::vigil(Component::Engine);
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        let row = CaseRow {
            id: id.into(),
            title: "Lateral movement from ws-12".into(),
            state: CaseState::New,
            severity: 4,
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
