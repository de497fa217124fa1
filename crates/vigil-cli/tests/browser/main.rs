//! The pages as people use them, in Debian's Chromium driven through ChromeDriver, against the
//! real `vigil demo`: an analyst follows the intrusion case's evidence to a raw record, a lead
//! approves the responder's block, the responder executes it and sees it verified and the case
//! executed; the auditor is offered nothing to change. Screenshots go to
//! `target/browser-shots/` for a person to look at; no page may log a policy violation.

#[path = "../../../vigil-server/tests/support/hostile_records.rs"]
mod hostile;
mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use webdriver::{Driver, Session};

struct Demo {
    child: Child,
    url: String,
    passwords: std::collections::HashMap<String, String>,
    ingest: String,
}

impl Demo {
    /// Starts `vigil demo` and reads what it prints until it says it is serving.
    fn start() -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["demo", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("vigil demo starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut url, mut passwords, mut ingest) = (None, std::collections::HashMap::new(), None);
        for line in lines.by_ref() {
            let line = line.expect("demo output");
            if let Some(rest) = line.strip_prefix("sign in at ") {
                url = rest.split("/ui/sign-in").next().map(str::to_owned);
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [name, password] = words[..]
                && name.starts_with("demo-")
            {
                passwords.insert(name.to_owned(), password.to_owned());
            }
            if let Some(token) = line.trim().strip_prefix("ingest token") {
                ingest = Some(token.trim().to_owned());
            }
            if line.starts_with("Ctrl-C stops the demo") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Demo {
            child,
            url: url.expect("the demo prints its sign-in page"),
            passwords,
            ingest: ingest.expect("the demo prints an ingest token"),
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-shots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// Reads the page until `holds` says it shows what a click led to: a click may return before
/// the page it submits to has loaded.
fn until(browser: &Session, what: &str, holds: impl Fn(&str, &str) -> bool) -> String {
    let started = std::time::Instant::now();
    loop {
        let (url, page) = (browser.url(), browser.text_now());
        if !page.is_empty() && holds(&url, &page) {
            return page;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "never {what}: at {url}: {page}");
    }
}

fn sign_in(browser: &Session, demo: &Demo, name: &str) {
    sign_in_to(browser, demo, name, "/ui/queue");
}

/// Signs in and waits for the page a person of that role starts at.
fn sign_in_to(browser: &Session, demo: &Demo, name: &str, start: &str) {
    browser.go(&format!("{}/ui/sign-in", demo.url));
    browser.type_into(&browser.one("#name"), name);
    browser.type_into(&browser.one("#password"), &demo.passwords[name]);
    browser.click(&browser.one("button[type=submit]"));
    until(browser, &format!("{name} on {start}"), |url, _| url.ends_with(start));
}

/// The first element matching `css` whose text holds `text`.
fn with_text(browser: &Session, css: &str, text: &str) -> String {
    browser
        .all(css)
        .into_iter()
        .find(|e| browser.text_of(e).contains(text))
        .unwrap_or_else(|| panic!("no {css} reads {text:?} on {}", browser.url()))
}

fn no_violations(browser: &Session, page: &str) {
    let logged = browser.console();
    assert!(
        !logged.iter().any(|m| m.contains("Content Security Policy") || m.contains("Refused")),
        "{page}: {logged:?}"
    );
}

#[test]
fn the_demo_case_is_read_approved_executed_and_audited_in_a_browser() {
    let demo = Demo::start();
    let driver = Driver::start();
    let dir = shots();

    // The analyst reads the intrusion and follows a citation to the raw record.
    let analyst = driver.session(1280);
    sign_in(&analyst, &demo, "demo-analyst");
    analyst.screenshot(&dir.join("queue.png"));
    no_violations(&analyst, "queue");
    // A new case appears on the open queue by itself (server-sent events; no reload).
    assert!(!analyst.text().contains("mallet"));
    ingest(
        &demo,
        "syslog",
        b"<86>Mar  2 11:02:17 web-77 sshd[3121]: Failed password for invalid user mallet from 192.0.2.77 port 50122 ssh2\n",
    );
    until(&analyst, "the new case on the open queue", |url, page| {
        url.ends_with("/ui/queue") && page.contains("mallet")
    });
    no_violations(&analyst, "live queue");
    analyst.click(&with_text(&analyst, "tbody td a", "Brute Force Followed By A Successful Logon"));
    until(&analyst, "the case with its citations", |url, page| {
        url.contains("/ui/cases/") && page.contains("Rests on:")
    });
    let case_url = analyst.url();
    // A step the playbook asked for already links to its request instead of asking twice.
    let case_page = analyst.text();
    assert!(case_page.contains("awaiting_approval on user alice"), "{case_page}");
    assert!(case_page.contains("Propose on user alice"), "steps not asked yet keep their button");
    assert!(case_page.contains("(containment-and-recovery)"), "each step's policy tier, before proposing");
    analyst.screenshot(&dir.join("case.png"));
    no_violations(&analyst, "case");
    // Its ATT&CK kill chain and entity graph, drawn on the server as SVG.
    assert!(analyst.all("#graph ~ div.graph svg, div.graph svg").len() == 1, "the entity graph");
    analyst.go(&format!("{case_url}#attack"));
    analyst.screenshot(&dir.join("case-graph.png"));
    analyst.click(&with_text(&analyst, "a", "event:"));
    until(&analyst, "the event's raw record", |_, page| {
        page.contains("The raw record, as it arrived") && page.contains("As OCSF")
    });
    // Back on the case, the analyst proposes a playbook step nobody has asked for yet.
    analyst.go(&case_url);
    analyst.click(&with_text(&analyst, "button", "Propose on user alice"));
    let proposed = until(&analyst, "the proposal's page", |url, page| {
        url.contains("/ui/actions/") && page.contains("status awaiting_approval")
    });
    assert!(
        proposed.contains("user alice") && proposed.contains("You cannot answer: you asked for it"),
        "{proposed}"
    );
    drop(analyst);

    // The lead approves the responder's block from the inbox.
    let lead = driver.session(1280);
    sign_in(&lead, &demo, "demo-lead");
    lead.go(&format!("{}/ui/inbox", demo.url));
    lead.screenshot(&dir.join("inbox.png"));
    let inbox = lead.text();
    assert!(inbox.contains("Blast radius:") && inbox.contains("Evidence:"), "{inbox}");
    no_violations(&lead, "inbox");
    let link = with_text(&lead, "div.card a", "block_indicator");
    let request_url = format!("{}{}", demo.url, lead.attribute(&link, "href").expect("href"));
    lead.go(&request_url);
    assert_eq!(lead.url(), request_url);
    lead.type_into(&lead.one("textarea[name=rationale]"), "the address the intrusion came from");
    lead.click(&with_text(&lead, "button", "Approve"));
    until(&lead, "approved", |_, page| page.contains("status approved"));

    // The cloud containment the policy gives to two people: a lead, then a second lead.
    lead.go(&format!("{}/ui/inbox", demo.url));
    let link = with_text(&lead, "div.card a", "deactivate_access_key");
    let two_person = format!("{}{}", demo.url, lead.attribute(&link, "href").expect("href"));
    lead.go(&two_person);
    assert!(lead.text().contains("two people"), "{}", lead.text());
    lead.type_into(&lead.one("textarea[name=rationale]"), "the key the intrusion used");
    lead.click(&with_text(&lead, "button", "Approve"));
    let first =
        until(&lead, "the first of two answers", |_, page| page.contains("the key the intrusion used"));
    assert!(first.contains("status awaiting_approval"), "one lead is not enough: {first}");
    drop(lead);
    let second = driver.session(1280);
    sign_in(&second, &demo, "demo-lead-2");
    second.go(&two_person);
    second.type_into(&second.one("textarea[name=rationale]"), "agreed: contain the key");
    second.click(&with_text(&second, "button", "Approve"));
    let both = until(&second, "approved by two", |_, page| page.contains("status approved"));
    assert!(both.contains("demo-lead") && both.contains("demo-lead-2"), "both answers shown: {both}");
    // Approved, but Vigil has no connector to run it: no Execute button that could only fail.
    let buttons: Vec<String> = second.all("button").iter().map(|b| second.text_of(b)).collect();
    assert_eq!(buttons, ["Sign out"], "{both}");
    second.screenshot(&dir.join("two-person.png"));
    drop(second);

    // The responder executes it; the run verifies and the case is executed.
    let responder = driver.session(1280);
    sign_in(&responder, &demo, "demo-responder");
    responder.go(&request_url);
    responder.click(&with_text(&responder, "button", "Execute"));
    until(&responder, "a run", |_, page| page.contains("Run run_"));
    let ended = until(&responder, "the run's end", |_, page| {
        if page.contains("queued") || page.contains("running") {
            responder.go(&request_url);
            return false;
        }
        true
    });
    assert!(ended.contains("succeeded") && ended.contains("verify"), "{ended}");
    responder.screenshot(&dir.join("run.png"));
    responder.go(&case_url);
    let executed = until(&responder, "the case executed", |_, page| page.contains("· executed ·"));
    assert!(
        executed.contains("approve by demo-lead of block_indicator: the address the intrusion came from"),
        "the case's history holds the approval: {executed}"
    );
    drop(responder);

    // The lead reads the audit trail, each record with its check, and the whole chain verified.
    let lead = driver.session(1280);
    sign_in(&lead, &demo, "demo-lead");
    lead.go(&format!("{}/ui/audit", demo.url));
    let trail = lead.text();
    assert!(trail.contains("hash holds") && trail.contains("sealed by signed checkpoint"), "{trail}");
    assert!(!trail.contains("edited") && !trail.contains("does not link"), "{trail}");
    lead.screenshot(&dir.join("audit.png"));
    no_violations(&lead, "audit trail");
    lead.click(&with_text(&lead, "a", "Verify the whole chain"));
    until(&lead, "the chain verified", |_, page| page.contains("Intact."));
    drop(lead);

    // The auditor reads the case the lead granted, and is offered nothing but signing out.
    let auditor = driver.session(1280);
    sign_in_to(&auditor, &demo, "demo-auditor", "/ui/granted");
    let granted = until(&auditor, "the granted cases", |_, page| page.contains("Granted cases"));
    assert!(granted.contains("Brute Force Followed By A Successful Logon"), "{granted}");
    auditor.click(&with_text(&auditor, "a", "Brute Force Followed By A Successful Logon"));
    let page =
        until(&auditor, "the granted case", |_, page| page.contains("Download the signed incident packet"));
    assert!(page.contains("Timeline") && page.contains("Alerts"), "{page}");
    let buttons: Vec<String> = auditor.all("button").iter().map(|b| auditor.text_of(b)).collect();
    assert_eq!(buttons, ["Sign out"], "the auditor's case page");
    // The queue's case page and a change forged with the session's CSRF token are refused.
    let forged = auditor.script_async(&format!(
        "var done = arguments[arguments.length - 1];
         var csrf = document.querySelector('input[name=csrf_token]').value;
         fetch('{}/assign', {{method: 'POST', redirect: 'manual',
               headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},
               body: 'csrf_token=' + encodeURIComponent(csrf)}})
           .then(function (answer) {{ done(answer.status); }});",
        case_url
    ));
    assert_eq!(forged, 403, "the auditor's forged assignment");
    auditor.screenshot(&dir.join("auditor.png"));
    no_violations(&auditor, "granted case");
    auditor.go(&case_url);
    assert!(auditor.text().contains("forbidden"), "the queue's page of the case: {}", auditor.text());
    auditor.go(&format!("{}/ui/granted", demo.url));
    // This week's scorecard: the demo analyst's closings measured, every trend drawn.
    auditor.click(&with_text(&auditor, "a", "Scorecard"));
    let card = until(&auditor, "the scorecard", |_, page| page.contains("Noisiest rules"));
    for shown in
        ["MTTD", "MTTA", "MTTR", "Precision", "50% (1 of 2)", "Rules that never fired", "SLA breaches"]
    {
        assert!(card.contains(shown), "the scorecard shows {shown}: {card}");
    }
    assert_eq!(auditor.all("svg.chart").len(), 8, "a chart for each trend");
    auditor.screenshot(&dir.join("scorecard.png"));
    no_violations(&auditor, "scorecard");
    // SOC 2 over the last 30 days: the controls the demo's detections, steps and records support.
    auditor.click(&with_text(&auditor, "a", "Compliance"));
    let soc2 = until(&auditor, "the SOC 2 report", |_, page| page.contains("Controls with no evidence"));
    for shown in ["CC7.2", "CC7.4", "evidenced", "Brute Force Followed By A Successful Logon"] {
        assert!(soc2.contains(shown), "the SOC 2 report shows {shown}: {soc2}");
    }
    auditor.screenshot(&dir.join("compliance.png"));
    no_violations(&auditor, "compliance");
    drop(auditor);
    let narrow = driver.session(420);
    sign_in(&narrow, &demo, "demo-analyst");
    narrow.screenshot(&dir.join("queue-narrow.png"));
}

/// Posts `body` to the demo's ingest API with its ingest token.
fn ingest(demo: &Demo, format: &str, body: &[u8]) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let answer = agent
        .post(&format!("{}/api/v1/ingest?format={format}&source=hostile", demo.url))
        .header("Authorization", &format!("Bearer {}", demo.ingest))
        .send(body)
        .expect("the demo answers");
    assert_eq!(answer.status().as_u16(), 200, "ingest {format}");
}

/// No payload's hook fired and no script was refused on the page the browser shows now.
fn no_script_ran(browser: &Session, view: &str) {
    assert_eq!(browser.script("return typeof window.__xss;"), "undefined", "{view}: a payload ran");
    no_violations(browser, view);
}

#[test]
fn hostile_records_of_every_source_are_shown_as_text_and_run_nothing_in_any_view() {
    let payloads = hostile::payloads();
    assert!(payloads.len() >= 100);
    let demo = Demo::start();
    let driver = Driver::start();
    let dir = shots();

    // The hook the payloads set is seen when a script does run: the detector can fail.
    let control = driver.session(1280);
    control.go("data:text/html,<script>window.__xss=1</script>");
    assert_eq!(control.script("return window.__xss;"), 1, "the hook is seen when a script runs");
    drop(control);

    for (format, body) in hostile::bodies(&payloads, "198.51.100.9") {
        ingest(&demo, format, body.as_bytes());
    }
    for p in payloads.iter().take(20) {
        ingest(&demo, "okta", hostile::unreadable(p).as_bytes());
    }

    let analyst = driver.session(1280);
    sign_in(&analyst, &demo, "demo-analyst");
    analyst.go(&format!("{}/ui/events?range=all&q=__xss", demo.url));
    let found = analyst.text();
    assert!(found.contains("window.__xss=1"), "the search shows the payloads as text: {found}");
    analyst.screenshot(&dir.join("xss-events.png"));
    no_script_ran(&analyst, "events search");
    let events: Vec<String> =
        analyst.all("tbody a").iter().filter_map(|a| analyst.attribute(a, "href")).collect();
    assert!(events.len() >= 100, "{} events found", events.len());
    for href in &events {
        analyst.go(&format!("{}{href}", demo.url));
        let page = analyst.text();
        assert!(page.contains("The raw record, as it arrived") && page.contains("__xss"), "{href}: {page}");
        no_script_ran(&analyst, href);
    }
    analyst.go(&format!("{}/ui/dead-letters", demo.url));
    assert!(analyst.text().contains("window.__xss=1"), "dead letters show their excerpts as text");
    no_script_ran(&analyst, "dead letters");
    analyst.go(&format!("{}/ui/queue", demo.url));
    no_script_ran(&analyst, "queue");
    let cases: Vec<String> =
        analyst.all("tbody td a").iter().filter_map(|a| analyst.attribute(a, "href")).collect();
    for href in &cases {
        analyst.go(&format!("{}{href}", demo.url));
        no_script_ran(&analyst, href);
    }
}

/// An SSM session start by the bastion's automation (the built-in Systems Manager rule fires).
fn bastion_session(n: u32) -> String {
    format!(
        "{{\"eventVersion\":\"1.09\",\"userIdentity\":{{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/ops-bastion\",\"userName\":\"ops-bastion\"}},\"eventTime\":\"2026-03-02T12:0{n}:00Z\",\"eventSource\":\"ssm.amazonaws.com\",\"eventName\":\"StartSession\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"10.20.0.5\",\"eventID\":\"9e3f1a77-0000-4000-8000-00000000000{n}\",\"recipientAccountId\":\"111122223333\"}}\n"
    )
}

#[test]
fn a_false_positive_is_reviewed_as_a_filter_and_accepted_in_a_browser() {
    let demo = Demo::start();
    let driver = Driver::start();
    let dir = shots();
    ingest(&demo, "cloudtrail", format!("{}{}", bastion_session(1), bastion_session(2)).as_bytes());
    let analyst = driver.session(1280);
    sign_in(&analyst, &demo, "demo-analyst");
    until(&analyst, "the bastion's case on the queue", |_, page| page.contains("ops-bastion"));
    let link = with_text(&analyst, "tbody td a", "Systems Manager");
    let case = analyst.attribute(&link, "href").expect("href").rsplit('/').next().expect("id").to_owned();
    drop(analyst);

    // The analyst closes it as a false positive (through the API, as scripts and the CLI do).
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let login = format!("{{\"name\":\"demo-analyst\",\"password\":\"{}\"}}", demo.passwords["demo-analyst"]);
    let mut answer = agent.post(&format!("{}/api/v1/login", demo.url)).send(login.as_bytes()).expect("login");
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let body: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().expect("body")).expect("json");
    let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    let closed = agent
        .post(&format!("{}/api/v1/cases/{case}/transition", demo.url))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .send(&b"{\"to\":\"false_positive\",\"reason\":\"the bastion's scheduled sessions\"}"[..])
        .expect("close");
    assert_eq!(closed.status().as_u16(), 200);

    // The lead reviews the proposal: its document, its replay, and the form to decide on it.
    let lead = driver.session(1280);
    sign_in(&lead, &demo, "demo-lead");
    lead.click(&with_text(&lead, "nav a", "Learning"));
    let queue = until(&lead, "the learning queue", |_, page| page.contains("Tuning: Interactive Session"));
    // The demo's own closings filed theirs too: the trail stopped by a stolen key is a
    // regression test of the rule that caught it.
    assert!(queue.contains("Regression test: CloudTrail Logging Stopped"), "{queue}");
    lead.screenshot(&dir.join("learning.png"));
    no_violations(&lead, "learning");
    lead.click(&with_text(&lead, "tbody td a", "Tuning:"));
    let task = until(&lead, "the proposal", |_, page| page.contains("Proposed document"));
    assert!(task.contains("2 judged false positive or benign") && task.contains("not selection"), "{task}");
    lead.screenshot(&dir.join("learning-task.png"));
    no_violations(&lead, "learning task");
    lead.type_into(
        &lead.one("textarea[name=rationale]"),
        "scheduled sessions from the bastion, owned by ops",
    );
    lead.click(&with_text(&lead, "button", "Accept"));
    let decided = until(&lead, "accepted", |_, page| page.contains("Decided by demo-lead"));
    assert!(decided.contains("Status: accepted"), "{decided}");
    let buttons: Vec<String> = lead.all("button").iter().map(|b| lead.text_of(b)).collect();
    assert_eq!(buttons, ["Sign out"], "a decided task offers nothing more");
    lead.screenshot(&dir.join("learning-accepted.png"));
    lead.go(&format!("{}/ui/cases/{case}", demo.url));
    until(&lead, "the case learned", |_, page| page.contains("· learned ·"));
    // The regression test the demo's malicious closing filed: its files and expected matches.
    lead.go(&format!("{}/ui/learning", demo.url));
    lead.click(&with_text(&lead, "tbody td a", "Regression test:"));
    let test = until(&lead, "the regression test", |_, page| page.contains("The test"));
    assert!(test.contains("Matches expected") && test.contains("regression_tests_info"), "{test}");
    lead.screenshot(&dir.join("learning-regression.png"));
    no_violations(&lead, "regression test");
    // The same closing drafted a detection of what the stolen key did before the trail was
    // stopped, and its response (the lead refused a revocation) proposes a playbook edit.
    lead.go(&format!("{}/ui/learning", demo.url));
    lead.click(&with_text(&lead, "tbody td a", "New detection:"));
    let draft = until(&lead, "the detection draft", |_, page| page.contains("Drafted from"));
    assert!(draft.contains("GetCallerIdentity") && draft.contains("DescribeTrails"), "{draft}");
    assert!(draft.contains("on this case's early events"), "{draft}");
    lead.screenshot(&dir.join("learning-detection.png"));
    no_violations(&lead, "detection draft");
    lead.go(&format!("{}/ui/learning", demo.url));
    lead.click(&with_text(&lead, "tbody td a", "Runbook edit:"));
    let edit = until(&lead, "the playbook edit", |_, page| page.contains("Diff of playbook"));
    assert!(edit.contains("revoke_role_sessions") && edit.contains("rejected by demo-lead"), "{edit}");
    assert_eq!(lead.all("pre.diff span.del").len(), 2, "the version and the refused step: {edit}");
    lead.screenshot(&dir.join("learning-runbook.png"));
    no_violations(&lead, "playbook edit");
}
