//! A worker node: it takes its share of the stream's partitions (leases in the database, so a
//! worker that dies loses them to the others within the lease's life) and runs, for each, the
//! same engine the single process runs, fed from the partition's durable consumer.
//!
//! A partition's state (detection's windows, the live cases) lives with the partition and is
//! rebuilt when it moves: the live cases from the database (each case is filed under its
//! partition), the windows by replaying the partition's recent past from the stream. Keeping
//! them in memory rather than in PostgreSQL keeps detection as fast as on one node; the rebuild
//! is what the single process does after a restart.
//!
//! A batch's events, alerts, cases and audit records are written in one transaction that also
//! moves the partition's applied stream sequence, under the lease's epoch; the batch is
//! acknowledged to JetStream only after it commits. A worker killed at any point leaves either
//! all of a batch or none of it, and the next holder starts after the last batch written.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use async_nats::jetstream;
use futures_util::StreamExt;
use vigil_model::{DeadLetter, Locator};
use vigil_store::{NewEvent, PartitionLease, PipelineEvent, Store};

use super::{ClusterSettings, envelope, stream};
use crate::pipeline::Detectors;
use crate::runner::{DEAD_LETTER_SOURCE, Engine, EngineHandle, EngineState, Mark, Triage};
use crate::{Error, Result};

/// Messages taken into one transaction at most.
const BATCH: usize = 2_000;
/// How long a batch waits for more messages once it has one.
const LINGER: Duration = Duration::from_millis(20);
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(15);

/// What a worker node runs with.
pub struct WorkerSetup {
    pub settings: ClusterSettings,
    pub store: Store,
    pub detectors: Detectors,
    pub triage: Triage,
    pub handle: EngineHandle,
    /// The roles this node announces (`worker`, and any others it runs).
    pub roles: String,
    pub address: String,
}

/// Runs the worker on a thread of its own (detection is CPU work) until the handle is stopped;
/// then it gives its partitions back.
pub fn spawn(setup: WorkerSetup) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("vigil-worker".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    setup.handle.update(|p| p.last_error = Some(e.to_string()));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, run(Rc::new(setup)));
        })
        .unwrap_or_else(|e| panic!("cannot start the worker thread: {e}"))
}

struct Running {
    epoch: i64,
    task: tokio::task::JoinHandle<()>,
}

async fn run(setup: Rc<WorkerSetup>) {
    let settings = &setup.settings;
    let started = vigil_store::time::now();
    let js = loop {
        match stream::connect(settings).await {
            Ok(js) => break js,
            Err(e) => {
                setup.handle.update(|p| {
                    p.state = EngineState::Stalled;
                    p.last_error = Some(e.to_string());
                });
                if wait_or_stop(&setup.handle, RETRY_MAX).await {
                    return;
                }
            }
        }
    };
    let ttl = settings.lease_ttl.as_millis() as i64;
    let mut running: HashMap<u32, Running> = HashMap::new();
    let mut every = tokio::time::interval(settings.lease_ttl / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if wait_tick_or_stop(&setup.handle, &mut every).await {
            break;
        }
        let leased = async {
            setup.store.node_seen(&settings.node, &setup.roles, &setup.address, &started).await?;
            let workers = setup.store.live_nodes("worker", ttl).await?.max(1);
            let share = (settings.partitions as usize).div_ceil(workers);
            setup.store.lease_partitions(&settings.node, settings.partitions, share, ttl).await
        }
        .await;
        let leases = match leased {
            Ok(leases) => leases,
            Err(e) => {
                // The partitions keep running: a commit after another worker took one over is
                // refused by its epoch.
                tracing::warn!(error = %e, "cannot renew partition leases");
                continue;
            }
        };
        let held: HashMap<u32, PartitionLease> = leases.held.iter().map(|l| (l.partition, *l)).collect();
        running.retain(|p, r| {
            let keep = held.get(p).is_some_and(|l| l.epoch == r.epoch) && !r.task.is_finished();
            if !keep {
                r.task.abort();
            }
            keep
        });
        for lease in leases.held {
            if running.contains_key(&lease.partition) {
                continue;
            }
            tracing::info!(
                partition = lease.partition,
                epoch = lease.epoch,
                applied = lease.applied,
                "taking partition"
            );
            let task = tokio::task::spawn_local(partition(Rc::clone(&setup), js.clone(), lease));
            running.insert(lease.partition, Running { epoch: lease.epoch, task });
        }
        setup.handle.update(|p| {
            p.state = EngineState::Running;
            p.partitions = running.keys().copied().collect();
            p.partitions.sort_unstable();
        });
    }
    for (p, r) in running.drain() {
        r.task.abort();
        let lease = PartitionLease { partition: p, epoch: r.epoch, applied: 0 };
        if let Err(e) = setup.store.release_partition(&settings.node, &lease).await {
            tracing::warn!(partition = p, error = %e, "could not give the partition back; it moves when its lease runs out");
        }
    }
    setup.handle.update(|p| {
        p.state = EngineState::Stopped;
        p.partitions.clear();
    });
    setup.handle.processed.notify_waiters();
}

/// Waits `pause`; true when the handle was stopped meanwhile.
async fn wait_or_stop(handle: &EngineHandle, pause: Duration) -> bool {
    let wake = handle.stored.notified();
    let _ = tokio::time::timeout(pause, wake).await;
    handle.stopping()
}

async fn wait_tick_or_stop(handle: &EngineHandle, every: &mut tokio::time::Interval) -> bool {
    if handle.stopping() {
        return true;
    }
    let wake = handle.stored.notified();
    tokio::select! {
        _ = every.tick() => {}
        () = wake => {}
    }
    handle.stopping()
}

/// Runs one partition while the lease holds, starting over (rebuilding its state) after any
/// failure but a lost lease.
async fn partition(setup: Rc<WorkerSetup>, js: jetstream::Context, lease: PartitionLease) {
    let mut retry = RETRY_FIRST;
    loop {
        let progress = Cell::new(false);
        match serve(&setup, &js, lease, &progress).await {
            Err(Error::Store(vigil_store::Error::LeaseLost { .. })) => {
                tracing::info!(partition = lease.partition, "partition taken over by another worker");
                return;
            }
            Err(e) => {
                if progress.get() {
                    retry = RETRY_FIRST;
                }
                tracing::warn!(partition = lease.partition, error = %e, retry_in = ?retry, "partition stopped; it starts over");
                setup.handle.update(|p| p.last_error = Some(format!("partition {}: {e}", lease.partition)));
                if wait_or_stop(&setup.handle, retry).await {
                    return;
                }
                retry = (retry * 2).min(RETRY_MAX);
            }
            Ok(()) => return,
        }
    }
}

/// Where the partition stands, if this node still holds it under `lease`.
async fn applied(store: &Store, node: &str, lease: &PartitionLease) -> Result<u64> {
    let row = store.partitions().await?.into_iter().find(|p| p.partition == lease.partition);
    match row {
        Some(p) if p.holder.as_deref() == Some(node) && p.epoch == lease.epoch => Ok(p.applied),
        _ => Err(vigil_store::Error::LeaseLost { partition: lease.partition, epoch: lease.epoch }.into()),
    }
}

async fn serve(
    setup: &WorkerSetup,
    js: &jetstream::Context,
    lease: PartitionLease,
    progress: &Cell<bool>,
) -> Result<()> {
    let settings = &setup.settings;
    let p = lease.partition;
    let stream = stream::ensure(js, settings).await?;
    let mut applied = applied(&setup.store, &settings.node, &lease).await?;
    let mut engine = Engine::new(
        setup.store.clone(),
        setup.detectors.clone(),
        setup.triage.clone(),
        setup.handle.clone(),
        Some(p),
    );
    engine.restore_partition().await?;
    let replayed = warm_up(&mut engine, &stream, settings, p, applied).await?;
    tracing::info!(partition = p, applied, replayed, "partition restored");
    let consumer = stream::partition_consumer(&stream, settings, p, applied + 1).await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(|e| stream_error("reading the partition", e))?;
    loop {
        let Some(first) = messages.next().await else {
            return Err(stream_error("reading the partition", "the consumer ended"));
        };
        let mut batch = vec![first.map_err(|e| stream_error("reading the partition", e))?];
        while batch.len() < BATCH {
            match tokio::time::timeout(LINGER, messages.next()).await {
                Ok(Some(Ok(m))) => batch.push(m),
                Ok(Some(Err(e))) => return Err(stream_error("reading the partition", e)),
                Ok(None) | Err(_) => break,
            }
        }
        let mut last = applied;
        let mut events = Vec::new();
        let mut dead = Vec::new();
        for message in &batch {
            let seq = message.info().map_err(|e| stream_error("a message's sequence", e))?.stream_sequence;
            last = last.max(seq);
            // Written by this partition before (delivered again after a failure).
            if seq <= applied {
                continue;
            }
            match envelope::decode(&message.payload) {
                Ok(event) => events.push((seq, event)),
                Err(reason) => dead.push(unreadable_message(p, seq, &reason, &message.payload)),
            }
        }
        if last > applied {
            let fresh = new_events(&setup.store, events).await?;
            let page: Vec<PipelineEvent> = fresh.iter().map(|(seq, e)| pipeline_event(*seq, e)).collect();
            let events: Vec<NewEvent> = fresh.into_iter().map(|(_, e)| e).collect();
            engine
                .process(
                    &page,
                    Mark::Partition {
                        node: &settings.node,
                        lease: &lease,
                        applied: last,
                        events: &events,
                        dead: &dead,
                    },
                )
                .await?;
            applied = last;
            progress.set(true);
            setup.handle.processed.notify_waiters();
        }
        // Acknowledges the whole batch. Lost, it costs only a redelivery the check above skips.
        if let Some(message) = batch.last()
            && let Err(e) = message.ack().await
        {
            tracing::debug!(partition = p, error = %e, "acknowledgement not sent");
        }
    }
}

/// The events not stored yet. A retry published after JetStream's duplicate window is stored
/// once and detected once: the event id is the store's key, and a tenant's events all pass
/// through its one partition.
async fn new_events(store: &Store, events: Vec<(u64, NewEvent)>) -> Result<Vec<(u64, NewEvent)>> {
    let ids: Vec<String> = events.iter().map(|(_, e)| e.id.clone()).collect();
    let stored = store.event_times(&ids).await?;
    let mut seen = HashSet::new();
    Ok(events.into_iter().filter(|(_, e)| !stored.contains_key(&e.id) && seen.insert(e.id.clone())).collect())
}

fn pipeline_event(seq: u64, event: &NewEvent) -> PipelineEvent {
    PipelineEvent {
        id: event.id.clone(),
        seq: seq as i64,
        source: event.source.clone(),
        ocsf: event.ocsf.clone(),
        views: event.views.clone(),
        raw: event.raw.clone(),
    }
}

fn unreadable_message(partition: u32, seq: u64, reason: &str, payload: &[u8]) -> DeadLetter {
    DeadLetter::new(
        DEAD_LETTER_SOURCE,
        Locator::Record(seq),
        format!("stream message {seq} of partition {partition} was not processed: {reason}"),
    )
    .with_excerpt(payload)
}

/// Feeds detection the partition's messages published within its longest window before the
/// last one written (each event once), so a burst split by a takeover is still one burst.
async fn warm_up(
    engine: &mut Engine,
    stream: &jetstream::stream::Stream,
    settings: &ClusterSettings,
    partition: u32,
    applied: u64,
) -> Result<u64> {
    let window = engine.replay_window_ms();
    if applied == 0 || window <= 0 {
        return Ok(0);
    }
    // Gone from the stream (older than its retention): there is nothing left to replay.
    let Ok(last) = stream.get_raw_message(applied).await else { return Ok(0) };
    let since = last.time - chrono::Duration::milliseconds(window);
    let consumer = stream::replay_consumer(stream, settings, partition, since).await?;
    let pending = consumer.get_info().await.map_err(|e| stream_error("the replay consumer", e))?.num_pending;
    let mut messages = consumer.messages().await.map_err(|e| stream_error("replaying the partition", e))?;
    let mut seen = HashSet::new();
    let (mut read, mut replayed) = (0u64, 0u64);
    while read < pending {
        let Some(message) = messages.next().await else { break };
        let message = message.map_err(|e| stream_error("replaying the partition", e))?;
        read += 1;
        let seq = message.info().map_err(|e| stream_error("a message's sequence", e))?.stream_sequence;
        if seq > applied {
            break;
        }
        if let Ok(event) = envelope::decode(&message.payload)
            && seen.insert(event.id.clone())
            && engine.warm(&pipeline_event(seq, &event))
        {
            replayed += 1;
        }
        if seq == applied {
            break;
        }
    }
    Ok(replayed)
}

fn stream_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::StreamUnavailable { reason: format!("{what}: {e}"), retry_after_secs: 5 }
}
