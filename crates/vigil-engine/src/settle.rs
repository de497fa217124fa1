//! Waiting, without polling, until what was sent has been through the pipeline: woken by every
//! commit and every processed batch, it checks that the engine has read every stored event and
//! the caller's own condition holds. (In a cluster, where the work is done on other nodes, it
//! reads the store again every short while instead.)

use tokio::time::Instant;
use vigil_store::Store;

use crate::ingest::Ingest;
use crate::runner::EngineHandle;

/// Waits until at least `min_events` are stored, `ready()` holds, and the engine has read every
/// stored event; `Ok(false)` when `deadline` comes first, or the engine reports an error.
pub async fn settled(
    engine: &EngineHandle,
    ingest: &Ingest,
    store: &Store,
    min_events: i64,
    ready: impl Fn() -> bool,
    deadline: Instant,
) -> vigil_store::Result<bool> {
    if engine.clustered() {
        return settled_in_cluster(store, min_events, ready, deadline).await;
    }
    loop {
        let processed = engine.processed.notified();
        let committed = ingest.stats.committed.notified();
        tokio::pin!(processed, committed);
        processed.as_mut().enable();
        committed.as_mut().enable();
        let progress = engine.progress();
        if progress.last_error.is_some() {
            return Ok(false);
        }
        let behind = !store.events_after(progress.watermark, 1).await?.is_empty();
        if !behind && ready() && store.event_count().await? >= min_events {
            return Ok(true);
        }
        tokio::select! {
            _ = &mut processed => {}
            _ = &mut committed => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(false),
        }
    }
}

/// In a cluster, workers on other nodes store each event in the transaction that processes it:
/// an event stored is an event through the pipeline. Nothing on this node is told when they
/// commit, so the count is read again every short while.
async fn settled_in_cluster(
    store: &Store,
    min_events: i64,
    ready: impl Fn() -> bool,
    deadline: Instant,
) -> vigil_store::Result<bool> {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(100);
    loop {
        if ready() && store.event_count().await? >= min_events {
            return Ok(true);
        }
        if Instant::now() + EVERY > deadline {
            return Ok(false);
        }
        tokio::time::sleep(EVERY).await;
    }
}
