//! Signing in: the cookie's attributes, CSRF on changes, lockout after failures, the per-address
//! rate limit, and every attempt in the audit trail.

use vigil_server::Limits;
use vigil_store::By;

use crate::Server;

fn add_user(server: &Server, name: &str, role: &str, password: &str) {
    let hash = vigil_server::auth::password::hash(password).expect("hash");
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        tx.create_user(&name.into(), role, &hash, &By::user("test", "test")).await.expect("user");
        tx.commit().await.expect("commit");
    });
}

fn login(server: &Server, name: &str, password: &str) -> crate::Answer {
    let body = serde_json::json!({"name": name, "password": password}).to_string();
    server.request("POST", "/api/v1/login", &[("Content-Type", "application/json")], Some(body.as_bytes()))
}

#[test]
fn a_session_needs_its_csrf_token_for_changes() {
    let server = Server::start();
    add_user(&server, "ana", "analyst", "a long analyst password");
    let answer = login(&server, "ana", "a long analyst password");
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let cookie = answer.header("set-cookie").expect("cookie").to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let session = cookie.split(';').next().expect("pair").to_owned();
    let csrf = answer.json()["csrf_token"].as_str().expect("csrf").to_owned();
    assert_eq!(server.request("GET", "/api/v1/me", &[("Cookie", &session)], None).json()["role"], "analyst");
    let no_csrf = server.request(
        "POST",
        "/api/v1/cases/c1/comments",
        &[("Cookie", &session)],
        Some(br#"{"body":"x"}"#),
    );
    assert_eq!((no_csrf.status, no_csrf.code().as_str()), (403, "csrf_mismatch"));
    let with_csrf = server.request(
        "POST",
        "/api/v1/cases/c1/comments",
        &[("Cookie", &session), ("X-CSRF-Token", &csrf)],
        Some(br#"{"body":"x"}"#),
    );
    assert_eq!(
        (with_csrf.status, with_csrf.code().as_str()),
        (404, "not_found"),
        "past CSRF to the missing case"
    );
    let out =
        server.request("POST", "/api/v1/logout", &[("Cookie", &session), ("X-CSRF-Token", &csrf)], None);
    assert_eq!(out.status, 200);
    assert_eq!(server.request("GET", "/api/v1/me", &[("Cookie", &session)], None).status, 401);
}

#[test]
fn a_form_without_javascript_sends_the_csrf_token_as_a_field() {
    let server = Server::start();
    add_user(&server, "ana", "analyst", "a long analyst password");
    let answer = login(&server, "ana", "a long analyst password");
    let session = answer.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_owned();
    let csrf = answer.json()["csrf_token"].as_str().expect("csrf").to_owned();
    let form = [("Cookie", session.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let wrong = server.request("POST", "/api/v1/logout", &form, Some(b"csrf_token=not-the-token"));
    assert_eq!((wrong.status, wrong.code().as_str()), (403, "csrf_mismatch"));
    let missing = server.request("POST", "/api/v1/logout", &form, Some(b"reason=none"));
    assert_eq!((missing.status, missing.code().as_str()), (403, "csrf_mismatch"));
    let right =
        server.request("POST", "/api/v1/logout", &form, Some(format!("csrf_token={csrf}").as_bytes()));
    assert_eq!(right.status, 200, "{}", String::from_utf8_lossy(&right.body));
    assert_eq!(server.request("GET", "/api/v1/me", &[("Cookie", &session)], None).status, 401);
}

#[test]
fn repeated_failures_throttle_the_account_with_a_growing_wait_answered_as_any_wrong_password() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").expect("time").to_utc();
    let (clock, hand) = vigil_store::Clock::manual(start);
    let server = Server::with_clock(clock);
    add_user(&server, "bob", "responder", "the right password here");
    for _ in 0..5 {
        let answer = login(&server, "bob", "wrong password guess");
        assert_eq!((answer.status, answer.code().as_str()), (401, "unauthenticated"));
    }
    // Throttled: even the right password is answered as a wrong one, as an unknown name is.
    let throttled = login(&server, "bob", "the right password here");
    let unknown = login(&server, "nobody", "whatever it is");
    assert_eq!(
        (throttled.status, throttled.json()),
        (unknown.status, unknown.json()),
        "no hint which names exist"
    );
    assert_eq!(throttled.status, 401);
    // The wait is a second after the fifth failure, two after the sixth: not fifteen minutes.
    hand.advance(std::time::Duration::from_millis(1_500));
    assert_eq!(login(&server, "bob", "wrong again").status, 401);
    hand.advance(std::time::Duration::from_millis(1_500));
    assert_eq!(login(&server, "bob", "the right password here").status, 401, "still waiting");
    hand.advance(std::time::Duration::from_secs(1));
    assert_eq!(login(&server, "bob", "the right password here").status, 200);
    let records: Vec<_> = server
        .block_on(server.store.audit_records(0, 100))
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "user.login")
        .collect();
    assert!(records.iter().filter(|r| r.outcome == "refused").count() >= 8, "{records:#?}");
    assert!(records.iter().any(|r| r.detail.contains("throttled")), "the throttled attempts are audited");
    assert_eq!(records.last().map(|r| r.outcome.as_str()), Some("ok"));
}

#[test]
fn refused_sign_ins_are_audited_with_their_reason() {
    let server = Server::with_limits(Limits { logins_per_minute: 3, ..Limits::default() });
    add_user(&server, "ana", "analyst", "a long analyst password");
    let long = "x".repeat(2_000);
    assert_eq!(login(&server, "ana", &long).status, 401);
    assert_eq!(login(&server, "Not A Name!", "whatever it is").status, 401);
    for _ in 0..5 {
        login(&server, "ana", "a long analyst password");
    }
    let records = server.block_on(server.store.audit_records(0, 100)).expect("audit");
    let reasons: Vec<&str> = records
        .iter()
        .filter(|r| r.action == "user.login" && r.outcome == "refused")
        .map(|r| r.detail.as_str())
        .collect();
    assert!(reasons.iter().any(|d| d.contains("longer than 1024")), "{reasons:?}");
    assert!(reasons.iter().any(|d| d.contains("no account can have that name")), "{reasons:?}");
    let limited = reasons.iter().filter(|d| d.contains("too many sign-in attempts")).count();
    assert_eq!(limited, 1, "rate-limited refusals are recorded once a minute: {reasons:?}");
}

#[test]
fn forbidden_requests_and_csrf_failures_are_audited_once_a_minute_a_principal() {
    let server = Server::start();
    let analyst = server.user_with_token("ana", "analyst");
    for _ in 0..3 {
        assert_eq!(server.get("/api/v1/audit", &analyst).status, 403);
    }
    add_user(&server, "bob", "responder", "the right password here");
    let answer = login(&server, "bob", "the right password here");
    let session = answer.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_owned();
    let no_csrf = server.request(
        "POST",
        "/api/v1/cases/c1/comments",
        &[("Cookie", &session)],
        Some(br#"{"body":"x"}"#),
    );
    assert_eq!(no_csrf.status, 403);
    let records = server.block_on(server.store.audit_records(0, 100)).expect("audit");
    let refused: Vec<_> = records.iter().filter(|r| r.action == "access.refused").collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert!(refused[0].actor.starts_with("ana (token") && refused[0].target == "route:GET /api/v1/audit");
    assert!(refused[1].actor == "bob" && refused[1].detail.contains("CSRF"), "{:?}", refused[1]);
}

#[test]
fn sign_in_attempts_are_rate_limited_per_address() {
    let server = Server::with_limits(Limits { logins_per_minute: 3, ..Limits::default() });
    for _ in 0..3 {
        assert_eq!(login(&server, "x", "y").status, 401);
    }
    let limited = login(&server, "x", "y");
    assert_eq!((limited.status, limited.code().as_str()), (429, "rate_limited"));
    assert_eq!(limited.header("retry-after"), Some("60"));
}

#[test]
fn a_session_and_a_token_expire_when_the_clock_passes_their_end_without_sleeping() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").expect("time").to_utc();
    let (clock, hand) = vigil_store::Clock::manual(start);
    let server = Server::with_clock(clock);
    add_user(&server, "ana", "analyst", "a long analyst password");
    let answer = login(&server, "ana", "a long analyst password");
    let session = answer.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_owned();
    let token = server.token_for("svc", "ingest", &["ingest"], "2026-06-01T10:00:00.000000Z");
    assert_eq!(server.request("GET", "/api/v1/me", &[("Cookie", &session)], None).status, 200);
    assert_eq!(server.get("/api/v1/me", &token).status, 200);
    hand.advance(std::time::Duration::from_secs(2 * 3600));
    assert_eq!(server.get("/api/v1/me", &token).status, 401, "the token's hour is up");
    hand.advance(std::time::Duration::from_secs(30 * 24 * 3600));
    assert_eq!(server.request("GET", "/api/v1/me", &[("Cookie", &session)], None).status, 401);
}

#[test]
fn a_user_changes_their_password_and_an_admin_re_enables_an_account_and_changes_a_role() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    add_user(&server, "ana", "analyst", "a long analyst password");
    let answer = login(&server, "ana", "a long analyst password");
    let session = answer.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_owned();
    let csrf = answer.json()["csrf_token"].as_str().expect("csrf").to_owned();
    let headers = [("Cookie", session.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let wrong = br#"{"current": "not my password", "new": "a new long password"}"#;
    assert_eq!(server.request("POST", "/api/v1/me/password", &headers, Some(wrong)).status, 403);
    let right = br#"{"current": "a long analyst password", "new": "a new long password"}"#;
    assert_eq!(server.request("POST", "/api/v1/me/password", &headers, Some(right)).status, 200);
    assert_eq!(login(&server, "ana", "a long analyst password").status, 401);
    assert_eq!(login(&server, "ana", "a new long password").status, 200);

    assert_eq!(server.post("/api/v1/users/ana/disable", &admin, b"").status, 200);
    assert_eq!(login(&server, "ana", "a new long password").status, 401);
    assert_eq!(server.post("/api/v1/users/ana/enable", &admin, b"").status, 200);
    let again = login(&server, "ana", "a new long password");
    assert_eq!(again.status, 200);
    assert_eq!(server.post("/api/v1/users/ana/role", &admin, br#"{"role": "lead"}"#).status, 200);
    let me = server.request("GET", "/api/v1/me", &[("Cookie", &session)], None);
    assert_eq!(me.json()["role"], "lead", "the role holds at once");
    let own = server.post("/api/v1/users/root/role", &admin, br#"{"role": "analyst"}"#);
    assert_eq!((own.status, own.code().as_str()), (409, "conflict"));
    let actions: Vec<String> = server.audit().into_iter().map(|r| r.action).collect();
    for action in ["user.password_change", "user.enable", "user.role_change"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited");
    }
}

#[test]
fn many_addresses_hammering_a_throttled_account_leave_one_record_a_minute() {
    // Each throttled attempt was one audit record, bounded only by each address's own limit:
    // a thousand addresses wrote ten thousand records a minute against one account.
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").expect("time").to_utc();
    let (clock, hand) = vigil_store::Clock::manual(start);
    let proxy = vigil_server::state::TrustedProxy {
        address: "127.0.0.1".parse().expect("address"),
        header: "x-forwarded-for".into(),
    };
    let server = Server::with(Limits { trusted_proxy: Some(proxy), ..Limits::default() }, clock);
    add_user(&server, "admin2", "admin", "the right admin password");
    let attempt = |from: &str| {
        let body = serde_json::json!({"name": "admin2", "password": "a guess at it"}).to_string();
        let headers = [("Content-Type", "application/json"), ("X-Forwarded-For", from)];
        server.request("POST", "/api/v1/login", &headers, Some(body.as_bytes())).status
    };
    for i in 0..5 {
        assert_eq!(attempt(&format!("203.0.113.{i}")), 401);
    }
    for i in 0..40 {
        assert_eq!(attempt(&format!("198.51.100.{i}")), 401, "throttled, answered as any wrong password");
    }
    // A minute on, the wait is over: one more guess is checked and fails, the account waits
    // again, and the next throttled attempt is recorded with the count of those unrecorded.
    hand.advance(std::time::Duration::from_secs(61));
    assert_eq!(attempt("198.51.100.200"), 401);
    assert_eq!(attempt("198.51.100.201"), 401);
    let throttled: Vec<_> = server
        .audit()
        .into_iter()
        .filter(|r| r.action == "user.login" && r.detail.contains("throttled"))
        .collect();
    assert_eq!(throttled.len(), 2, "{throttled:#?}");
    assert!(throttled[0].detail.contains("\"unrecorded_since_last\":0"), "{:?}", throttled[0].detail);
    assert!(throttled[1].detail.contains("\"unrecorded_since_last\":39"), "{:?}", throttled[1].detail);
}

#[test]
fn the_client_address_comes_from_the_trusted_proxys_header_only() {
    let login_from = |server: &Server, forwarded: &str| {
        let body = serde_json::json!({"name": "x", "password": "y"}).to_string();
        let headers = [("Content-Type", "application/json"), ("X-Forwarded-For", forwarded)];
        server.request("POST", "/api/v1/login", &headers, Some(body.as_bytes()))
    };
    let proxy = vigil_server::state::TrustedProxy {
        address: "127.0.0.1".parse().expect("address"),
        header: "x-forwarded-for".into(),
    };
    let behind =
        Server::with_limits(Limits { logins_per_minute: 1, trusted_proxy: Some(proxy), ..Limits::default() });
    // Two clients behind the proxy each have their own limit; a forged entry before the
    // proxy's own is not believed.
    assert_eq!(login_from(&behind, "198.51.100.1, 203.0.113.5").status, 401);
    assert_eq!(login_from(&behind, "203.0.113.6").status, 401);
    assert_eq!(login_from(&behind, "203.0.113.6").status, 429);
    let origins: Vec<String> = behind
        .block_on(behind.store.audit_records(0, 100))
        .expect("audit")
        .into_iter()
        .map(|r| r.origin)
        .collect();
    assert!(
        origins.iter().any(|o| o == "203.0.113.5") && !origins.iter().any(|o| o == "198.51.100.1"),
        "{origins:?}"
    );
    // Without a trusted proxy the header is the client's word, and ignored.
    let direct = Server::with_limits(Limits { logins_per_minute: 1, ..Limits::default() });
    assert_eq!(login_from(&direct, "203.0.113.7").status, 401);
    assert_eq!(login_from(&direct, "203.0.113.8").status, 429, "one address, whatever the header says");
}

#[test]
fn an_ingest_token_learns_its_progress_not_what_was_found() {
    let server = Server::start();
    let token = server.user_with_token("svc", "ingest");
    let status = server.get("/api/v1/status", &token).json();
    assert!(status["engine"].get("watermark").is_some(), "{status}");
    assert!(status["engine"].get("alerts").is_none() && status.get("events_stored").is_none(), "{status}");
    let admin = server.user_with_token("root", "admin");
    assert!(server.get("/api/v1/status", &admin).json()["engine"].get("alerts").is_some());
}
