//! The pages beyond the case: the queue paged, sorted, filtered and taken from its rows; the
//! audit trail with each record's check; events, dead letters and rules; people and tokens
//! changed by an admin through forms, and read by everyone else without one.

use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, time};

use crate::Server;
use crate::ui::{encode, form, hostile_case, person, sign_in, text};

fn cases(server: &Server, n: usize) {
    let engine = By::vigil(Component::Engine);
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        for i in 0..n {
            let row = CaseRow {
                id: format!("q{i:03}").as_str().into(),
                title: format!("Case number {i:03}"),
                state: CaseState::New,
                severity: 1 + (i % 5) as i64,
                assignee: None,
                first_seen: time::from_millis(1_700_000_000_000 + i as i64 * 1_000),
                last_seen: time::from_millis(1_700_000_000_000 + i as i64 * 1_000),
                updated_at: String::new(),
                body: json!({"alerts": []}),
            };
            tx.save_case(&row, &engine).await.expect("case");
        }
        tx.commit().await.expect("commit");
    });
}

/// The case titles of a queue page, in order.
fn titles(html: &str) -> Vec<String> {
    html.split("\">Case number ").skip(1).filter_map(|rest| rest.get(..3)).map(str::to_owned).collect()
}

#[test]
fn the_queue_pages_sorts_filters_and_takes_a_case_from_its_row() {
    let server = Server::start();
    cases(&server, 60);
    person(&server, "ana", "analyst");
    let (cookie, csrf) = sign_in(&server, "ana");
    let get = |path: &str| text(&server.request("GET", path, &[("Cookie", &cookie)], None));

    let first = get("/ui/queue");
    assert!(first.contains("60 cases · page 1 of 2"), "{first}");
    let shown = titles(&first);
    assert_eq!(shown.len(), 50);
    // Most severe first (severity 5 is every i with i % 5 == 4), then most recently active.
    assert_eq!(&shown[..3], ["059", "054", "049"]);
    assert!(first.contains("rel=\"next\""), "a link to the next page");
    let second = titles(&get("/ui/queue?page=2"));
    assert_eq!(second.len(), 10);
    assert!(shown.iter().all(|t| !second.contains(t)), "no case on two pages");

    assert_eq!(&titles(&get("/ui/queue?sort=oldest"))[..2], ["000", "001"]);
    assert_eq!(&titles(&get("/ui/queue?sort=newest"))[..2], ["059", "058"]);
    assert_eq!(titles(&get("/ui/queue?min_severity=5")).len(), 12);

    let taken = form(&server, "/ui/cases/q007/assign", &cookie, &format!("csrf_token={csrf}&back=queue"));
    assert_eq!((taken.status, taken.header("location")), (303, Some("/ui/queue")), "{}", text(&taken));
    assert_eq!(titles(&get("/ui/queue?owner=me")), ["007"]);
    assert_eq!(titles(&get("/ui/queue?owner=unassigned&page=2")).len(), 9);
    let bad = server.request("GET", "/ui/queue?sort=title", &[("Cookie", &cookie)], None);
    assert_eq!(bad.status, 400, "{}", text(&bad));
}

#[test]
fn a_lead_browses_the_trail_with_each_records_check_and_reads_the_rest_without_a_form() {
    let server = Server::start();
    hostile_case(&server);
    person(&server, "aude", "auditor");
    let (auditor, _) = sign_in(&server, "aude");
    // An auditor reads what grants cover, not the whole trail.
    assert_eq!(server.request("GET", "/ui/audit", &[("Cookie", &auditor)], None).status, 403);
    person(&server, "lea", "lead");
    let (cookie, csrf) = sign_in(&server, "lea");
    let trail = text(&server.request("GET", "/ui/audit", &[("Cookie", &cookie)], None));
    let records = server.audit().len();
    assert!(records >= 5, "{records}");
    assert_eq!(trail.matches("hash holds").count(), records, "every record's check: {trail}");
    assert!(trail.contains("case.transition"), "{trail}");
    let chain = text(&server.request("GET", "/ui/audit/verify", &[("Cookie", &cookie)], None));
    assert!(chain.contains("Intact.") && chain.contains(&format!("{records} records link")), "{chain}");
    for path in ["/ui/audit", "/ui/audit/verify", "/ui/events", "/ui/dead-letters", "/ui/people"] {
        let answer = server.request("GET", path, &[("Cookie", &cookie)], None);
        assert_eq!(answer.status, 200, "{path}");
        let html = text(&answer);
        assert_eq!(html.matches("<form method=\"post\"").count(), 1, "{path}: only the sign-out form");
    }
    assert_eq!(server.request("GET", "/ui/tokens", &[("Cookie", &cookie)], None).status, 403);
    let forged = form(&server, "/ui/people", &cookie, &format!("csrf_token={csrf}&name=eve&role=admin"));
    assert_eq!(forged.status, 403, "{}", text(&forged));
}

#[test]
fn an_admin_adds_a_person_sets_a_role_and_makes_and_revokes_a_token_by_form() {
    let server = Server::start();
    person(&server, "ada", "admin");
    let (cookie, csrf) = sign_in(&server, "ada");
    let without = form(&server, "/ui/people", &cookie, "name=bob&role=analyst");
    assert_eq!(without.status, 403, "a form without the session's CSRF token");
    let added = form(
        &server,
        "/ui/people",
        &cookie,
        &format!("csrf_token={csrf}&name=bob&role=analyst&password={}", encode("a long enough passphrase")),
    );
    assert_eq!(added.status, 303, "{}", text(&added));
    let moved = form(&server, "/ui/people/bob/role", &cookie, &format!("csrf_token={csrf}&role=lead"));
    assert_eq!(moved.status, 303, "{}", text(&moved));
    let people = text(&server.request("GET", "/ui/people", &[("Cookie", &cookie)], None));
    assert!(people.contains("<td>bob</td><td>lead</td>"), "{people}");
    let own = form(&server, "/ui/people/ada/disable", &cookie, &format!("csrf_token={csrf}"));
    assert_eq!(own.status, 409, "an admin cannot disable herself: {}", text(&own));

    let made = form(
        &server,
        "/ui/tokens",
        &cookie,
        &format!("csrf_token={csrf}&owner=bob&scopes={}&expires_in_days=7", encode("case_read, event_read")),
    );
    assert_eq!(made.status, 200, "{}", text(&made));
    let shown = text(&made);
    let secret =
        shown.split("<pre>").nth(1).and_then(|s| s.split("</pre>").next()).expect("the secret, once");
    assert!(secret.starts_with("vgl_"), "{secret}");
    assert_eq!(server.get("/api/v1/cases", secret).status, 200, "the token works");
    let id = secret.split('_').nth(1).expect("id");
    let revoked = form(&server, &format!("/ui/tokens/{id}/revoke"), &cookie, &format!("csrf_token={csrf}"));
    assert_eq!(revoked.status, 303, "{}", text(&revoked));
    assert_eq!(server.get("/api/v1/cases", secret).status, 401, "the revoked token no longer works");
    let tokens = text(&server.request("GET", "/ui/tokens", &[("Cookie", &cookie)], None));
    assert!(tokens.contains("revoked ") && !tokens.contains(secret), "{tokens}");
}

/// Reads a server-sent event stream until `wanted` arrives; fails after 30 s.
fn stream_until(url: &str, path: &str, headers: &str, wanted: &str, change: impl FnOnce()) -> String {
    use std::io::{BufRead, BufReader, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Accept: text/event-stream\r\n\r\n")
        .expect("send");
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    // The answer's head first: the stream is open before the change is made.
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("the answer's head");
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("text/event-stream"), "{head}");
    change();
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).expect("an event within 30 s");
        assert!(read > 0, "the stream ended: {seen}");
        seen.push_str(&line);
        if seen.contains(wanted) {
            return seen;
        }
    }
}

#[test]
fn an_open_queue_is_told_when_the_cases_change() {
    let server = Server::start();
    cases(&server, 1);
    person(&server, "ana", "analyst");
    let (cookie, _) = sign_in(&server, "ana");
    let without = server.request("GET", "/ui/live", &[], None);
    assert_eq!((without.status, without.header("location")), (303, Some("/ui/sign-in")));
    let script = server.request("GET", "/ui/live.js", &[], None);
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    let queue = text(&server.request("GET", "/ui/queue", &[("Cookie", &cookie)], None));
    assert!(
        queue.contains("<script src=\"/ui/live.js\" defer></script>") && queue.contains("data-live"),
        "{queue}"
    );

    // The data is when the cases last changed (a time stamp of this century).
    let session = format!("Cookie: {cookie}\r\n");
    let seen = stream_until(&server.url, "/ui/live", &session, "data: 20", || {
        cases(&server, 2);
        server.engine.processed.notify_waiters();
    });
    assert!(seen.contains("event: cases") && seen.contains("id: 20"), "{seen}");
    // A browser that reconnects says the last change it was told of; one made since is told at
    // once, with no new change.
    let stale = format!("{session}Last-Event-ID: 2000-01-01T00:00:00.000000Z\r\n");
    let told = stream_until(&server.url, "/ui/live", &stale, "data: 20", || {});
    assert!(told.contains("event: cases"), "{told}");
}
