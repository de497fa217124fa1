//! What an attacker with an ingest token, or a slow client, can try: decompression bombs in every
//! encoding the server takes, bodies that never finish, another source's events through a
//! webhook, times that cannot be read, garbage that yields nothing, floods past a quota. Each
//! is refused or kept as the issue asks, with no server error and nothing half-stored.

use std::io::{Read, Write};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use vigil_server::Limits;
use vigil_server::quota::QuotaLimits;

use crate::Server;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn events(server: &Server) -> i64 {
    server.block_on(server.store.event_count()).expect("count")
}

/// 40 MiB of syslog lines, the shape of the reported bomb.
fn syslog_flood() -> Vec<u8> {
    let line =
        b"<38>Mar  2 10:15:00 bastion sshd[812]: Failed password for root from 203.0.113.9 port 4242 ssh2\n";
    line.iter().copied().cycle().take(40 << 20).collect()
}

#[test]
fn a_decompression_bomb_is_refused_whole_in_every_encoding() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let flood = syslog_flood();
    let bomb = gzip(&flood);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let nested = gzip(&gzip(&flood[..8 << 20]));
    let deep = gzip(&gzip(&gzip(b"<38>Mar  2 10:15:00 bastion sshd[812]: hello\n")));
    for (path, body) in [
        ("/api/v1/ingest?format=syslog", &bomb),
        ("/api/v1/ingest", &bomb),
        ("/api/v1/ingest?format=syslog", &nested),
        ("/api/v1/ingest?format=syslog", &deep),
        ("/api/v1/webhooks/okta", &bomb),
    ] {
        let answer = server.post(path, &token, body);
        assert_eq!((answer.status, answer.code().as_str()), (413, "payload_too_large"), "{path}");
        assert!(answer.json()["error"]["message"].as_str().is_some_and(|m| m.contains("nothing")), "{path}");
    }
    assert_eq!(events(&server), 0, "nothing of a refused upload is stored");
    // A gzip body within the bounds is read as usual.
    let small = gzip(&flood[..100 * 97]);
    let answer = server.post("/api/v1/ingest?format=syslog", &token, &small);
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["stored"], 1, "100 copies of one line are one event");
}

/// Sends the start of a request that announces `length` bytes and never sends the rest.
fn stalled_upload(server: &Server, token: &str, length: usize) -> std::net::TcpStream {
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "POST /api/v1/ingest?format=syslog HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Length: {length}\r\n\r\n<38>Mar  2 10:15:00 bastion"
    )
    .expect("send");
    stream.flush().expect("flush");
    stream
}

#[test]
fn a_body_that_never_finishes_is_cut_off_and_evidence_keeps_slots_of_its_own() {
    let limits = Limits {
        max_concurrent_uploads: 1,
        body_deadline: Duration::from_millis(300),
        min_body_bytes_per_sec: 1 << 30,
        ..Limits::default()
    };
    let server = Server::with_limits(limits);
    let token = server.user_with_token("svc", "admin");
    let mut slow = stalled_upload(&server, &token, 1_000_000);
    // The one ingest slot is held; evidence uploads have their own.
    let evidence = server.post("/api/v1/evidence?name=note.txt&scope=global", &token, b"seen on ws-12");
    assert_eq!(evidence.status, 200, "{}", String::from_utf8_lossy(&evidence.body));
    // The server answers the stalled request itself once its deadline passes.
    let mut answer = String::new();
    slow.read_to_string(&mut answer).expect("read the answer");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    // Its slot is free again.
    let line =
        b"<38>Mar  2 10:15:00 bastion sshd[812]: Failed password for root from 203.0.113.9 port 4242 ssh2\n";
    assert_eq!(server.post("/api/v1/ingest?format=syslog", &token, line).status, 200);
}

#[test]
fn a_webhook_takes_its_own_sources_records_only() {
    let server = Server::start();
    let hook = server.token_for("okta-hook", "ingest", &["webhook:okta"], "2099-01-01T00:00:00.000000Z");
    let cloudtrail = br#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-11-30T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"}}]}"#;
    let named = server.post("/api/v1/webhooks/okta?format=cloudtrail", &hook, cloudtrail);
    assert_eq!((named.status, named.code().as_str()), (400, "bad_request"));
    // Unnamed, the body is read as Okta: not an Okta record, so a dead letter, not an event.
    let sniffed = server.post("/api/v1/webhooks/okta", &hook, cloudtrail);
    assert_eq!(sniffed.status, 200, "{}", String::from_utf8_lossy(&sniffed.body));
    let stored = server.block_on(server.store.events_after(0, 10)).expect("events");
    assert!(
        stored.iter().all(|e| e.format == "okta"),
        "{:?}",
        stored.iter().map(|e| &e.format).collect::<Vec<_>>()
    );
    let admin = server.user_with_token("root", "admin");
    let unknown = server.post("/api/v1/webhooks/not-a-format", &admin, b"{}");
    assert_eq!((unknown.status, unknown.code().as_str()), (404, "not_found"));
}

#[test]
fn a_time_that_cannot_be_read_becomes_the_arrival_time_with_the_original_kept() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let record = |uuid: &str, published: &str| {
        format!(
            r#"{{"uuid":"{uuid}","published":{published},"eventType":"user.session.start","actor":{{"id":"u1","type":"User","alternateId":"a@corp.example"}},"client":{{"ipAddress":"10.0.0.1"}},"outcome":{{"result":"SUCCESS"}}}}"#
        )
    };
    let body = [
        record("t1", "\"not-a-date\""),
        record("t2", "\"99999-01-01T00:00:00Z\""),
        record("t3", "-99999999999999999"),
        record("t4", "\"2026-03-02T10:10:00.000Z\""),
    ]
    .join("\n");
    let before = chrono::Utc::now().timestamp_millis();
    let answer = server.post("/api/v1/ingest?format=okta", &token, body.as_bytes());
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!((answer.json()["stored"].as_u64(), answer.json()["retimed"].as_u64()), (Some(4), Some(3)));
    let stored = server.block_on(server.store.events_after(0, 10)).expect("events");
    let retimed: Vec<_> = stored.iter().filter(|e| e.ocsf["unmapped"].get("vigil_time").is_some()).collect();
    assert_eq!(retimed.len(), 3);
    for e in retimed {
        let t = e.ocsf["time"].as_i64().expect("time");
        assert!(t >= before && t <= chrono::Utc::now().timestamp_millis(), "{t}");
        assert!(e.ocsf["unmapped"]["vigil_time"]["reason"].as_str().is_some(), "{}", e.ocsf["unmapped"]);
        assert!(!e.ocsf["unmapped"]["vigil_time"]["original"].is_null(), "{}", e.ocsf["unmapped"]);
    }
    // A time-bounded search over the last hour finds them.
    let from = chrono::DateTime::from_timestamp_millis(before - 3_600_000).expect("time").to_rfc3339();
    let found = server.get(&format!("/api/v1/events?from={}", from.replace('+', "%2B")), &token);
    assert_eq!(found.status, 403, "an ingest token cannot read events");
    let admin = server.user_with_token("root", "admin");
    let found = server.get(&format!("/api/v1/events?from={}", from.replace('+', "%2B")), &admin);
    assert_eq!(found.json()["events"].as_array().map(Vec::len), Some(3));
}

#[test]
fn garbage_read_as_evtx_is_one_dead_letter_with_its_reason() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let garbage: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let answer = server.post("/api/v1/ingest?format=evtx", &token, &garbage);
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let json = answer.json();
    assert_eq!((json["stored"].as_u64(), json["dead_letters"].as_u64()), (Some(0), Some(1)), "{json}");
    let dead = server.block_on(server.store.dead_letters(10)).expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert!(!dead[0].reason.is_empty(), "{:?}", dead[0]);
}

#[test]
fn a_token_past_its_quota_waits_and_nothing_of_the_refused_upload_is_stored() {
    let limits =
        Limits { quota: QuotaLimits { events_per_minute: 3, bytes_per_day: 0 }, ..Limits::default() };
    let server = Server::with_limits(limits);
    let token = server.user_with_token("svc", "ingest");
    let lines = |from: u32| -> String {
        (from..from + 2)
            .map(|i| format!("<38>Mar  2 10:15:0{i} bastion sshd[812]: Failed password for root from 203.0.113.9 port 4242 ssh2\n"))
            .collect()
    };
    assert_eq!(server.post("/api/v1/ingest?format=syslog", &token, lines(0).as_bytes()).status, 200);
    let refused = server.post("/api/v1/ingest?format=syslog", &token, lines(2).as_bytes());
    assert_eq!((refused.status, refused.code().as_str()), (429, "quota_exceeded"));
    let retry: u64 = refused.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(events(&server), 2);
    // Another token has a quota of its own.
    let other = server.token_for("svc2", "ingest", &["ingest"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(server.post("/api/v1/ingest?format=syslog", &other, lines(2).as_bytes()).status, 200);
}
