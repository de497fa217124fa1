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
fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let server = Server::start();
    add_user(&server, "bob", "responder", "the right password here");
    for _ in 0..5 {
        let answer = login(&server, "bob", "wrong password guess");
        assert_eq!((answer.status, answer.code().as_str()), (401, "unauthenticated"));
    }
    let locked = login(&server, "bob", "the right password here");
    assert_eq!((locked.status, locked.code().as_str()), (423, "account_locked"));
    let unknown = login(&server, "nobody", "whatever it is");
    assert_eq!(
        unknown.json()["error"]["message"],
        "wrong user name or password",
        "no hint that the user is unknown"
    );
    let logins: Vec<String> = server
        .block_on(server.store.audit_records(0, 100))
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "user.login")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(logins.len(), 6);
    assert!(logins.iter().all(|o| o == "refused"), "{logins:?}");
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
