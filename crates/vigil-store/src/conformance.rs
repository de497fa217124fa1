//! The conformance suite: every test runs against SQLite, and against PostgreSQL with the
//! `postgres-tests` feature. Both databases must behave the same through the same code.

use serde_json::json;
use sqlx::Executor;
use tempfile::TempDir;
use vigil_model::{
    Actor, AlertId, AuditAction, CaseId, CaseState, Cause, Component, DeadLetter, IllegalTransition, Locator,
    Outcome, TokenId, UserId,
};

use crate::audit::export::read_export;
use crate::{AlertRow, By, CaseFilter, CaseRow, Error, NewEvent, Retention, Store, TokenRow, time};

async fn fresh_sqlite() -> (Store, TempDir) {
    let dir = TempDir::new().expect("temp dir");
    let store = Store::open_dir(dir.path()).await.expect("open sqlite store");
    (store, dir)
}

#[cfg(feature = "postgres-tests")]
async fn fresh_postgres() -> (Store, TempDir) {
    use sqlx::any::{AnyPoolOptions, install_default_drivers};
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::env::var("VIGIL_TEST_POSTGRES_URL")
        .expect("the postgres-tests feature needs VIGIL_TEST_POSTGRES_URL (postgres://user@127.0.0.1:port)");
    install_default_drivers();
    let admin = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{base}/postgres"))
        .await
        .expect("connect to PostgreSQL");
    let name = format!(
        "vigil_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros()
    );
    admin
        // The name is ours (digits and underscores), not input.
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    admin.close().await;
    let dir = TempDir::new().expect("temp dir");
    let store = Store::open(&format!("{base}/{name}"), dir.path()).await.expect("open postgres store");
    (store, dir)
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = super::fresh_sqlite().await;
                    super::$name(&store).await;
                }
            )*
        }
        #[cfg(feature = "postgres-tests")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = super::fresh_postgres().await;
                    super::$name(&store).await;
                }
            )*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    a_retried_event_is_stored_once,
    dead_letters_keep_their_reason,
    case_changes_are_audited_in_their_transaction,
    an_illegal_transition_writes_nothing,
    an_uncommitted_change_leaves_no_audit_record,
    audit_records_cannot_be_changed_or_deleted,
    concurrent_writers_keep_one_chain,
    evidence_is_content_addressed_and_immutable,
    users_and_tokens,
    retention_by_age_and_size,
    an_export_verifies_offline,
    sql_metacharacters_are_data,
    a_case_verdict_is_replaced_with_its_state_and_audited,
    a_case_keeps_its_lifecycle_and_only_the_table_moves_it,
    live_cases_are_every_open_case_and_the_closed_ones_in_the_window,
    known_alerts_are_found_by_id,
    action_requests_and_their_approvals_are_kept_and_audited,
    reading_a_case_while_it_moves_sees_one_consistent_lifecycle,
    a_request_has_one_live_run_however_often_it_is_queued,
    a_run_whose_lease_ran_out_is_taken_up_again_and_finishes_once,
    effects_tickets_and_the_blocklist_are_kept_once_per_key,
    new_evidence_supersedes_requests_that_have_not_run,
    alerts_naming_an_entity_match_it_exactly_whatever_its_characters,
    the_newest_recommendation_of_many_cases_is_read_at_once,
    the_queue_pages_filters_and_orders_open_cases,
    learning_tasks_are_filed_once_and_decided_with_their_audit_records,
    a_task_that_hides_a_malicious_alert_needs_two_people_for_the_same_document,
    partitions_are_shared_out_and_a_lapsed_holder_is_fenced,
    a_worker_holding_more_than_its_share_gives_the_rest_back,
    one_node_holds_a_duty_until_it_lapses,
    an_executor_releases_and_renews_only_the_runs_it_holds,
    cases_are_restored_by_the_partition_that_filed_them,
);

async fn partitions_are_shared_out_and_a_lapsed_holder_is_fenced(store: &Store) {
    let (clock, hand) = crate::Clock::manual(chrono::Utc::now());
    let store = store.clone().with_clock(clock);
    let a = store.lease_partitions("a", 4, 2, 10_000).await.expect("a leases");
    let held = |l: &crate::Leases| l.held.iter().map(|p| p.partition).collect::<Vec<_>>();
    assert_eq!(held(&a), vec![0, 1]);
    let b = store.lease_partitions("b", 4, 2, 10_000).await.expect("b leases");
    assert_eq!(held(&b), vec![2, 3], "a's current leases are not taken");
    let lease = a.held[0];
    let mut tx = store.write().await.expect("begin");
    tx.advance_partition("a", &lease, 41).await.expect("a writes under its lease");
    tx.commit().await.expect("commit");

    // a goes silent; past its lease b takes its partitions over, with a new epoch.
    hand.advance(std::time::Duration::from_secs(11));
    let b = store.lease_partitions("b", 4, 4, 10_000).await.expect("b takes over");
    assert_eq!(held(&b), vec![0, 1, 2, 3]);
    let taken = b.held[0];
    assert_eq!((taken.epoch, taken.applied), (lease.epoch + 1, 41), "the new holder starts where a left off");
    let mut tx = store.write().await.expect("begin");
    let refused = tx.advance_partition("a", &lease, 99).await;
    assert!(matches!(refused, Err(Error::LeaseLost { partition: 0, .. })), "{refused:?}");
    drop(tx);
    let mut tx = store.write().await.expect("begin");
    tx.advance_partition("b", &taken, 50).await.expect("b writes");
    tx.commit().await.expect("commit");
    let rows = store.partitions().await.expect("partitions");
    assert_eq!((rows[0].holder.as_deref(), rows[0].applied), (Some("b"), 50));
}

async fn a_worker_holding_more_than_its_share_gives_the_rest_back(store: &Store) {
    let all = store.lease_partitions("a", 6, 6, 10_000).await.expect("lease");
    assert_eq!(all.held.len(), 6);
    // A second worker came up: a's share is 3 now.
    let fewer = store.lease_partitions("a", 6, 3, 10_000).await.expect("lease");
    assert_eq!(fewer.held.len(), 3);
    assert_eq!(fewer.released, vec![5, 4, 3]);
    let b = store.lease_partitions("b", 6, 3, 10_000).await.expect("lease");
    assert_eq!(b.held.iter().map(|p| p.partition).collect::<Vec<_>>(), vec![3, 4, 5]);
    // A release by a holder that no longer holds the epoch changes nothing.
    store.release_partition("a", &all.held[4]).await.expect("stale release");
    assert_eq!(store.partitions().await.expect("rows")[4].holder.as_deref(), Some("b"));
}

async fn one_node_holds_a_duty_until_it_lapses(store: &Store) {
    let (clock, hand) = crate::Clock::manual(chrono::Utc::now());
    let store = store.clone().with_clock(clock);
    assert!(store.hold_duty("sla-sweep", "api-1", 3_000).await.expect("duty"));
    assert!(!store.hold_duty("sla-sweep", "api-2", 3_000).await.expect("duty"), "held by api-1");
    assert!(store.hold_duty("sla-sweep", "api-1", 3_000).await.expect("duty"), "renewed by its holder");
    hand.advance(std::time::Duration::from_secs(4));
    assert!(store.hold_duty("sla-sweep", "api-2", 3_000).await.expect("duty"), "lapsed: api-2 takes it");
    assert!(!store.hold_duty("sla-sweep", "api-1", 3_000).await.expect("duty"));
}

async fn an_executor_releases_and_renews_only_the_runs_it_holds(store: &Store) {
    use crate::ActionStatus;
    propose_stored(store, &stored_request("ar1", "c1", ActionStatus::Approved)).await;
    propose_stored(store, &stored_request("ar2", "c1", ActionStatus::Approved)).await;
    let by = analyst();
    let mut tx = store.write().await.expect("begin");
    tx.queue_run("ar1", None, i64::MAX, &by).await.expect("queue");
    tx.queue_run("ar2", None, i64::MAX, &by).await.expect("queue");
    tx.commit().await.expect("commit");
    let on_a = store.claim_run(60_000, "node-a").await.expect("claim").expect("due");
    let on_b = store.claim_run(60_000, "node-b").await.expect("claim").expect("due");
    // node-a restarts: it takes up its own run, not the one node-b is executing.
    assert_eq!(store.release_run_leases("node-a").await.expect("release"), 1);
    let again = store.claim_run(60_000, "node-c").await.expect("claim").expect("a's run is free");
    assert_eq!(again.id, on_a.id);
    let mut tx = store.write().await.expect("begin");
    tx.renew_run_lease(&on_b.id, "node-b", i64::MAX / 2).await.expect("b renews its own");
    let taken = tx.renew_run_lease(&on_a.id, "node-a", i64::MAX / 2).await;
    assert!(matches!(&taken, Err(Error::Conflict(m)) if m.contains("node-c")), "{taken:?}");
}

async fn cases_are_restored_by_the_partition_that_filed_them(store: &Store) {
    let by = crate::By::vigil(vigil_model::Component::Engine);
    for (id, partition) in [("c-one", 1), ("c-two", 2)] {
        let mut tx = store.write().await.expect("begin");
        tx.save_case(&case(id), &by).await.expect("case");
        tx.file_case_partition(&id.into(), partition).await.expect("file");
        tx.commit().await.expect("commit");
    }
    let one: Vec<String> =
        store.live_cases_in(1, 86_400_000).await.expect("live").iter().map(|c| c.id.to_string()).collect();
    assert_eq!(one, vec!["c-one".to_owned()]);
    assert!(store.live_cases_in(3, 86_400_000).await.expect("live").is_empty());
}

fn task(id: &str, hides_malicious: bool) -> crate::LearningTask {
    crate::LearningTask {
        id: id.into(),
        case_id: "c1".into(),
        kind: crate::LearningKind::Tuning,
        rule_id: Some("r1".into()),
        title: "Tuning: r1".into(),
        artefact: "filter: {rules: [r1]}\n".into(),
        replay: json!({"removed": {"benign": 2, "malicious": u8::from(hides_malicious), "unjudged": 0}}),
        hides_malicious,
        status: "proposed".into(),
        created_at: time::from_millis(1_700_000_000_000),
        first_accepted_by: None,
        decided_by: None,
        decided_at: None,
        rationale: None,
    }
}

fn review<'a>(
    decision: crate::Decision,
    who: &'a str,
    edited: Option<(&'a str, &'a serde_json::Value, bool)>,
) -> crate::Review<'a> {
    crate::Review { decision, rationale: "reviewed", edited, who, at: "2026-12-05T10:00:00.000000Z" }
}

async fn learning_tasks_are_filed_once_and_decided_with_their_audit_records(store: &Store) {
    let learner = By::vigil(Component::Learning);
    let mut tx = store.write().await.expect("begin");
    assert!(tx.file_learning_task(&task("t1", false), &learner).await.expect("file"));
    assert!(!tx.file_learning_task(&task("t1", false), &learner).await.expect("again"), "filed once");
    tx.file_learning_task(&task("t2", false), &learner).await.expect("file");
    tx.commit().await.expect("commit");
    assert_eq!(store.learning_tasks(Some("proposed")).await.expect("read").len(), 2);
    assert_eq!(store.case_learning_tasks("c1").await.expect("read").len(), 2);
    let stored = store.learning_task("t1").await.expect("read").expect("t1");
    assert_eq!(stored, task("t1", false), "a task reads back as filed");

    let mut tx = store.write().await.expect("begin");
    let blank = crate::Review { rationale: "  ", ..review(crate::Decision::Accept, "dee", None) };
    assert!(matches!(tx.decide_learning_task("t1", &blank, &analyst()).await, Err(Error::Conflict(_))));
    let decided =
        tx.decide_learning_task("t1", &review(crate::Decision::Accept, "dee", None), &analyst()).await;
    assert_eq!(decided.expect("decide"), crate::Decided::Accepted);
    let rejected =
        tx.decide_learning_task("t2", &review(crate::Decision::Reject, "dee", None), &analyst()).await;
    assert_eq!(rejected.expect("decide"), crate::Decided::Rejected);
    assert!(matches!(
        tx.decide_learning_task("t2", &review(crate::Decision::Accept, "dee", None), &analyst()).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        tx.decide_learning_task("nope", &review(crate::Decision::Accept, "dee", None), &analyst()).await,
        Err(Error::NotFound { .. })
    ));
    tx.commit().await.expect("commit");
    let t1 = store.learning_task("t1").await.expect("read").expect("t1");
    assert_eq!(
        (t1.status.as_str(), t1.decided_by.as_deref(), t1.rationale.as_deref()),
        ("accepted", Some("dee"), Some("reviewed"))
    );
    let trail = store.audit_records(0, 1000).await.expect("trail");
    let actions: Vec<&str> =
        trail.iter().filter(|r| r.target == "case:c1").map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["learning.propose", "learning.propose", "learning.decide", "learning.decide"]);
}

async fn a_task_that_hides_a_malicious_alert_needs_two_people_for_the_same_document(store: &Store) {
    let learner = By::vigil(Component::Learning);
    let mut tx = store.write().await.expect("begin");
    tx.file_learning_task(&task("t3", true), &learner).await.expect("file");
    let accept = |who| review(crate::Decision::Accept, who, None);
    let first = tx.decide_learning_task("t3", &accept("dee"), &analyst()).await.expect("first");
    assert_eq!(first, crate::Decided::AwaitingSecondPerson);
    let same = tx.decide_learning_task("t3", &accept("dee"), &analyst()).await.expect("again");
    assert_eq!(same, crate::Decided::AwaitingSecondPerson, "the same person twice is one person");
    // An edit is a new document: the second person's acceptance of it starts the count again.
    let replay = json!({"removed": {"malicious": 1}});
    let edited =
        review(crate::Decision::Accept, "eve", Some(("filter: {rules: [r1]} # edited\n", &replay, true)));
    let after_edit = tx.decide_learning_task("t3", &edited, &analyst()).await.expect("edit");
    assert_eq!(after_edit, crate::Decided::AwaitingSecondPerson);
    let second = tx.decide_learning_task("t3", &accept("dee"), &analyst()).await.expect("second");
    assert_eq!(second, crate::Decided::Accepted, "a second person accepts the edited document");
    tx.commit().await.expect("commit");
    let t3 = store.learning_task("t3").await.expect("read").expect("t3");
    assert_eq!(
        (t3.status.as_str(), t3.first_accepted_by.as_deref(), t3.decided_by.as_deref()),
        ("accepted", Some("eve"), Some("dee"))
    );
    assert!(t3.artefact.contains("# edited"));
}

async fn the_queue_pages_filters_and_orders_open_cases(store: &Store) {
    use crate::{Owner, QueueFilter, QueueOrder};
    let engine = By::vigil(Component::Engine);
    assert_eq!(store.cases_changed_at().await.expect("read"), None, "no case yet");
    let at = |id: &str, severity: i64, minute: i64| CaseRow {
        severity,
        first_seen: time::from_millis(1_700_000_000_000 + minute * 60_000),
        last_seen: time::from_millis(1_700_000_000_000 + minute * 60_000 + 1_000),
        ..case(id)
    };
    let mut tx = store.write().await.expect("begin");
    for (id, severity, minute) in [("q1", 5, 3), ("q2", 2, 1), ("q3", 4, 2), ("q4", 5, 0)] {
        tx.save_case(&at(id, severity, minute), &engine).await.expect("save");
    }
    tx.assign_case(&CaseId::from("q3"), Some(&UserId::from("ana")), &analyst()).await.expect("assign");
    tx.transition_case(&CaseId::from("q4"), CaseState::Correlated, "clustered", &engine).await.expect("move");
    tx.transition_case(&CaseId::from("q4"), CaseState::Benign, "benign", &analyst()).await.expect("close");
    tx.commit().await.expect("commit");
    let ids =
        |page: &crate::QueuePage| page.cases.iter().map(|c| c.id.as_str().to_owned()).collect::<Vec<_>>();
    let open =
        |f: QueueFilter| async move { store.queue(&QueueFilter { limit: 50, ..f }).await.expect("queue") };

    let all = open(QueueFilter::default()).await;
    assert_eq!(
        (ids(&all), all.total),
        (vec!["q1".into(), "q3".into(), "q2".into()], 3),
        "open, most severe first"
    );
    let oldest = open(QueueFilter { order: QueueOrder::Oldest, ..QueueFilter::default() }).await;
    assert_eq!(ids(&oldest), ["q2", "q3", "q1"]);
    let severe = open(QueueFilter { min_severity: 4, ..QueueFilter::default() }).await;
    assert_eq!(ids(&severe), ["q1", "q3"]);
    let mine = open(QueueFilter { owner: Owner::Is(UserId::from("ana")), ..QueueFilter::default() }).await;
    assert_eq!(ids(&mine), ["q3"]);
    let nobody = open(QueueFilter { owner: Owner::Unassigned, ..QueueFilter::default() }).await;
    assert_eq!(ids(&nobody), ["q1", "q2"]);
    let closed = open(QueueFilter { state: Some(CaseState::Benign), ..QueueFilter::default() }).await;
    assert_eq!((ids(&closed), closed.total), (vec!["q4".into()], 1), "one state, closed ones too");
    let second =
        store.queue(&QueueFilter { offset: 1, limit: 1, ..QueueFilter::default() }).await.expect("queue");
    assert_eq!((ids(&second), second.total), (vec!["q3".into()], 3), "a page of one, with the total");

    let before = store.cases_changed_at().await.expect("read").expect("cases changed");
    let mut tx = store.write().await.expect("begin");
    tx.assign_case(&CaseId::from("q1"), Some(&UserId::from("ana")), &analyst()).await.expect("assign");
    tx.commit().await.expect("commit");
    let after = store.cases_changed_at().await.expect("read").expect("cases changed");
    assert!(after > before, "an assignment is a change the live queue is told of: {before} then {after}");
}

async fn a_case_keeps_its_lifecycle_and_only_the_table_moves_it(store: &Store) {
    let engine = By::vigil(Component::Engine);
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c7"), &engine).await.expect("save");
    tx.transition_case(&CaseId::from("c7"), CaseState::Correlated, "clustered", &engine)
        .await
        .expect("engine correlates");
    tx.transition_case(&CaseId::from("c7"), CaseState::Recommended, "drafted", &engine)
        .await
        .expect("engine recommends");
    tx.commit().await.expect("commit");

    // A person may not approve: only the approval policy may.
    let mut tx = store.write().await.expect("begin");
    let refused =
        tx.transition_case(&CaseId::from("c7"), CaseState::Approved, "looks right", &analyst()).await;
    assert!(
        matches!(refused, Err(Error::Transition(IllegalTransition::NotBy { by: Cause::Person, .. }))),
        "{refused:?}"
    );
    drop(tx);

    // A writer's own lifecycle in the document is not what is kept.
    let mut forged = case("c7");
    forged.body = json!({"alerts": 5, "lifecycle": {"state": "executed", "history": []}});
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&forged, &engine).await.expect("save");
    tx.commit().await.expect("commit");

    let stored = store.case(&CaseId::from("c7")).await.expect("get").expect("present");
    assert_eq!(stored.state, CaseState::Recommended);
    assert_eq!(stored.body["alerts"], 5);
    let lifecycle: vigil_model::Lifecycle =
        serde_json::from_value(stored.body["lifecycle"].clone()).expect("the document carries its lifecycle");
    assert_eq!(lifecycle.state(), CaseState::Recommended);
    let moves: Vec<(CaseState, &Actor)> = lifecycle.history().iter().map(|t| (t.to, &t.actor)).collect();
    assert_eq!(moves, [(CaseState::Correlated, &engine.actor), (CaseState::Recommended, &engine.actor)]);
    assert_chain_verifies(store).await;
}

async fn live_cases_are_every_open_case_and_the_closed_ones_in_the_window(store: &Store) {
    const DAY: i64 = 24 * 3_600_000;
    let engine = By::vigil(Component::Engine);
    let at = |id: &str, last_seen: i64| CaseRow {
        first_seen: time::from_millis(last_seen - 60_000),
        last_seen: time::from_millis(last_seen),
        ..case(id)
    };
    let now = 1_800_000_000_000;
    let mut tx = store.write().await.expect("begin");
    // More open cases than any one page, some of them old.
    for i in 0..10_001 {
        tx.save_case(&at(&format!("open-{i:05}"), now - (i % 30) * DAY), &engine).await.expect("save");
    }
    for (id, last_seen) in [("closed-recent", now - DAY / 2), ("closed-old", now - 3 * DAY)] {
        tx.save_case(&at(id, last_seen), &engine).await.expect("save");
        tx.transition_case(&CaseId::from(id), CaseState::Correlated, "clustered", &engine)
            .await
            .expect("correlate");
        tx.transition_case(&CaseId::from(id), CaseState::Benign, "benign", &analyst()).await.expect("close");
    }
    tx.commit().await.expect("commit");
    let live = store.live_cases(DAY).await.expect("live cases");
    let ids: std::collections::HashSet<&str> = live.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(live.len(), 10_002, "every open case and the recently closed one");
    assert!(ids.contains("open-10000") && ids.contains("closed-recent") && !ids.contains("closed-old"));
    assert!(
        live.windows(2).all(|w| (&w[0].first_seen, &w[0].id) <= (&w[1].first_seen, &w[1].id)),
        "oldest first"
    );
}

async fn known_alerts_are_found_by_id(store: &Store) {
    let mut tx = store.write().await.expect("begin");
    for i in 0..1_200 {
        tx.save_alert(&AlertRow {
            id: format!("a{i}").into(),
            case_id: None,
            rule_id: "r1".into(),
            title: "PsExec".into(),
            severity: 4,
            time: time::from_millis(1_700_000_000_000),
            finding: json!({}),
        })
        .await
        .expect("alert");
    }
    tx.commit().await.expect("commit");
    let asked: Vec<AlertId> =
        (1_000..1_400).map(|i| AlertId::new(format!("a{i}"))).chain([AlertId::from("a'; --")]).collect();
    let known = store.known_alerts(&asked).await.expect("known");
    assert_eq!(known.len(), 200);
    assert!(known.contains("a1199") && !known.contains("a1200"));
    assert!(store.known_alerts(&[]).await.expect("none asked").is_empty());
}

fn analyst() -> By {
    By::user("alice", "127.0.0.1")
}

fn event(n: u32) -> NewEvent {
    NewEvent {
        id: format!("{n:032x}"),
        source: "test".into(),
        format: "jsonl".into(),
        class_uid: 3002,
        time: time::from_millis(1_700_000_000_000 + i64::from(n)),
        ocsf: json!({"class_uid": 3002, "n": n}).to_string(),
        views: "[]".into(),
        raw: format!("{{\"n\":{n}}}").into_bytes(),
    }
}

fn case(id: &str) -> CaseRow {
    CaseRow {
        id: id.into(),
        title: "Lateral movement from ws-12".into(),
        state: CaseState::New,
        severity: 4,
        assignee: None,
        first_seen: time::from_millis(1_700_000_000_000),
        last_seen: time::from_millis(1_700_000_360_000),
        updated_at: String::new(),
        body: json!({"alerts": 4}),
    }
}

async fn audit_len(store: &Store) -> usize {
    store.audit_records(0, i64::MAX).await.expect("read audit").len()
}

async fn assert_chain_verifies(store: &Store) -> u64 {
    let verified = store.verify_audit(&[]).await.expect("read audit");
    verified.expect("the chain verifies").records
}

async fn migrations_are_idempotent(store: &Store) {
    crate::migrations::run(&store.writer, store.backend()).await.expect("rerun migrations");
    let row: (i64,) = sqlx::query_as("SELECT CAST(MAX(version) AS BIGINT) FROM vigil_schema")
        .fetch_one(&store.reader)
        .await
        .expect("schema version");
    assert_eq!(row.0, crate::SCHEMA_VERSION);
}

async fn a_retried_event_is_stored_once(store: &Store) {
    let batch: Vec<NewEvent> = (0..50).map(event).collect();
    for attempt in 0..2 {
        let mut tx = store.write().await.expect("begin");
        let mut new = 0;
        for e in &batch {
            new += usize::from(tx.insert_event(e).await.expect("insert"));
        }
        tx.commit().await.expect("commit");
        assert_eq!(new, if attempt == 0 { 50 } else { 0 });
    }
    assert_eq!(store.event_count().await.expect("count"), 50);
    let stored = store.event(&batch[7].id).await.expect("get").expect("present");
    assert_eq!(stored.raw, batch[7].raw);
    assert_eq!(stored.ocsf["n"], 7);
    let window = store.events_between(&batch[10].time, &batch[20].time, 100).await.expect("range");
    assert_eq!(window.len(), 10);
    let found = store.search_events("0000", "9999", Some("\"N\":7}"), 100).await.expect("search");
    assert_eq!(found.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [batch[7].id.as_str()]);
    assert!(
        store.search_events("0000", "9999", Some("%"), 100).await.expect("search").is_empty(),
        "% is text"
    );
    assert!(
        store
            .search_events("0000", "9999", Some("'; DROP TABLE events; --"), 10)
            .await
            .expect("search")
            .is_empty()
    );
    assert_eq!(store.event_ids().await.expect("ids").len(), 50);
    // A batch larger than one statement, half of it already stored.
    let mixed: Vec<NewEvent> = (25..175).map(event).collect();
    let mut tx = store.write().await.expect("begin");
    assert_eq!(tx.insert_events(&mixed).await.expect("insert"), 125);
    tx.commit().await.expect("commit");
    assert_eq!(store.event_count().await.expect("count"), 175);
    let lean = store.pipeline_events_after(0, 1_000).await.expect("pipeline read");
    assert_eq!(lean.len(), 175);
    assert!(lean.windows(2).all(|w| w[0].seq < w[1].seq), "arrival order");
    assert_eq!(lean[0].ocsf, batch[0].ocsf);
    let after = store.events_after(45, 5).await.expect("after");
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [46, 47, 48, 49, 50]);
    assert_eq!(store.watermark("pipeline").await.expect("watermark"), 0);
    let mut tx = store.write().await.expect("begin");
    tx.set_watermark("pipeline", 45).await.expect("set");
    tx.set_watermark("pipeline", 48).await.expect("move");
    tx.commit().await.expect("commit");
    assert_eq!(store.watermark("pipeline").await.expect("watermark"), 48);
}

async fn dead_letters_keep_their_reason(store: &Store) {
    let dead =
        DeadLetter::new("webhook:okta", Locator::Line { line: 3, offset: 120 }, "not JSON: expected value")
            .with_excerpt(b"{nope");
    let mut tx = store.write().await.expect("begin");
    tx.insert_dead_letter(&dead).await.expect("insert");
    tx.commit().await.expect("commit");
    let stored = store.dead_letters(10).await.expect("list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].reason, "not JSON: expected value");
    assert_eq!(stored[0].excerpt, "{nope");
    assert!(stored[0].locator.contains("\"line\":3"), "{}", stored[0].locator);
}

async fn case_changes_are_audited_in_their_transaction(store: &Store) {
    let by = analyst();
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c1"), &by).await.expect("save");
    tx.save_alert(&AlertRow {
        id: "a1".into(),
        case_id: Some("c1".into()),
        rule_id: "r1".into(),
        title: "PsExec".into(),
        severity: 4,
        time: time::from_millis(1_700_000_000_000),
        finding: json!({"class_uid": 2004}),
    })
    .await
    .expect("alert");
    tx.commit().await.expect("commit");

    let mut tx = store.write().await.expect("begin");
    tx.transition_case(
        &CaseId::from("c1"),
        CaseState::Correlated,
        "four alerts share ws-12",
        &By::vigil(Component::Engine),
    )
    .await
    .expect("transition");
    tx.assign_case(&CaseId::from("c1"), Some(&UserId::from("bob")), &by).await.expect("assign");
    tx.comment_case(&CaseId::from("c1"), "looking at the PsExec service", &by).await.expect("comment");
    tx.add_recommendation(
        &CaseId::from("c1"),
        &json!({"verdict": "malicious"}),
        &By::vigil(Component::Triage),
    )
    .await
    .expect("recommend");
    tx.commit().await.expect("commit");

    let stored = store.case(&CaseId::from("c1")).await.expect("get").expect("present");
    assert_eq!(stored.state, CaseState::Correlated);
    assert_eq!(stored.assignee, Some(UserId::from("bob")));
    assert_eq!(store.case_alerts(&CaseId::from("c1")).await.expect("alerts").len(), 1);
    assert_eq!(store.case_comments(&CaseId::from("c1")).await.expect("comments")[0].author, "alice");
    assert_eq!(store.recommendation(&CaseId::from("c1")).await.expect("rec").map(|r| r.0), Some(1));
    let listed = store
        .cases(&CaseFilter { state: Some(CaseState::Correlated), ..CaseFilter::default() })
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert!(
        store
            .cases(&CaseFilter { state: Some(CaseState::New), ..CaseFilter::default() })
            .await
            .expect("list")
            .is_empty()
    );

    let actions: Vec<String> =
        store.audit_records(0, 100).await.expect("audit").into_iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        ["case.create", "case.transition", "case.assign", "case.comment", "recommendation.create"]
    );
    assert_eq!(assert_chain_verifies(store).await, 5);
    assert_eq!(store.audit_checkpoints().await.expect("checkpoints").len(), 2);
}

async fn a_case_verdict_is_replaced_with_its_state_and_audited(store: &Store) {
    let by = analyst();
    let pairs = |entities: &[&str]| -> Vec<(String, String)> {
        entities.iter().map(|e| ("r1".to_owned(), (*e).to_owned())).collect()
    };
    assert_eq!(store.verdicts_version().await.expect("version"), (0, 0));
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c1"), &by).await.expect("save");
    tx.set_case_verdict(
        &CaseId::from("c1"),
        Some(("benign", &pairs(&["user svc-backup", "host ws-12"]))),
        &by,
    )
    .await
    .expect("judge");
    tx.commit().await.expect("commit");
    let first = store.verdicts_version().await.expect("version");
    assert_eq!(first.0, 2);

    let mut tx = store.write().await.expect("begin");
    tx.set_case_verdict(&CaseId::from("c1"), Some(("malicious", &pairs(&["user svc-backup"]))), &by)
        .await
        .expect("judge");
    tx.commit().await.expect("commit");
    let rows = store.verdicts().await.expect("rows");
    assert_eq!(rows.len(), 1, "the case's latest judgement replaces the earlier one");
    let find = |rule: &str, entity: &str| crate::VerdictFilter {
        rule: Some(rule.to_owned()),
        entity: Some(entity.to_owned()),
        ..crate::VerdictFilter::default()
    };
    assert_eq!(store.find_verdicts(&find("r1", "user svc-backup")).await.expect("find"), rows);
    assert!(store.find_verdicts(&find("r1", "host ws-12")).await.expect("find").is_empty());
    assert!(store.find_verdicts(&find("r1' OR '1'='1", "user svc-backup")).await.expect("find").is_empty());
    assert_eq!((rows[0].verdict.as_str(), rows[0].actor.as_str()), ("malicious", "alice"));
    assert_ne!(store.verdicts_version().await.expect("version"), first);

    // An uncommitted verdict leaves nothing.
    let mut tx = store.write().await.expect("begin");
    tx.set_case_verdict(&CaseId::from("c1"), None, &by).await.expect("clear");
    drop(tx);
    assert_eq!(store.verdicts().await.expect("rows").len(), 1);

    let mut tx = store.write().await.expect("begin");
    tx.set_case_verdict(&CaseId::from("c1"), None, &by).await.expect("clear");
    tx.set_case_verdict(&CaseId::from("c1"), None, &by).await.expect("clearing nothing is no change");
    tx.commit().await.expect("commit");
    assert!(store.verdicts().await.expect("rows").is_empty());
    let actions: Vec<String> =
        store.audit_records(0, 100).await.expect("audit").into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["case.create", "case.verdict", "case.verdict", "case.verdict"]);
    assert_chain_verifies(store).await;
}

async fn an_illegal_transition_writes_nothing(store: &Store) {
    let by = analyst();
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c2"), &by).await.expect("save");
    tx.commit().await.expect("commit");
    let before = audit_len(store).await;

    let mut tx = store.write().await.expect("begin");
    let refused = tx.transition_case(&CaseId::from("c2"), CaseState::Executed, "skip ahead", &by).await;
    assert!(matches!(refused, Err(Error::Transition(_))), "{refused:?}");
    drop(tx);
    assert_eq!(audit_len(store).await, before);
    assert_eq!(store.case(&CaseId::from("c2")).await.expect("get").expect("present").state, CaseState::New);

    let mut tx = store.write().await.expect("begin");
    let missing = tx.transition_case(&CaseId::from("nope"), CaseState::Benign, "", &by).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })), "{missing:?}");
}

async fn an_uncommitted_change_leaves_no_audit_record(store: &Store) {
    let by = analyst();
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c3"), &by).await.expect("save");
    drop(tx);
    assert!(store.case(&CaseId::from("c3")).await.expect("get").is_none());
    assert_eq!(audit_len(store).await, 0);
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c3"), &by).await.expect("save");
    tx.commit().await.expect("commit");
    assert_eq!(assert_chain_verifies(store).await, 1);
}

async fn audit_records_cannot_be_changed_or_deleted(store: &Store) {
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("c4"), &analyst()).await.expect("save");
    tx.commit().await.expect("commit");
    for sql in [
        "UPDATE audit SET actor = 'mallory'",
        "DELETE FROM audit",
        "UPDATE audit_checkpoints SET signature = ''",
        "DELETE FROM audit_checkpoints",
    ] {
        let refused = store.writer.execute(sql).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    assert_eq!(assert_chain_verifies(store).await, 1);
}

async fn concurrent_writers_keep_one_chain(store: &Store) {
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let mut tx = store.write().await.expect("begin");
                tx.save_case(&case(&format!("w{w}-{i}")), &By::user(format!("user{w}"), "test"))
                    .await
                    .expect("save");
                tx.audit(By::user(format!("user{w}"), "test").entry(
                    AuditAction::CaseComment,
                    Outcome::Ok,
                    "setting:x".into(),
                    json!({ "i": i }),
                ))
                .await
                .expect("audit");
                tx.commit().await.expect("commit");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    assert_eq!(assert_chain_verifies(store).await, 120);
}

async fn evidence_is_content_addressed_and_immutable(store: &Store) {
    let by = analyst();
    let bytes = b"MZ\x90\x00 not really a PE file";
    let mut tx = store.write().await.expect("begin");
    let (sha, new) =
        tx.add_evidence(bytes, "application/octet-stream", "dropper.exe", "case:c1", &by).await.expect("add");
    let (again, new_again) =
        tx.add_evidence(bytes, "text/html", "other.html", "global", &by).await.expect("add again");
    tx.commit().await.expect("commit");
    assert!(new && !new_again);
    assert_eq!(sha, again);
    assert_eq!(sha.len(), 64);
    let meta = store.evidence_meta(&sha).await.expect("meta").expect("present");
    assert_eq!((meta.name.as_str(), meta.size), ("dropper.exe", bytes.len() as i64));
    assert_eq!(store.evidence_content(&sha).await.expect("content").as_deref(), Some(&bytes[..]));
    let refused = store.writer.execute("UPDATE evidence SET content = content").await;
    assert!(refused.is_err(), "evidence was updated");
    let refused = store.writer.execute("DELETE FROM evidence").await;
    assert!(refused.is_err(), "evidence was deleted");
    assert!(store.evidence_content(&sha).await.expect("content").is_some());
    assert_eq!(audit_len(store).await, 1);
}

async fn users_and_tokens(store: &Store) {
    let admin = By::user("admin", "cli");
    let mut tx = store.write().await.expect("begin");
    tx.create_user(&UserId::from("alice"), "analyst", "$argon2id$stub-hash-for-store-test", &admin)
        .await
        .expect("create");
    tx.commit().await.expect("commit");
    let mut tx = store.write().await.expect("begin");
    let dup = tx.create_user(&UserId::from("alice"), "admin", "x", &admin).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    drop(tx);

    let mut tx = store.write().await.expect("begin");
    tx.record_login(&UserId::from("alice"), false, None, &By::user("alice", "10.0.0.5"))
        .await
        .expect("fail 1");
    tx.record_login(
        &UserId::from("alice"),
        false,
        Some("2099-01-01T00:00:00.000000Z"),
        &By::user("alice", "10.0.0.5"),
    )
    .await
    .expect("fail 2");
    tx.commit().await.expect("commit");
    let user = store.user(&UserId::from("alice")).await.expect("get").expect("present");
    assert_eq!(user.failed_logins, 2);
    assert_eq!(user.locked_until.as_deref(), Some("2099-01-01T00:00:00.000000Z"));
    assert_eq!(user.role, "analyst");

    let token = TokenRow {
        id: "tok1".into(),
        hash: "f".repeat(64),
        owner: "ingest-okta".into(),
        scopes: vec!["ingest".into()],
        created_at: time::now(),
        expires_at: "2099-01-01T00:00:00.000000Z".into(),
        revoked_at: None,
        created_by: String::new(),
    };
    let mut tx = store.write().await.expect("begin");
    tx.create_token(&token, &admin).await.expect("token");
    tx.commit().await.expect("commit");
    assert_eq!(
        store.token_by_hash(&token.hash).await.expect("lookup").map(|t| t.scopes),
        Some(vec!["ingest".to_owned()])
    );
    let mut tx = store.write().await.expect("begin");
    tx.revoke_token(&TokenId::from("tok1"), &admin).await.expect("revoke");
    assert!(matches!(tx.revoke_token(&TokenId::from("tok1"), &admin).await, Err(Error::NotFound { .. })));
    tx.commit().await.expect("commit");
    assert!(store.token_by_hash(&token.hash).await.expect("lookup").expect("present").revoked_at.is_some());
    let failed: Vec<String> = store
        .audit_records(0, 100)
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "user.login")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(failed, ["refused"; 2]);
    assert_chain_verifies(store).await;
}

async fn retention_by_age_and_size(store: &Store) {
    let mut tx = store.write().await.expect("begin");
    for n in 0..20 {
        tx.insert_event(&event(n)).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    // Nothing is old enough.
    let kept = store
        .apply_retention(
            &Retention { max_age_days: Some(1), max_bytes: None },
            &By::vigil(Component::Retention),
        )
        .await
        .expect("age");
    assert_eq!(kept.events, 0);
    let one = event(0);
    let per_event = (one.raw.len() + one.ocsf.len() + one.views.len()) as i64;
    // Received in the same microsecond or not, the budget is never exceeded afterwards.
    store
        .apply_retention(
            &Retention { max_age_days: None, max_bytes: Some(per_event * 5) },
            &By::vigil(Component::Retention),
        )
        .await
        .expect("size");
    let left = store.event_count().await.expect("count");
    assert!(left <= 5, "{left} events left");
    let purges = store
        .audit_records(0, 100)
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.action == "retention.purge")
        .count();
    assert_eq!(purges, 1);
    assert_chain_verifies(store).await;
}

async fn an_export_verifies_offline(store: &Store) {
    for i in 0..3 {
        let mut tx = store.write().await.expect("begin");
        tx.save_case(&case(&format!("e{i}")), &analyst()).await.expect("save");
        tx.commit().await.expect("commit");
    }
    let mut out = Vec::new();
    assert_eq!(store.export_audit(&mut out).await.expect("export"), 3);
    let export = read_export(out.as_slice()).expect("read export");
    let verified = export.verify(&[]).expect("verifies");
    assert_eq!(verified.records, 3);
    assert_eq!(verified.head_hash, store.audit_records(2, 1).await.expect("audit")[0].hash);
    // A key that did not sign it is refused.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    assert!(export.verify(&[stranger]).is_err());
}

async fn sql_metacharacters_are_data(store: &Store) {
    let hostile = "x'); DROP TABLE cases; --";
    let mut tx = store.write().await.expect("begin");
    let mut c = case(hostile);
    c.title = "\"; DELETE FROM audit; --".into();
    tx.save_case(&c, &By::user(hostile, hostile)).await.expect("save");
    tx.commit().await.expect("commit");
    let stored = store.case(&CaseId::from(hostile)).await.expect("get").expect("present");
    assert_eq!(stored.title, c.title);
    assert_eq!(store.cases(&CaseFilter::default()).await.expect("list").len(), 1);
    assert_eq!(store.audit_records(0, 10).await.expect("audit")[0].actor, hostile);
}

/// Tampering with the SQLite file itself (triggers dropped, as someone with the file would):
/// each kind of change is caught by the read-only check `vigil verify` runs.
#[tokio::test]
async fn tampering_with_the_database_file_is_detected() {
    use crate::audit::export::verify_location;
    let edits: &[(&str, i64)] = &[
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 4", 4),
        ("UPDATE audit SET detail = '{}' WHERE seq = 9", 9),
        ("DELETE FROM audit WHERE seq = 6", 6),
        ("UPDATE audit SET seq = 100 WHERE seq = 3", 3),
        (
            "UPDATE audit SET seq = -seq WHERE seq IN (5, 7); UPDATE audit SET seq = 7 WHERE seq = -5; UPDATE audit SET seq = 5 WHERE seq = -7",
            5,
        ),
        ("DELETE FROM audit WHERE seq = 12", 12),
        (
            "UPDATE audit_checkpoints SET signature = substr(signature, 2) || '0' WHERE seq = (SELECT MAX(seq) FROM audit_checkpoints)",
            12,
        ),
    ];
    for (sql, first_bad) in edits {
        let (store, dir) = fresh_sqlite().await;
        for i in 0..12 {
            let mut tx = store.write().await.expect("begin");
            tx.save_case(&case(&format!("t{i}")), &analyst()).await.expect("save");
            tx.commit().await.expect("commit");
        }
        let location = dir.path().to_str().expect("utf-8 temp path");
        let clean = verify_location(location, &[]).await.expect("read");
        assert_eq!(clean.expect("untouched").records, 12);
        for drop in ["audit_no_update", "audit_no_delete", "checkpoint_no_update", "checkpoint_no_delete"] {
            store
                .writer
                .execute(sqlx::AssertSqlSafe(format!("DROP TRIGGER {drop}")))
                .await
                .expect("drop trigger");
        }
        store.writer.execute(*sql).await.expect("tamper");
        store.close().await;
        let broken = verify_location(location, &[]).await.expect("read").expect_err(sql);
        assert_eq!(broken.seq, *first_bad, "{sql}: {}", broken.reason);
    }
}

/// Evidence deleted or swapped behind the database's back (its triggers dropped) is caught by
/// `vigil verify`: the trail names every file added, with its hash.
#[tokio::test]
async fn evidence_deleted_or_changed_in_the_file_is_detected() {
    use crate::audit::export::verify_location;
    for (sql, reason) in
        [("DELETE FROM evidence", "missing"), ("UPDATE evidence SET content = X'00'", "hashes to")]
    {
        let (store, dir) = fresh_sqlite().await;
        let mut tx = store.write().await.expect("begin");
        tx.save_case(&case("e1"), &analyst()).await.expect("save");
        tx.add_evidence(b"MZ\x90 dropper", "application/octet-stream", "dropper.exe", "case:e1", &analyst())
            .await
            .expect("add");
        tx.commit().await.expect("commit");
        let location = dir.path().to_str().expect("utf-8 temp path");
        assert!(verify_location(location, &[]).await.expect("read").is_ok());
        for drop in ["evidence_no_delete", "evidence_no_update"] {
            store
                .writer
                .execute(sqlx::AssertSqlSafe(format!("DROP TRIGGER {drop}")))
                .await
                .expect("drop trigger");
        }
        store.writer.execute(sql).await.expect("tamper");
        store.close().await;
        let broken = verify_location(location, &[]).await.expect("read").expect_err(sql);
        assert_eq!(broken.seq, 2, "{sql}: {}", broken.reason);
        assert!(broken.reason.contains(reason), "{sql}: {}", broken.reason);
    }
}

/// The data directory and the database are readable by their owner only: raw logs and evidence
/// are not every local user's to read.
#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = TempDir::new().expect("temp dir");
    let dir = parent.path().join("data");
    let store = Store::open_dir(&dir).await.expect("open");
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("p1"), &analyst()).await.expect("save");
    tx.commit().await.expect("commit");
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for name in [crate::DATABASE_FILE, "vigil.db-wal", "vigil.db-shm"] {
        let path = dir.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    store.close().await;
    // A directory made loose by hand is tightened on the next start.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(dir.join(crate::DATABASE_FILE), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let store = Store::open_dir(&dir).await.expect("reopen");
    assert_eq!((mode(&dir), mode(&dir.join(crate::DATABASE_FILE))), (0o700, 0o600));
    store.close().await;
}

/// The attack a key beside the data can do: rewrite a record, rebuild the chain and re-sign it,
/// or cut records off the end. `verify` alone cannot tell; the witness can.
#[tokio::test]
async fn a_rewritten_or_cut_trail_is_caught_by_its_witness() {
    use crate::audit::chain::{GENESIS, sign_checkpoint};
    use crate::audit::export::{check_witness_at, read_export, verify_location};
    use crate::audit::witness::{Witness, read_file};
    let (store, dir) = fresh_sqlite().await;
    let witness_dir = TempDir::new().expect("temp dir");
    let witness = witness_dir.path().join("witness.log");
    let store = store.with_witnesses(vec![Witness::File(witness.clone())]);
    for i in 0..10 {
        let mut tx = store.write().await.expect("begin");
        tx.save_case(&case(&format!("w{i}")), &analyst()).await.expect("save");
        tx.commit().await.expect("commit");
    }
    let witnessed = read_file(&witness).expect("witness");
    assert_eq!(witnessed.len(), 10);
    assert_eq!(store.check_witness(&[], &witnessed).await.expect("read"), Ok(10));

    // Rewritten and re-signed with the stolen key: the chain verifies, the witness does not.
    let mut out = Vec::new();
    store.export_audit(&mut out).await.expect("export");
    let mut export = read_export(out.as_slice()).expect("read export");
    export.records[3].actor = "mallory".into();
    let mut prev = if let Some(r) = export.records.get(2) { r.hash.clone() } else { GENESIS.to_owned() };
    for record in export.records.iter_mut().skip(3) {
        record.prev_hash = prev.clone();
        record.hash = record.compute_hash();
        prev = record.hash.clone();
    }
    for cp in &mut export.checkpoints {
        let hash = export.records.iter().find(|r| r.seq == cp.seq).map(|r| r.hash.clone()).expect("record");
        *cp = sign_checkpoint(&store.signing_key, cp.seq, &hash, &cp.signed_at);
    }
    assert!(export.verify(&[]).is_ok(), "the forgery verifies on its own");
    let broken = export.check_witness(&[], &witnessed).expect("check").expect_err("caught");
    assert_eq!(broken.seq, 4, "{}", broken.reason);
    assert!(broken.reason.contains("rewritten"), "{}", broken.reason);

    // Cut off the end in the database, checkpoints with them.
    for drop in ["audit_no_delete", "checkpoint_no_delete"] {
        store
            .writer
            .execute(sqlx::AssertSqlSafe(format!("DROP TRIGGER {drop}")))
            .await
            .expect("drop trigger");
    }
    store
        .writer
        .execute("DELETE FROM audit WHERE seq > 7; DELETE FROM audit_checkpoints WHERE seq > 7")
        .await
        .expect("cut");
    store.close().await;
    let location = dir.path().to_str().expect("utf-8 temp path");
    assert!(verify_location(location, &[]).await.expect("read").is_ok(), "a cut trail verifies on its own");
    let broken = check_witness_at(location, &[], &witnessed).await.expect("read").expect_err("caught");
    assert_eq!(broken.seq, 8, "{}", broken.reason);
    assert!(broken.reason.contains("cut short"), "{}", broken.reason);
}

/// The signing key may live outside the data directory, its public half beside it.
#[tokio::test]
async fn the_signing_key_can_live_outside_the_data_directory() {
    let data = TempDir::new().expect("temp dir");
    let keys = TempDir::new().expect("temp dir");
    let key_file = keys.path().join("vigil-audit.key");
    let store = Store::open_dir_with_key(data.path(), &key_file).await.expect("open");
    assert!(key_file.is_file() && keys.path().join("vigil-audit.pub").is_file());
    assert!(!data.path().join(crate::audit::key::SIGNING_KEY_FILE).exists(), "no key beside the data");
    let first = store.public_key();
    store.close().await;
    let again = Store::open_dir_with_key(data.path(), &key_file).await.expect("reopen");
    assert_eq!(again.public_key(), first);
}

async fn action_requests_and_their_approvals_are_kept_and_audited(store: &Store) {
    use crate::{ActionRequestRow, ActionStatus, ApprovalRow};
    let by = analyst();
    let request = vigil_model::ActionRequest {
        action: "isolate_host".into(),
        target: vigil_model::Entity::new(vigil_model::EntityKind::Host, "ws-12"),
        parameters: Default::default(),
        case: Some(CaseId::from("c1")),
        requested_by: vigil_model::Requester::Person("alice".into()),
        plan_sha256: None,
    };
    let row = ActionRequestRow {
        id: "ar1".into(),
        request_sha256: request.hash("p1"),
        request: request.clone(),
        policy_sha256: "p1".into(),
        decision: serde_json::json!({"tier": "one person", "rule": "host-isolation"}),
        plan: serde_json::json!({"changes": ["cut ws-12 off the network"]}),
        plan_sha256: "ab".repeat(32),
        status: ActionStatus::AwaitingApproval,
        requested_at: String::new(),
        expires_at: "2099-01-01T00:00:00.000000Z".into(),
        updated_at: String::new(),
    };
    let before = audit_len(store).await;
    let mut tx = store.write().await.expect("begin");
    let proposed = tx.propose_action(&row, &by).await.expect("propose");
    tx.commit().await.expect("commit");
    assert!(!proposed.requested_at.is_empty(), "an empty asking time is the store's now");
    let mut tx = store.write().await.expect("begin");
    let again = tx.propose_action(&row, &by).await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    drop(tx);

    let approval = ApprovalRow {
        request_id: "ar1".into(),
        approver: "bob".into(),
        verdict: vigil_model::Verdict::Approve,
        rationale: "the host beacons to the C2; O'Brien agrees".into(),
        request_sha256: row.request_sha256.clone(),
        at_ms: 5,
    };
    let mut tx = store.write().await.expect("begin");
    tx.record_approval(&approval, true, "counted", &by).await.expect("approve");
    tx.set_action_status("ar1", ActionStatus::Approved, "one of one", &by).await.expect("status");
    tx.commit().await.expect("commit");
    let mut tx = store.write().await.expect("begin");
    let twice = tx.record_approval(&approval, true, "", &by).await;
    assert!(matches!(twice, Err(Error::Conflict(_))), "one answer a person: {twice:?}");
    drop(tx);

    let stored = store.action_request("ar1").await.expect("read").expect("present");
    assert_eq!(stored.request, request);
    assert_eq!((stored.plan, stored.plan_sha256), (row.plan.clone(), row.plan_sha256.clone()));
    assert_eq!(stored.requested_at, proposed.requested_at);
    assert_eq!(stored.status, ActionStatus::Approved);
    assert_eq!(
        store.answered_by("bob", ActionStatus::Approved).await.expect("answered"),
        std::collections::HashSet::from(["ar1".to_owned()])
    );
    assert!(store.answered_by("bob", ActionStatus::AwaitingApproval).await.expect("answered").is_empty());
    assert!(store.awaiting_by_case().await.expect("counts").is_empty(), "ar1 is approved now");
    let mut tx = store.write().await.expect("begin");
    assert_eq!(tx.action_status("ar1").await.expect("exists"), Some(ActionStatus::Approved));
    assert_eq!(tx.action_status("ar2").await.expect("exists"), None);
    drop(tx);
    assert_eq!(store.approvals("ar1").await.expect("approvals"), vec![approval.clone()]);
    assert_eq!(store.case_approvals(&CaseId::from("c1")).await.expect("case answers"), vec![approval]);
    assert!(store.case_approvals(&CaseId::from("c9")).await.expect("none").is_empty());
    assert_eq!(store.action_requests(Some(ActionStatus::Approved), 10).await.expect("list").len(), 1);
    assert!(store.action_requests(Some(ActionStatus::AwaitingApproval), 10).await.expect("list").is_empty());
    assert_eq!(store.case_action_requests(&CaseId::from("c1")).await.expect("case").len(), 1);

    let mut tx = store.write().await.expect("begin");
    tx.set_action_status("ar1", ActionStatus::Rejected, "changed mind", &by)
        .await
        .expect("approved is still open");
    tx.commit().await.expect("commit");
    let mut tx = store.write().await.expect("begin");
    let reopened = tx.set_action_status("ar1", ActionStatus::Approved, "again", &by).await;
    assert!(matches!(reopened, Err(Error::Conflict(_))), "a finished request stays finished: {reopened:?}");
    drop(tx);

    let actions: Vec<String> = store.audit_records(0, i64::MAX).await.expect("audit")[before..]
        .iter()
        .map(|r| r.action.clone())
        .collect();
    assert_eq!(actions, ["action.propose", "action.approve", "action.status", "action.status"]);
    assert_chain_verifies(store).await;
}

/// A case read while the engine moves it back and forth: each read is the state and the moves
/// of one moment (read apart, a move committed between them was a "corrupt" case and a 500).
async fn reading_a_case_while_it_moves_sees_one_consistent_lifecycle(store: &Store) {
    let engine = By::vigil(vigil_model::Component::Engine);
    let mut tx = store.write().await.expect("begin");
    tx.save_case(&case("moving"), &engine).await.expect("save");
    tx.transition_case(&CaseId::from("moving"), CaseState::Correlated, "clustered", &engine)
        .await
        .expect("move");
    tx.commit().await.expect("commit");
    let writer = {
        let store = store.clone();
        let engine = engine.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                let to = if i % 2 == 0 { CaseState::Recommended } else { CaseState::Correlated };
                let mut tx = store.write().await.expect("begin");
                tx.transition_case(&CaseId::from("moving"), to, "redrafted", &engine).await.expect("move");
                tx.commit().await.expect("commit");
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let read = store.case(&CaseId::from("moving")).await;
        assert!(matches!(read, Ok(Some(_))), "read {reads}: {read:?}");
        reads += 1;
    }
    writer.await.expect("writer");
    assert!(reads > 0);
}

fn stored_request(id: &str, case: &str, status: crate::ActionStatus) -> crate::ActionRequestRow {
    let request = vigil_model::ActionRequest {
        action: "block_indicator".into(),
        target: vigil_model::Entity::new(vigil_model::EntityKind::Ip, "203.0.113.7"),
        parameters: Default::default(),
        case: Some(CaseId::from(case)),
        requested_by: vigil_model::Requester::Person("alice".into()),
        plan_sha256: None,
    };
    crate::ActionRequestRow {
        id: id.into(),
        request_sha256: request.hash("p1"),
        request,
        policy_sha256: "p1".into(),
        decision: json!({"tier": "automatic"}),
        plan: json!({}),
        plan_sha256: String::new(),
        status,
        requested_at: String::new(),
        expires_at: "2099-01-01T00:00:00.000000Z".into(),
        updated_at: String::new(),
    }
}

async fn propose_stored(store: &Store, row: &crate::ActionRequestRow) {
    let mut tx = store.write().await.expect("begin");
    tx.propose_action(row, &analyst()).await.expect("propose");
    tx.commit().await.expect("commit");
}

async fn a_request_has_one_live_run_however_often_it_is_queued(store: &Store) {
    use crate::{ActionStatus, RunStatus};
    propose_stored(store, &stored_request("ar1", "c1", ActionStatus::Approved)).await;
    let by = analyst();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut tx = store.write().await.expect("begin");
        let (run, _) = tx.queue_run("ar1", Some(&CaseId::from("c1")), i64::MAX, &by).await.expect("queue");
        tx.commit().await.expect("commit");
        ids.push(run.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let run = store.run_of("ar1").await.expect("read").expect("live run");
    assert_eq!(run.status, RunStatus::Queued);
    // Withdrawn before it acted, the request may be queued afresh.
    let mut tx = store.write().await.expect("begin");
    assert!(
        tx.finish_run(&run, RunStatus::Withdrawn, Some("policy_raised"), "back", &json!({}), None, &by)
            .await
            .expect("withdraw")
    );
    assert!(
        !tx.finish_run(&run, RunStatus::Failed, None, "twice", &json!({}), None, &by).await.expect("finish"),
        "a finished run does not finish again"
    );
    let (next, new) = tx.queue_run("ar1", None, i64::MAX, &by).await.expect("queue again");
    tx.commit().await.expect("commit");
    assert!(new && next.id != run.id, "{next:?}");
    assert_eq!(store.runs_of("ar1").await.expect("runs").len(), 2);
}

async fn a_run_whose_lease_ran_out_is_taken_up_again_and_finishes_once(store: &Store) {
    use crate::{ActionStatus, RunStatus, RunStep};
    propose_stored(store, &stored_request("ar1", "c1", ActionStatus::Approved)).await;
    let by = analyst();
    let mut tx = store.write().await.expect("begin");
    tx.queue_run("ar1", None, i64::MAX, &by).await.expect("queue");
    tx.commit().await.expect("commit");
    let first = store.claim_run(60_000, "").await.expect("claim").expect("due");
    assert_eq!((first.status, first.attempts), (RunStatus::Running, 1));
    assert!(store.claim_run(60_000, "").await.expect("claim").is_none(), "a leased run is not taken twice");
    let step = RunStep {
        seq: 0,
        step: "execute".into(),
        outcome: "started".into(),
        attempt: 1,
        started_ms: 1,
        ended_ms: 1,
        detail: json!({"key": first.id}),
    };
    let mut tx = store.write().await.expect("begin");
    assert_eq!(tx.log_step(&first, &step, &by).await.expect("log"), 1);
    tx.set_run_prior(&first.id, &json!({"listed": false})).await.expect("prior");
    tx.commit().await.expect("commit");
    // The executor that held it is gone (a restart): its lease ends, the next taker recovers it.
    assert_eq!(store.release_run_leases("").await.expect("release"), 1);
    let again = store.claim_run(60_000, "").await.expect("claim").expect("recovered");
    assert_eq!((again.id.as_str(), again.attempts), (first.id.as_str(), 2));
    assert_eq!(again.prior, Some(json!({"listed": false})));
    let mut tx = store.write().await.expect("begin");
    assert_eq!(tx.log_step(&again, &RunStep { outcome: "ok".into(), ..step }, &by).await.expect("log"), 2);
    assert!(
        tx.finish_run(&again, RunStatus::Succeeded, None, "verified", &json!({"ok": true}), Some("ee"), &by)
            .await
            .expect("finish")
    );
    tx.commit().await.expect("commit");
    let log = store.run_log(&first.id).await.expect("log");
    assert_eq!(log.iter().map(|s| s.outcome.as_str()).collect::<Vec<_>>(), ["started", "ok"]);
    let done = store.run(&first.id).await.expect("read").expect("run");
    assert_eq!((done.status, done.evidence_sha256.as_deref()), (RunStatus::Succeeded, Some("ee")));
    assert!(store.next_run_due_ms().await.expect("due").is_none());
    let mut tx = store.write().await.expect("begin");
    assert!(
        tx.finish_run(&done, RunStatus::RolledBack, None, "undone", &json!({}), None, &by)
            .await
            .expect("roll back")
    );
    tx.commit().await.expect("commit");
    assert_chain_verifies(store).await;
}

async fn effects_tickets_and_the_blocklist_are_kept_once_per_key(store: &Store) {
    let mut tx = store.write().await.expect("begin");
    assert!(tx.record_effect("k1", "open_ticket", &json!({"ticket": "k1"})).await.expect("effect"));
    assert!(!tx.record_effect("k1", "open_ticket", &json!({"ticket": "other"})).await.expect("effect"));
    let ticket = crate::Ticket {
        id: "k1".into(),
        case_id: CaseId::from("c1"),
        title: "Contain ws-12".into(),
        owner: "alice".into(),
        sla_due_at: "2026-12-02T12:00:00.000000Z".into(),
        playbook: Some("host-compromise@1".into()),
        body: "isolate; collect; 'quoted' text".into(),
        created_at: time::now(),
        external_id: Some("INC-0042".into()),
        external_host: Some("tickets.example.com".into()),
    };
    assert!(tx.open_ticket(&ticket).await.expect("ticket"));
    assert!(!tx.open_ticket(&ticket).await.expect("ticket"));
    let entry = crate::BlockEntry {
        id: "k2".into(),
        indicator: "203.0.113.7".into(),
        kind: "ip".into(),
        case_id: Some(CaseId::from("c1")),
        reason: "C2".into(),
        added_at: time::now(),
        expires_at: "2099-01-01T00:00:00.000000Z".into(),
        removed_at: None,
    };
    assert!(tx.block(&entry).await.expect("block"));
    assert!(!tx.block(&entry).await.expect("block"));
    tx.commit().await.expect("commit");
    assert_eq!(store.effect("k1").await.expect("effect"), Some(json!({"ticket": "k1"})));
    assert_eq!(store.ticket("k1").await.expect("ticket"), Some(ticket));
    assert_eq!(store.case_tickets(&CaseId::from("c1")).await.expect("tickets").len(), 1);
    assert_eq!(store.blocklist_live().await.expect("feed"), vec![entry]);
    let mut tx = store.write().await.expect("begin");
    assert!(tx.unblock("k2").await.expect("unblock"));
    assert!(!tx.unblock("k2").await.expect("unblock"));
    tx.commit().await.expect("commit");
    assert!(store.blocklist_live().await.expect("feed").is_empty());
    assert!(
        store.block_entry("k2").await.expect("entry").is_some_and(|e| e.removed_at.is_some()),
        "never deleted"
    );
    let mute = crate::RuleMute {
        id: "k3".into(),
        rule_id: "r-brute-force".into(),
        entity: "user svc-backup".into(),
        case_id: None,
        reason: "a known job".into(),
        muted_at: time::now(),
        until: "2099-01-01T00:00:00.000000Z".into(),
        unmuted_at: None,
    };
    let mut tx = store.write().await.expect("begin");
    assert!(tx.mute_rule(&mute).await.expect("mute"));
    assert!(!tx.mute_rule(&mute).await.expect("mute"));
    tx.commit().await.expect("commit");
    assert_eq!(store.live_mutes().await.expect("mutes"), vec![mute]);
    let mut tx = store.write().await.expect("begin");
    assert!(tx.unmute_rule("k3").await.expect("unmute"));
    tx.commit().await.expect("commit");
    assert!(store.live_mutes().await.expect("mutes").is_empty());
    assert!(store.rule_mute("k3").await.expect("read").is_some_and(|m| m.unmuted_at.is_some()));
}

async fn new_evidence_supersedes_requests_that_have_not_run(store: &Store) {
    use crate::ActionStatus;
    propose_stored(store, &stored_request("waiting", "c1", ActionStatus::AwaitingApproval)).await;
    propose_stored(store, &stored_request("approved", "c1", ActionStatus::Approved)).await;
    propose_stored(store, &stored_request("ran", "c1", ActionStatus::Approved)).await;
    propose_stored(store, &stored_request("elsewhere", "c2", ActionStatus::Approved)).await;
    let by = analyst();
    let mut tx = store.write().await.expect("begin");
    tx.queue_run("ran", None, i64::MAX, &by).await.expect("queue");
    assert_eq!(
        tx.supersede_case_requests(&CaseId::from("c1"), "3 new alerts", &by).await.expect("supersede"),
        2
    );
    tx.commit().await.expect("commit");
    let status = async |id: &str| store.action_request(id).await.expect("read").expect("row").status;
    assert_eq!(status("waiting").await, ActionStatus::Superseded);
    assert_eq!(status("approved").await, ActionStatus::Superseded);
    assert_eq!(status("ran").await, ActionStatus::Approved, "a request that has a run is past superseding");
    assert_eq!(status("elsewhere").await, ActionStatus::Approved);
}

async fn alerts_naming_an_entity_match_it_exactly_whatever_its_characters(store: &Store) {
    let named = |id: &str, users: &[&str]| AlertRow {
        id: id.into(),
        case_id: None,
        rule_id: "r1".into(),
        title: "Logon".into(),
        severity: 3,
        time: time::from_millis(1_700_000_000_000),
        finding: json!({"entities": users.iter().map(|u| json!({"kind": "user", "key": u})).collect::<Vec<_>>()}),
    };
    let mut tx = store.write().await.expect("begin");
    for (id, users) in [
        ("a1", &["corp\\alice", "bob"][..]),
        ("a2", &["corpXalice"]),
        ("a3", &["svc_backup"]),
        ("a4", &["svcXbackup", "100%"]),
    ] {
        tx.save_alert(&named(id, users)).await.expect("alert");
    }
    tx.commit().await.expect("commit");
    let ids = async |key: &str| -> Vec<String> {
        let mut ids: Vec<String> = store
            .alerts_naming("user", key, 10)
            .await
            .expect("alerts")
            .into_iter()
            .map(|a| a.id.to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("corp\\alice").await, ["a1"], "a backslash is itself, not an escape");
    assert_eq!(ids("svc_backup").await, ["a3"], "an underscore is itself, not any character");
    assert_eq!(ids("100%").await, ["a4"]);
    assert_eq!(ids("bob").await, ["a1"]);
    assert!(ids("ali").await.is_empty(), "a part of a key is not the key");
    assert!(store.alerts_naming("host", "bob", 10).await.expect("alerts").is_empty(), "the kind counts");
}

async fn the_newest_recommendation_of_many_cases_is_read_at_once(store: &Store) {
    let triage = By::vigil(Component::Triage);
    let mut tx = store.write().await.expect("begin");
    for (case, confidence) in [("c1", 0.2), ("c1", 0.9), ("c2", 0.5)] {
        let body = json!({"verdict": "malicious", "confidence": confidence});
        tx.add_recommendation(&CaseId::from(case), &body, &triage).await.expect("recommend");
    }
    tx.commit().await.expect("commit");
    let ids: Vec<CaseId> = ["c1", "c2", "none", "x'; --"].into_iter().map(CaseId::from).collect();
    let latest = store.latest_recommendations(&ids).await.expect("latest");
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[&CaseId::from("c1")]["confidence"], 0.9, "the newest version");
    assert_eq!(latest[&CaseId::from("c2")]["confidence"], 0.5);
}
