//! Response action requests through the API, tried the ways an insider would try to get an
//! action approved without the people the policy asks for. Every bypass must fail with its
//! stable code, leave the request as it was and, where it was an attempt, be in the trail.

use serde_json::{Value, json};
use vigil_model::CaseState;

use crate::Server;
use crate::cases::recommended_case;

struct Desk {
    server: Server,
    alice: String,
    bob: String,
    carol: String,
    dave: String,
}

/// Alice (responder) proposes; Bob (responder) and Carol (lead) approve; Dave is an analyst.
fn desk(server: Server) -> Desk {
    recommended_case(&server, "c1");
    let alice = server.user_with_token("alice", "responder");
    let bob = server.user_with_token("bob", "responder");
    let carol = server.user_with_token("carol", "lead");
    let dave = server.user_with_token("dave", "analyst");
    Desk { server, alice, bob, carol, dave }
}

impl Desk {
    fn propose(&self, action: &str, target: Option<&str>) -> Value {
        let body = json!({"action": action, "target": target}).to_string();
        let answer = self.server.post("/api/v1/cases/c1/actions", &self.alice, body.as_bytes());
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        answer.json()
    }

    fn answer(&self, token: &str, request: &Value, verb: &str) -> crate::Answer {
        let id = request["id"].as_str().expect("id");
        let body =
            json!({"request_sha256": request["request_sha256"], "rationale": "seen the beacon"}).to_string();
        self.server.post(&format!("/api/v1/actions/{id}/{verb}"), token, body.as_bytes())
    }

    fn status(&self, request: &Value) -> String {
        let id = request["id"].as_str().expect("id");
        self.server.get(&format!("/api/v1/actions/{id}"), &self.alice).json()["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn refused_in_trail(&self, id: &str) -> usize {
        self.server
            .audit()
            .iter()
            .filter(|r| r.target == format!("action:{id}") && r.outcome == "refused")
            .count()
    }
}

#[test]
fn one_responder_approves_isolation_and_the_case_moves_to_approved_in_the_same_change() {
    let desk = desk(Server::start());
    let request = desk.propose("isolate_host", Some("host ws-12"));
    assert_eq!(request["status"], "awaiting_approval", "{request}");
    assert_eq!(request["decision"]["rule"], "host-isolation");
    assert_eq!(request["request"]["requested_by"], json!({"kind": "person", "name": "alice"}));
    let inbox = desk.server.get("/api/v1/actions/inbox", &desk.bob).json();
    assert_eq!(inbox["actions"].as_array().map(Vec::len), Some(1), "{inbox}");
    let mine = desk.server.get("/api/v1/actions/inbox", &desk.alice).json();
    assert_eq!(
        mine["actions"].as_array().map(Vec::len),
        Some(0),
        "the requester's inbox holds no own request"
    );

    let approved = desk.answer(&desk.bob, &request, "approve");
    assert_eq!(approved.status, 200, "{}", String::from_utf8_lossy(&approved.body));
    assert_eq!(approved.json()["outcome"], "approved");
    assert_eq!(desk.status(&request), "approved");
    let case = desk.server.block_on(desk.server.store.case(&"c1".into())).expect("read").expect("case");
    assert_eq!(case.state, CaseState::Approved);
    let trail: Vec<String> = desk.server.audit().iter().rev().take(4).map(|r| r.action.clone()).collect();
    assert_eq!(trail, ["case.transition", "action.status", "action.approve", "action.propose"]);

    let again = desk.answer(&desk.carol, &request, "approve");
    assert_eq!((again.status, again.code().as_str()), (409, "request_closed"));
}

#[test]
fn self_approval_is_refused_and_audited() {
    let desk = desk(Server::start());
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let own = desk.answer(&desk.alice, &request, "approve");
    assert_eq!((own.status, own.code().as_str()), (403, "approval_not_counted"), "{}", own.json());
    assert!(own.json()["error"]["message"].as_str().is_some_and(|m| m.contains("requester")));
    assert_eq!(desk.status(&request), "awaiting_approval");
    assert_eq!(desk.refused_in_trail(request["id"].as_str().expect("id")), 1);
}

#[test]
fn two_people_means_two_distinct_people_with_the_roles_the_rule_names() {
    let desk = desk(Server::start());
    // No inventory names the key's environment: it counts as production.
    let request = desk.propose("deactivate_access_key", Some("access_key AKIAEXAMPLE"));
    assert_eq!(request["decision"]["required"], 2, "{request}");
    let first = desk.answer(&desk.bob, &request, "approve");
    assert_eq!((first.status, &first.json()["need"]), (200, &json!(1)));
    let twice = desk.answer(&desk.bob, &request, "approve");
    assert_eq!((twice.status, twice.code().as_str()), (403, "approval_not_counted"), "{}", twice.json());
    let analyst = desk.answer(&desk.dave, &request, "approve");
    assert_eq!(
        (analyst.status, analyst.code().as_str()),
        (403, "approval_not_counted"),
        "{}",
        analyst.json()
    );
    assert_eq!(desk.status(&request), "awaiting_approval");
    let second = desk.answer(&desk.carol, &request, "approve");
    assert_eq!(second.json()["outcome"], "approved", "{}", second.json());
    assert_eq!(second.json()["approvals"].as_array().map(Vec::len), Some(2));
}

#[test]
fn an_auditor_an_ingest_account_and_a_token_without_the_scope_cannot_answer() {
    let desk = desk(Server::start());
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let auditor = desk.server.user_with_token("erin", "auditor");
    let ingest = desk.server.user_with_token("svc", "ingest");
    let narrow = desk.server.token_for(
        "bob",
        "responder",
        &["case_read", "case_write"],
        "2099-01-01T00:00:00.000000Z",
    );
    for token in [&auditor, &ingest, &narrow] {
        let answer = desk.answer(token, &request, "approve");
        assert_eq!((answer.status, answer.code().as_str()), (403, "forbidden"), "{}", answer.json());
    }
    assert_eq!(desk.status(&request), "awaiting_approval");
}

#[test]
fn an_answer_bound_to_another_hash_or_with_a_forged_field_changes_nothing() {
    let desk = desk(Server::start());
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let other = desk.propose("isolate_host", Some("host ws-13"));
    let id = request["id"].as_str().expect("id");
    // A hash from another request, replayed.
    let body = json!({"request_sha256": other["request_sha256"], "rationale": "replayed"}).to_string();
    let replayed = desk.server.post(&format!("/api/v1/actions/{id}/approve"), &desk.bob, body.as_bytes());
    assert_eq!((replayed.status, replayed.code().as_str()), (409, "request_changed"));
    // A state written into the body.
    let body = json!({"request_sha256": request["request_sha256"], "rationale": "x", "status": "approved"})
        .to_string();
    let forged = desk.server.post(&format!("/api/v1/actions/{id}/approve"), &desk.bob, body.as_bytes());
    assert_eq!((forged.status, forged.code().as_str()), (400, "invalid_json"));
    let body = json!({"action": "isolate_host", "target": "host ws-12", "status": "approved"}).to_string();
    let proposed = desk.server.post("/api/v1/cases/c1/actions", &desk.alice, body.as_bytes());
    assert_eq!((proposed.status, proposed.code().as_str()), (400, "invalid_json"));
    assert_eq!(desk.status(&request), "awaiting_approval");
    assert_eq!(desk.refused_in_trail(id), 1);
}

#[test]
fn a_rejection_closes_the_request() {
    let desk = desk(Server::start());
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let rejected = desk.answer(&desk.carol, &request, "reject");
    assert_eq!(rejected.json()["outcome"], "rejected", "{}", rejected.json());
    assert_eq!(desk.status(&request), "rejected");
    let late = desk.answer(&desk.bob, &request, "approve");
    assert_eq!((late.status, late.code().as_str()), (409, "request_closed"));
}

#[test]
fn a_disabled_approver_stops_counting() {
    let desk = desk(Server::start());
    let request = desk.propose("deactivate_access_key", Some("access_key AKIAEXAMPLE"));
    assert_eq!(desk.answer(&desk.bob, &request, "approve").status, 200);
    desk.server.block_on(async {
        let mut tx = desk.server.store.write().await.expect("begin");
        tx.set_user_disabled(&"bob".into(), true, &vigil_store::By::user("test", "test"))
            .await
            .expect("disable");
        tx.commit().await.expect("commit");
    });
    let carol = desk.answer(&desk.carol, &request, "approve");
    assert_eq!(carol.json()["outcome"], "awaiting_approval", "{}", carol.json());
    assert_eq!(desk.status(&request), "awaiting_approval");
}

#[test]
fn an_answer_after_expiry_expires_the_request() {
    let start = chrono::Utc::now();
    let (clock, hand) = vigil_store::Clock::manual(start);
    let desk = desk(Server::with_clock(clock));
    let request = desk.propose("isolate_host", Some("host ws-12"));
    hand.advance(std::time::Duration::from_secs(5 * 3_600));
    let late = desk.answer(&desk.bob, &request, "approve");
    assert_eq!((late.status, late.code().as_str()), (409, "request_closed"), "{}", late.json());
    assert_eq!(desk.status(&request), "expired");
}

#[test]
fn forbidden_and_guarded_requests_are_kept_as_forbidden() {
    let desk = desk(Server::start());
    let deletion = desk.propose("delete_resource", None);
    assert_eq!(
        (deletion["status"].as_str(), deletion["decision"]["rule"].as_str()),
        (Some("forbidden"), Some("no-deletion"))
    );
    // The only admin's account: locking it out is refused whatever the policy says.
    desk.server.user_with_token("root", "admin");
    let lockout = desk.propose("disable_account", Some("user root"));
    assert_eq!(lockout["decision"]["rule"], "guard:last-admin", "{lockout}");
    let unknown = desk.propose("run_shell", None);
    assert_eq!(unknown["decision"]["rule"], "guard:unknown-action", "{unknown}");
    let answer = desk.answer(&desk.carol, &deletion, "approve");
    assert_eq!((answer.status, answer.code().as_str()), (409, "request_closed"));
}

#[test]
fn an_approver_cannot_approve_revoking_their_own_credentials() {
    let desk = desk(Server::start());
    let request = desk.propose("revoke_vigil_token", Some("user bob"));
    let own = desk.answer(&desk.bob, &request, "approve");
    assert_eq!((own.status, own.code().as_str()), (403, "approval_not_counted"), "{}", own.json());
    assert!(own.json()["error"]["message"].as_str().is_some_and(|m| m.contains("own credentials")));
    assert_eq!(desk.answer(&desk.carol, &request, "approve").json()["outcome"], "approved");
}

#[test]
fn racing_approvals_record_one_answer_a_person_and_one_approval() {
    let desk = desk(Server::start());
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let token = if i % 2 == 0 { &desk.bob } else { &desk.carol };
                let desk = &desk;
                let request = &request;
                scope.spawn(move || {
                    let a = desk.answer(token, request, "approve");
                    (a.status, a.code())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409 || *s == 403), "{answers:?}");
    let id = request["id"].as_str().expect("id");
    let approvals = desk.server.block_on(desk.server.store.approvals(id)).expect("approvals");
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    let statuses = desk
        .server
        .audit()
        .iter()
        .filter(|r| r.target == format!("action:{id}") && r.action == "action.status")
        .count();
    assert_eq!(statuses, 1);
}

#[test]
fn two_racing_approvals_of_a_two_person_request_approve_it() {
    let desk = desk(Server::start());
    let request = desk.propose("deactivate_access_key", Some("access_key AKIAEXAMPLE"));
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let bob = scope.spawn(|| desk.answer(&desk.bob, &request, "approve").json());
        let carol = scope.spawn(|| desk.answer(&desk.carol, &request, "approve").json());
        [bob, carol].into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let outcomes: Vec<&str> = answers.iter().filter_map(|a| a["outcome"].as_str()).collect();
    assert!(outcomes.contains(&"approved") && outcomes.contains(&"awaiting_approval"), "{answers:?}");
    assert_eq!(desk.status(&request), "approved", "the second answer saw the first");
}
