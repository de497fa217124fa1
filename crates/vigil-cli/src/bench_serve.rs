//! `vigil bench serve`: the server under sustained load on loopback. Client threads post NDJSON
//! batches to the bulk ingest API; each answer means the batch is durable (committed with
//! `synchronous=FULL`). Reports durable events per second, acknowledgement latency, the time
//! from acknowledgement to the case that an alerting event lands in, and memory: peak, and
//! sampled through the run with what the engine's live cases hold. Event times advance a
//! second per event from a year before the run, so a long run spans days of event time and the
//! live cases must forget what falls out of the clustering window. They never pass the time
//! they are sent: ingest retimes a record dated more than a day after it arrived, and a bench
//! whose events all piled up at that limit would measure nothing ageing out.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use vigil_model::Component;
use vigil_store::{By, CaseFilter};

use crate::bench::percentile;
use crate::serve::{Settings, start};

/// How far before the run the first event's time lies (seconds).
const HISTORY_SECS: i64 = 366 * 86_400;

/// One event as a client sends it, timed `at` (Unix seconds).
pub fn record(at: i64, client: usize, batch: u64, i: usize, trigger: Option<&str>) -> String {
    let (source, name, user) = match trigger {
        Some(user) => ("cloudtrail", "StopLogging", user.to_owned()),
        None => ("s3", "GetObject", format!("app{}", client % 3)),
    };
    let n = batch * 1_000 + i as u64;
    let at = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ");
    format!(
        r#"{{"eventVersion":"1.08","eventID":"b-{client}-{batch}-{i}","eventTime":"{at}","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"eu-west-1","sourceIPAddress":"10.{}.{}.{}","userAgent":"aws-sdk-go-v2/1.30.0","requestParameters":{{"bucketName":"data-{}","key":"objects/{n}.parquet"}},"userIdentity":{{"type":"IAMUser","userName":"{user}","accountId":"111122223333"}}}}"#,
        client + 1,
        batch % 250,
        i % 250 + 1,
        client
    )
}

pub fn run(
    seconds: u64,
    clients: usize,
    batch: usize,
    trigger_every: u64,
    database: Option<String>,
) -> Result<ExitCode> {
    let data = std::env::temp_dir().join(format!("vigil-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut settings = Settings::load(None)?;
    settings.config.serve.database = database;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let running = runtime.block_on(start(&settings, &data, "127.0.0.1:0"))?;
    let secret = runtime.block_on(crate::serve::ingest_account(
        &running.store,
        "bench-ingest",
        &By::vigil(Component::Bench),
    ))?;

    let stop = Arc::new(AtomicBool::new(false));
    let acked_events = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    // Trigger user → when its batch was acknowledged.
    let pending: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let url = format!("{}/api/v1/ingest?format=cloudtrail", running.url);
    let started = Instant::now();
    let start = chrono::Utc::now().timestamp() - HISTORY_SECS;
    let deadline = started + Duration::from_secs(seconds);
    let mut threads = Vec::new();
    for client in 0..clients {
        let (acked_events, refused, latencies, pending, url) = (
            Arc::clone(&acked_events),
            Arc::clone(&refused),
            Arc::clone(&latencies),
            Arc::clone(&pending),
            url.clone(),
        );
        let secret = secret.clone();
        threads.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut n = 0u64;
            // Each client stops at the deadline; the run lasts as long as they do.
            while Instant::now() < deadline {
                let trigger = (trigger_every > 0 && n.is_multiple_of(trigger_every))
                    .then(|| format!("bench-u{client}-{n}"));
                // A second per event from `start`, never after the time of sending.
                let now = chrono::Utc::now().timestamp();
                let at = |i: usize| (start + (n * batch as u64 + i as u64) as i64).min(now);
                let body: String = (0..batch)
                    .map(|i| record(at(i), client, n, i, trigger.as_deref().filter(|_| i == 0)) + "\n")
                    .collect();
                let sent = Instant::now();
                let response = agent
                    .post(&url)
                    .header("Authorization", &format!("Bearer {secret}"))
                    .send(body.as_bytes());
                let elapsed = sent.elapsed().as_secs_f64() * 1000.0;
                match response.map(|r| r.status().as_u16()) {
                    Ok(200) => {
                        acked_events.fetch_add(batch as u64, Ordering::Relaxed);
                        latencies.lock().unwrap_or_else(PoisonError::into_inner).push(elapsed);
                        if let Some(user) = trigger {
                            pending
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(user, Instant::now());
                        }
                    }
                    Ok(_) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => break,
                }
                n += 1;
            }
        }));
    }

    // Event-to-case: after each engine step, which pending trigger users now have a case.
    let to_case = Arc::new(Mutex::new(Vec::<f64>::new()));
    // Memory and what the live cases hold, about ten times through the run, taken as the
    // engine finishes a batch.
    let samples = Arc::new(Mutex::new(Vec::new()));
    let monitor = {
        let (store, engine, pending, to_case, stop, samples) = (
            running.store.clone(),
            running.engine.clone(),
            Arc::clone(&pending),
            Arc::clone(&to_case),
            Arc::clone(&stop),
            Arc::clone(&samples),
        );
        let every = Duration::from_secs_f64((seconds as f64 / 10.0).max(0.5));
        runtime.spawn(async move {
            let mut filed = std::collections::HashSet::new();
            // The alerting events are high and the newest: reading every case after each batch
            // would make the bench's own reads grow with the store.
            let recent_high = CaseFilter {
                min_severity: Some(i64::from(vigil_model::Severity::High.id())),
                limit: 200,
                ..CaseFilter::default()
            };
            let mut next_sample = started + every;
            loop {
                let woken = engine.processed.notified();
                tokio::pin!(woken);
                if next_sample <= deadline && Instant::now() >= next_sample {
                    let sample =
                        (started.elapsed().as_secs_f64(), crate::bench::rss_mib(), engine.progress().held);
                    samples.lock().unwrap_or_else(PoisonError::into_inner).push(sample);
                    next_sample += every;
                }
                woken.as_mut().enable();
                let waiting: Vec<String> =
                    pending.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
                if !waiting.is_empty()
                    && let Ok(cases) = store.cases(&recent_high).await
                {
                    let now = Instant::now();
                    for case in &cases {
                        for user in &waiting {
                            if !filed.contains(user) && case.title.contains(&format!("(user {user})")) {
                                filed.insert(user.clone());
                                if let Some(at) =
                                    pending.lock().unwrap_or_else(PoisonError::into_inner).remove(user)
                                {
                                    to_case
                                        .lock()
                                        .unwrap_or_else(PoisonError::into_inner)
                                        .push(now.duration_since(at).as_secs_f64() * 1000.0);
                                }
                            }
                        }
                    }
                }
                if stop.load(Ordering::Relaxed)
                    && pending.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
                {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_secs(30), woken).await;
            }
        })
    };

    for t in threads {
        let _ = t.join();
    }
    let samples = samples.lock().unwrap_or_else(PoisonError::into_inner).clone();
    stop.store(true, Ordering::Relaxed);
    let wall = started.elapsed().as_secs_f64();
    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(120), monitor).await }).ok();
    let events = acked_events.load(Ordering::Relaxed);
    let mut lat = latencies.lock().unwrap_or_else(PoisonError::into_inner).clone();
    lat.sort_by(f64::total_cmp);
    let mut cases = to_case.lock().unwrap_or_else(PoisonError::into_inner).clone();
    cases.sort_by(f64::total_cmp);
    let progress = running.engine.progress();
    println!(
        "vigil bench serve: {clients} clients, {batch}-event batches, {seconds} s, {}",
        running.store.backend().name()
    );
    println!(
        "  durable ingest       {:.0} events/s ({events} events acknowledged in {wall:.1} s)",
        events as f64 / wall
    );
    println!(
        "  acknowledgement      p50 {:.1} ms, p99 {:.1} ms ({} batches; {} refused with 503)",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.len(),
        refused.load(Ordering::Relaxed)
    );
    println!(
        "  event to case        p50 {:.0} ms, p99 {:.0} ms ({} alerting events)",
        percentile(&cases, 0.5),
        percentile(&cases, 0.99),
        cases.len()
    );
    println!(
        "  engine               {} events read, {} alerts, {} case updates",
        progress.events, progress.alerts, progress.case_updates
    );
    if let Some(mib) = crate::bench::peak_rss_mib() {
        println!("  peak memory          {mib} MiB (server and clients in one process)");
    }
    println!("  over the run         seconds: resident MiB, live alerts / cases the engine holds");
    let line: Vec<String> = samples
        .iter()
        .map(|(t, rss, held)| {
            let rss = rss.map_or_else(|| "?".to_owned(), |m| m.to_string());
            format!(
                "{t:.1}s: {rss} MiB, {}/{} (largest {}, span {} h)",
                held.alerts,
                held.cases,
                held.largest_case,
                held.span_ms / 3_600_000
            )
        })
        .collect();
    for chunk in line.chunks(2) {
        println!("                       {}", chunk.join("; "));
    }
    runtime.block_on(running.stop()).context("stopping the server")?;
    if let Some(e) = progress.last_error {
        anyhow::bail!("the engine failed during the run: {e}");
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(ExitCode::SUCCESS)
}
