//! Detection rules: what the engine runs, and reloading them from disk without a restart.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use serde_json::{Value, json};
use vigil_store::audit::AuditEntry;

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

pub async fn status(_: Auth<perm::RuleRead>, State(state): State<AppState>) -> Json<Value> {
    let rules = state.engine.rules();
    Json(json!({"count": rules.len(), "rules": rules}))
}

pub async fn reload(
    auth: Auth<perm::RuleAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
) -> ApiResult<Json<Value>> {
    let reload = state.reload.clone();
    let built = tokio::task::spawn_blocking(move || reload()).await.map_err(ApiError::internal)?;
    let outcome = match &built {
        Ok(r) => format!("ok: {} rules", r.detectors.rules.len()),
        Err(e) => format!("failed: {e}"),
    };
    let mut tx = state.store.write().await?;
    tx.audit(AuditEntry {
        actor: auth.principal.actor(),
        origin: from.ip().to_string(),
        action: "rules.reload".into(),
        target: "rules".into(),
        outcome: outcome.clone(),
        detail: json!({}),
    })
    .await?;
    tx.commit().await?;
    match built {
        Ok(reloaded) => {
            let rules = reloaded.detectors.rules.len();
            state.engine.reload(reloaded);
            Ok(Json(json!({"reloaded": true, "rules": rules})))
        }
        Err(e) => {
            Err(ApiError::new(Code::BadRequest, format!("the rules did not load; the old ones stay: {e}")))
        }
    }
}
