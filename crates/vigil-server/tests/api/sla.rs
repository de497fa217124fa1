//! SLA clocks through the server, on the store's clock (no waiting): a critical case nobody
//! touches breaches its owner and acknowledge clocks at fifteen minutes; each breach is recorded
//! once and audited, escalated to the team's webhook by a request the default policy runs by
//! itself, delivered by the executor, and shown on the case page, the queue and the API.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use vigil_engine::runner::EngineHandle;
use vigil_respond::connectors::webhook::{Webhook, WebhookFormat};
use vigil_server::Limits;

use crate::Server;
use crate::cases::recommended_case_of;
use crate::ui::{person, sign_in, text};

/// A receiver on loopback that answers 204 to every delivery and hands over each body.
fn receiver() -> (String, std::sync::mpsc::Receiver<serde_json::Value>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(": ")
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            let _ = tx.send(serde_json::from_slice(&body).unwrap_or_default());
        }
    });
    (url, rx)
}

#[test]
fn a_critical_case_nobody_touches_breaches_is_escalated_once_and_shown() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z").expect("time").to_utc();
    let (clock, hands) = vigil_store::Clock::manual(start);
    let (url, delivered) = receiver();
    let webhook = Webhook::new(&url, b"the team's webhook secret", WebhookFormat::Vigil).expect("webhook");
    let engine = EngineHandle::default().with_connector(Arc::new(webhook));
    let server = Server::with_engine(Limits::default(), clock, engine);
    recommended_case_of(&server, "c1", 5);
    let sweep = || server.block_on(vigil_server::sla::sweep(&server.state)).expect("sweep");

    hands.advance(Duration::from_secs(14 * 60));
    assert_eq!(sweep(), [], "nothing is due before fifteen minutes");
    hands.advance(Duration::from_secs(2 * 60));
    let breached: Vec<String> = sweep().into_iter().map(|b| b.clock).collect();
    assert_eq!(breached, ["own", "acknowledge"]);
    assert_eq!(sweep(), [], "a breach is recorded once");

    // Audited, by Vigil's SLA clock, once each.
    let records: Vec<_> = server.audit().into_iter().filter(|r| r.action == "case.sla_breach").collect();
    assert_eq!(records.len(), 2, "{records:#?}");
    assert!(records.iter().all(|r| r.actor == "vigil:sla" && r.target == "case:c1"));
    assert!(records[1].detail.contains(r#""clock":"acknowledge""#), "{}", records[1].detail);

    // Escalated: a notify_webhook request each, approved by the policy's sla-escalation rule.
    let breaches = server.block_on(server.store.sla_breaches(&"c1".into())).expect("breaches");
    for breach in &breaches {
        let escalation = breach.escalation.as_deref().unwrap_or_default();
        assert!(
            escalation.starts_with("notify_webhook act_") && escalation.ends_with("(approved)"),
            "{escalation}"
        );
    }
    let proposals: Vec<_> = server.audit().into_iter().filter(|r| r.action == "action.propose").collect();
    assert!(
        proposals.iter().all(|p| p.actor == "vigil:sla" && p.detail.contains(r#""rule":"sla-escalation""#))
    );
    let runs = server.run_actions();
    assert_eq!(runs.len(), 2);
    let mut messages: Vec<String> = (0..2)
        .map(|_| delivered.recv_timeout(Duration::from_secs(30)).expect("a delivery"))
        .map(|body| {
            assert_eq!(body["case"]["id"], "c1");
            body["message"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "SLA breached: case c1 waited past 2026-11-23T09:15:00.000000Z for a person to act.",
            "SLA breached: case c1 waited past 2026-11-23T09:15:00.000000Z for an owner.",
        ]
    );

    // Shown: the API, the case page and the queue.
    let lead = server.user_with_token("lea", "lead");
    let sla = server.get("/api/v1/cases/c1/sla", &lead).json();
    let acknowledge = sla["clocks"].as_array().and_then(|c| c.iter().find(|c| c["clock"] == "acknowledge"));
    assert_eq!(acknowledge.map(|c| c["status"].clone()), Some("breached".into()), "{sla}");
    assert_eq!(sla["breaches"].as_array().map(Vec::len), Some(2), "{sla}");
    person(&server, "ana", "analyst");
    let (cookie, _) = sign_in(&server, "ana");
    let page = text(&server.request("GET", "/ui/cases/c1", &[("Cookie", &cookie)], None));
    assert!(page.contains("breached: 1m overdue"), "{page}");
    let queue = text(&server.request("GET", "/ui/queue", &[("Cookie", &cookie)], None));
    assert!(queue.contains("breached: own, acknowledge"), "{queue}");

    // Acknowledged now: that clock stays breached (late), nothing new is recorded.
    let body = serde_json::json!({"assignee": "ana"}).to_string();
    let ana = server.user_with_token("ana2", "analyst");
    assert_eq!(server.post("/api/v1/cases/c1/assign", &ana, body.as_bytes()).status, 200);
    assert_eq!(sweep(), []);
    let page = text(&server.request("GET", "/ui/cases/c1", &[("Cookie", &cookie)], None));
    assert!(page.contains("breached: 1m late"), "{page}");
}
