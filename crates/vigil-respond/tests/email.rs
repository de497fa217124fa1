//! `notify_email` against a real SMTP server (aiosmtpd with STARTTLS and signing in): who gets
//! the case, what arrives, that it is sent once per run, and the faults it must survive. Run by
//! `.ci/run` with `--features connector-tests`.
#![cfg(feature = "connector-tests")]

#[path = "support/certs.rs"]
mod certs;
#[path = "support/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use smtp::{PASSWORD, Smtp, USER};
use vigil_model::{ActionRequest, CaseState, Entity, Requester};
use vigil_respond::connectors::{MailSettings, MailTransport, NotifyEmail, Owners};
use vigil_respond::{Action, Cx, Step};
use vigil_store::{By, CaseRow, Store, time};

/// The inventory of these tests: ws-12 is alice's; db-1's owner has no usable address.
struct Inventory;

impl Owners for Inventory {
    fn owners(&self, entities: &[Entity]) -> Vec<(Entity, String)> {
        entities
            .iter()
            .filter_map(|e| match &*e.key {
                "ws-12" => Some((e.clone(), "alice".to_owned())),
                "db-1" => Some((e.clone(), "Bob Smith <none>".to_owned())),
                _ => None,
            })
            .collect()
    }
}

fn settings(smtp: &Smtp) -> MailSettings {
    MailSettings {
        host: "127.0.0.1".into(),
        port: smtp.port,
        transport: MailTransport::StartTls,
        ca_file: Some(smtp.ca_file()),
        from: "Vigil <vigil@soc.example>".into(),
        credentials: Some((USER.into(), PASSWORD.into())),
        on_call: vec!["oncall@soc.example".into()],
        owner_domain: Some("corp.example".into()),
        timeout: Duration::from_secs(5),
    }
}

async fn world() -> (Cx, ActionRequest, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open_dir(dir.path()).await.expect("store");
    let by = By::user("rita", "test");
    let mut tx = store.write().await.expect("begin");
    let case = CaseRow {
        id: "c1".into(),
        // Log-derived text that tries to add a header.
        title: "Beaconing from ws-12\r\nBcc: everyone@corp.example".into(),
        state: CaseState::New,
        severity: 4,
        assignee: None,
        first_seen: time::from_millis(1_700_000_000_000),
        last_seen: time::from_millis(1_700_000_360_000),
        updated_at: String::new(),
        body: json!({"entities": [{"entity": {"kind": "host", "key": "ws-12"}},
                                  {"entity": {"kind": "host", "key": "db-1"}},
                                  {"entity": {"kind": "user", "key": "alice"}}]}),
    };
    tx.save_case(&case, &by).await.expect("case");
    tx.commit().await.expect("commit");
    let request = ActionRequest {
        action: "notify_email".into(),
        target: None,
        parameters: [("message".to_owned(), json!("Please check ws-12 before 17:00."))].into(),
        case: Some("c1".into()),
        requested_by: Requester::Person("rita".into()),
        plan_sha256: None,
    };
    (Cx { store, by }, request, dir)
}

#[tokio::test]
async fn the_case_is_mailed_over_starttls_to_on_call_and_the_owner_once_per_run() {
    let smtp = Smtp::start();
    let (cx, request, _d) = world().await;
    let email = NotifyEmail::new(settings(&smtp), Arc::new(Inventory)).expect("connector");

    let plan = email.plan(&cx, &request).await.expect("plan");
    let words = plan.changes.join("\n");
    assert!(plan.runnable, "{words}");
    assert!(
        words.contains("oncall@soc.example (on call)")
            && words.contains("alice@corp.example (owner of host ws-12)"),
        "{words}"
    );
    assert!(words.contains("the owner of host db-1") && words.contains("no mail address"), "{words}");

    let prior = email.precheck(&cx, &request).await.expect("precheck");
    let step = Step { request: &request, key: "run_act_1", prior: &prior };
    let sent = email.execute(&cx, step).await.expect("sent");
    assert!(email.verify(&cx, step).await.expect("verify").holds, "{sent}");
    let again = email.execute(&cx, step).await.expect("again");
    assert_eq!(sent, again, "the same run sends once");

    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(message["tls"], json!(true));
    assert_eq!(message["authenticated_as"], json!(USER));
    assert_eq!(message["rcpt_tos"], json!(["oncall@soc.example", "alice@corp.example"]));
    let content = message["content"].as_str().expect("content");
    assert!(content.contains("Message-ID: <run_act_1@vigil>"), "{content}");
    assert!(content.contains("Please check ws-12 before 17:00."), "{content}");
    let headers = content.split("\r\n\r\n").next().expect("headers");
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "a case title adds no header: {headers}");
    assert!(email.check().await.expect("check").is_some());
}

#[tokio::test]
async fn a_wrong_password_or_an_untrusted_certificate_fails_and_nothing_is_sent() {
    let smtp = Smtp::start();
    let (cx, request, _d) = world().await;
    let mut wrong = settings(&smtp);
    wrong.credentials = Some((USER.into(), "not-the-smtp-password".into()));
    let email = NotifyEmail::new(wrong, Arc::new(Inventory)).expect("connector");
    let prior = email.precheck(&cx, &request).await.expect("precheck");
    let e = email
        .execute(&cx, Step { request: &request, key: "run_act_2", prior: &prior })
        .await
        .expect_err("refused");
    assert!(!e.is_transient() && !e.to_string().contains("not-the-smtp-password"), "{e}");

    let mut untrusted = settings(&smtp);
    untrusted.ca_file =
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slapd/parse-only-ca.pem").into());
    let email = NotifyEmail::new(untrusted, Arc::new(Inventory)).expect("connector");
    let e = email
        .execute(&cx, Step { request: &request, key: "run_act_3", prior: &prior })
        .await
        .expect_err("TLS");
    assert!(!e.is_transient(), "{e}");
    assert!(email.check().await.is_err());
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_server_without_starttls_gets_nothing_unless_the_site_allows_sending_in_the_clear() {
    let smtp = Smtp::without_starttls();
    let (cx, request, _d) = world().await;
    let mut required = settings(&smtp);
    required.credentials = None;
    let email = NotifyEmail::new(required.clone(), Arc::new(Inventory)).expect("connector");
    let prior = email.precheck(&cx, &request).await.expect("precheck");
    let e = email
        .execute(&cx, Step { request: &request, key: "run_act_4", prior: &prior })
        .await
        .expect_err("no TLS");
    assert!(!e.is_transient(), "{e}");
    assert!(smtp.received().is_empty());

    let if_offered = MailSettings { transport: MailTransport::StartTlsIfOffered, ..required };
    let email = NotifyEmail::new(if_offered, Arc::new(Inventory)).expect("connector");
    email.execute(&cx, Step { request: &request, key: "run_act_5", prior: &prior }).await.expect("sent");
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(smtp.received()[0]["tls"], json!(false));
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_worth_retrying() {
    let smtp = Smtp::start();
    let (cx, request, _d) = world().await;
    let email = NotifyEmail::new(settings(&smtp), Arc::new(Inventory)).expect("connector");
    drop(smtp);
    let prior = email.precheck(&cx, &request).await.expect("precheck");
    let e = email
        .execute(&cx, Step { request: &request, key: "run_act_6", prior: &prior })
        .await
        .expect_err("down");
    assert!(e.is_transient(), "{e}");
}

#[tokio::test]
async fn a_mail_server_that_never_answers_is_given_up_on_at_the_deadline() {
    // Takes the connection and says nothing, as a wedged relay does.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || silent.accept().map(|(stream, _)| stream));
    let (cx, request, _d) = world().await;
    let smtp_like = MailSettings {
        port,
        timeout: Duration::from_millis(300),
        ca_file: None,
        ..settings(&Smtp::without_starttls())
    };
    let email = NotifyEmail::new(smtp_like, Arc::new(Inventory)).expect("connector");
    let prior = email.precheck(&cx, &request).await.expect("precheck");
    let e = email
        .execute(&cx, Step { request: &request, key: "run_act_7", prior: &prior })
        .await
        .expect_err("silent");
    assert!(e.is_transient(), "{e}");
    assert!(cx.store.effect("run_act_7").await.expect("effect").is_none(), "nothing recorded as sent");
    drop(held);
}
