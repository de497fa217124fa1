//! Durable ingest with group commit. Every source (HTTP, webhooks, syslog, the watched
//! directory) submits decoded batches here; one task commits whatever batches are waiting in one
//! transaction and only then answers each. A full queue is refused at once, so a flood turns into
//! `429`/`503` answers instead of memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};
use vigil_model::DeadLetter;
use vigil_store::{NewEvent, Store};

use crate::{Error, Result};

/// Batches committed together at most.
const MAX_GROUP_JOBS: usize = 256;
/// Events committed together at most (a group stops growing past this).
const MAX_GROUP_EVENTS: usize = 20_000;

/// What became of a submitted batch, once it is durable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Receipt {
    /// Events stored for the first time.
    pub stored: u64,
    /// Events already stored (a retried batch).
    pub duplicates: u64,
    /// Records kept as dead letters.
    pub dead_letters: u64,
}

struct Job {
    events: Vec<NewEvent>,
    dead: Vec<DeadLetter>,
    reply: oneshot::Sender<std::result::Result<Receipt, String>>,
}

#[derive(Default)]
pub struct IngestStats {
    /// Told after every commit.
    pub committed: Notify,
    pub commits: AtomicU64,
    pub events: AtomicU64,
    pub refused: AtomicU64,
}

#[derive(Clone)]
pub struct Ingest {
    sink: Sink,
    pub stats: Arc<IngestStats>,
}

/// Where accepted batches go.
#[derive(Clone)]
enum Sink {
    /// Into the store, by the group-committing task.
    Store(mpsc::Sender<Job>),
    /// Onto the event stream, for worker nodes (a cluster's ingest).
    Stream(Arc<crate::cluster::publish::Publisher>),
}

impl Ingest {
    /// Starts the committing task. `capacity` batches may wait; `stored` is told after each
    /// commit that stored something new.
    pub fn start(store: Store, capacity: usize, stored: Arc<Notify>) -> Ingest {
        let (queue, jobs) = mpsc::channel(capacity.max(1));
        let stats = Arc::new(IngestStats::default());
        tokio::spawn(commit_loop(store, jobs, stored, Arc::clone(&stats)));
        Ingest { sink: Sink::Store(queue), stats }
    }

    /// Ingest that publishes every batch to the cluster's event stream.
    pub fn to_stream(publisher: crate::cluster::publish::Publisher) -> Ingest {
        Ingest { sink: Sink::Stream(Arc::new(publisher)), stats: Arc::default() }
    }

    /// Stores a batch; returns once it is durable. Refused with [`Error::Overloaded`] when the
    /// queue is full, and with [`Error::StreamUnavailable`] when the cluster's stream does not
    /// take it.
    pub async fn submit(&self, events: Vec<NewEvent>, dead: Vec<DeadLetter>) -> Result<Receipt> {
        let queue = match &self.sink {
            Sink::Store(queue) => queue,
            Sink::Stream(publisher) => {
                let receipt = publisher.submit(events, dead).await?;
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                self.stats.events.fetch_add(receipt.stored, Ordering::Relaxed);
                self.stats.committed.notify_waiters();
                return Ok(receipt);
            }
        };
        let (reply, answer) = oneshot::channel();
        queue.try_send(Job { events, dead, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                Error::Overloaded { retry_after_secs: 1 }
            }
            mpsc::error::TrySendError::Closed(_) => Error::Stopped,
        })?;
        match answer.await {
            Ok(Ok(receipt)) => Ok(receipt),
            Ok(Err(reason)) => Err(Error::NotDurable(reason)),
            Err(_) => Err(Error::Stopped),
        }
    }
}

async fn commit_loop(
    store: Store,
    mut jobs: mpsc::Receiver<Job>,
    stored: Arc<Notify>,
    stats: Arc<IngestStats>,
) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut events = group[0].events.len();
        while group.len() < MAX_GROUP_JOBS && events < MAX_GROUP_EVENTS {
            match jobs.try_recv() {
                Ok(job) => {
                    events += job.events.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let outcome = commit(&store, &group).await;
        match outcome {
            Ok(receipts) => {
                let new: u64 = receipts.iter().map(|r| r.stored).sum();
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.events.fetch_add(new, Ordering::Relaxed);
                for (job, receipt) in group.into_iter().zip(receipts) {
                    let _ = job.reply.send(Ok(receipt));
                }
                if new > 0 {
                    stored.notify_one();
                }
                stats.committed.notify_waiters();
            }
            Err(e) => {
                let reason = e.to_string();
                for job in group {
                    let _ = job.reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

async fn commit(store: &Store, group: &[Job]) -> vigil_store::Result<Vec<Receipt>> {
    let mut tx = store.write().await?;
    let mut receipts = Vec::with_capacity(group.len());
    for job in group {
        let mut receipt = Receipt { dead_letters: job.dead.len() as u64, ..Receipt::default() };
        receipt.stored = tx.insert_events(&job.events).await?;
        receipt.duplicates = job.events.len() as u64 - receipt.stored;
        for dead in &job.dead {
            tx.insert_dead_letter(dead).await?;
        }
        receipts.push(receipt);
    }
    tx.commit().await?;
    Ok(receipts)
}
