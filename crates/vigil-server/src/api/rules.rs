//! Detection rules: what the engine runs, and reloading them from disk without a restart.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use serde_json::{Value, json};
use vigil_model::{AuditAction, Outcome};

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
    let (outcome, detail) = match &built {
        Ok(r) => (Outcome::Ok, json!({"rules": r.detectors.rules.len()})),
        Err(e) => (Outcome::Failed, json!({"reason": e})),
    };
    let mut tx = state.store.write().await?;
    tx.audit(super::actor(&auth.principal, from).entry(
        AuditAction::RulesReload,
        outcome,
        "rules".into(),
        detail,
    ))
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
