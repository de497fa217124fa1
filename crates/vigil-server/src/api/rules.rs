//! Detection rules: what the engine runs, and reloading them (with the inventories and the
//! approval policy) from disk without a restart.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use vigil_engine::runner::RuleSummary;
use vigil_model::{AuditAction, Outcome};
use vigil_store::By;

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

pub async fn status(_: Auth<perm::RuleRead>, State(state): State<AppState>) -> Json<RuleList> {
    let rules = state.engine.rules();
    Json(RuleList { count: rules.len() as u64, rules })
}

#[derive(Serialize, JsonSchema)]
pub struct RuleList {
    count: u64,
    rules: Vec<RuleSummary>,
}

pub async fn reload(
    auth: Auth<perm::RuleAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
) -> ApiResult<Json<Reloaded>> {
    let rules = reload_now(&state, &super::actor(&auth.principal, from)).await?;
    Ok(Json(Reloaded { reloaded: true, rules, policy_sha256: state.policy().sha256.clone() }))
}

/// Reloads the rules, the inventories and the policy from disk, audited as `rules.reload` by
/// `by`; answers how many rules run now. When they do not load, the old ones stay.
pub async fn reload_now(state: &AppState, by: &By) -> ApiResult<u64> {
    let reload = state.reload.clone();
    let built = tokio::task::spawn_blocking(move || reload()).await.map_err(ApiError::internal)?;
    let (outcome, detail) = match &built {
        Ok(r) => (
            Outcome::Ok,
            json!({
                "rules": r.detectors.rules.len(),
                "policy_sha256": r.policy.as_ref().map(|p| p.sha256.clone()),
                "policy_was": state.policy().sha256,
            }),
        ),
        Err(e) => (Outcome::Failed, json!({"reason": e})),
    };
    let mut tx = state.store.write().await?;
    tx.audit(by.entry(AuditAction::RulesReload, outcome, "rules".into(), detail)).await?;
    tx.commit().await?;
    match built {
        Ok(reloaded) => {
            let rules = reloaded.detectors.rules.len();
            state.engine.reload(reloaded);
            state.learning.forget();
            Ok(rules as u64)
        }
        Err(e) => {
            Err(ApiError::new(Code::BadRequest, format!("the rules did not load; the old ones stay: {e}")))
        }
    }
}

/// The rules now running, in place of the old ones.
#[derive(Serialize, JsonSchema)]
pub struct Reloaded {
    reloaded: bool,
    /// How many rules loaded.
    rules: u64,
    /// The approval policy in force now.
    policy_sha256: String,
}
