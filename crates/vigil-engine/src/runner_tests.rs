//! The engine end to end on a store: ingest, detect, cases, recommendations, audit — and a
//! replay of the same batch changing nothing.

use std::sync::Arc;
use std::time::Duration;

use vigil_detect::behaviour::Behaviour;
use vigil_detect::{Level, RuleSet, builtin};
use vigil_store::{CaseFilter, Store};
use vigil_triage::autotriage::AutoClosePolicy;
use vigil_triage::context::Context;
use vigil_triage::model::Model;

use super::*;
use crate::decode::decode;
use crate::ingest::Ingest;

fn detectors() -> Detectors {
    let (rules, _) = RuleSet::load(&builtin::files(), &Default::default()).expect("built-in rules load");
    Detectors {
        rules: Arc::new(rules),
        behaviour: Behaviour::new(Default::default(), None),
        min_level: Level::Informational,
    }
}

fn triage() -> Triage {
    Triage {
        context: Context::default(),
        model: Model::builtin().expect("built-in model"),
        library: vigil_triage::playbook::library().expect("playbooks"),
        auto_close: AutoClosePolicy::default(),
    }
}

/// Waits until the engine has read up to `seq`, failing after a generous bound.
async fn processed_up_to(handle: &EngineHandle, seq: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let woken = handle.processed.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let progress = handle.progress();
        assert!(progress.last_error.is_none(), "engine error: {:?}", progress.last_error);
        if progress.watermark >= seq {
            return;
        }
        tokio::time::timeout_at(deadline, woken).await.expect("the engine did not catch up");
    }
}

/// A store in a fresh directory with its ingest queue and a running engine.
async fn running() -> (tempfile::TempDir, Store, EngineHandle, Ingest, std::thread::JoinHandle<()>) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Store::open_dir(dir.path()).await.expect("store");
    let handle = EngineHandle::default();
    let ingest = Ingest::start(store.clone(), 16, Arc::clone(&handle.stored));
    let engine = spawn(store.clone(), detectors(), triage(), handle.clone());
    (dir, store, handle, ingest, engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_events_become_recommended_cases() {
    let (_dir, store, handle, ingest, _engine) = running().await;

    let body = std::fs::read("../../samples/windows-lateral-movement.json").expect("sample");
    let decoded = decode("test", "windows-lateral-movement.json", body.clone(), None, 0);
    assert!(decoded.dead.is_empty(), "{:?}", decoded.rejected());
    let receipt = ingest.submit(decoded.events, decoded.dead).await.expect("durable");
    assert!(receipt.stored > 0);
    processed_up_to(&handle, receipt.stored as i64).await;

    let cases = store.cases(&CaseFilter::default()).await.expect("cases");
    let mut biggest = None;
    for case in &cases {
        let alerts = store.case_alerts(&case.id).await.expect("alerts");
        if biggest.as_ref().is_none_or(|(_, a): &(_, Vec<_>)| alerts.len() > a.len()) {
            biggest = Some((case, alerts));
        }
    }
    let (biggest, alerts) = biggest.expect("a case");
    assert_eq!(biggest.state, vigil_model::CaseState::Recommended);
    // The same case `vigil hunt` builds from this file: the correlations span batches of one.
    let mut titles: Vec<&str> = alerts.iter().map(|a| a.title.as_str()).collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "Brute Force Followed By A Successful Logon",
            "Burst Of Failed Logons For One Account",
            "Remote Service Creation After A Network Logon"
        ]
    );
    let (_, rec) = store.recommendation(&biggest.id).await.expect("rec").expect("recommended");
    assert!(rec["supporting"].as_array().is_some_and(|s| !s.is_empty()));
    let audit = store.audit_records(0, 10_000).await.expect("audit");
    assert!(audit.iter().any(|r| r.action == "case.transition" && r.actor == "vigil:engine"));
    store.verify_audit(&[]).await.expect("read").expect("chain verifies");

    // The same upload again: nothing new is stored, no case changes.
    let before = (store.event_count().await.expect("count"), audit.len());
    let again = decode("test", "windows-lateral-movement.json", body, None, 0);
    let receipt = ingest.submit(again.events, again.dead).await.expect("durable");
    assert_eq!(receipt.stored, 0);
    let after = store.event_count().await.expect("count");
    assert_eq!((after, store.audit_records(0, 10_000).await.expect("audit").len()), before);
}

/// One CloudTrail `StopLogging` by alice, `minute` minutes past ten.
fn stop_logging(minute: u32) -> Vec<u8> {
    format!(
        r#"{{"Records": [{{"eventVersion": "1.09", "userIdentity": {{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "userName": "alice"}}, "eventTime": "2026-03-02T10:{minute:02}:00Z", "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0", "requestParameters": {{"name": "main"}}, "responseElements": null, "eventID": "3b5c2f9e-0000-4000-8000-0000000000{minute:02}", "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}}]}}"#
    )
    .into_bytes()
}

/// Submits alice's `StopLogging` of `minute` past ten.
fn send_stop_logging(
    ingest: &Ingest,
    minute: u32,
) -> impl std::future::Future<Output = crate::Result<crate::ingest::Receipt>> + '_ {
    let decoded = decode("test", "cloudtrail.json", stop_logging(minute), Some("cloudtrail"), 0);
    assert!(decoded.dead.is_empty(), "{:?}", decoded.rejected());
    ingest.submit(decoded.events, decoded.dead)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysts_benign_verdict_is_history_for_the_next_alert_and_a_reopen_takes_it_back() {
    let (_dir, store, handle, ingest, _engine) = running().await;
    let send = |minute: u32| send_stop_logging(&ingest, minute);
    let receipt = send(0).await.expect("durable");
    processed_up_to(&handle, receipt.stored as i64).await;
    let cases = store.cases(&CaseFilter::default()).await.expect("cases");
    assert_eq!(cases.len(), 1);
    let id = cases[0].id.clone();
    let prior = |rec: &serde_json::Value| -> (f64, bool) {
        let value = rec["contributions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["feature"] == "prior_benign"))
            .and_then(|c| c["value"].as_f64())
            .unwrap_or(-1.0);
        let present = rec["inputs"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i["input"] == "verdict history" && i["present"] == true));
        (value, present)
    };
    let (_, first) = store.recommendation(&id).await.expect("rec").expect("recommended");
    assert_eq!(prior(&first), (0.0, false), "no one has judged anything yet");

    let analyst = By::user("alice", "127.0.0.1");
    let mut tx = store.write().await.expect("begin");
    tx.transition_case(&id, CaseState::Benign, "change window: trail rotation", &analyst)
        .await
        .expect("close");
    crate::verdicts::record(&store, &mut tx, &id, CaseState::Benign, &analyst).await.expect("verdict");
    tx.commit().await.expect("commit");
    let rows = store.verdicts().await.expect("verdicts");
    assert!(!rows.is_empty() && rows.iter().all(|r| r.verdict == "benign" && r.actor == "alice"), "{rows:?}");
    assert!(rows.iter().any(|r| r.entity.starts_with("user ")), "{rows:?}");
    assert!(!rows.iter().any(|r| r.entity.starts_with("cloud_account")), "an account is not an actor");

    // The same rule on the same user again: the case reopens, and the verdict is its history.
    let receipt = send(7).await.expect("durable");
    assert_eq!(receipt.stored, 1);
    processed_up_to(&handle, 2).await;
    let (_, second) = store.recommendation(&id).await.expect("rec").expect("recommended");
    assert_eq!(prior(&second), (1.0, true), "{second:#}");

    // A person reopening the case takes the verdict back.
    let mut tx = store.write().await.expect("begin");
    tx.transition_case(&id, CaseState::FalsePositive, "not a rotation after all?", &analyst)
        .await
        .expect("close");
    tx.transition_case(&id, CaseState::Correlated, "reopened", &analyst).await.expect("reopen");
    crate::verdicts::record(&store, &mut tx, &id, CaseState::Correlated, &analyst).await.expect("verdict");
    tx.commit().await.expect("commit");
    assert!(store.verdicts().await.expect("verdicts").is_empty());
    store.verify_audit(&[]).await.expect("read").expect("chain verifies");
}

/// An engine (and an ingest queue that wakes it) on an open store.
fn engine_on(store: &Store) -> (EngineHandle, Ingest, std::thread::JoinHandle<()>) {
    let handle = EngineHandle::default();
    let ingest = Ingest::start(store.clone(), 16, Arc::clone(&handle.stored));
    let engine = spawn(store.clone(), detectors(), triage(), handle.clone());
    (handle, ingest, engine)
}

/// Sends `lines` of the lateral-movement sample and waits until the engine has read them.
async fn send_lines(handle: &EngineHandle, ingest: &Ingest, store: &Store, lines: &[&str]) {
    let body = lines.join("\n").into_bytes();
    let decoded = decode("test", "windows-lateral-movement.json", body, None, 0);
    assert!(decoded.dead.is_empty(), "{:?}", decoded.rejected());
    ingest.submit(decoded.events, decoded.dead).await.expect("durable");
    let stored = store.watermark(WATERMARK).await.expect("watermark").max(1);
    let last = store.events_after(stored - 1, 100_000).await.expect("events").last().map(|e| e.seq);
    processed_up_to(handle, last.unwrap_or(0)).await;
}

/// Every case as (id, state, its alert ids), sorted.
async fn case_set(store: &Store) -> Vec<(CaseId, CaseState, Vec<AlertId>)> {
    let mut out = Vec::new();
    for case in store.cases(&CaseFilter { limit: 10_000, ..CaseFilter::default() }).await.expect("cases") {
        let alerts = store.case_alerts(&case.id).await.expect("alerts").into_iter().map(|a| a.id).collect();
        out.push((case.id, case.state, alerts));
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_scenario_gives_the_same_cases_as_none() {
    let sample = std::fs::read_to_string("../../samples/windows-lateral-movement.json").expect("sample");
    let lines: Vec<&str> = sample.lines().filter(|l| !l.trim().is_empty()).collect();
    let (first, second) = lines.split_at(lines.len() / 2);

    let straight_dir = tempfile::TempDir::new().expect("temp dir");
    let straight = Store::open_dir(straight_dir.path()).await.expect("store");
    let (handle, ingest, _engine) = engine_on(&straight);
    send_lines(&handle, &ingest, &straight, first).await;
    send_lines(&handle, &ingest, &straight, second).await;
    let expected = case_set(&straight).await;
    assert!(expected.iter().any(|(_, _, alerts)| alerts.len() >= 3), "{expected:?}");

    let restarted_dir = tempfile::TempDir::new().expect("temp dir");
    let restarted = Store::open_dir(restarted_dir.path()).await.expect("store");
    let (handle, ingest, engine) = engine_on(&restarted);
    send_lines(&handle, &ingest, &restarted, first).await;
    handle.stop();
    tokio::task::spawn_blocking(move || engine.join()).await.expect("join").expect("engine thread");
    assert_eq!(handle.progress().state, EngineState::Stopped);
    let (handle, ingest, _engine) = engine_on(&restarted);
    send_lines(&handle, &ingest, &restarted, second).await;
    assert_eq!(case_set(&restarted).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_event_that_cannot_be_read_is_a_dead_letter_and_the_pipeline_moves_on() {
    let (_dir, store, handle, ingest, _engine) = running().await;
    let mut tx = store.write().await.expect("begin");
    let broken = vigil_store::NewEvent {
        id: "00000000000000000000000000000bad".into(),
        source: "test".into(),
        format: "cloudtrail".into(),
        class_uid: 6003,
        time: time::from_millis(0),
        ocsf: "{not an OCSF event".into(),
        views: "[]".into(),
        raw: b"{\"eventName\": \"StopLogging\"}".to_vec(),
    };
    assert!(tx.insert_event(&broken).await.expect("insert"));
    tx.commit().await.expect("commit");
    // A good event after it is still processed.
    let decoded = decode("test", "cloudtrail.json", stop_logging(3), Some("cloudtrail"), 0);
    let receipt = ingest.submit(decoded.events, decoded.dead).await.expect("durable");
    assert_eq!(receipt.stored, 1);
    processed_up_to(&handle, 2).await;

    assert_eq!(store.cases(&CaseFilter::default()).await.expect("cases").len(), 1);
    let dead = store.dead_letters(10).await.expect("dead letters");
    let letter = dead.iter().find(|d| d.source == DEAD_LETTER_SOURCE).expect("a pipeline dead letter");
    assert!(letter.locator.contains(&broken.id) && letter.reason.contains(&broken.id), "{letter:?}");
    assert!(letter.reason.contains("does not parse"), "{letter:?}");
    let progress = handle.progress();
    assert_eq!((progress.state, progress.dead_letters, progress.watermark), (EngineState::Running, 1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_stored_alert_stops_the_restore_and_says_which() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Store::open_dir(dir.path()).await.expect("store");
    let (handle, ingest, engine) = engine_on(&store);
    let decoded = decode("test", "cloudtrail.json", stop_logging(0), Some("cloudtrail"), 0);
    ingest.submit(decoded.events, decoded.dead).await.expect("durable");
    processed_up_to(&handle, 1).await;
    handle.stop();
    tokio::task::spawn_blocking(move || engine.join()).await.expect("join").expect("engine thread");
    let case = store.cases(&CaseFilter::default()).await.expect("cases").remove(0);
    let good = store.case_alerts(&case.id).await.expect("alerts").remove(0);
    // An alert of the case whose stored document lacks what an alert cannot be read without.
    let broken =
        AlertRow { id: "broken-alert".into(), finding: serde_json::json!({"id": "broken-alert"}), ..good };
    let mut tx = store.write().await.expect("begin");
    assert!(tx.save_alert(&broken).await.expect("insert"));
    tx.commit().await.expect("commit");
    assert_eq!(store.case_alerts(&case.id).await.expect("alerts").len(), 2);

    let handle = EngineHandle::default();
    let woken = handle.processed.notified();
    let _engine = spawn(store.clone(), detectors(), triage(), handle.clone());
    tokio::time::timeout(Duration::from_secs(60), woken).await.expect("the engine reports");
    let progress = handle.progress();
    assert_eq!(progress.state, EngineState::Stalled);
    assert!(progress.last_error.as_deref().is_some_and(|e| e.contains("broken-alert")), "{progress:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_alerts_on_an_approved_case_supersede_the_approval() {
    let (_dir, store, handle, ingest, _engine) = running().await;
    let send = |minute: u32| send_stop_logging(&ingest, minute);
    send(0).await.expect("durable");
    processed_up_to(&handle, 1).await;
    let id = store.cases(&CaseFilter::default()).await.expect("cases").remove(0).id;
    let proposed = store.case_action_requests(&id).await.expect("requests");
    let first = proposed.first().expect("the playbook proposed its containment steps").clone();
    let mut tx = store.write().await.expect("begin");
    tx.transition_case(&id, CaseState::Approved, "two approvals", &By::vigil(Component::Policy))
        .await
        .expect("the policy approves");
    tx.set_action_status(
        &first.id,
        vigil_store::ActionStatus::Approved,
        "two approvals",
        &By::vigil(Component::Policy),
    )
    .await
    .expect("approved");
    tx.commit().await.expect("commit");

    send(9).await.expect("durable");
    processed_up_to(&handle, 2).await;
    let case = store.case(&id).await.expect("case").expect("present");
    assert_eq!(case.state, CaseState::Recommended, "the approval does not outlive its evidence");
    let lifecycle: vigil_model::Lifecycle =
        serde_json::from_value(case.body["lifecycle"].clone()).expect("lifecycle");
    let last = lifecycle.history().last().expect("moves");
    assert_eq!((last.from, last.to), (CaseState::Approved, CaseState::Recommended));
    assert!(last.reason.contains("supersede"), "{}", last.reason);
    assert_eq!(store.recommendation(&id).await.expect("rec").map(|r| r.0), Some(2), "drafted again");
    let superseded = store.action_request(&first.id).await.expect("read").expect("request");
    assert_eq!(
        superseded.status,
        vigil_store::ActionStatus::Superseded,
        "an approval that did not run is asked again"
    );
    let again =
        store.action_request(&format!("{}_2", first.id)).await.expect("read").expect("proposed afresh");
    assert_eq!((again.request.action, again.status), (first.request.action, first.status));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_muted_for_an_entity_files_nothing_on_it_until_unmuted() {
    let (_dir, store, handle, ingest, _engine) = running().await;
    let send = |minute: u32| send_stop_logging(&ingest, minute);
    send(0).await.expect("durable");
    processed_up_to(&handle, 1).await;
    let id = store.cases(&CaseFilter::default()).await.expect("cases").remove(0).id;
    let alert = store.case_alerts(&id).await.expect("alerts").remove(0);
    let user = alert.finding["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["kind"] == "user")
        .and_then(|e| e["key"].as_str())
        .expect("the alert names its user")
        .to_owned();
    let mute = vigil_store::RuleMute {
        id: "run_mute_1".into(),
        rule_id: alert.rule_id.clone(),
        entity: format!("user {user}"),
        case_id: Some(id.clone()),
        reason: "a maintenance window".into(),
        muted_at: vigil_store::time::now(),
        until: "2099-01-01T00:00:00.000000Z".into(),
        unmuted_at: None,
    };
    let mut tx = store.write().await.expect("begin");
    tx.mute_rule(&mute).await.expect("mute");
    tx.commit().await.expect("commit");
    send(9).await.expect("durable");
    processed_up_to(&handle, 2).await;
    assert_eq!(store.case_alerts(&id).await.expect("alerts").len(), 1, "muted");
    assert_eq!(handle.progress().muted_alerts, 1);

    let mut tx = store.write().await.expect("begin");
    tx.unmute_rule("run_mute_1").await.expect("unmute");
    tx.commit().await.expect("commit");
    send(18).await.expect("durable");
    processed_up_to(&handle, 3).await;
    let filed: usize = {
        let mut n = 0;
        for case in store.cases(&CaseFilter::default()).await.expect("cases") {
            n += store.case_alerts(&case.id).await.expect("alerts").len();
        }
        n
    };
    assert_eq!(filed, 2, "unmuted, the rule files again");
}
