//! Hostile and broken requests: each gets a clear 4xx with a stable code, never a 5xx, and
//! nothing is half-written.

use vigil_server::Limits;

use crate::Server;

fn events(server: &Server) -> i64 {
    server.block_on(server.store.event_count()).expect("count")
}

#[test]
fn a_mixed_batch_stores_the_good_lines_and_names_the_bad_ones() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let good = |n: u32| {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"2026-11-30T10:0{n}:00Z","eventSource":"iam.amazonaws.com","eventName":"GetUser","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.{n}","userIdentity":{{"type":"IAMUser","userName":"u{n}","accountId":"111122223333"}}}}"#
        )
    };
    let body = format!("{}\nnot json at all\n{}\n{{\"truncated\":\n{}\n", good(1), good(2), good(3));
    let answer = server.post("/api/v1/ingest?format=cloudtrail", &token, body.as_bytes());
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let json = answer.json();
    assert_eq!(json["stored"], 3);
    let lines: Vec<u64> =
        json["rejected"].as_array().expect("rejected").iter().filter_map(|r| r["line"].as_u64()).collect();
    assert_eq!(lines, [2, 4]);
    assert_eq!(server.block_on(server.store.dead_letters(10)).expect("dead").len(), 2);
    // The same batch again is acknowledged without storing anything twice.
    let again = server.post("/api/v1/ingest?format=cloudtrail", &token, body.as_bytes()).json();
    assert_eq!((again["stored"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(3)));
    assert_eq!(events(&server), 3);
}

#[test]
fn an_oversized_body_is_refused_whole() {
    let server = Server::with_limits(Limits { max_body_bytes: 1024, ..Limits::default() });
    let token = server.user_with_token("svc", "ingest");
    let line = br#"{"eventVersion":"1.08","eventTime":"2026-11-30T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userIdentity":{"type":"IAMUser","userName":"u","accountId":"1"}}"#;
    let body: Vec<u8> =
        std::iter::repeat_n(&line[..], 20).flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
    let answer = server.post("/api/v1/ingest?format=cloudtrail", &token, &body);
    assert_eq!((answer.status, answer.code().as_str()), (413, "payload_too_large"));
    assert_eq!(events(&server), 0, "nothing of a refused body is stored");
}

#[test]
fn write_requests_refuse_what_they_do_not_know() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    let cases: [(&[u8], &str); 5] = [
        (br#"{"name":"bob","role":"analyst","password":"long enough password","is_admin":true}"#, "invalid_json"),
        (b"{\"name\":\"bob\",\"role\":\"analyst\",\"password\":\"\xff\xfe not utf-8 \"}", "invalid_json"),
        (b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "invalid_json"),
        (br#"{"name":"../../etc/passwd","role":"analyst"}"#, "bad_request"),
        (br#"{"name":"bob","role":"root"}"#, "bad_request"),
    ];
    for (body, code) in cases {
        let answer = server.post("/api/v1/users", &admin, body);
        assert_eq!(
            (answer.status / 100, answer.code().as_str()),
            (4, code),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let users = server.block_on(server.store.users()).expect("users");
    assert_eq!(users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["root"], "nothing half-written");
}

#[test]
fn hostile_parameters_are_data() {
    let server = Server::start();
    let token = server.user_with_token("aud", "auditor");
    for path in [
        "/api/v1/cases/'%20OR%201=1%20--",
        "/api/v1/cases/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/cases/%00",
        "/api/v1/events/x'%3BDROP%20TABLE%20events%3B--",
        "/api/v1/evidence/..%2F..%2Fvigil.db/content",
        "/api/v1/evidence/AAAA/content",
        "/api/v1/cases?state=new'%20OR%20'1'='1",
        "/api/v1/cases?limit=-1%3B%20DELETE%20FROM%20cases",
        "/api/v1/events?from=1970'--",
        "/api/v1/cases?unknown=1",
        "/api/v1/../../../../etc/passwd",
    ] {
        let answer = server.get(path, &token);
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        assert!(!String::from_utf8_lossy(&answer.body).contains("sqlx"), "{path} leaked internals");
    }
}

#[test]
fn bad_expired_and_revoked_tokens_are_refused() {
    let server = Server::start();
    let expired = server.token_for("old", "analyst", &["*"], "2020-01-01T00:00:00.000000Z");
    let live = server.user_with_token("ana", "analyst");
    for (header, why) in [
        ("Bearer vgl_nope_nope".to_owned(), "unknown"),
        ("Basic YWRtaW46YWRtaW4=".to_owned(), "Bearer"),
        (format!("Bearer {expired}"), "expired"),
    ] {
        let answer = server.request("GET", "/api/v1/cases", &[("Authorization", &header)], None);
        assert_eq!((answer.status, answer.code().as_str()), (401, "unauthenticated"));
        assert!(answer.json()["error"]["message"].as_str().unwrap_or_default().contains(why));
    }
    assert_eq!(server.get("/api/v1/cases", &live).status, 200);
    let admin = server.user_with_token("root", "admin");
    let tokens = server.get("/api/v1/tokens", &admin).json();
    let id = tokens["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["owner"] == "ana")
        .expect("ana's token")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(server.post(&format!("/api/v1/tokens/{id}/revoke"), &admin, b"").status, 200);
    let revoked = server.get("/api/v1/cases", &live);
    assert_eq!(revoked.status, 401);
    assert!(!String::from_utf8_lossy(&tokens_body(&server, &admin)).contains("vgl_"), "no secret is listed");
}

fn tokens_body(server: &Server, admin: &str) -> Vec<u8> {
    server.get("/api/v1/tokens", admin).body
}

#[test]
fn evidence_is_served_as_an_attachment_never_inline() {
    let server = Server::start();
    let analyst = server.user_with_token("ana", "analyst");
    let html = b"<html><script>alert(1)</script></html>";
    let up = server.post("/api/v1/evidence?name=page.html&scope=global&media_type=text/html", &analyst, html);
    assert_eq!(up.status, 200, "{}", String::from_utf8_lossy(&up.body));
    let sha = up.json()["sha256"].as_str().expect("sha").to_owned();
    let down = server.get(&format!("/api/v1/evidence/{sha}/content"), &analyst);
    assert_eq!(down.status, 200);
    assert_eq!(down.body, html);
    assert_eq!(down.header("content-type"), Some("application/octet-stream"));
    assert_eq!(down.header("x-content-type-options"), Some("nosniff"));
    assert!(down.header("content-disposition").is_some_and(|d| d.starts_with("attachment")));
    let auditor = server.user_with_token("aud", "auditor");
    assert_eq!(server.post("/api/v1/evidence?name=x&scope=global", &auditor, b"x").status, 403);
}

#[test]
fn the_audit_trail_has_no_route_that_changes_it() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    for (method, path) in
        [("POST", "/api/v1/audit"), ("DELETE", "/api/v1/audit"), ("POST", "/api/v1/audit/verify")]
    {
        let body = (method == "POST").then_some(&b"{}"[..]);
        let answer = server.request(method, path, &[("Authorization", &format!("Bearer {admin}"))], body);
        assert!((400..500).contains(&answer.status), "{method} {path}: {}", answer.status);
    }
    let verify = server.get("/api/v1/audit/verify", &admin).json();
    assert_eq!(verify["intact"], true, "{verify}");
}

#[test]
fn ocsf_lines_with_broken_bytes_nesting_or_classes_become_dead_letters_with_reasons() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let good = br#"{"class_uid":3002,"activity_id":1,"time":1772446200000,"metadata":{"version":"1.5.0","product":{"name":"IdP"}},"user":{"name":"alice"}}"#;
    let mut body = good.to_vec();
    body.extend_from_slice(b"\n{\"class_uid\":3002,\"time\":1,\"metadata\":{},\"note\":\"\xff\xfe\"}\n");
    body.extend_from_slice(&[b'['; 300]);
    body.extend_from_slice(b"\n{\"class_uid\":424242,\"time\":1,\"metadata\":{}}\n");
    let answer = server.post("/api/v1/ingest?format=ocsf", &token, &body);
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let json = answer.json();
    assert_eq!(json["stored"], 1, "{json}");
    let reasons: Vec<String> = json["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| format!("{}: {}", r["line"], r["reason"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].starts_with("2: ") && reasons[0].contains("UTF-8"), "{reasons:?}");
    assert!(reasons[1].starts_with("3: ") && reasons[1].contains("deeper"), "{reasons:?}");
    assert!(reasons[2].starts_with("4: ") && reasons[2].contains("class"), "{reasons:?}");
    let unknown = server.post("/api/v1/ingest?format=no-such-format", &token, good);
    assert_eq!((unknown.status, unknown.code().as_str()), (415, "unsupported_format"));
    let empty = server.post("/api/v1/ingest", &token, b"");
    assert_eq!((empty.status, empty.code().as_str()), (400, "bad_request"));
}

#[test]
fn with_every_upload_slot_taken_an_upload_is_refused_before_its_body_is_read() {
    let server = Server::with_limits(Limits { max_concurrent_uploads: 1, ..Limits::default() });
    let token = server.user_with_token("svc", "ingest");
    let held = server.block_on(server.uploads.clone().acquire_owned()).expect("the one slot");
    let refused = server.post("/api/v1/ingest", &token, b"<13>Mar  2 10:47:30 web-01 cron[812]: tick\n");
    assert_eq!((refused.status, refused.code().as_str()), (503, "overloaded"));
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(events(&server), 0);
    drop(held);
    let accepted = server.post("/api/v1/ingest", &token, b"<13>Mar  2 10:47:30 web-01 cron[812]: tick\n");
    assert_eq!(accepted.status, 200, "{}", String::from_utf8_lossy(&accepted.body));
    assert_eq!(events(&server), 1);
}

#[test]
fn every_bad_query_parameter_is_a_400_with_a_stable_code() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    for path in [
        "/api/v1/cases?limit=-1",
        "/api/v1/cases?limit=0",
        "/api/v1/cases?limit=1000001",
        "/api/v1/cases?min_severity=-3",
        "/api/v1/alerts?limit=-1",
        "/api/v1/events?q=%00%ff",
        "/api/v1/events?q=%ff",
        "/api/v1/events?q=a%00",
        "/api/v1/dead-letters?limit=-5",
        "/api/v1/audit?after=-1",
        "/api/v1/verdicts?limit=0",
    ] {
        let answer = server.get(path, &admin);
        assert_eq!((answer.status, answer.code().as_str()), (400, "bad_request"), "{path}");
    }
}

#[test]
fn a_known_route_asked_with_the_wrong_method_is_405_with_allow() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    let bearer = format!("Bearer {admin}");
    for (method, path, allow) in [
        ("DELETE", "/api/v1/cases", "GET, HEAD"),
        ("GET", "/api/v1/ingest", "POST"),
        ("DELETE", "/api/v1/users", "GET, HEAD, POST"),
        ("DELETE", "/api/v1/cases/abc/transition", "POST"),
    ] {
        let answer = server.request(method, path, &[("Authorization", &bearer)], None);
        assert_eq!((answer.status, answer.code().as_str()), (405, "method_not_allowed"), "{method} {path}");
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }
    assert_eq!(server.get("/api/v1/no-such-route", &admin).status, 404);
}

#[test]
fn a_password_of_spaces_is_refused() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    for password in ["            ", " \t  \t  \t  \t  ", "short"] {
        let body = serde_json::json!({"name": "bob", "role": "analyst", "password": password}).to_string();
        let answer = server.post("/api/v1/users", &admin, body.as_bytes());
        assert_eq!((answer.status, answer.code().as_str()), (400, "bad_request"), "{password:?}");
    }
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let server = Server::start();
    let token = server.user_with_token("root", "admin");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let answer =
            server.request("GET", "/api/v1/me", &[("Authorization", &format!("{scheme} {token}"))], None);
        assert_eq!(answer.status, 200, "{scheme}");
    }
    let basic = server.request("GET", "/api/v1/me", &[("Authorization", &format!("Basic {token}"))], None);
    assert_eq!(basic.status, 401);
}
