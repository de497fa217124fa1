//! Scale-out against the real systems: PostgreSQL and Debian's `nats-server` with JetStream on
//! loopback. `.ci/run` starts both and sets `VIGIL_TEST_POSTGRES_URL` and `VIGIL_TEST_NATS_URL`;
//! the restart test starts servers of its own, through the same scripts, to stop and start them.
//!
//! Every node is the `vigil` binary as an operator runs it (`vigil serve --role … --node …`),
//! each test on a database and a stream of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use serde_json::{Value, json};

use crate::crash::{next, record};
use crate::server::{Serve, call, ingest_token};
use crate::{repo, scratch};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("the cluster-tests feature needs {name} (.ci/run starts the server and sets it)")
    })
}

/// A database of its own on the PostgreSQL at `server` (`postgres://user@host:port`).
fn database(server: &str, name: &str) -> String {
    let db = format!("vigil_cluster_{}_{name}", std::process::id());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(vigil_store::create_database(server, &db)).expect("database created")
}

/// One cluster's configuration: its database, its stream, a signing key file all nodes share.
struct Cluster {
    dir: PathBuf,
    config: PathBuf,
    database: String,
}

impl Cluster {
    fn new(name: &str, database: String, nats: &str, partitions: u32) -> Cluster {
        let dir = scratch(&format!("cluster-{name}"));
        let config = dir.join("vigil.yml");
        let unique = format!("{}_{name}", std::process::id()).replace('-', "_");
        std::fs::write(
            &config,
            format!(
                "serve:\n  database: {database}\n  audit:\n    signing_key: signing.key\n\
                 cluster:\n  nats_url: {nats}\n  stream: T{unique}\n  subject: t{unique}.events\n  \
                 partitions: {partitions}\n  lease_ttl_secs: 3\n  publish_timeout_secs: 2\n"
            ),
        )
        .expect("config written");
        Cluster { dir, config, database }
    }

    /// `vigil serve --role <role> --node <name>`, once it has said it is up.
    fn node(&self, role: &str, name: &str) -> Serve {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--role", role, "--node", name, "--config"])
            .arg(&self.config)
            .current_dir(&self.dir);
        Serve::spawn(command, false, false)
    }

    fn status(&self) -> Value {
        let run = crate::vigil(&["cluster", "status", "--json", "--config", path(&self.config)], &self.dir);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        serde_json::from_slice(&run.stdout).expect("status is JSON")
    }
}

/// A running cluster: an API node (started first: it creates the schema and the administrator),
/// an ingest node and the workers, with an ingest token.
struct Nodes {
    cluster: Cluster,
    api: Serve,
    token: String,
    ingest: Serve,
    workers: Vec<Serve>,
}

impl Cluster {
    fn start(self, workers: usize) -> Nodes {
        let api = self.node("api", "api-1");
        let token = ingest_token(&api);
        let ingest = self.node("ingest", "ingest-1");
        let workers = (1..=workers).map(|n| self.node("worker", &format!("worker-{n}"))).collect();
        Nodes { cluster: self, api, token, ingest, workers }
    }
}

/// A cluster on the PostgreSQL and NATS `.ci/run` started, on a database and stream of its own.
fn on_ci_servers(name: &str) -> Cluster {
    Cluster::new(name, database(&env("VIGIL_TEST_POSTGRES_URL"), name), &env("VIGIL_TEST_NATS_URL"), 8)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The sample files, sent by two tenants alike: the same user, host and address names at two
/// customers are two customers' cases.
fn scenario() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for file in [
        "windows-lateral-movement.json",
        "cloudtrail.json",
        "okta-system-log.json",
        "windows-sysmon-security.json",
    ] {
        let text = std::fs::read_to_string(repo().join("samples").join(file)).expect("sample");
        out.push(("acme", text.clone()));
        out.push(("globex", text));
    }
    out
}

/// Sends the scenario one file at a time, each through the pipeline before the next (a case's
/// id is fixed by the alerts it first held, so the same arrival gives the same ids); returns
/// how many events were stored. `status` is the node that answers how far the pipeline is.
fn send(url: &str, status: &str, token: &str, batches: &[(&str, String)]) -> i64 {
    let bearer = format!("Bearer {token}");
    let mut stored = 0;
    for (tenant, body) in batches {
        let (code, answer) = call(
            "POST",
            &format!("{url}/api/v1/ingest?tenant={tenant}"),
            &[("Authorization", &bearer)],
            Some(body.as_bytes()),
        )
        .expect("ingest");
        assert_eq!(code, 200, "{answer}");
        stored += answer["stored"].as_i64().expect("stored count");
        settle(status, token, stored);
    }
    stored
}

/// The alerts of each case, as sets: how the alerts were grouped, whatever the cases' ids.
fn grouping(cases: &BTreeMap<String, Value>) -> BTreeSet<BTreeSet<String>> {
    cases
        .values()
        .map(|c| {
            c["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Waits (the server's own wait, up to 30 s a call) until `events` are through the pipeline.
fn settle(url: &str, token: &str, events: i64) {
    let bearer = format!("Bearer {token}");
    for _ in 0..4 {
        let (status, answer) = call(
            "GET",
            &format!("{url}/api/v1/status?settled_at={events}"),
            &[("Authorization", &bearer)],
            None,
        )
        .expect("status");
        assert_eq!(status, 200, "{answer}");
        if answer["settled"] == json!(true) {
            return;
        }
    }
    panic!("{events} events were not through the pipeline within two minutes");
}

/// What an analyst sees of every case: its document, state, alerts and recommendation (less
/// the recommendation's inputs, which name when they were read).
fn cases(location: &str) -> BTreeMap<String, Value> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = vigil_store::Store::open_reader(location).await.expect("store opens");
        let mut out = BTreeMap::new();
        for case in store.cases(&vigil_store::CaseFilter::default()).await.expect("cases") {
            let alerts: BTreeSet<String> =
                store.case_alerts(&case.id).await.expect("alerts").iter().map(|a| a.id.to_string()).collect();
            let mut recommendation = store
                .recommendation(&case.id)
                .await
                .expect("recommendation")
                .map(|(_, body)| body)
                .unwrap_or_default();
            if let Some(r) = recommendation.as_object_mut() {
                r.remove("inputs");
            }
            out.insert(
                case.id.to_string(),
                json!({
                    "title": case.title,
                    "state": case.state.as_str(),
                    "severity": case.severity,
                    "document": case.body,
                    "alerts": alerts,
                    "recommendation": recommendation,
                }),
            );
        }
        store.close().await;
        out
    })
}

/// Verifies the cluster's audit chain under the key all its nodes sign with.
fn verify_audit(cluster: &Cluster) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let key = cluster.dir.join("signing.key");
        let store =
            vigil_store::Store::open_read_only(&cluster.database, Some(&key)).await.expect("store opens");
        store.verify_audit(&[]).await.expect("audit readable").unwrap_or_else(|b| panic!("audit chain: {b}"));
        store.close().await;
    });
}

/// The live nodes by name, with their roles.
fn live(status: &Value) -> BTreeMap<String, String> {
    status["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["alive"] == json!(true))
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_owned(),
                n["roles"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn one_process_and_five_nodes_find_the_same_cases() {
    let batches = scenario();

    let dir = scratch("cluster-single");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let single = Serve::start(&data, None);
    let token = ingest_token(&single);
    let events = send(&single.url, &single.url, &token, &batches);
    let expected = cases(path(&data));
    drop(single);
    let mut titles: BTreeMap<&str, usize> = BTreeMap::new();
    for case in expected.values() {
        *titles.entry(case["title"].as_str().unwrap_or_default()).or_default() += 1;
    }
    assert!(titles.len() >= 3 && titles.values().all(|&n| n == 2), "each tenant its own cases: {titles:?}");

    let Nodes { cluster, api, token, ingest, workers: _workers } = on_ci_servers("same").start(3);
    // Sent while the workers share the partitions out among themselves: the first holds them
    // all until the others announce themselves.
    assert_eq!(send(&ingest.url, &api.url, &token, &batches), events);
    let found = cases(&cluster.database);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "cluster: {:#}\none process: {:#}",
        json!(found.iter().map(|(k, v)| (k, (&v["title"], &v["alerts"]))).collect::<BTreeMap<_, _>>()),
        json!(expected.iter().map(|(k, v)| (k, (&v["title"], &v["alerts"]))).collect::<BTreeMap<_, _>>())
    );
    for (id, case) in &expected {
        assert_eq!(&found[id], case, "case {id}");
    }
    // The API node runs no engine, yet lists the rules in force (and decides approvals on the
    // same inventories the workers triage with).
    let password = api.admin_password.as_deref().expect("the API node, started first, made the admin");
    let (cookie, _) = crate::server::admin_session(&api, password);
    let (status, rules) =
        call("GET", &format!("{}/api/v1/rules", api.url), &[("Cookie", &cookie)], None).expect("rules");
    assert_eq!(status, 200, "{rules}");
    assert!(rules["count"].as_u64().unwrap_or_default() > 10, "{rules}");
    let nodes = live(&cluster.status());
    assert_eq!(nodes["api-1"], "api");
    assert_eq!(nodes["ingest-1"], "ingest");
    assert_eq!(nodes["worker-2"], "worker");
    assert_eq!(nodes.len(), 5, "{nodes:?}");
    verify_audit(&cluster);
}

/// Posts batches of 40 records, spread over twelve tenants, until told to stop; keeps the
/// acknowledged bodies.
fn sustained(
    url: String,
    token: String,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    tell: mpsc::Sender<()>,
) {
    let bearer = format!("Bearer {token}");
    for batch in 0u64.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        // Twelve tenants sending alike records (the same user names among them): each
        // tenant's correlations count its own records only.
        let tenant = format!("t{}", batch % 12);
        let body: String =
            (0..40u64).map(|i| record(&format!("kill-{batch}-{i}"), batch * 40 + i) + "\n").collect();
        match call(
            "POST",
            &format!("{url}/api/v1/ingest?format=cloudtrail&tenant={tenant}"),
            &[("Authorization", &bearer)],
            Some(body.as_bytes()),
        ) {
            Ok((200, _)) => {
                acked.lock().unwrap_or_else(PoisonError::into_inner).push((tenant, body));
                let _ = tell.send(());
            }
            Ok((503, _)) => continue,
            other => panic!("ingest answered {other:?}"),
        }
    }
}

#[test]
fn workers_killed_mid_stream_lose_nothing_and_duplicate_nothing() {
    let Nodes { cluster, api, token, ingest, mut workers } = on_ci_servers("kill").start(3);

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (tell, told) = mpsc::channel();
    let client = {
        let (url, token, stop, acked) =
            (ingest.url.clone(), token.clone(), Arc::clone(&stop), Arc::clone(&acked));
        std::thread::spawn(move || sustained(url, token, stop, acked, tell))
    };
    let mut rng = 0x5CA1E;
    for round in 0..10 {
        for _ in 0..2 + next(&mut rng) % 10 {
            told.recv().expect("the client keeps ingesting");
        }
        // SIGKILL: no chance to give its partitions back; they move when its lease runs out.
        let victim = (next(&mut rng) % workers.len() as u64) as usize;
        workers[victim].kill();
        workers[victim] = cluster.node("worker", &format!("worker-r{round}"));
    }
    stop.store(true, Ordering::SeqCst);
    client.join().expect("client thread");
    let batches: Vec<(String, String)> =
        acked.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
    let events = batches.len() as i64 * 40;
    settle(&api.url, &token, events);

    // Every acknowledged event is stored once (the key is the event id: a second copy could not
    // be stored; a missing one fails the count).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stored = runtime.block_on(async {
        let store = vigil_store::Store::open_reader(&cluster.database).await.expect("store");
        let n = store.event_count().await.expect("count");
        store.close().await;
        n
    });
    assert_eq!(stored, events, "acknowledged events stored once each");
    let moved = cluster.status()["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter(|p| p["epoch"].as_i64().unwrap_or_default() > 1)
        .count();
    assert!(moved > 0, "partitions moved between workers");
    eprintln!("{} batches of 40 events acknowledged; {moved} of 8 partitions changed hands", batches.len());

    // The same events through one process give the same cases and alerts: nothing the kills
    // interrupted was filed twice or lost.
    let dir = scratch("cluster-kill-single");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let single = Serve::start(&data, None);
    let single_token = ingest_token(&single);
    let bearer = format!("Bearer {single_token}");
    for (tenant, body) in &batches {
        let (status, _) = call(
            "POST",
            &format!("{}/api/v1/ingest?format=cloudtrail&tenant={tenant}", single.url),
            &[("Authorization", &bearer)],
            Some(body.as_bytes()),
        )
        .expect("ingest");
        assert_eq!(status, 200);
    }
    settle(&single.url, &single_token, events);
    let expected = cases(path(&data));
    let found = cases(&cluster.database);
    assert!(!expected.is_empty());
    // The batches met the pipeline in other groupings (the kills, the workers' own batching),
    // so case ids may differ; the alerts raised and how they are grouped may not.
    let (found, expected) = (grouping(&found), grouping(&expected));
    assert_eq!(
        found.len(),
        expected.len(),
        "only in the cluster: {:?}; only in one process: {:?}",
        found.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&found).collect::<Vec<_>>()
    );
    assert_eq!(found, expected);
    verify_audit(&cluster);
}

/// A server a test stops and starts itself, through `.ci/<script> start|stop|resume DIR`.
struct Server {
    script: &'static str,
    dir: tempfile::TempDir,
    url: String,
}

impl Server {
    fn start(script: &'static str) -> Server {
        let dir = tempfile::TempDir::new().expect("server dir");
        let url = Server::run(script, "start", dir.path());
        Server { script, dir, url }
    }

    fn run(script: &str, command: &str, dir: &Path) -> String {
        let done = Command::new("bash")
            .arg(repo().join(".ci").join(script))
            .arg(command)
            .arg(dir)
            .output()
            .expect("bash runs the script");
        assert!(done.status.success(), "{script} {command}: {}", String::from_utf8_lossy(&done.stderr));
        String::from_utf8_lossy(&done.stdout).trim().to_owned()
    }

    fn stop(&self) {
        Server::run(self.script, "stop", self.dir.path());
    }

    fn resume(&self) {
        Server::run(self.script, "resume", self.dir.path());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join(".ci").join(self.script))
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// What the sender saw: a batch acknowledged, or refused with 503 and its Retry-After.
enum Sent {
    Acked,
    Refused { retry_after: Option<String> },
}

/// Posts batches of 20 records until told to stop; keeps the acknowledged ones, and sends the
/// same batch again after a 503, as a sender honouring Retry-After does (without the wait).
fn through_outages(
    url: String,
    token: String,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    tell: mpsc::Sender<Sent>,
) {
    let agent = crate::server::agent();
    let bearer = format!("Bearer {token}");
    let mut batch = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let ids: Vec<String> = (0..20).map(|i| format!("outage-{batch}-{i}")).collect();
        let body: String =
            ids.iter().enumerate().map(|(i, id)| record(id, batch * 20 + i as u64) + "\n").collect();
        let answer = agent
            .post(&format!("{url}/api/v1/ingest?format=cloudtrail&tenant=acme"))
            .header("Authorization", &bearer)
            .send(body.as_bytes());
        let sent = match answer {
            Ok(response) if response.status() == 200 => {
                acked.lock().unwrap_or_else(PoisonError::into_inner).extend(ids);
                batch += 1;
                Sent::Acked
            }
            Ok(response) if response.status() == 503 => Sent::Refused {
                retry_after: response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            },
            Ok(response) => panic!("ingest answered {}", response.status()),
            Err(e) => panic!("ingest did not answer: {e}"),
        };
        if tell.send(sent).is_err() {
            return;
        }
    }
}

/// What the sender saw next; a sender that neither succeeds nor fails for two minutes is a hang.
fn next_sent(told: &mpsc::Receiver<Sent>) -> Sent {
    told.recv_timeout(std::time::Duration::from_secs(120)).expect("the sender keeps sending and hearing back")
}

/// Waits for the sender to see `n` acknowledgements in a row.
fn acked_in_a_row(told: &mpsc::Receiver<Sent>, n: usize) {
    let mut run = 0;
    while run < n {
        match next_sent(told) {
            Sent::Acked => run += 1,
            Sent::Refused { .. } => run = 0,
        }
    }
}

/// Waits for the sender's first 503; returns its Retry-After.
fn refused(told: &mpsc::Receiver<Sent>) -> Option<String> {
    loop {
        if let Sent::Refused { retry_after } = next_sent(told) {
            return retry_after;
        }
    }
}

#[test]
fn ingest_answers_503_while_nats_or_postgres_is_down_and_resumes_by_itself() {
    let postgres = Server::start("postgres.sh");
    let nats = Server::start("nats.sh");
    let outage = Cluster::new("outage", database(&postgres.url, "outage"), &nats.url, 4);
    let Nodes { cluster, api, token, ingest, workers: _worker } = outage.start(1);

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (tell, told) = mpsc::channel();
    let client = {
        let (url, token, stop, acked) =
            (ingest.url.clone(), token.clone(), Arc::clone(&stop), Arc::clone(&acked));
        std::thread::spawn(move || through_outages(url, token, stop, acked, tell))
    };
    acked_in_a_row(&told, 5);

    nats.stop();
    let retry = refused(&told);
    assert_eq!(retry.as_deref(), Some("5"), "the stream down: 503 with Retry-After");
    nats.resume();
    acked_in_a_row(&told, 5);

    postgres.stop();
    let retry = refused(&told);
    assert_eq!(retry.as_deref(), Some("5"), "the database down: 503 with Retry-After");
    postgres.resume();
    acked_in_a_row(&told, 5);

    stop.store(true, Ordering::SeqCst);
    drop(told);
    client.join().expect("client thread");
    let acked: BTreeSet<String> = acked.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
    // The worker took up where it was by itself, after both outages.
    settle(&api.url, &token, acked.len() as i64);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stored: BTreeSet<String> = runtime.block_on(async {
        let store = vigil_store::Store::open_reader(&cluster.database).await.expect("store");
        let events = store.events_between("0000", "9999", i64::MAX).await.expect("events");
        store.close().await;
        events
            .iter()
            .map(|e| {
                let raw: Value = serde_json::from_slice(&e.raw).expect("raw is the record");
                raw["eventID"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    });
    assert_eq!(stored.len(), acked.len(), "each acknowledged event stored once, nothing else");
    assert_eq!(stored, acked);
    verify_audit(&cluster);
}
