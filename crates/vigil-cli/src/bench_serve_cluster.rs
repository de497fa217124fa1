//! `vigil bench serve --cluster`: a cluster on loopback under sustained load, once per worker
//! count. Each run has a database and a stream of its own; its nodes are this binary started
//! as `vigil serve --role …` (one ingest node, the workers), as an operator starts them. Client
//! threads post to the ingest node, spread over tenants; an answer means JetStream holds the
//! batch. Reports acknowledged events per second, the rate at which the workers wrote them
//! (events are stored in the transaction that processes them, so stored means processed),
//! acknowledgement latency, and the time from acknowledgement to the case an alerting event
//! lands in.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::bench::percentile;
use anyhow::{Context, Result, bail};
use vigil_model::Component;
use vigil_store::{By, CaseFilter, Store};

/// What one run is given.
pub struct Load {
    pub seconds: u64,
    pub clients: usize,
    pub batch: usize,
    pub trigger_every: u64,
    pub tenants: usize,
}

/// A node started for the run; killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `vigil serve --role <role>` and returns it with the address it printed.
fn node(config: &Path, role: &str, name: &str) -> Result<(Node, String)> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut child = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--role", role, "--node", name, "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a node")?;
    let stderr = child.stderr.take().context("the node's stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("vigil serve: http://") {
            url = rest.split_whitespace().next().map(|a| format!("http://{a}"));
            break;
        }
    }
    // Keep reading, so the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(std::result::Result::ok) {});
    let Some(url) = url else { bail!("node {name} stopped before it was up") };
    Ok((Node(child), url))
}

pub fn run(load: &Load, server: &str, nats: &str, workers: &[usize]) -> Result<ExitCode> {
    println!(
        "vigil bench serve --cluster: {} clients, {}-event batches, {} s a run, {} tenants, 1 ingest node",
        load.clients, load.batch, load.seconds, load.tenants
    );
    println!(
        "  workers  acked ev/s  written ev/s  written per worker  ack p50/p99 ms  event-to-case p50/p99 ms"
    );
    for &count in workers {
        let figures = one(load, server, nats, count.max(1))?;
        println!(
            "  {:>7}  {:>10.0}  {:>12.0}  {:>18.0}  {:>6.1} / {:<6.1}  {:>6.0} / {:<6.0}",
            count,
            figures.acked_per_sec,
            figures.written_per_sec,
            figures.written_per_sec / count.max(1) as f64,
            figures.ack_p50,
            figures.ack_p99,
            figures.case_p50,
            figures.case_p99
        );
    }
    Ok(ExitCode::SUCCESS)
}

struct Figures {
    acked_per_sec: f64,
    written_per_sec: f64,
    ack_p50: f64,
    ack_p99: f64,
    case_p50: f64,
    case_p99: f64,
}

fn one(load: &Load, server: &str, nats: &str, workers: usize) -> Result<Figures> {
    let run = format!("{}_{workers}", std::process::id());
    let dir = std::env::temp_dir().join(format!("vigil-bench-cluster-{run}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let database = runtime.block_on(vigil_store::create_database(server, &format!("vigil_bench_{run}")))?;
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "serve:\n  database: {database}\n  audit:\n    signing_key: signing.key\n\
             cluster:\n  nats_url: {nats}\n  stream: VIGIL_BENCH_{run}\n  subject: bench{run}.events\n  partitions: 12\n"
        ),
    )?;
    // Migrated and given an ingest account before any node starts.
    let store = runtime.block_on(Store::open_with_key(&database, &dir.join("signing.key")))?;
    let secret = runtime.block_on(crate::serve::ingest_account(
        &store,
        "bench-ingest",
        &By::vigil(Component::Bench),
    ))?;
    let (_ingest, url) = node(&config, "ingest", "bench-ingest-1")?;
    let _workers: Vec<Node> = (1..=workers)
        .map(|n| node(&config, "worker", &format!("bench-worker-{n}")).map(|(w, _)| w))
        .collect::<Result<_>>()?;

    let acked = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let pending: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(load.seconds);
    let history = chrono::Utc::now().timestamp() - 366 * 86_400;
    let mut threads = Vec::new();
    for client in 0..load.clients {
        let (acked, latencies, pending, url, secret) =
            (Arc::clone(&acked), Arc::clone(&latencies), Arc::clone(&pending), url.clone(), secret.clone());
        let (batch, trigger_every, tenants) = (load.batch, load.trigger_every, load.tenants.max(1));
        threads.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let tenant = format!("t{}", (client + n as usize * 7) % tenants);
                let trigger = (trigger_every > 0 && n.is_multiple_of(trigger_every))
                    .then(|| format!("bench-u{client}-{n}"));
                let now = chrono::Utc::now().timestamp();
                let body: String = (0..batch)
                    .map(|i| {
                        let at = (history + (n * batch as u64 + i as u64) as i64).min(now);
                        crate::bench_serve::record(at, client, n, i, trigger.as_deref().filter(|_| i == 0))
                            + "\n"
                    })
                    .collect();
                let sent = Instant::now();
                let answer = agent
                    .post(&format!("{url}/api/v1/ingest?format=cloudtrail&tenant={tenant}"))
                    .header("Authorization", &format!("Bearer {secret}"))
                    .send(body.as_bytes());
                match answer.map(|r| r.status().as_u16()) {
                    Ok(200) => {
                        acked.fetch_add(batch as u64, Ordering::Relaxed);
                        latencies
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(sent.elapsed().as_secs_f64() * 1e3);
                        if let Some(user) = trigger {
                            pending
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push((user, Instant::now()));
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
                n += 1;
            }
        }));
    }

    // Event-to-case, read from the database as an analyst's page would; the same pass finds
    // when every acknowledged event has been written.
    let done = Arc::new(AtomicBool::new(false));
    let to_case = Arc::new(Mutex::new(Vec::<f64>::new()));
    let monitor = {
        let (pending, to_case, done) = (Arc::clone(&pending), Arc::clone(&to_case), Arc::clone(&done));
        let store = store.clone();
        runtime.spawn(async move {
            let recent_high = CaseFilter {
                min_severity: Some(i64::from(vigil_model::Severity::High.id())),
                limit: 500,
                ..CaseFilter::default()
            };
            let mut every = tokio::time::interval(Duration::from_millis(100));
            loop {
                every.tick().await;
                let waiting: Vec<(String, Instant)> =
                    pending.lock().unwrap_or_else(PoisonError::into_inner).clone();
                if !waiting.is_empty()
                    && let Ok(cases) = store.cases(&recent_high).await
                {
                    let now = Instant::now();
                    let filed: Vec<&(String, Instant)> = waiting
                        .iter()
                        .filter(|(user, _)| cases.iter().any(|c| c.title.contains(&format!("(user {user})"))))
                        .collect();
                    let mut seen = to_case.lock().unwrap_or_else(PoisonError::into_inner);
                    seen.extend(filed.iter().map(|(_, at)| now.duration_since(*at).as_secs_f64() * 1e3));
                    pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .retain(|(u, _)| !filed.iter().any(|(f, _)| f == u));
                }
                if done.load(Ordering::Relaxed)
                    && pending.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
                {
                    return;
                }
            }
        })
    };
    for t in threads {
        let _ = t.join();
    }
    let sending = started.elapsed().as_secs_f64();
    let events = acked.load(Ordering::Relaxed);
    // Written: every acknowledged event is in the database (two minutes at most).
    let written_at = runtime.block_on(async {
        let until = Instant::now() + Duration::from_secs(120);
        loop {
            if store.event_count().await.unwrap_or(0) >= events as i64 {
                return Some(started.elapsed().as_secs_f64());
            }
            if Instant::now() > until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    done.store(true, Ordering::Relaxed);
    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(30), monitor).await }).ok();
    runtime.block_on(store.close());
    let _ = std::fs::remove_dir_all(&dir);
    let Some(written_at) = written_at else {
        bail!(
            "with {workers} workers, the acknowledged events were not all written within two minutes of the load"
        );
    };
    let mut lat = latencies.lock().unwrap_or_else(PoisonError::into_inner).clone();
    lat.sort_by(f64::total_cmp);
    let mut cases = to_case.lock().unwrap_or_else(PoisonError::into_inner).clone();
    cases.sort_by(f64::total_cmp);
    Ok(Figures {
        acked_per_sec: events as f64 / sending,
        written_per_sec: events as f64 / written_at,
        ack_p50: percentile(&lat, 0.5),
        ack_p99: percentile(&lat, 0.99),
        case_p50: percentile(&cases, 0.5),
        case_p99: percentile(&cases, 0.99),
    })
}
