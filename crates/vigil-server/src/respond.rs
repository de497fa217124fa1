//! The executor as the server runs it: it decides on the policy the engine holds and on the
//! same facts a person's proposal and approval were decided on, and is woken when a run is
//! queued (an execute call, an automatic step proposed).

use std::sync::Arc;

use serde_json::Value;
use vigil_engine::runner::EngineHandle;
use vigil_model::ActionRequest;
use vigil_policy::{Context, Policy};
use vigil_respond::{Authority, BoxFuture, Executor};
use vigil_store::Store;

use crate::state::AppState;

/// Everything a request is decided on: the inventories the engine runs with, the case's
/// severity and the recommendation's confidence from the store, and the guards' effects.
pub async fn decision_context(
    store: &Store,
    engine: &EngineHandle,
    request: &ActionRequest,
) -> Result<Context, vigil_engine::Error> {
    let (mut severity, mut confidence) = (None, None);
    if let Some(case) = &request.case
        && let Some(row) = store.case(case).await?
    {
        severity = u8::try_from(row.severity).ok().and_then(vigil_model::Severity::from_id);
        confidence = store
            .recommendation(case)
            .await?
            .and_then(|(_, body)| body.get("confidence").and_then(Value::as_f64));
    }
    let triage = engine.context();
    vigil_engine::proposals::decision_context(store, &triage, request, severity, confidence).await
}

struct ServerAuthority {
    store: Store,
    engine: EngineHandle,
}

impl Authority for ServerAuthority {
    fn policy(&self) -> Arc<Policy> {
        self.engine.policy()
    }

    fn context<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, vigil_respond::Result<Context>> {
        Box::pin(async move {
            decision_context(&self.store, &self.engine, request).await.map_err(|e| match e {
                vigil_engine::Error::Store(e) => vigil_respond::Error::Store(e),
                other => vigil_respond::Error::Transient(other.to_string()),
            })
        })
    }
}

/// The executor for this server's store, registry and policy.
pub fn executor(state: &AppState) -> Executor {
    let authority = ServerAuthority { store: state.store.clone(), engine: state.engine.clone() };
    Executor::new(state.store.clone(), state.engine.registry(), Arc::new(authority)).with_holder(&*state.node)
}

/// Runs the executor in the background until the returned handle is told to stop.
pub fn spawn(state: &AppState) -> Arc<tokio::sync::Notify> {
    let stop = Arc::new(tokio::sync::Notify::new());
    let executor = executor(state);
    let (wake, ended) = (Arc::clone(&state.engine.actions), Arc::clone(&state.engine.runs_ended));
    tokio::spawn(executor.serve(wake, ended, Arc::clone(&stop)));
    stop
}
