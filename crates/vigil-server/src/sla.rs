//! The SLA clocks as the server keeps them: every so often each open case's clocks (and those
//! of cases changed in the last day) are read from its audit records; a clock past its target
//! is recorded as a breach, audited in the same transaction, once; each breach not yet
//! escalated is escalated through the notification connectors configured (`notify_email`,
//! `notify_webhook`), as a request the approval policy decides like any other (the default
//! policy's `sla-escalation` rule lets it run by itself).

use std::time::Duration;

use serde_json::json;
use vigil_model::{ActionRequest, CaseId, Component, Requester};
use vigil_report::sla::{Clock, SlaPolicy, clocks};
use vigil_store::{By, SlaBreach, time};

use crate::state::AppState;

/// How long after a change a closed case's clocks are still looked at (one closed late while
/// the server was down is caught when it comes back within this).
const RECENT_MS: i64 = 86_400_000;

/// `sla` in `vigil.yml`, as the server holds it.
#[derive(Clone, Debug)]
pub struct SlaSettings {
    pub policy: SlaPolicy,
    /// The notification actions a breach is escalated through; `None`: every one configured.
    pub escalate: Option<Vec<String>>,
    pub every: Duration,
}

impl Default for SlaSettings {
    fn default() -> SlaSettings {
        SlaSettings { policy: SlaPolicy::default(), escalate: None, every: Duration::from_secs(60) }
    }
}

/// The notification actions that escalate, of those this server can run.
const NOTIFICATIONS: [&str; 2] = ["notify_email", "notify_webhook"];

/// One pass: records the breaches that happened since the last, then escalates every breach
/// not yet escalated. Returns the breaches recorded in this pass.
pub async fn sweep(state: &AppState) -> Result<Vec<SlaBreach>, vigil_report::Error> {
    let store = &state.store;
    let now = store.clock().now_ms();
    let by = By::vigil(Component::Sla);
    let mut recorded = Vec::new();
    for id in store.cases_for_sla(&time::from_millis(now - RECENT_MS)).await? {
        let Some(history) = vigil_report::metrics::history_of(store, &id).await? else { continue };
        for state in clocks(&history, &state.sla.policy, now).into_iter().filter(|c| c.breached()) {
            let breach = SlaBreach {
                case_id: id.as_str().to_owned(),
                clock: state.clock.as_str().to_owned(),
                severity: history.facts.severity,
                due_at: time::from_millis(state.due_ms),
                breached_at: store.clock().stamp(),
                escalation: None,
            };
            let mut tx = store.write().await?;
            let new = tx.record_sla_breach(&breach, &by).await?;
            tx.commit().await?;
            if new {
                tracing::warn!(case = %id, clock = breach.clock, due = breach.due_at, "SLA breached");
                recorded.push(breach);
            }
        }
    }
    for breach in store.sla_breaches_unescalated().await? {
        let escalation = escalate(state, &breach).await;
        let mut tx = store.write().await?;
        tx.set_sla_escalation(&breach.case_id, &breach.clock, &escalation).await?;
        tx.commit().await?;
    }
    Ok(recorded)
}

/// Proposes the breach's notifications; what to note on the breach: the requests' ids, or why
/// there are none.
async fn escalate(state: &AppState, breach: &SlaBreach) -> String {
    let registry = state.engine.registry();
    let kinds: Vec<&str> = match &state.sla.escalate {
        Some(kinds) => kinds.iter().map(String::as_str).collect(),
        None => NOTIFICATIONS.to_vec(),
    };
    let kinds: Vec<&str> = kinds.into_iter().filter(|k| registry.get(k).is_some()).collect();
    if kinds.is_empty() {
        return "not escalated: no notification connector is configured".to_owned();
    }
    let clock = Clock::ALL.into_iter().find(|c| c.as_str() == breach.clock);
    let message = format!(
        "SLA breached: case {} waited past {} for {}.",
        breach.case_id,
        breach.due_at,
        clock.map_or("its clock", Clock::waits_for)
    );
    let mut said = Vec::new();
    for kind in kinds {
        let request = ActionRequest {
            action: kind.to_owned(),
            target: None,
            parameters: [("message".to_owned(), json!(message))].into(),
            case: Some(CaseId::new(breach.case_id.clone())),
            requested_by: Requester::Escalation(breach.clock.clone()),
            plan_sha256: None,
        };
        match crate::api::actions::decide_and_store(state, &By::vigil(Component::Sla), request).await {
            Ok(view) => said.push(format!("{kind} {} ({})", view.row.id, view.row.status.as_str())),
            Err(e) => said.push(format!("{kind} not proposed: {}", e.message)),
        }
    }
    said.join("; ")
}

/// Sweeps every `state.sla.every` until the server closes.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut closing = state.closing.subscribe();
        // The first sweep after one period: a server starting up has its backlog to read first.
        let every = state.sla.every.max(Duration::from_secs(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = closing.changed() => return,
            }
            // In a cluster, one API node sweeps at a time: escalating a breach twice would send
            // two notifications. The duty lasts a few periods, so a node gone hands it over.
            let ttl = (every * 3).as_millis() as i64;
            match state.store.hold_duty("sla-sweep", &state.node, ttl).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell whether this node sweeps SLAs; it tries at the next tick");
                    continue;
                }
            }
            if let Err(e) = sweep(&state).await {
                tracing::error!(error = %e, "the SLA sweep failed; it runs again at the next tick");
            }
        }
    });
}

/// A clock's target in words, as pages show it.
pub fn target_words(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The SLA clocks of the case at `now`, for pages and the API.
pub async fn case_clocks(
    state: &AppState,
    id: &CaseId,
) -> Result<Vec<vigil_report::sla::ClockState>, vigil_report::Error> {
    let now = state.store.clock().now_ms();
    Ok(match vigil_report::metrics::history_of(&state.store, id).await? {
        Some(history) => clocks(&history, &state.sla.policy, now),
        None => Vec::new(),
    })
}
