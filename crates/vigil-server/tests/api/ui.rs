//! The pages over real HTTP: sign-in by form, the queue and a case with hostile text shown as
//! text, the inbox's answers by form with the session's CSRF token, execution from a page, the
//! auditor's read-only view of a granted case, and the headers that keep scripts out.

use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, time};

use crate::Server;

const HOSTILE: &str = "<script>document.title='owned'</script><img src=x onerror=alert(1)>";

pub fn person(server: &Server, name: &str, role: &str) {
    let hash = vigil_server::auth::password::hash("a long enough passphrase").expect("hash");
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        tx.create_user(&name.into(), role, &hash, &By::user("test", "test")).await.expect("user");
        tx.commit().await.expect("commit");
    });
}

/// Signs in through the form; returns the cookie pair and the page's CSRF token.
pub fn sign_in(server: &Server, name: &str) -> (String, String) {
    let form = format!("name={name}&password=a+long+enough+passphrase");
    let answer = server.request(
        "POST",
        "/ui/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    // An auditor starts at the cases grants cover; everyone else at the queue.
    let start = answer.header("location").map(str::to_owned);
    assert!(
        answer.status == 303 && matches!(start.as_deref(), Some("/ui/queue" | "/ui/granted")),
        "{}",
        text(&answer)
    );
    let cookie = answer.header("set-cookie").expect("cookie").split(';').next().expect("pair").to_owned();
    let queue = server.request("GET", start.as_deref().unwrap_or("/ui/queue"), &[("Cookie", &cookie)], None);
    let page = text(&queue);
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the session's CSRF token")
        .to_owned();
    (cookie, csrf)
}

pub fn text(answer: &crate::Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

pub fn hostile_case(server: &Server) {
    let engine = By::vigil(Component::Engine);
    server.block_on(async {
        let mut tx = server.store.write().await.expect("begin");
        let row = CaseRow {
            id: "c1".into(),
            title: format!("Beacon {HOSTILE}"),
            state: CaseState::New,
            severity: 5,
            assignee: None,
            first_seen: time::from_millis(1_700_000_000_000),
            last_seen: time::from_millis(1_700_000_360_000),
            updated_at: String::new(),
            body: json!({"alerts": [], "timeline": [{"time": 1_700_000_000_000_i64, "kind": "event", "title": HOSTILE, "reference": "e1"}]}),
        };
        tx.save_case(&row, &engine).await.expect("save");
        tx.transition_case(&"c1".into(), CaseState::Correlated, "clustered", &engine).await.expect("move");
        tx.transition_case(&"c1".into(), CaseState::Recommended, HOSTILE, &engine).await.expect("move");
        tx.comment_case(&"c1".into(), HOSTILE, &By::user("mallory", "test")).await.expect("comment");
        tx.commit().await.expect("commit");
    });
}

pub fn form(server: &Server, path: &str, cookie: &str, body: &str) -> crate::Answer {
    server.request(
        "POST",
        path,
        &[("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[test]
fn without_a_session_every_page_leads_to_the_sign_in_form_and_no_script_may_run() {
    let server = Server::start();
    let root = server.request("GET", "/", &[], None);
    assert_eq!((root.status, root.header("location")), (303, Some("/ui/queue")));
    let queue = server.request("GET", "/ui/queue", &[], None);
    assert_eq!((queue.status, queue.header("location")), (303, Some("/ui/sign-in")));
    let form = server.request("GET", "/ui/sign-in", &[], None);
    assert_eq!(form.status, 200);
    let csp = form.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self';"), "{csp}");
    assert!(
        !csp.contains("unsafe") && !csp.contains("http"),
        "no inline script, nothing from elsewhere: {csp}"
    );
    assert_eq!(form.header("x-frame-options"), Some("DENY"));
    assert!(text(&form).contains("<form method=\"post\" action=\"/ui/sign-in\""), "{}", text(&form));
    person(&server, "ana", "analyst");
    let wrong = server.request(
        "POST",
        "/ui/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"name=ana&password=guess"),
    );
    assert_eq!(wrong.status, 401);
    assert!(text(&wrong).contains("wrong user name or password"));
}

#[test]
fn hostile_text_in_a_case_is_shown_as_text_in_the_queue_and_the_case() {
    let server = Server::start();
    hostile_case(&server);
    person(&server, "ana", "analyst");
    let (cookie, _) = sign_in(&server, "ana");
    for path in ["/ui/queue", "/ui/cases/c1"] {
        let page = server.request("GET", path, &[("Cookie", &cookie)], None);
        assert_eq!(page.status, 200, "{path}");
        // Vigil's own script file is the one script tag a page may carry.
        let html = text(&page).replace(r#"<script src="/ui/live.js" defer></script>"#, "");
        assert!(!html.contains("<script") && !html.contains("<img"), "{path}: {html}");
        assert!(html.contains("&lt;script&gt;document.title="), "{path} shows the payload as text");
    }
}

#[test]
fn a_responder_proposes_from_the_case_another_approves_by_form_and_executes_and_the_run_log_shows() {
    let server = Server::start();
    crate::cases::recommended_case(&server, "c2");
    person(&server, "rita", "responder");
    person(&server, "sam", "responder");
    let (rita, rita_csrf) = sign_in(&server, "rita");
    let proposed = form(
        &server,
        "/ui/cases/c2/actions",
        &rita,
        &format!("csrf_token={rita_csrf}&action=block_indicator&target={}", encode("ip 203.0.113.77")),
    );
    assert_eq!(proposed.status, 303, "{}", text(&proposed));
    let page = proposed.header("location").expect("the request's page").to_owned();
    let id = page.trim_start_matches("/ui/actions/").to_owned();
    let own = text(&server.request("GET", &page, &[("Cookie", &rita)], None));
    assert!(own.contains("You cannot answer: you asked for it"), "{own}");
    assert!(!own.contains("/approve\""), "no button for the requester");

    let (sam, sam_csrf) = sign_in(&server, "sam");
    let inbox = text(&server.request("GET", "/ui/inbox", &[("Cookie", &sam)], None));
    assert!(inbox.contains(&format!("/ui/actions/{id}/approve")), "{inbox}");
    let sha = inbox
        .split("name=\"request_sha256\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("hash");
    let forged = form(
        &server,
        &format!("/ui/actions/{id}/approve"),
        &sam,
        &format!("request_sha256={sha}&rationale=ok"),
    );
    assert_eq!(forged.status, 403, "a form without the session's token: {}", text(&forged));
    let approved = form(
        &server,
        &format!("/ui/actions/{id}/approve"),
        &sam,
        &format!("csrf_token={sam_csrf}&request_sha256={sha}&rationale={}", encode("the C2 address")),
    );
    assert_eq!(approved.status, 303, "{}", text(&approved));
    let executed =
        form(&server, &format!("/ui/actions/{id}/execute"), &rita, &format!("csrf_token={rita_csrf}"));
    assert_eq!(executed.status, 303, "{}", text(&executed));
    server.run_actions();
    let run = text(&server.request("GET", &page, &[("Cookie", &rita)], None));
    assert!(
        run.contains("succeeded") && run.contains("verify") && run.contains("sealed as evidence"),
        "{run}"
    );
}

#[test]
fn the_auditor_reads_the_granted_case_and_is_offered_nothing_to_change() {
    let server = Server::start();
    hostile_case(&server);
    person(&server, "aude", "auditor");
    let lead = server.user_with_token("lea", "lead");
    let expires = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let grant = json!({"auditor": "aude", "case": "c1", "expires_at": expires, "reason": "the audit"});
    assert_eq!(server.post("/api/v1/grants", &lead, grant.to_string().as_bytes()).status, 200);
    let (cookie, csrf) = sign_in(&server, "aude");
    for path in ["/ui/granted", "/ui/granted/c1"] {
        let html = text(&server.request("GET", path, &[("Cookie", &cookie)], None));
        let forms = html.matches("<form method=\"post\"").count();
        let sign_out = html.matches("action=\"/ui/sign-out\"").count();
        assert_eq!((forms, sign_out), (1, 1), "{path}: only the sign-out form: {html}");
        assert!(!html.contains("/ui/inbox"), "no approvals link for an auditor");
        assert!(html.contains("&lt;script&gt;") && !html.contains(HOSTILE), "{path} shows the title as text");
    }
    let queue = server.request("GET", "/ui/queue", &[("Cookie", &cookie)], None);
    assert_eq!(queue.status, 403, "the queue is not the auditor's");
    let inbox = server.request("GET", "/ui/inbox", &[("Cookie", &cookie)], None);
    assert_eq!(inbox.status, 403);
    let forged =
        form(&server, "/ui/cases/c1/actions", &cookie, &format!("csrf_token={csrf}&action=open_ticket"));
    assert_eq!(forged.status, 403, "{}", text(&forged));
}

#[test]
fn an_analyst_takes_the_case_and_comments_from_its_page() {
    let server = Server::start();
    crate::cases::recommended_case(&server, "c3");
    person(&server, "ana", "analyst");
    let (cookie, csrf) = sign_in(&server, "ana");
    let page = text(&server.request("GET", "/ui/cases/c3", &[("Cookie", &cookie)], None));
    assert!(page.contains("Assign to me"), "{page}");
    let taken = form(&server, "/ui/cases/c3/assign", &cookie, &format!("csrf_token={csrf}"));
    assert_eq!(taken.status, 303, "{}", text(&taken));
    let said = form(
        &server,
        "/ui/cases/c3/comments",
        &cookie,
        &format!("csrf_token={csrf}&body={}", encode(HOSTILE)),
    );
    assert_eq!(said.status, 303, "{}", text(&said));
    let page = text(&server.request("GET", "/ui/cases/c3", &[("Cookie", &cookie)], None));
    assert!(page.contains("owner ana") && !page.contains("Assign to me"), "{page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;") && !page.contains("<img"), "{page}");
}

/// An approved request with no connector to run it was offered an Execute button that could
/// only answer `no_connector`.
#[test]
fn an_approved_request_nothing_can_run_offers_no_execute_button() {
    let server = Server::start();
    crate::cases::recommended_case(&server, "c4");
    person(&server, "rita", "responder");
    person(&server, "sam", "responder");
    let (rita, rita_csrf) = sign_in(&server, "rita");
    let proposed = form(
        &server,
        "/ui/cases/c4/actions",
        &rita,
        &format!("csrf_token={rita_csrf}&action=disable_account&target={}", encode("user alice")),
    );
    assert_eq!(proposed.status, 303, "{}", text(&proposed));
    let page = proposed.header("location").expect("the request's page").to_owned();
    let id = page.trim_start_matches("/ui/actions/").to_owned();
    let (sam, sam_csrf) = sign_in(&server, "sam");
    let inbox = text(&server.request("GET", "/ui/inbox", &[("Cookie", &sam)], None));
    let sha = inbox
        .split("name=\"request_sha256\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("hash");
    let approved = form(
        &server,
        &format!("/ui/actions/{id}/approve"),
        &sam,
        &format!("csrf_token={sam_csrf}&request_sha256={sha}&rationale=contain"),
    );
    assert_eq!(approved.status, 303, "{}", text(&approved));
    let shown = text(&server.request("GET", &page, &[("Cookie", &rita)], None));
    assert!(shown.contains("status <strong>approved</strong>"), "{shown}");
    assert!(shown.contains("Vigil has no action or connector that runs it yet"), "{shown}");
    assert!(!shown.contains("/execute\""), "no Execute button: {shown}");
}
