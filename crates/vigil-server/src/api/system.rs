//! Health, the OpenAPI document, server status, and who the caller is.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::{Auth, perm};
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn openapi() -> Json<Value> {
    Json(crate::routes::openapi())
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Wait (up to 30 s) until at least this many events are stored and the engine has read
    /// them all: how a client knows its data has been through the pipeline.
    settled_at: Option<i64>,
}

pub async fn status(
    auth: Auth<perm::Session>,
    State(state): State<AppState>,
    crate::params::Params(q): crate::params::Params<StatusQuery>,
) -> ApiResult<Json<Value>> {
    let settled = match q.settled_at {
        Some(n) => {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
            Some(
                vigil_engine::settle::settled(
                    &state.engine,
                    &state.ingest,
                    &state.store,
                    n,
                    || true,
                    deadline,
                )
                .await?,
            )
        }
        None => None,
    };
    // A sender (an ingest token) learns whether what it sent has been through the pipeline,
    // not what the pipeline found.
    if !auth.principal.may(crate::auth::Permission::AlertRead) {
        let engine = state.engine.progress();
        return Ok(Json(json!({
            "engine": {"state": engine.state, "watermark": engine.watermark},
            "settled": settled,
        })));
    }
    let stats = &state.ingest.stats;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    Ok(Json(json!({
        "engine": state.engine.progress(),
        "ingest": {
            "commits": stats.commits.load(relaxed),
            "events": stats.events.load(relaxed),
            "refused": stats.refused.load(relaxed),
        },
        "events_stored": state.store.event_count().await?,
        "database": state.store.backend().name(),
        "settled": settled,
    })))
}

pub async fn me(auth: Auth<perm::Session>) -> Json<Value> {
    let p = &auth.principal;
    let permissions: Vec<&str> =
        crate::auth::Permission::ALL.iter().filter(|x| p.may(**x)).map(|x| x.as_str()).collect();
    Json(json!({"name": p.name, "role": p.role, "permissions": permissions}))
}
