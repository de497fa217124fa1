//! The pipeline's driver. It reads stored events after its watermark, in arrival order, runs
//! detection, files the alerts into live cases, drafts each changed case's recommendation, and
//! writes all of it — with the new watermark — in one transaction. A crash replays at most the
//! batch in flight, and every id it writes is derived from content, so a replay changes nothing.
//!
//! A stored event the engine cannot read becomes a dead letter of the pipeline (its id and the
//! reason) in the same transaction as the watermark that passes it, so one bad row never stalls
//! the rest. Only the store failing stops progress; the status says so, and the engine tries
//! again with a growing pause until the store answers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::Notify;
use vigil_correlate::{Alert, Case, ClusterConfig};
use vigil_ingest::view::SourceView;
use vigil_model::{AlertId, CaseId, CaseState, Component, DeadLetter, Locator};
use vigil_store::{AlertRow, By, CaseRow, PipelineEvent, Store, WriteTx, time};
use vigil_triage::autotriage::{self, AutoClosePolicy};
use vigil_triage::context::{Context, Input};
use vigil_triage::history::History;
use vigil_triage::model::Model;
use vigil_triage::playbook::Playbook;

use crate::live::{CaseUpdate, Held};
use crate::pipeline::{Detectors, Pipeline};
use crate::tenant_cases::TenantCases;
use crate::{Error, Result};

pub const WATERMARK: &str = "pipeline";
/// The source that the pipeline's own dead letters name.
pub const DEAD_LETTER_SOURCE: &str = "pipeline";
const PAGE: i64 = 2_000;
/// The most events a restart feeds detection again to rebuild its correlation windows.
const WARM_UP_MAX_EVENTS: i64 = 200_000;
/// The first and the longest pause before trying a failing store again.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What the built-in analyst needs.
#[derive(Clone)]
pub struct Triage {
    pub context: Context,
    pub model: Model,
    pub library: Vec<Playbook>,
    pub auto_close: AutoClosePolicy,
}

/// Detectors and triage inputs rebuilt from configuration, to swap into a running engine.
pub struct Reloaded {
    pub detectors: Detectors,
    pub triage: Triage,
    /// The approval policy read again with them, in force from the reload on (a request
    /// approved under the old one is decided again when it runs).
    pub policy: Option<vigil_policy::Policy>,
}

/// How the rest of the server talks to a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    /// Told when new events are stored.
    pub stored: Arc<Notify>,
    reload: Arc<Mutex<Option<Reloaded>>>,
    pub progress: Arc<Mutex<Progress>>,
    /// The rules the engine runs now.
    pub rules: Arc<Mutex<Vec<RuleSummary>>>,
    /// Told after each batch is processed.
    pub processed: Arc<Notify>,
    stop: Arc<AtomicBool>,
    policy: PolicyCell,
    /// The response actions Vigil can run (its own, and the connectors configured).
    registry: Arc<vigil_respond::Registry>,
    /// Told when a run may have been queued (an automatic step proposed): wakes the executor.
    pub actions: Arc<Notify>,
    /// Told by the executor after runs ended (or were put back for a retry).
    pub runs_ended: Arc<Notify>,
    /// The triage inputs the engine runs with now (inventories among them), for the API.
    context: Arc<Mutex<Arc<Context>>>,
    /// A cluster node's handle: the work is done by workers, here or on other nodes.
    clustered: bool,
    /// No engine runs in this process: a reload is applied to the handle itself.
    detached: bool,
}

impl Default for EngineHandle {
    fn default() -> EngineHandle {
        let context: Arc<Mutex<Arc<Context>>> = Arc::default();
        // Vigil's own actions, and enrichment, which reads the triage inputs the engine holds.
        let registry = vigil_respond::Registry::builtin()
            .with(Arc::new(crate::enrich::Enrich::new(Arc::clone(&context))));
        EngineHandle {
            stored: Arc::default(),
            reload: Arc::default(),
            progress: Arc::default(),
            rules: Arc::default(),
            processed: Arc::default(),
            stop: Arc::default(),
            policy: PolicyCell::default(),
            registry: Arc::new(registry),
            actions: Arc::default(),
            runs_ended: Arc::default(),
            context,
            clustered: false,
            detached: false,
        }
    }
}

/// The approval policy in force, shared by the engine (proposing playbook steps) and the API.
#[derive(Clone)]
struct PolicyCell(Arc<Mutex<Arc<vigil_policy::Policy>>>);

impl Default for PolicyCell {
    fn default() -> PolicyCell {
        let policy =
            vigil_policy::default_policy().unwrap_or_else(|_| vigil_policy::Policy::forbid_everything());
        PolicyCell(Arc::new(Mutex::new(Arc::new(policy))))
    }
}

/// Whether the engine is making progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    #[default]
    Starting,
    Running,
    /// The store failed; `last_error` says how. The engine tries again by itself.
    Stalled,
    Stopped,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Progress {
    pub state: EngineState,
    pub watermark: i64,
    pub events: u64,
    pub alerts: u64,
    pub case_updates: u64,
    /// Stored events the pipeline could not read, each now a dead letter of source `pipeline`.
    pub dead_letters: u64,
    /// Alerts dropped because their rule is muted for an entity they name.
    pub muted_alerts: u64,
    pub rules: usize,
    /// What the live cases hold in memory: bounded by the clustering window.
    pub held: Held,
    pub last_error: Option<String>,
    /// The stream partitions this node runs (a worker node's; empty otherwise).
    pub partitions: Vec<u32>,
}

/// One rule the engine runs, as the API lists it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RuleSummary {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub level: String,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub license: String,
}

impl EngineHandle {
    /// Swaps in new detectors and triage inputs before the next batch (correlation windows
    /// start afresh).
    pub fn reload(&self, mut reloaded: Reloaded) {
        if let Some(policy) = reloaded.policy.take() {
            self.set_policy(policy);
        }
        if self.detached {
            self.show(&reloaded.detectors, &reloaded.triage);
            return;
        }
        *self.reload.lock().unwrap_or_else(PoisonError::into_inner) = Some(reloaded);
        self.stored.notify_one();
    }

    /// The handle of a process that runs no engine (a cluster's ingest or API node). What the
    /// API reads of the engine is set from `detectors` and `triage` here, and again at each
    /// reload: the rules in force, and the triage inputs, whose inventories decide approvals.
    pub fn without_engine(mut self, detectors: &Detectors, triage: &Triage) -> EngineHandle {
        self.detached = true;
        self.show(detectors, triage);
        self
    }

    fn show(&self, detectors: &Detectors, triage: &Triage) {
        let summaries = Pipeline::new(detectors.clone()).rule_summaries();
        self.update(|p| p.rules = summaries.len());
        *self.rules.lock().unwrap_or_else(PoisonError::into_inner) = summaries;
        self.set_context(&triage.context);
    }

    /// The handle of a cluster node (set up before serving).
    pub fn in_cluster(mut self) -> EngineHandle {
        self.clustered = true;
        self
    }

    pub fn clustered(&self) -> bool {
        self.clustered
    }

    /// The approval policy in force.
    pub fn policy(&self) -> Arc<vigil_policy::Policy> {
        Arc::clone(&self.policy.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn set_policy(&self, policy: vigil_policy::Policy) {
        *self.policy.0.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(policy);
    }

    /// The handle with a connector added to the actions Vigil can run (set up before serving).
    pub fn with_connector(mut self, connector: Arc<dyn vigil_respond::Action>) -> EngineHandle {
        self.registry = Arc::new((*self.registry).clone().with(connector));
        self
    }

    /// Who owns a case's assets, read from the inventory the engine runs with at the time.
    pub fn owners(&self) -> Arc<dyn vigil_respond::connectors::Owners> {
        Arc::new(crate::owners::InventoryOwners::new(Arc::clone(&self.context)))
    }

    pub fn registry(&self) -> Arc<vigil_respond::Registry> {
        Arc::clone(&self.registry)
    }

    /// The triage inputs the engine runs with now.
    pub fn context(&self) -> Arc<Context> {
        Arc::clone(&self.context.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn set_context(&self, context: &Context) {
        *self.context.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(context.clone());
    }

    pub fn rules(&self) -> Vec<RuleSummary> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn progress(&self) -> Progress {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Asks the engine to stop after the batch in flight; its thread then ends.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stored.notify_one();
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Progress)) {
        change(&mut self.progress.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Runs the engine on a thread of its own (detection is CPU work) until the handle's owner
/// drops the runtime.
pub fn spawn(
    store: Store,
    detectors: Detectors,
    triage: Triage,
    handle: EngineHandle,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("vigil-engine".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    handle.progress.lock().unwrap_or_else(PoisonError::into_inner).last_error =
                        Some(e.to_string());
                    return;
                }
            };
            runtime.block_on(run(store, detectors, triage, handle));
        })
        .unwrap_or_else(|e| panic!("cannot start the engine thread: {e}"))
}

async fn run(store: Store, detectors: Detectors, triage: Triage, handle: EngineHandle) {
    let mut engine = Engine::new(store, detectors, triage, handle, None);
    let mut restored = false;
    let mut retry = RETRY_FIRST;
    while !engine.handle.stopping() {
        if let Some(reloaded) = engine.handle.reload.lock().unwrap_or_else(PoisonError::into_inner).take() {
            engine.pipeline = Pipeline::new(reloaded.detectors);
            engine.triage = reloaded.triage;
            engine.base_history = engine.triage.context.history.take();
            engine.handle.set_context(&engine.triage.context);
            engine.verdicts_seen = None;
            engine.publish_rules();
        }
        let stored = Arc::clone(&engine.handle.stored);
        let wake = stored.notified();
        let done = if restored {
            engine.step().await
        } else {
            engine.restore().await.map(|()| {
                restored = true;
                1
            })
        };
        match done {
            Ok(read) => {
                retry = RETRY_FIRST;
                engine.handle.update(|p| {
                    p.state = EngineState::Running;
                    p.last_error = None;
                    p.held = engine.live.held();
                });
                engine.handle.processed.notify_waiters();
                if read == 0 {
                    wake.await;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, retry_in = ?retry, "the engine cannot go on; it tries again");
                engine.handle.update(|p| {
                    p.state = EngineState::Stalled;
                    p.last_error = Some(e.to_string());
                });
                engine.handle.processed.notify_waiters();
                // Woken early by new events or a stop; otherwise the pause grows.
                let _ = tokio::time::timeout(retry, wake).await;
                retry = (retry * 2).min(RETRY_MAX);
            }
        }
    }
    engine.handle.update(|p| p.state = EngineState::Stopped);
    engine.handle.processed.notify_waiters();
}

/// A stored event as the pipeline reads it, or why it cannot be read.
pub(crate) fn parse(
    stored: &PipelineEvent,
) -> std::result::Result<(vigil_ocsf::Event, Vec<SourceView>), String> {
    let event: vigil_ocsf::Event =
        serde_json::from_str(&stored.ocsf).map_err(|e| format!("its OCSF event does not parse: {e}"))?;
    let views = crate::decode::decode_views(&stored.views, &stored.raw)
        .map_err(|e| format!("its source views do not parse: {e}"))?;
    Ok((event, views))
}

/// The dead letter for a stored event the pipeline could not read.
fn unreadable(stored: &PipelineEvent, reason: &str) -> DeadLetter {
    DeadLetter::new(
        DEAD_LETTER_SOURCE,
        Locator::Event { id: stored.id.clone(), seq: stored.seq as u64 },
        format!("stored event {} (seq {}) was not processed: {reason}", stored.id, stored.seq),
    )
    .with_excerpt(&stored.raw)
}

/// Where a processed page's progress is recorded, in the transaction that writes its results.
pub(crate) enum Mark<'a> {
    /// The single engine: the arrival number of the last stored event read.
    Watermark(i64),
    /// A worker's partition: the events themselves are written here too, with the partition's
    /// applied stream sequence, under the lease's epoch.
    Partition {
        node: &'a str,
        lease: &'a vigil_store::PartitionLease,
        applied: u64,
        events: &'a [vigil_store::NewEvent],
        /// Messages that carried no event.
        dead: &'a [DeadLetter],
    },
}

pub(crate) struct Engine {
    store: Store,
    pipeline: Pipeline,
    live: TenantCases,
    triage: Triage,
    handle: EngineHandle,
    /// The configured history file, to which the store's verdicts are added.
    base_history: Option<Input<History>>,
    /// The store's verdicts version the triage context reflects.
    verdicts_seen: Option<(i64, i64)>,
    /// The stream partition this engine processes, on a worker node; each case it files is
    /// filed under it.
    partition: Option<u32>,
}

impl Engine {
    pub(crate) fn new(
        store: Store,
        detectors: Detectors,
        mut triage: Triage,
        handle: EngineHandle,
        partition: Option<u32>,
    ) -> Engine {
        let base_history = triage.context.history.take();
        handle.set_context(&triage.context);
        let engine = Engine {
            store,
            pipeline: Pipeline::new(detectors),
            live: TenantCases::new(ClusterConfig::default()),
            triage,
            handle,
            base_history,
            verdicts_seen: None,
            partition,
        };
        engine.publish_rules();
        engine
    }

    /// Brings the triage context's verdict history up to date with the store, when a person
    /// has judged or reopened a case since it was last read.
    async fn refresh_history(&mut self) -> Result<()> {
        let version = self.store.verdicts_version().await?;
        if self.verdicts_seen == Some(version) {
            return Ok(());
        }
        let rows = self.store.verdicts().await?;
        self.triage.context.history = match (&self.base_history, rows.is_empty()) {
            (None, true) => None,
            (base, _) => Some(Input {
                source: match base {
                    Some(b) => format!("{} and analyst verdicts in the store", b.source),
                    None => "analyst verdicts in the store".to_owned(),
                },
                as_of: self.store.clock().now_ms(),
                entries: crate::verdicts::merged(base.as_ref().map(|b| &b.entries), &rows),
            }),
        };
        self.verdicts_seen = Some(version);
        Ok(())
    }

    /// Tells the handle which rules run now (after a start or a reload).
    fn publish_rules(&self) {
        let summaries = self.pipeline.rule_summaries();
        self.handle.progress.lock().unwrap_or_else(PoisonError::into_inner).rules = summaries.len();
        *self.handle.rules.lock().unwrap_or_else(PoisonError::into_inner) = summaries;
    }

    /// Refiles the alerts of the cases the live engine would hold: every open case, and closed
    /// ones still within the clustering window (new alerts reopen those), oldest first. An alert
    /// that cannot be read is an error: a case rebuilt without it would cluster differently.
    async fn restore(&mut self) -> Result<()> {
        let window = ClusterConfig::default().window_ms;
        let cases = self.store.live_cases(window).await?;
        self.restore_cases(cases).await?;
        let watermark = self.store.watermark(WATERMARK).await?;
        let replayed = self.warm_up(watermark).await?;
        let held = self.live.held();
        tracing::info!(
            watermark,
            cases = held.cases,
            alerts = held.alerts,
            replayed,
            "engine restored its live cases and correlation windows"
        );
        self.handle.update(|p| p.watermark = watermark);
        Ok(())
    }

    /// Refiles the alerts of `cases` (oldest first) into fresh live cases.
    pub(crate) async fn restore_cases(&mut self, cases: Vec<CaseRow>) -> Result<()> {
        self.live = TenantCases::new(ClusterConfig::default());
        for case in cases {
            let mut alerts = Vec::new();
            for row in self.store.case_alerts(&case.id).await? {
                let alert: Alert = serde_json::from_value(row.finding)
                    .map_err(|e| Error::StoredAlert { id: row.id.to_string(), reason: e.to_string() })?;
                alerts.push(alert);
            }
            self.live.restore(&case.id, alerts);
        }
        self.live.restored();
        Ok(())
    }

    /// Refiles the live cases of this engine's partition (a worker taking it over).
    pub(crate) async fn restore_partition(&mut self) -> Result<()> {
        let Some(partition) = self.partition else { return self.restore().await };
        let cases = self.store.live_cases_in(partition, ClusterConfig::default().window_ms).await?;
        self.restore_cases(cases).await
    }

    /// Feeds detection an event processed before, discarding what it raises (rebuilding the
    /// correlation windows after a restart or a takeover).
    pub(crate) fn warm(&mut self, stored: &PipelineEvent) -> bool {
        match parse(stored) {
            Ok((event, views)) => {
                self.pipeline.detect(&event, &views, &stored.source);
                true
            }
            Err(_) => false,
        }
    }

    /// How far back in time detection's windows reach.
    pub(crate) fn replay_window_ms(&self) -> i64 {
        self.pipeline.replay_window_ms()
    }

    /// Feeds detection the events it saw last before a restart (those within the longest
    /// correlation window of the watermark, at most `WARM_UP_MAX_EVENTS`), discarding what it
    /// raises: those alerts were filed then. A burst that a restart split in two is still one
    /// burst.
    async fn warm_up(&mut self, watermark: i64) -> Result<u64> {
        let Some(mut at) =
            self.store.replay_start(watermark, self.pipeline.replay_window_ms(), WARM_UP_MAX_EVENTS).await?
        else {
            return Ok(0);
        };
        let mut replayed = 0u64;
        while at < watermark {
            let page = self.store.pipeline_events_after(at, PAGE).await?;
            let Some(last) = page.last().map(|e| e.seq) else { break };
            for stored in page.iter().filter(|e| e.seq <= watermark) {
                if self.warm(stored) {
                    replayed += 1;
                }
            }
            at = last;
        }
        Ok(replayed)
    }

    /// Processes one page of events; returns how many it read.
    async fn step(&mut self) -> Result<usize> {
        let watermark = self.store.watermark(WATERMARK).await?;
        let page = self.store.pipeline_events_after(watermark, PAGE).await?;
        let Some(last) = page.last().map(|e| e.seq) else { return Ok(0) };
        self.process(&page, Mark::Watermark(last)).await?;
        self.handle.update(|p| p.watermark = last);
        Ok(page.len())
    }

    /// Runs a page of events through detection and the live cases, and writes what changed —
    /// with `mark` — in one transaction.
    pub(crate) async fn process(&mut self, page: &[PipelineEvent], mark: Mark<'_>) -> Result<()> {
        let mut alerts = Vec::new();
        let mut dead = Vec::new();
        for stored in page {
            match parse(stored) {
                Ok((event, views)) => alerts.extend(self.pipeline.detect(&event, &views, &stored.source)),
                Err(reason) => {
                    tracing::warn!(event = %stored.id, seq = stored.seq, reason = %reason, "stored event not processed; it is a dead letter of the pipeline");
                    dead.push(unreadable(stored, &reason));
                }
            }
        }
        let alert_count = alerts.len() as u64;
        // Alerts already filed (a replay after a restart, or a late copy of an alert whose case
        // the live engine has forgotten) change nothing.
        let ids: Vec<AlertId> = alerts.iter().map(|a| a.id.clone()).collect();
        let known: HashSet<AlertId> = self.store.known_alerts(&ids).await?;
        alerts.retain(|a| !known.contains(&a.id));
        // A rule muted for an entity (a response action, undone by unmuting) files nothing on it.
        let mutes = self.store.live_mutes().await?;
        let before = alerts.len();
        if !mutes.is_empty() {
            alerts.retain(|a| !muted(&mutes, a));
        }
        let muted_alerts = (before - alerts.len()) as u64;
        let updates = self.live.add(alerts);
        if !updates.is_empty() {
            self.refresh_history().await?;
        }
        let mut tx = self.store.write().await?;
        match &mark {
            // Taken first: it fails fast when the lease moved, and holds the partition's row so
            // a takeover waits for this commit.
            Mark::Partition { node, lease, applied, events, dead } => {
                tx.advance_partition(node, lease, *applied).await?;
                tx.insert_events(events).await?;
                for letter in *dead {
                    tx.insert_dead_letter(letter).await?;
                }
            }
            Mark::Watermark(last) => tx.set_watermark(WATERMARK, *last).await?,
        }
        for letter in &dead {
            tx.insert_dead_letter(letter).await?;
        }
        for update in &updates {
            self.file(&mut tx, update).await?;
        }
        tx.commit().await?;
        if !updates.is_empty() {
            self.handle.actions.notify_one();
        }
        self.handle.update(|p| {
            p.events += page.len() as u64;
            p.alerts += alert_count;
            p.case_updates += updates.len() as u64;
            p.dead_letters += dead.len() as u64;
            p.muted_alerts += muted_alerts;
        });
        Ok(())
    }

    /// Writes one changed case: its alerts, its document, its state moves, its recommendation.
    async fn file(&self, tx: &mut WriteTx<'_>, update: &CaseUpdate) -> Result<()> {
        let engine = By::vigil(Component::Engine);
        let case = &update.case;
        if let Some(partition) = self.partition {
            tx.file_case_partition(&case.id, partition).await?;
        }
        for alert in &update.new_alerts {
            tx.save_alert(&alert_row(&case.id, alert)).await?;
        }
        // The store, not the in-memory flag, says whether the case exists and where it stands.
        let previous = match tx.case_state(&case.id).await {
            Ok(state) => Some(state),
            Err(vigil_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        tx.save_case(&case_row(case)?, &engine).await?;
        let n = update.new_alerts.len();
        match previous {
            None => {
                tx.transition_case(
                    &case.id,
                    CaseState::Correlated,
                    &format!("clustered from {n} alerts"),
                    &engine,
                )
                .await?;
            }
            Some(state) if state.is_closed() => {
                let reason = format!("reopened: {n} new alerts after it was closed as {state}");
                tx.transition_case(&case.id, CaseState::Correlated, &reason, &engine).await?;
            }
            Some(CaseState::Recommended) => {
                let reason = format!("{n} new alerts; the recommendation is drafted again");
                tx.transition_case(&case.id, CaseState::Correlated, &reason, &engine).await?;
            }
            // An approval never outlives the evidence it approved.
            Some(CaseState::Approved) => {
                let reason =
                    format!("{n} new alerts supersede the approval; the recommendation is drafted again");
                tx.transition_case(&case.id, CaseState::Recommended, &reason, &engine).await?;
                tx.supersede_case_requests(&case.id, &reason, &engine).await?;
            }
            Some(_) => {}
        }
        let recommendation = vigil_triage::recommend(
            case,
            &self.triage.context,
            &self.triage.model,
            &self.triage.library,
            self.store.clock().now_ms(),
        );
        let body =
            serde_json::to_value(&recommendation).unwrap_or_else(|e| json!({ "error": e.to_string() }));
        tx.add_recommendation(&case.id, &body, &By::vigil(Component::Triage)).await?;
        if tx.case_state(&case.id).await? == CaseState::Correlated {
            let reason = format!("{} ({:.2})", recommendation.verdict.as_str(), recommendation.confidence);
            tx.transition_case(&case.id, CaseState::Recommended, &reason, &engine).await?;
        }
        let policy = self.handle.policy();
        let now = self.store.clock().now();
        let registry = self.handle.registry();
        crate::proposals::propose(
            tx,
            &self.store,
            &registry,
            &policy,
            &self.triage.context,
            case,
            &recommendation,
            now,
        )
        .await?;
        if let Ok(reason) = autotriage::decide(&self.triage.auto_close, case, &recommendation) {
            tx.transition_case(&case.id, CaseState::Benign, &reason, &By::vigil(Component::AutoTriage))
                .await?;
        }
        for absorbed in &update.absorbed {
            if let Ok(state) = tx.case_state(absorbed).await
                && state.can_become_by(CaseState::Duplicate, vigil_model::Cause::Engine)
            {
                let reason = format!("merged into case {}", case.id);
                tx.transition_case(absorbed, CaseState::Duplicate, &reason, &engine).await?;
            }
        }
        Ok(())
    }
}

/// Whether a mute in force covers the alert: its rule, muted for an entity it names.
fn muted(mutes: &[vigil_store::RuleMute], alert: &Alert) -> bool {
    mutes.iter().any(|m| {
        m.rule_id == alert.rule.id
            && alert.entities.iter().any(|e| format!("{} {}", e.kind.as_str(), e.key) == m.entity)
    })
}

/// An alert as stored: whole, as it was raised, so a restart refiles exactly what the live
/// engine held.
fn alert_row(case_id: &CaseId, alert: &Alert) -> AlertRow {
    AlertRow {
        id: alert.id.clone(),
        case_id: Some(case_id.clone()),
        rule_id: alert.rule.id.clone(),
        title: alert.rule.title.clone(),
        severity: i64::from(alert.rule.level.id()),
        time: time::from_millis(alert.time),
        finding: serde_json::to_value(alert).unwrap_or_default(),
    }
}

fn case_row(case: &Case) -> Result<CaseRow> {
    // The store keeps the case's lifecycle; the document's own (clustering's) is not stored.
    let body = serde_json::to_value(case)
        .map_err(|e| Error::CaseDocument { id: case.id.to_string(), reason: e.to_string() })?;
    Ok(CaseRow {
        id: case.id.clone(),
        title: case.title.clone(),
        state: CaseState::New,
        severity: i64::from(case.severity.id()),
        assignee: None,
        first_seen: time::from_millis(case.first_seen),
        last_seen: time::from_millis(case.last_seen),
        updated_at: String::new(),
        body,
    })
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
