//! Health, the OpenAPI document, server status, and who the caller is.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use vigil_engine::runner::{EngineState, Progress};

use crate::auth::{Auth, perm};
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn health() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

#[derive(Serialize, JsonSchema)]
pub struct Health {
    status: String,
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
) -> ApiResult<Json<Status>> {
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
        let engine = SenderProgress { state: engine.state, watermark: engine.watermark };
        return Ok(Json(Status::Sender(SenderStatus { engine, settled })));
    }
    let stats = &state.ingest.stats;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    Ok(Json(Status::Full(FullStatus {
        engine: state.engine.progress(),
        ingest: IngestProgress {
            commits: stats.commits.load(relaxed),
            events: stats.events.load(relaxed),
            refused: stats.refused.load(relaxed),
        },
        events_stored: state.store.event_count().await?,
        database: state.store.backend().name().into(),
        settled,
    })))
}

/// The whole status for a reader of alerts; a sender's own progress for anyone else.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Status {
    Full(FullStatus),
    Sender(SenderStatus),
}

#[derive(Serialize, JsonSchema)]
pub struct FullStatus {
    engine: Progress,
    ingest: IngestProgress,
    events_stored: i64,
    /// `sqlite` or `postgres`.
    database: String,
    /// With `settled_at`: whether the pipeline caught up before the wait ran out.
    settled: Option<bool>,
}

/// What a sender may know: whether what it sent has been through the pipeline.
#[derive(Serialize, JsonSchema)]
pub struct SenderStatus {
    engine: SenderProgress,
    settled: Option<bool>,
}

#[derive(Serialize, JsonSchema)]
pub struct SenderProgress {
    state: EngineState,
    watermark: i64,
}

#[derive(Serialize, JsonSchema)]
pub struct IngestProgress {
    commits: u64,
    events: u64,
    refused: u64,
}

pub async fn me(auth: Auth<perm::Session>) -> Json<Me> {
    let p = &auth.principal;
    let permissions =
        crate::auth::Permission::ALL.iter().filter(|x| p.may(**x)).map(|x| x.as_str().to_owned()).collect();
    Json(Me { name: p.name.clone(), role: p.role, permissions })
}

/// The caller, and what they may do.
#[derive(Serialize, JsonSchema)]
pub struct Me {
    name: vigil_model::UserId,
    role: crate::auth::Role,
    permissions: Vec<String>,
}
