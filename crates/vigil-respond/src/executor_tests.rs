//! The executor against a real store: at most one run per request, recovery after a crash
//! verifies before it acts again, retries back off until the deadline, an effect that does
//! not verify is rolled back, and the policy in force at execution has the last word.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use vigil_model::{ActionRequest, CaseState, Entity, EntityKind, Requester, Verdict};
use vigil_policy::{Context, Policy, decide};
use vigil_store::{ApprovalRow, By, CaseRow, Clock, ManualClock, RunStatus, RunStep, Store, time};

use super::*;
use crate::action::{Plan, Probe};

struct Fixed(Arc<std::sync::Mutex<Arc<Policy>>>);

impl Fixed {
    fn new(policy: Policy) -> Arc<Fixed> {
        Arc::new(Fixed(Arc::new(std::sync::Mutex::new(Arc::new(policy)))))
    }

    fn set(&self, policy: Policy) {
        *self.0.lock().expect("policy") = Arc::new(policy);
    }
}

impl Authority for Fixed {
    fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.0.lock().expect("policy"))
    }

    fn context<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<Context>> {
        Box::pin(async { Ok(Context::default()) })
    }
}

/// An action that counts what is done to it, can fail transiently a number of times, and can
/// be told its effect does not hold.
struct Counting {
    name: &'static str,
    executed: AtomicUsize,
    /// The idempotency keys it has executed under: its verify probe reads these.
    keys: std::sync::Mutex<Vec<String>>,
    rolled_back: AtomicUsize,
    transient_failures: AtomicUsize,
    holds: bool,
    /// Execute finds the target changed by someone else since the precheck.
    changed_by_others: bool,
}

impl Counting {
    fn new(name: &'static str) -> Counting {
        Counting {
            name,
            executed: AtomicUsize::new(0),
            keys: std::sync::Mutex::new(Vec::new()),
            rolled_back: AtomicUsize::new(0),
            transient_failures: AtomicUsize::new(0),
            holds: true,
            changed_by_others: false,
        }
    }
}

impl Action for Counting {
    fn name(&self) -> &'static str {
        self.name
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn plan<'a>(&'a self, _: &'a Cx, _: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async {
            Ok(Plan {
                changes: vec!["count one".into()],
                runnable: true,
                undo: Undo::Rollback,
                facts: json!({}),
            })
        })
    }

    fn precheck<'a>(&'a self, _: &'a Cx, _: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async { Ok(json!({"count": 0})) })
    }

    fn execute<'a>(&'a self, _: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let left = self.transient_failures.load(Ordering::SeqCst);
            if left > 0 {
                self.transient_failures.store(left - 1, Ordering::SeqCst);
                return Err(Error::Transient("the target did not answer".into()));
            }
            if self.changed_by_others {
                return Err(Error::TargetChanged("the host was isolated by someone else".into()));
            }
            self.keys.lock().expect("keys").push(step.key.to_owned());
            Ok(json!({"executions": self.executed.fetch_add(1, Ordering::SeqCst) + 1}))
        })
    }

    fn verify<'a>(&'a self, _: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let executed = self.keys.lock().expect("keys").iter().any(|k| k == step.key);
            Ok(Probe { holds: self.holds && executed, observed: json!({"executed": executed}) })
        })
    }

    fn rollback<'a>(&'a self, _: &'a Cx, _: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async { Ok(json!({"rollbacks": self.rolled_back.fetch_add(1, Ordering::SeqCst) + 1})) })
    }

    fn verify_rollback<'a>(&'a self, _: &'a Cx, _: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async {
            Ok(Probe { holds: self.rolled_back.load(Ordering::SeqCst) > 0, observed: json!({}) })
        })
    }
}

struct World {
    store: Store,
    hand: ManualClock,
    authority: Arc<Fixed>,
    _dir: TempDir,
}

async fn world() -> World {
    let dir = TempDir::new().expect("temp dir");
    let (clock, hand) = Clock::manual(chrono::Utc::now());
    let store = Store::open_dir(dir.path()).await.expect("store").with_clock(clock);
    let by = By::user("admin", "test");
    let mut tx = store.write().await.expect("begin");
    let case = CaseRow {
        id: "c1".into(),
        title: "Beaconing from ws-12".into(),
        state: CaseState::New,
        severity: 4,
        assignee: None,
        first_seen: time::from_millis(1_700_000_000_000),
        last_seen: time::from_millis(1_700_000_360_000),
        updated_at: String::new(),
        body: json!({}),
    };
    tx.save_case(&case, &by).await.expect("case");
    for (name, role) in [("alice", "analyst"), ("bob", "responder"), ("carol", "lead")] {
        tx.create_user(&name.into(), role, "x", &by).await.expect("user");
    }
    tx.commit().await.expect("commit");
    let authority = Fixed::new(vigil_policy::default_policy().expect("default policy"));
    World { store, hand, authority, _dir: dir }
}

impl World {
    fn executor(&self, registry: Registry) -> Executor {
        Executor::new(self.store.clone(), Arc::new(registry), self.authority.clone())
    }

    fn cx(&self) -> Cx {
        Cx { store: self.store.clone(), by: By::vigil(vigil_model::Component::Executor) }
    }

    /// Proposes `action` on `target` for case c1 as alice, decided by the policy in force.
    async fn propose(
        &self,
        registry: &Registry,
        id: &str,
        action: &str,
        target: Option<Entity>,
    ) -> vigil_store::ActionRequestRow {
        let request = ActionRequest {
            action: action.into(),
            target,
            parameters: Default::default(),
            case: Some("c1".into()),
            requested_by: Requester::Person("alice".into()),
            plan_sha256: None,
        };
        let policy = self.authority.policy();
        let decision = decide(&policy, &request, &Context::default());
        let plan = registry.plan(&self.cx(), &request).await.expect("plan");
        let row = decided_row(id.into(), &policy, request, &decision, &plan, self.store.clock().now());
        let mut tx = self.store.write().await.expect("begin");
        let (stored, _) = store_proposal(&mut tx, &row, &plan, i64::MAX, &By::user("alice", "test"))
            .await
            .expect("propose");
        tx.commit().await.expect("commit");
        stored
    }

    /// Bob approves the request as he read it, and the request is approved.
    async fn approve(&self, row: &vigil_store::ActionRequestRow) {
        let approval = ApprovalRow {
            request_id: row.id.clone(),
            approver: "bob".into(),
            verdict: Verdict::Approve,
            rationale: "seen the beacon".into(),
            request_sha256: row.request_sha256.clone(),
            at_ms: self.store.clock().now_ms(),
        };
        let by = By::user("bob", "test");
        let mut tx = self.store.write().await.expect("begin");
        tx.record_approval(&approval, true, "approved", &by).await.expect("approval");
        tx.set_action_status(&row.id, vigil_store::ActionStatus::Approved, "one of one", &by)
            .await
            .expect("status");
        queue(&mut tx, row, i64::MAX, &by).await.expect("queue");
        tx.commit().await.expect("commit");
    }

    async fn steps(&self, run: &str) -> Vec<String> {
        let log = self.store.run_log(run).await.expect("log");
        log.iter().map(|s| format!("{} {}", s.step, s.outcome)).collect()
    }
}

fn host(name: &str) -> Option<Entity> {
    Entity::new(EntityKind::Host, name)
}

#[tokio::test]
async fn an_automatic_action_runs_once_verifies_and_its_log_is_sealed_in_the_vault() {
    let w = world().await;
    let registry = Registry::builtin();
    let row = w.propose(&registry, "t1", "open_ticket", None).await;
    assert_eq!(row.status, vigil_store::ActionStatus::Approved, "{:?}", row.decision);
    let executor = w.executor(registry);
    let runs = executor.run_due().await.expect("run");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Succeeded, None), "{run:?}");
    assert_eq!(
        w.steps(&run.id).await,
        ["authorize ok", "plan ok", "precheck ok", "execute started", "execute ok", "verify ok"]
    );
    let ticket = w.store.ticket(&run.id).await.expect("read").expect("the ticket is open");
    assert_eq!((ticket.owner.as_str(), ticket.case_id.as_str()), ("unassigned", "c1"));
    let sealed =
        w.store.evidence_content(run.evidence_sha256.as_deref().expect("sealed")).await.expect("read");
    let sealed: Value = serde_json::from_slice(&sealed.expect("in the vault")).expect("json");
    assert_eq!(sealed["log"].as_array().map(Vec::len), Some(6));
    assert!(executor.run_due().await.expect("run").is_empty(), "a finished run is not run again");
    assert_eq!(w.store.case_tickets(&"c1".into()).await.expect("tickets").len(), 1);
    w.store.verify_audit(&[]).await.expect("read").expect("the audit chain verifies");
}

#[tokio::test]
async fn many_callers_queue_one_run_and_two_executors_execute_it_once() {
    let w = world().await;
    let counting = Arc::new(Counting::new("isolate_host"));
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    let mut callers = Vec::new();
    for _ in 0..100 {
        let (store, row) = (w.store.clone(), row.clone());
        callers.push(tokio::spawn(async move {
            let mut tx = store.write().await.expect("begin");
            let (run, _) = queue(&mut tx, &row, i64::MAX, &By::user("bob", "test")).await.expect("queue");
            tx.commit().await.expect("commit");
            run.id
        }));
    }
    let mut ids = Vec::new();
    for caller in callers {
        ids.push(caller.await.expect("caller"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (one, two) = (w.executor(registry.clone()), w.executor(registry));
    let (a, b) = tokio::join!(one.run_due(), two.run_due());
    assert_eq!(a.expect("run").len() + b.expect("run").len(), 1);
    assert_eq!(counting.executed.load(Ordering::SeqCst), 1);
    assert_eq!(w.store.runs_of("r1").await.expect("runs").len(), 1);
}

#[tokio::test]
async fn a_run_cut_off_after_it_acted_verifies_and_does_not_execute_again() {
    let w = world().await;
    let counting = Arc::new(Counting::new("isolate_host"));
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    // The first executor takes the run, acts, and dies before it can write the outcome.
    let run = w.store.claim_run(60_000, "").await.expect("claim").expect("due");
    let step = Step { request: &row.request, key: &run.id, prior: &Value::Null };
    let started = RunStep {
        seq: 0,
        step: "execute".into(),
        outcome: "started".into(),
        attempt: 1,
        started_ms: 0,
        ended_ms: 0,
        detail: json!({}),
    };
    let mut tx = w.store.write().await.expect("begin");
    tx.set_run_prior(&run.id, &json!({"count": 0})).await.expect("prior");
    tx.log_step(&run, &started, &By::vigil(vigil_model::Component::Executor)).await.expect("log");
    tx.commit().await.expect("commit");
    counting.execute(&w.cx(), step).await.expect("acted");
    let executor = w.executor(registry);
    assert!(executor.run_due().await.expect("run").is_empty(), "the lease is still the dead executor's");
    w.hand.advance(Duration::from_secs(61));
    let runs = executor.run_due().await.expect("run");
    assert_eq!((runs[0].status, runs[0].attempts), (RunStatus::Succeeded, 2), "{:?}", runs[0]);
    assert_eq!(counting.executed.load(Ordering::SeqCst), 1, "verified, not executed again");
    assert_eq!(w.steps(&run.id).await, ["execute started", "authorize ok", "verify ok"]);
}

#[tokio::test]
async fn a_run_cut_off_before_it_acted_executes_once_after_the_lease() {
    let w = world().await;
    let counting = Arc::new(Counting::new("isolate_host"));
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    w.store.claim_run(60_000, "").await.expect("claim").expect("due");
    w.hand.advance(Duration::from_secs(61));
    let runs = w.executor(registry).run_due().await.expect("run");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(counting.executed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_transient_failure_retries_with_backoff_and_a_lasting_one_fails_at_the_deadline() {
    let w = world().await;
    let counting = Arc::new(Counting::new("isolate_host"));
    counting.transient_failures.store(2, Ordering::SeqCst);
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    let executor = w.executor(registry.clone());
    let first = executor.run_due().await.expect("run");
    assert_eq!(first[0].status, RunStatus::Queued, "put back for a retry");
    assert!(executor.run_due().await.expect("run").is_empty(), "not before its backoff");
    w.hand.advance(Duration::from_millis(1_000));
    assert_eq!(executor.run_due().await.expect("run")[0].status, RunStatus::Queued);
    w.hand.advance(Duration::from_millis(1_999));
    assert!(executor.run_due().await.expect("run").is_empty(), "the second wait is twice the first");
    w.hand.advance(Duration::from_millis(1));
    let done = executor.run_due().await.expect("run");
    assert_eq!((done[0].status, done[0].attempts), (RunStatus::Succeeded, 3));
    assert_eq!(counting.executed.load(Ordering::SeqCst), 1);

    // One that never answers fails when no attempt is left before the deadline, and says so.
    counting.transient_failures.store(usize::MAX, Ordering::SeqCst);
    let row = w.propose(&registry, "r2", "isolate_host", host("ws-13")).await;
    w.approve(&row).await;
    let executor = executor.with_settings(Settings { max_attempts: 3, ..Settings::default() });
    for _ in 0..3 {
        executor.run_due().await.expect("run");
        w.hand.advance(Duration::from_secs(60));
    }
    let run = w.store.run_of("r2").await.expect("read").expect("run");
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Failed, Some("deadline_passed")), "{run:?}");
    assert!(run.reason.as_deref().is_some_and(|r| r.contains("did not answer")), "{run:?}");
}

#[tokio::test]
async fn an_effect_that_does_not_verify_is_rolled_back_and_the_run_fails() {
    let w = world().await;
    let counting = Arc::new(Counting { holds: false, ..Counting::new("isolate_host") });
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    let run = w.executor(registry).run_due().await.expect("run").remove(0);
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Failed, Some("verify_failed")));
    assert_eq!(counting.rolled_back.load(Ordering::SeqCst), 1);
    assert!(run.reason.as_deref().is_some_and(|r| r.contains("rolled back")), "{run:?}");
    let steps = w.steps(&run.id).await;
    assert_eq!(&steps[steps.len() - 3..], ["verify failed", "rollback ok", "rollback_verify ok"]);
}

#[tokio::test]
async fn a_target_changed_by_someone_else_ends_the_run_and_nothing_of_theirs_is_rolled_back() {
    let w = world().await;
    let counting = Arc::new(Counting { changed_by_others: true, ..Counting::new("isolate_host") });
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    let run = w.executor(registry).run_due().await.expect("run").remove(0);
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Failed, Some("target_changed")));
    assert!(run.reason.as_deref().is_some_and(|r| r.contains("someone else")), "{run:?}");
    assert_eq!(counting.rolled_back.load(Ordering::SeqCst), 0, "what someone else did is theirs");
    assert_eq!(w.steps(&run.id).await.last().map(String::as_str), Some("execute failed"));
}

#[tokio::test]
async fn a_request_that_is_not_approved_never_runs() {
    let w = world().await;
    let counting = Arc::new(Counting::new("isolate_host"));
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    assert_eq!(row.status, vigil_store::ActionStatus::AwaitingApproval);
    // A run forced into the outbox without the quorum: the executor asks the policy itself.
    let mut tx = w.store.write().await.expect("begin");
    queue(&mut tx, &row, i64::MAX, &By::user("mallory", "test")).await.expect("queue");
    tx.commit().await.expect("commit");
    let run = w.executor(registry).run_due().await.expect("run").remove(0);
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Failed, Some("not_approved")));
    assert_eq!(counting.executed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_policy_raised_between_approval_and_execution_sends_the_request_back() {
    let w = world().await;
    let counting = Arc::new(Counting::new("isolate_host"));
    let registry = Registry::builtin().with(counting.clone());
    let row = w.propose(&registry, "r1", "isolate_host", host("ws-12")).await;
    w.approve(&row).await;
    let stricter = vigil_policy::DEFAULT_POLICY.replace(
        "when: {category: [host_isolation]}\n    decide: {approvals: 1, roles: [responder, lead, admin]}",
        "when: {category: [host_isolation]}\n    decide: {approvals: 2, roles: [responder, lead, admin]}",
    );
    w.authority.set(Policy::parse(&stricter).expect("stricter"));
    let run = w.executor(registry.clone()).run_due().await.expect("run").remove(0);
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Withdrawn, Some("policy_raised")), "{run:?}");
    assert_eq!(counting.executed.load(Ordering::SeqCst), 0);
    let back = w.store.action_request("r1").await.expect("read").expect("row");
    assert_eq!(back.status, vigil_store::ActionStatus::AwaitingApproval);
    assert_eq!(back.decision["required"], 2, "the inbox shows the bar in force");
    // Bob's approval still counts towards the new bar; the run after it is a new one.
    let mut tx = w.store.write().await.expect("begin");
    let carol = ApprovalRow {
        approver: "carol".into(),
        ..w.store.approvals("r1").await.expect("approvals").remove(0)
    };
    tx.record_approval(&carol, true, "approved", &By::user("carol", "test")).await.expect("approval");
    tx.set_action_status("r1", vigil_store::ActionStatus::Approved, "two of two", &By::user("carol", "test"))
        .await
        .expect("status");
    queue(&mut tx, &back, i64::MAX, &By::user("carol", "test")).await.expect("queue");
    tx.commit().await.expect("commit");
    let run = w.executor(registry).run_due().await.expect("run").remove(0);
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(counting.executed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_plan_that_changed_since_approval_is_not_run() {
    let w = world().await;
    let registry = Registry::builtin();
    let token = |id: &str| vigil_store::TokenRow {
        id: id.into(),
        hash: format!("hash-{id}"),
        owner: "alice".into(),
        scopes: vec!["case_read".into()],
        created_at: time::now(),
        expires_at: "2099-01-01T00:00:00.000000Z".into(),
        revoked_at: None,
        created_by: String::new(),
    };
    let mut tx = w.store.write().await.expect("begin");
    tx.create_token(&token("tok_a"), &By::user("admin", "test")).await.expect("token");
    tx.commit().await.expect("commit");
    let row = w.propose(&registry, "r1", "revoke_vigil_token", Entity::new(EntityKind::User, "alice")).await;
    assert_eq!(row.plan["facts"]["tokens"], json!(["tok_a"]));
    w.approve(&row).await;
    // A second token appears before the run: revoking "alice's tokens" now means more.
    let mut tx = w.store.write().await.expect("begin");
    tx.create_token(&token("tok_b"), &By::user("admin", "test")).await.expect("token");
    tx.commit().await.expect("commit");
    let run = w.executor(registry).run_due().await.expect("run").remove(0);
    assert_eq!((run.status, run.code.as_deref()), (RunStatus::Failed, Some("plan_changed")), "{run:?}");
    assert!(
        w.store.tokens().await.expect("tokens").iter().all(|t| t.revoked_at.is_none()),
        "nothing was revoked"
    );
}

/// A webhook receiver on loopback: answers each delivery with the next status of `answers`
/// (the last one after that), and keeps what it received and whether its signature held.
struct Receiver {
    url: String,
    seen: Arc<std::sync::Mutex<Vec<(String, bool, Value)>>>,
}

fn receiver(secret: &'static [u8], answers: &'static [u16]) -> Receiver {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hooks/vigil-SECRETPATH", listener.local_addr().expect("addr"));
    let seen: Arc<std::sync::Mutex<Vec<(String, bool, Value)>>> = Arc::default();
    let kept = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut headers = std::collections::HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(": ") {
                    headers.insert(k.to_ascii_lowercase(), v.to_owned());
                }
            }
            let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            // The receiver's own check: HMAC-SHA256 over "<timestamp>.<body>".
            use hmac::Mac;
            let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("key");
            mac.update(headers.get("x-vigil-timestamp").map_or("", String::as_str).as_bytes());
            mac.update(b".");
            mac.update(&body);
            let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let signed = headers.get("x-vigil-signature") == Some(&expected);
            let delivery = headers.get("x-vigil-delivery").cloned().unwrap_or_default();
            kept.lock().expect("seen").push((
                delivery,
                signed,
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            ));
            let status = answers.get(n).or(answers.last()).copied().unwrap_or(200);
            let answer = r#"{"ok":true,"ticket_id":"INC-0042"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    Receiver { url, seen }
}

const SECRET: &[u8] = b"a webhook secret of some length";

#[tokio::test]
async fn a_webhook_delivery_is_signed_retried_with_the_same_delivery_id_and_verified() {
    let w = world().await;
    let hook = receiver(SECRET, &[503, 200]);
    let webhook = crate::connectors::Webhook::new(&hook.url, SECRET, crate::connectors::WebhookFormat::Vigil)
        .expect("webhook");
    let registry = Registry::builtin().with(Arc::new(webhook));
    let row = w.propose(&registry, "n1", "notify_webhook", None).await;
    assert!(
        row.plan["changes"][0].as_str().is_some_and(|c| c.contains("127.0.0.1") && !c.contains("SECRETPATH"))
    );
    w.approve(&row).await;
    let executor = w.executor(registry);
    assert_eq!(executor.run_due().await.expect("run")[0].status, RunStatus::Queued, "503: tried again");
    w.hand.advance(Duration::from_millis(1_000));
    let done = executor.run_due().await.expect("run");
    assert_eq!((done[0].status, done[0].attempts), (RunStatus::Succeeded, 2), "{:?}", done[0]);
    let seen = hook.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|(_, signed, _)| *signed), "every delivery signed: {seen:?}");
    assert_eq!(seen[0].0, seen[1].0, "a retry carries the same delivery id");
    assert_eq!(seen[1].2["case"]["id"], "c1");
    assert_eq!(seen[1].2["case"]["title"], "Beaconing from ws-12");
    let steps = w.steps(&done[0].id).await;
    assert!(steps.contains(&"verify ok".to_owned()), "{steps:?}");
}

#[tokio::test]
async fn a_webhook_that_refuses_the_delivery_fails_the_run_without_retrying() {
    let w = world().await;
    let hook = receiver(b"another secret, not the one Vigil has", &[401]);
    let webhook = crate::connectors::Webhook::new(&hook.url, SECRET, crate::connectors::WebhookFormat::Slack)
        .expect("webhook");
    let registry = Registry::builtin().with(Arc::new(webhook));
    let row = w.propose(&registry, "n2", "notify_webhook", None).await;
    w.approve(&row).await;
    let done = w.executor(registry).run_due().await.expect("run");
    assert_eq!(done[0].status, RunStatus::Failed, "{:?}", done[0]);
    assert!(done[0].reason.as_deref().is_some_and(|r| r.contains("401")), "{:?}", done[0]);
    let seen = hook.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 1, "a refusal is not tried again");
    assert!(!seen[0].1, "the receiver's own check failed: its secret differs");
    assert!(
        seen[0].2["text"].as_str().is_some_and(|t| t.contains("case c1: Beaconing from ws-12")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_ticket_opened_through_the_ticketing_webhook_keeps_the_id_it_was_given() {
    let w = world().await;
    let hook = receiver(SECRET, &[201]);
    let registry = Registry::builtin()
        .with(Arc::new(crate::connectors::Webhook::ticketing(&hook.url, SECRET).expect("hook")));
    let row = w.propose(&registry, "x1", "open_external_ticket", None).await;
    assert_eq!(
        row.status,
        vigil_store::ActionStatus::Approved,
        "a ticket is read-and-record: {:?}",
        row.decision
    );
    let done = w.executor(registry).run_due().await.expect("run");
    assert_eq!(done[0].status, RunStatus::Succeeded, "{:?}", done[0]);
    let ticket = w.store.ticket(&done[0].id).await.expect("read").expect("kept with the case");
    assert_eq!(ticket.external_id.as_deref(), Some("INC-0042"));
    assert_eq!(ticket.external_host.as_deref(), hook.url.split('/').nth(2));
    let seen = hook.seen.lock().expect("seen").clone();
    assert!(seen[0].1, "signed");
    assert_eq!(seen[0].2["ticket"]["owner"], "unassigned");
    assert!(seen[0].2["ticket"]["body"].as_str().is_some_and(|b| b.contains("To reproduce")), "{seen:?}");
}
