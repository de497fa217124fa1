//! Crash safety of the executor: `kill -9` of `vigil serve` at 20 random moments while
//! responders propose, approve, execute and roll back blocks. After a last restart lets the
//! executor take up what it was in, no request has two live runs, no run executed twice, none
//! is lost, every run ended verified or failed with its reason, each succeeded block is on the
//! feed exactly once (and each rolled-back one off it), and `vigil verify` passes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use vigil_model::{CaseState, Component};
use vigil_store::{By, CaseRow, RunStatus, Store, time};

use crate::scratch;
use crate::server::{Serve, admin_session, call};

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// A recommended case to act on, written before the first start.
pub fn seed_case(data: &std::path::Path) {
    runtime().block_on(async {
        let store = Store::open_dir(data).await.expect("store");
        let engine = By::vigil(Component::Engine);
        let mut tx = store.write().await.expect("begin");
        let case = CaseRow {
            id: "c1".into(),
            title: "Beaconing to many addresses".into(),
            state: CaseState::New,
            severity: 4,
            assignee: None,
            first_seen: time::from_millis(1_700_000_000_000),
            last_seen: time::from_millis(1_700_000_360_000),
            updated_at: String::new(),
            body: json!({}),
        };
        tx.save_case(&case, &engine).await.expect("case");
        tx.transition_case(&"c1".into(), CaseState::Correlated, "clustered", &engine).await.expect("move");
        tx.transition_case(&"c1".into(), CaseState::Recommended, "drafted", &engine).await.expect("move");
        tx.commit().await.expect("commit");
        store.close().await;
    });
}

/// Two responders' bearer headers: one proposes, the other approves.
pub fn responders(serve: &Serve) -> (String, String) {
    let mut bearers = responders_named(serve, &["rita", "sam"]);
    (bearers.remove(0), bearers.remove(0))
}

/// A responder per name (they propose, approve and execute), as bearer headers in that order.
pub fn responders_named(serve: &Serve, names: &[&str]) -> Vec<String> {
    let password = serve.admin_password.as_deref().expect("first start prints the admin password");
    let admin = admin_session(serve, password);
    let headers = [("Cookie", admin.0.as_str()), ("X-CSRF-Token", admin.1.as_str())];
    let mut bearers = Vec::new();
    for name in names {
        let user = json!({"name": name, "role": "responder"}).to_string();
        let (status, _) =
            call("POST", &format!("{}/api/v1/users", serve.url), &headers, Some(user.as_bytes()))
                .expect("user");
        assert_eq!(status, 200);
        let scopes = ["case_read", "action_propose", "action_approve", "action_execute"];
        let token = json!({"owner": name, "scopes": scopes, "expires_in_days": 1}).to_string();
        let (status, token) =
            call("POST", &format!("{}/api/v1/tokens", serve.url), &headers, Some(token.as_bytes()))
                .expect("token");
        assert_eq!(status, 200, "{token}");
        bearers.push(format!("Bearer {}", token["token"].as_str().expect("secret")));
    }
    bearers
}

/// What the client saw acknowledged: requests whose execute was accepted, by id.
#[derive(Default)]
struct Seen {
    executed: BTreeSet<String>,
    blocks: Vec<String>,
}

/// Proposes, approves and executes blocks (and every third time the rollback of an earlier
/// one) until the server goes away; tells after each execute accepted.
fn responders_at_work(
    url: String,
    (rita, sam): (String, String),
    round: u64,
    seen: Arc<Mutex<Seen>>,
    tell: mpsc::Sender<()>,
) {
    let post = |token: &str, path: &str, body: &Value| -> Option<Value> {
        match call(
            "POST",
            &format!("{url}{path}"),
            &[("Authorization", token)],
            Some(body.to_string().as_bytes()),
        ) {
            Ok((200 | 202, answer)) => Some(answer),
            _ => None,
        }
    };
    for n in 0u64.. {
        let earlier = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).blocks.clone();
        let request = if n % 3 == 2 && !earlier.is_empty() {
            let of = &earlier[(next(&mut (round * 1_000 + n)) % earlier.len() as u64) as usize];
            // Refused (409) when it has not run yet or was rolled back already: try the next.
            match post(
                &rita,
                &format!("/api/v1/actions/{of}/rollback"),
                &json!({"rationale": "a partner's address"}),
            ) {
                Some(request) => request,
                None => continue,
            }
        } else {
            let target = format!("ip 198.18.{round}.{}", n % 250);
            let body = json!({"action": "block_indicator", "target": target, "parameters": {"for": "1d"}});
            let Some(request) = post(&rita, "/api/v1/cases/c1/actions", &body) else { return };
            request
        };
        let id = request["id"].as_str().unwrap_or_default().to_owned();
        let answer = json!({"request_sha256": request["request_sha256"], "rationale": "confirmed C2"});
        if post(&sam, &format!("/api/v1/actions/{id}/approve"), &answer).is_none() {
            return;
        }
        if post(&rita, &format!("/api/v1/actions/{id}/execute"), &json!({})).is_none() {
            return;
        }
        {
            let mut seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            seen.executed.insert(id.clone());
            if request["request"]["action"] == "block_indicator" {
                seen.blocks.push(id);
            }
        }
        if tell.send(()).is_err() {
            return;
        }
    }
}

#[test]
fn runs_cut_off_by_kill_9_end_once_verified_or_failed_with_their_reason() {
    let dir = scratch("crash-actions");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed_case(&data);
    let mut rng = 0x5EED_AC75;
    let mut tokens = None;
    let seen = Arc::new(Mutex::new(Seen::default()));
    for round in 0..20 {
        let mut serve = Serve::start(&data, None);
        let tokens = tokens.get_or_insert_with(|| responders(&serve)).clone();
        let (tell, told) = mpsc::channel();
        let client = {
            let (url, seen) = (serve.url.clone(), Arc::clone(&seen));
            std::thread::spawn(move || responders_at_work(url, tokens, round, seen, tell))
        };
        let kill_after = 1 + next(&mut rng) % 6;
        for _ in 0..kill_after {
            told.recv().expect("the responders keep working until the kill");
        }
        serve.kill();
        drop(told);
        client.join().expect("client thread");
    }

    // The last start takes up every run the kills cut off; the test waits for the outbox to
    // empty by reading the run of each request it executed.
    let serve = Serve::start(&data, None);
    let (rita, _) = tokens.expect("tokens");
    let executed =
        std::mem::take(&mut seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).executed);
    let started = std::time::Instant::now();
    for id in &executed {
        loop {
            let (status, run) = call(
                "GET",
                &format!("{}/api/v1/actions/{id}/run", serve.url),
                &[("Authorization", &rita)],
                None,
            )
            .expect("run");
            assert_eq!(status, 200, "request {id} was executed, so it has a run: {run}");
            if !matches!(run["run"]["status"].as_str(), Some("queued" | "running")) {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "run of {id} never ended: {run}"
            );
        }
    }
    drop(serve);

    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("verify")
        .arg(&data)
        .output()
        .expect("vigil verify");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    runtime().block_on(async {
        let store = Store::open_dir(&data).await.expect("the store opens after kill -9");
        assert!(store.integrity_check().await.expect("integrity").is_empty());
        let mut ended: BTreeMap<&'static str, usize> = BTreeMap::new();
        let feed: BTreeSet<String> =
            store.blocklist_live().await.expect("feed").into_iter().map(|e| e.id).collect();
        let mut recovered = 0;
        for id in &executed {
            let runs = store.runs_of(id).await.expect("runs");
            let live: Vec<_> = runs.iter().filter(|r| r.status != RunStatus::Withdrawn).collect();
            assert_eq!(live.len(), 1, "request {id}: one live run, not {runs:?}");
            let run = live[0];
            *ended.entry(run.status.as_str()).or_default() += 1;
            assert!(run.status.finished(), "{run:?}");
            if run.status == RunStatus::Failed {
                assert!(run.code.is_some() && run.reason.is_some(), "a failed run says why: {run:?}");
            }
            let log = store.run_log(&run.id).await.expect("log");
            let acted = log
                .iter()
                .filter(|s| matches!(s.step.as_str(), "execute" | "rollback") && s.outcome == "ok")
                .count();
            assert!(acted <= 1, "run {} acted {acted} times: {log:?}", run.id);
            recovered += usize::from(run.attempts > 1);
            let request = store.action_request(id).await.expect("read").expect("request");
            if request.request.action == "block_indicator" {
                let entry = store.block_entry(&run.id).await.expect("entry");
                match run.status {
                    RunStatus::Succeeded => assert!(feed.contains(&run.id), "{run:?} is on the feed"),
                    RunStatus::RolledBack => {
                        assert!(
                            entry.is_some_and(|e| e.removed_at.is_some()) && !feed.contains(&run.id),
                            "{run:?}"
                        )
                    }
                    _ => assert!(!feed.contains(&run.id), "{run:?} failed, and is not served"),
                }
            }
        }
        let runs_on_feed = feed.iter().filter(|id| id.starts_with("run_")).count();
        assert_eq!(runs_on_feed, feed.len(), "every served entry is a run's");
        eprintln!("{} runs: {ended:?}; {recovered} taken up again after a kill", executed.len());
        assert!(executed.len() >= 20, "{} requests executed", executed.len());
        store.close().await;
    });
}
