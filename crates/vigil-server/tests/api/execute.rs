//! Running approved actions through the API: execute queues one run however many callers ask,
//! the executor verifies it and the feeds serve it, a rollback is a request under policy too,
//! and every way to run something without its approvals fails with its stable code.

use serde_json::{Value, json};
use vigil_model::CaseState;

use crate::Server;
use crate::cases::recommended_case;

struct Desk {
    server: Server,
    alice: String,
    bob: String,
    dave: String,
}

/// Alice and Bob are responders, Dave an analyst; case c1 is recommended.
fn desk() -> Desk {
    let server = Server::start();
    recommended_case(&server, "c1");
    let alice = server.user_with_token("alice", "responder");
    let bob = server.user_with_token("bob", "responder");
    let dave = server.user_with_token("dave", "analyst");
    Desk { server, alice, bob, dave }
}

impl Desk {
    fn propose(&self, action: &str, target: Option<&str>) -> Value {
        let body = json!({"action": action, "target": target}).to_string();
        let answer = self.server.post("/api/v1/cases/c1/actions", &self.alice, body.as_bytes());
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        answer.json()
    }

    fn approve(&self, request: &Value) {
        let id = request["id"].as_str().expect("id");
        let body = json!({"request_sha256": request["request_sha256"], "rationale": "the C2 is confirmed"});
        let answer = self.server.post(
            &format!("/api/v1/actions/{id}/approve"),
            &self.bob,
            body.to_string().as_bytes(),
        );
        assert_eq!(answer.json()["outcome"], "approved", "{}", answer.json());
    }

    fn execute(&self, token: &str, request: &Value) -> crate::Answer {
        let id = request["id"].as_str().expect("id");
        self.server.post(&format!("/api/v1/actions/{id}/execute"), token, b"")
    }

    fn run(&self, request: &Value) -> Value {
        let id = request["id"].as_str().expect("id");
        self.server.get(&format!("/api/v1/actions/{id}/run"), &self.alice).json()
    }

    fn case_state(&self) -> CaseState {
        self.server.block_on(self.server.store.case(&"c1".into())).expect("read").expect("case").state
    }

    fn feed(&self, token: &str) -> String {
        let answer = self.server.get("/api/v1/feeds/blocklist.txt", token);
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        String::from_utf8(answer.body).expect("text")
    }
}

#[test]
fn a_hundred_execute_calls_make_one_run_that_verifies_is_served_and_rolls_back_under_policy() {
    let desk = desk();
    let request = desk.propose("block_indicator", Some("ip 203.0.113.7"));
    assert_eq!(request["status"], "awaiting_approval", "{request}");
    assert!(request["plan"]["changes"][0].as_str().is_some_and(|c| c.contains("203.0.113.7")), "{request}");
    desk.approve(&request);
    assert_eq!(desk.case_state(), CaseState::Approved);

    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let (desk, request) = (&desk, &request);
                scope.spawn(move || {
                    let a = desk.execute(&desk.alice, request);
                    (a.status, a.json()["run"]["id"].as_str().unwrap_or_default().to_owned())
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().expect("caller")).collect()
    });
    assert_eq!(answers.iter().filter(|(s, _)| *s == 202).count(), 1, "one call queued it: {answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 202 || *s == 200), "{answers:?}");
    let mut ids: Vec<&str> = answers.iter().map(|(_, id)| id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every call answers the same run: {ids:?}");

    let ran = desk.server.run_actions();
    assert_eq!(ran.len(), 1, "{ran:?}");
    let view = desk.run(&request);
    assert_eq!(view["run"]["status"], "succeeded", "{view}");
    let steps: Vec<String> = view["log"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{} {}", s["step"], s["outcome"]))
        .collect();
    assert_eq!(
        steps,
        [
            "\"authorize\" \"ok\"",
            "\"plan\" \"ok\"",
            "\"precheck\" \"ok\"",
            "\"execute\" \"started\"",
            "\"execute\" \"ok\"",
            "\"verify\" \"ok\""
        ]
    );
    assert_eq!(view["log"][0]["detail"]["approvers"], json!(["bob"]));
    assert!(desk.server.run_actions().is_empty(), "nothing runs twice");
    assert_eq!(desk.case_state(), CaseState::Executed, "its only containment action ran and verified");

    let firewall = desk.server.user_with_token("fw-edge", "ingest");
    assert_eq!(desk.feed(&firewall), "203.0.113.7\n");
    let stix = desk.server.get("/api/v1/feeds/blocklist.stix", &firewall);
    assert_eq!(stix.header("content-type"), Some("application/stix+json;version=2.1"));
    let bundle = stix.json();
    assert_eq!(bundle["type"], "bundle");
    assert_eq!(bundle["objects"][0]["pattern"], "[ipv4-addr:value = '203.0.113.7']", "{bundle}");

    // The rollback is a request of the undo action, decided by the policy: nobody skips it.
    let id = request["id"].as_str().expect("id");
    let body = json!({"rationale": "the address was reassigned to a partner"}).to_string();
    let undo = desk.server.post(&format!("/api/v1/actions/{id}/rollback"), &desk.alice, body.as_bytes());
    assert_eq!(undo.status, 200, "{}", String::from_utf8_lossy(&undo.body));
    let undo = undo.json();
    assert_eq!(
        (undo["request"]["action"].as_str(), undo["status"].as_str()),
        (Some("unblock_indicator"), Some("awaiting_approval")),
        "{undo}"
    );
    let early = desk.execute(&desk.alice, &undo);
    assert_eq!(
        (early.status, early.code().as_str()),
        (409, "not_approved"),
        "a rollback without its approval"
    );
    desk.approve(&undo);
    assert_eq!(desk.execute(&desk.alice, &undo).status, 202);
    desk.server.run_actions();
    assert_eq!(desk.run(&undo)["run"]["status"], "succeeded", "{}", desk.run(&undo));
    assert_eq!(desk.feed(&firewall), "", "taken off the feed");
    assert_eq!(desk.run(&request)["run"]["status"], "rolled_back");
    assert_eq!(desk.case_state(), CaseState::Recovered);
    let again = desk.server.post(&format!("/api/v1/actions/{id}/rollback"), &desk.alice, body.as_bytes());
    assert_eq!((again.status, again.code().as_str()), (409, "nothing_to_roll_back"));
}

#[test]
fn execute_before_the_quorum_after_a_rejection_or_without_the_role_is_refused_and_audited() {
    let desk = desk();
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let early = desk.execute(&desk.alice, &request);
    assert_eq!((early.status, early.code().as_str()), (409, "not_approved"), "{}", early.json());
    let analyst = desk.execute(&desk.dave, &request);
    assert_eq!((analyst.status, analyst.code().as_str()), (403, "forbidden"), "analysts do not execute");
    let id = request["id"].as_str().expect("id");
    let body = json!({"request_sha256": request["request_sha256"], "rationale": "not this host"}).to_string();
    desk.server.post(&format!("/api/v1/actions/{id}/reject"), &desk.bob, body.as_bytes());
    let rejected = desk.execute(&desk.alice, &request);
    assert_eq!((rejected.status, rejected.code().as_str()), (409, "request_closed"));
    assert!(desk.server.run_actions().is_empty(), "nothing was queued");
    let refused = desk
        .server
        .audit()
        .iter()
        .filter(|r| r.target == format!("action:{id}") && r.action == "action.run" && r.outcome == "refused")
        .count();
    assert_eq!(refused, 2);
}

#[test]
fn an_approved_action_vigil_cannot_run_says_so_and_queues_nothing() {
    let desk = desk();
    let request = desk.propose("isolate_host", Some("host ws-12"));
    assert_eq!(request["plan"]["runnable"], false, "{request}");
    desk.approve(&request);
    let answer = desk.execute(&desk.alice, &request);
    assert_eq!((answer.status, answer.code().as_str()), (409, "no_connector"), "{}", answer.json());
}

#[test]
fn an_automatic_step_runs_without_anyone_and_opens_the_ticket() {
    let desk = desk();
    let request = desk.propose("open_ticket", None);
    assert_eq!(
        (request["status"].as_str(), request["decision"]["rule"].as_str()),
        (Some("approved"), Some("read-and-record"))
    );
    let ran = desk.server.run_actions();
    assert_eq!(ran.len(), 1);
    assert_eq!(desk.run(&request)["run"]["status"], "succeeded");
    let tickets = desk.server.block_on(desk.server.store.case_tickets(&"c1".into())).expect("tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(desk.case_state(), CaseState::Recommended, "a ticket contains nothing: the case stays");
}

#[test]
fn rollback_of_what_has_not_run_or_cannot_be_undone_is_refused() {
    let desk = desk();
    let block = desk.propose("block_indicator", Some("ip 198.51.100.9"));
    let body = json!({"rationale": "changed our mind"}).to_string();
    let id = block["id"].as_str().expect("id");
    let not_run = desk.server.post(&format!("/api/v1/actions/{id}/rollback"), &desk.alice, body.as_bytes());
    assert_eq!((not_run.status, not_run.code().as_str()), (409, "nothing_to_roll_back"));
    let ticket = desk.propose("open_ticket", None);
    desk.server.run_actions();
    let id = ticket["id"].as_str().expect("id");
    let nothing = desk.server.post(&format!("/api/v1/actions/{id}/rollback"), &desk.alice, body.as_bytes());
    assert_eq!((nothing.status, nothing.code().as_str()), (409, "nothing_to_roll_back"));
    assert!(
        nothing.json()["error"]["message"].as_str().is_some_and(|m| m.contains("nothing that needs undoing"))
    );
}

#[test]
fn a_session_approval_without_the_csrf_header_is_refused() {
    let desk = desk();
    let request = desk.propose("isolate_host", Some("host ws-12"));
    let hash = vigil_server::auth::password::hash("a long responder password").expect("hash");
    desk.server.block_on(async {
        let mut tx = desk.server.store.write().await.expect("begin");
        tx.create_user(&"erin".into(), "responder", &hash, &vigil_store::By::user("test", "test"))
            .await
            .expect("user");
        tx.commit().await.expect("commit");
    });
    let body = json!({"name": "erin", "password": "a long responder password"}).to_string();
    let login = desk.server.request(
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        Some(body.as_bytes()),
    );
    let cookie = login.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_owned();
    let id = request["id"].as_str().expect("id");
    let answer = json!({"request_sha256": request["request_sha256"], "rationale": "ok"}).to_string();
    let path = format!("/api/v1/actions/{id}/approve");
    let forged = desk.server.request(
        "POST",
        &path,
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        Some(answer.as_bytes()),
    );
    assert_eq!((forged.status, forged.code().as_str()), (403, "csrf_mismatch"));
    assert_eq!(
        desk.server.get(&format!("/api/v1/actions/{id}"), &desk.alice).json()["status"],
        "awaiting_approval"
    );
}

#[test]
fn isolating_the_vigil_server_itself_is_refused_whoever_approves() {
    let desk = desk();
    let own = vigil_engine::proposals::own_host().expect("this machine has a host name");
    let request = desk.propose("isolate_host", Some(&format!("host {own}")));
    assert_eq!(
        (request["status"].as_str(), request["decision"]["rule"].as_str()),
        (Some("forbidden"), Some("guard:vigil-server")),
        "{request}"
    );
    let answer = desk.execute(&desk.alice, &request);
    assert_eq!((answer.status, answer.code().as_str()), (409, "request_closed"));
}

#[test]
fn the_feeds_need_the_feed_permission() {
    let desk = desk();
    let scoped = desk.server.token_for("svc", "ingest", &["ingest"], "2099-01-01T00:00:00.000000Z");
    let answer = desk.server.get("/api/v1/feeds/blocklist.txt", &scoped);
    assert_eq!((answer.status, answer.code().as_str()), (403, "forbidden"));
    assert_eq!(desk.feed(&desk.dave), "", "an empty list is an empty body");
}

#[test]
fn a_mute_for_one_entity_runs_verifies_and_is_lifted_by_its_rollback() {
    let desk = desk();
    let bad = json!({"action": "mute_rule", "target": "rule r-brute-force", "parameters": {"entity": "user svc", "for": "1y"}});
    let refused = desk.server.post("/api/v1/cases/c1/actions", &desk.alice, bad.to_string().as_bytes());
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (400, "bad_request"),
        "a year is past the 30 days a mute may last"
    );
    let body = json!({"action": "mute_rule", "target": "rule r-brute-force", "parameters": {"entity": "user svc-backup", "for": "2h"}});
    let answer = desk.server.post("/api/v1/cases/c1/actions", &desk.alice, body.to_string().as_bytes());
    let request = answer.json();
    assert_eq!(
        request["plan"]["changes"][0], "drop rule r-brute-force's alerts on user svc-backup for 2 hours",
        "{request}"
    );
    desk.approve(&request);
    assert_eq!(desk.execute(&desk.alice, &request).status, 202);
    desk.server.run_actions();
    assert_eq!(desk.run(&request)["run"]["status"], "succeeded");
    let live = desk.server.block_on(desk.server.store.live_mutes()).expect("mutes");
    assert_eq!(live.iter().map(|m| m.entity.as_str()).collect::<Vec<_>>(), ["user svc-backup"]);
    let id = request["id"].as_str().expect("id");
    let undo = desk.server.post(
        &format!("/api/v1/actions/{id}/rollback"),
        &desk.alice,
        br#"{"rationale": "the job moved"}"#,
    );
    let undo = undo.json();
    assert_eq!(undo["request"]["action"], "unmute_rule", "{undo}");
    desk.approve(&undo);
    desk.execute(&desk.alice, &undo);
    desk.server.run_actions();
    assert!(desk.server.block_on(desk.server.store.live_mutes()).expect("mutes").is_empty());
}

#[test]
fn enrichment_runs_by_itself_and_keeps_what_the_inventories_say_as_evidence() {
    let desk = desk();
    let request = desk.propose("enrich", None);
    assert_eq!(request["status"], "approved", "{request}");
    desk.server.run_actions();
    let view = desk.run(&request);
    assert_eq!(view["run"]["status"], "succeeded", "{view}");
    let sha = view["log"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["step"] == "execute" && s["outcome"] == "ok")
        .and_then(|s| s["detail"]["changed"]["evidence_sha256"].as_str())
        .expect("the enrichment is evidence")
        .to_owned();
    let meta = desk.server.get(&format!("/api/v1/evidence/{sha}"), &desk.alice).json();
    assert_eq!(meta["evidence"]["scope"], "case:c1", "{meta}");
}

#[test]
fn the_owner_confirms_recovery_of_an_executed_case() {
    let desk = desk();
    let request = desk.propose("block_indicator", Some("ip 192.0.2.44"));
    desk.approve(&request);
    desk.execute(&desk.alice, &request);
    desk.server.run_actions();
    assert_eq!(desk.case_state(), CaseState::Executed);
    let body = json!({"to": "recovered", "reason": "the host is back in service, checked with its owner"});
    let moved = desk.server.post("/api/v1/cases/c1/transition", &desk.alice, body.to_string().as_bytes());
    assert_eq!(moved.status, 200, "{}", moved.json());
    assert_eq!(desk.case_state(), CaseState::Recovered);
}

#[test]
fn an_approval_is_of_the_plan_it_was_shown_and_of_no_other() {
    let desk = desk();
    desk.server.token_for("erin", "analyst", &["case_read"], "2099-01-01T00:00:00.000000Z");
    let one = desk.propose("revoke_vigil_token", Some("user erin"));
    desk.server.token_for("erin", "analyst", &["case_read"], "2099-01-01T00:00:00.000000Z");
    let two = desk.propose("revoke_vigil_token", Some("user erin"));
    assert_ne!(one["plan_sha256"], two["plan_sha256"], "a second token is another plan");
    assert_ne!(one["request_sha256"], two["request_sha256"], "and so another request to approve");
    let id = two["id"].as_str().expect("id");
    let body =
        json!({"request_sha256": one["request_sha256"], "rationale": "approved what I read"}).to_string();
    let stale = desk.server.post(&format!("/api/v1/actions/{id}/approve"), &desk.bob, body.as_bytes());
    assert_eq!((stale.status, stale.code().as_str()), (409, "request_changed"));
}
