//! The pipeline's driver. It reads stored events after its watermark, in arrival order, runs
//! detection, files the alerts into live cases, drafts each changed case's recommendation, and
//! writes all of it — with the new watermark — in one transaction. A crash replays at most the
//! batch in flight, and every id it writes is derived from content, so a replay changes nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::json;
use tokio::sync::Notify;
use vigil_correlate::{Alert, Case, ClusterConfig};
use vigil_ingest::view::SourceView;
use vigil_model::CaseState;
use vigil_store::{Actor, AlertRow, CaseFilter, CaseRow, Store, WriteTx, time};
use vigil_triage::autotriage::{self, AutoClosePolicy};
use vigil_triage::context::{Context, Input};
use vigil_triage::history::History;
use vigil_triage::model::Model;
use vigil_triage::playbook::Playbook;

use crate::live::{CaseUpdate, LiveCases};
use crate::pipeline::{Detectors, Pipeline};
use crate::{Error, Result};

pub const WATERMARK: &str = "pipeline";
const PAGE: i64 = 2_000;
const ENGINE: &str = "vigil:engine";

/// What the built-in analyst needs.
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
}

/// How the rest of the server talks to a running engine.
#[derive(Clone, Default)]
pub struct EngineHandle {
    /// Told when new events are stored.
    pub stored: Arc<Notify>,
    reload: Arc<Mutex<Option<Reloaded>>>,
    pub progress: Arc<Mutex<Progress>>,
    /// The rules the engine runs now.
    pub rules: Arc<Mutex<Vec<RuleSummary>>>,
    /// Told after each batch is processed.
    pub processed: Arc<Notify>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    pub watermark: i64,
    pub events: u64,
    pub alerts: u64,
    pub case_updates: u64,
    pub rules: usize,
    pub last_error: Option<String>,
}

/// One rule the engine runs, as the API lists it.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSummary {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub license: String,
}

impl EngineHandle {
    /// Swaps in new detectors and triage inputs before the next batch (correlation windows
    /// start afresh).
    pub fn reload(&self, reloaded: Reloaded) {
        *self.reload.lock().unwrap_or_else(PoisonError::into_inner) = Some(reloaded);
        self.stored.notify_one();
    }

    pub fn rules(&self) -> Vec<RuleSummary> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn progress(&self) -> Progress {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
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
    let mut engine = Engine {
        store,
        pipeline: Pipeline::new(detectors),
        live: LiveCases::new(ClusterConfig::default()),
        triage,
        handle,
        base_history: None,
        verdicts_seen: None,
    };
    engine.base_history = engine.triage.context.history.take();
    if let Err(e) = engine.restore().await {
        engine.note_error(&e);
    }
    engine.publish_rules();
    loop {
        if let Some(reloaded) = engine.handle.reload.lock().unwrap_or_else(PoisonError::into_inner).take() {
            engine.pipeline = Pipeline::new(reloaded.detectors);
            engine.triage = reloaded.triage;
            engine.base_history = engine.triage.context.history.take();
            engine.verdicts_seen = None;
            engine.publish_rules();
        }
        let stored = Arc::clone(&engine.handle.stored);
        let wake = stored.notified();
        match engine.step().await {
            Ok(0) => wake.await,
            Ok(_) => {}
            Err(e) => {
                engine.note_error(&e);
                wake.await;
            }
        }
        engine.handle.processed.notify_waiters();
    }
}

struct Engine {
    store: Store,
    pipeline: Pipeline,
    live: LiveCases,
    triage: Triage,
    handle: EngineHandle,
    /// The configured history file, to which the store's verdicts are added.
    base_history: Option<Input<History>>,
    /// The store's verdicts version the triage context reflects.
    verdicts_seen: Option<(i64, i64)>,
}

impl Engine {
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
                as_of: now_ms(),
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

    fn note_error(&self, e: &Error) {
        self.handle.progress.lock().unwrap_or_else(PoisonError::into_inner).last_error = Some(e.to_string());
    }

    /// Refiles the alerts of open cases, so alerts after a restart join the cases they belong to.
    async fn restore(&mut self) -> Result<()> {
        let cases = self.store.cases(&CaseFilter { limit: 10_000, ..CaseFilter::default() }).await?;
        for case in cases.iter().filter(|c| !c.state.is_closed()) {
            let alerts: Vec<Alert> = self
                .store
                .case_alerts(&case.id)
                .await?
                .into_iter()
                .filter_map(|row| serde_json::from_value(row.finding).ok())
                .collect();
            self.live.restore(&case.id, alerts);
        }
        let watermark = self.store.watermark(WATERMARK).await?;
        self.handle.progress.lock().unwrap_or_else(PoisonError::into_inner).watermark = watermark;
        Ok(())
    }

    /// Processes one page of events; returns how many it read.
    async fn step(&mut self) -> Result<usize> {
        let watermark = self.store.watermark(WATERMARK).await?;
        let page = self.store.pipeline_events_after(watermark, PAGE).await?;
        let Some(last) = page.last().map(|e| e.seq) else { return Ok(0) };
        let mut alerts = Vec::new();
        for stored in &page {
            let event: vigil_ocsf::Event = serde_json::from_str(&stored.ocsf)
                .map_err(|e| Error::StoredEvent { id: stored.id.clone(), reason: e.to_string() })?;
            let views: Vec<SourceView> = crate::decode::decode_views(&stored.views, &stored.raw)
                .map_err(|e| Error::StoredEvent { id: stored.id.clone(), reason: e.to_string() })?;
            alerts.extend(self.pipeline.detect(&event, &views, &stored.source));
        }
        let alert_count = alerts.len() as u64;
        let updates = self.live.add(alerts);
        if !updates.is_empty() {
            self.refresh_history().await?;
        }
        let mut tx = self.store.write().await?;
        for update in &updates {
            self.file(&mut tx, update).await?;
        }
        tx.set_watermark(WATERMARK, last).await?;
        tx.commit().await?;
        let mut progress = self.handle.progress.lock().unwrap_or_else(PoisonError::into_inner);
        progress.watermark = last;
        progress.events += page.len() as u64;
        progress.alerts += alert_count;
        progress.case_updates += updates.len() as u64;
        progress.last_error = None;
        Ok(page.len())
    }

    /// Writes one changed case: its alerts, its document, its state moves, its recommendation.
    async fn file(&self, tx: &mut WriteTx<'_>, update: &CaseUpdate) -> Result<()> {
        let engine = Actor::new(ENGINE, "engine");
        let case = &update.case;
        for folded in &case.alerts {
            for id in folded.ids.iter().filter(|id| update.new_alerts.contains(id)) {
                tx.save_alert(&alert_row(case, folded, id)).await?;
            }
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
            Some(_) => {}
        }
        let recommendation = vigil_triage::recommend(
            case,
            &self.triage.context,
            &self.triage.model,
            &self.triage.library,
            now_ms(),
        );
        let body =
            serde_json::to_value(&recommendation).unwrap_or_else(|e| json!({ "error": e.to_string() }));
        tx.add_recommendation(&case.id, &body, &Actor::new("vigil:triage", "engine")).await?;
        if tx.case_state(&case.id).await? == CaseState::Correlated {
            let reason = format!("{} ({:.2})", recommendation.verdict.as_str(), recommendation.confidence);
            tx.transition_case(&case.id, CaseState::Recommended, &reason, &engine).await?;
        }
        if let Ok(reason) = autotriage::decide(&self.triage.auto_close, case, &recommendation) {
            tx.transition_case(
                &case.id,
                CaseState::Benign,
                &reason,
                &Actor::new(autotriage::ACTOR, "engine"),
            )
            .await?;
        }
        for absorbed in &update.absorbed {
            if let Ok(state) = tx.case_state(absorbed).await
                && state.can_become(CaseState::Duplicate)
            {
                let reason = format!("merged into case {}", case.id);
                tx.transition_case(absorbed, CaseState::Duplicate, &reason, &engine).await?;
            }
        }
        Ok(())
    }
}

fn alert_row(case: &Case, folded: &vigil_correlate::FoldedAlert, id: &str) -> AlertRow {
    let alert = Alert {
        id: id.to_owned(),
        rule: folded.rule.clone(),
        time: folded.first_seen,
        entities: folded.entities.clone(),
        aliases: Vec::new(),
        evidence: folded.evidence.clone(),
        summary: folded.summary.clone(),
    };
    AlertRow {
        id: id.to_owned(),
        case_id: Some(case.id.clone()),
        rule_id: folded.rule.id.clone(),
        title: folded.rule.title.clone(),
        severity: i64::from(folded.rule.level.id()),
        time: time::from_millis(folded.first_seen),
        finding: serde_json::to_value(&alert).unwrap_or_default(),
    }
}

fn case_row(case: &Case) -> Result<CaseRow> {
    let mut body = serde_json::to_value(case)
        .map_err(|e| Error::CaseDocument { id: case.id.clone(), reason: e.to_string() })?;
    // The state lives in its column and changes only through audited transitions.
    if let Some(map) = body.as_object_mut() {
        map.remove("lifecycle");
    }
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
