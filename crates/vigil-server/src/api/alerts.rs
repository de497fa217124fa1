//! Alerts, newest first, and one alert with the evidence it cites.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::views::{AlertView, alerts};

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, PathId, limit};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The lowest OCSF severity id to include: 0 (unknown) to 6 (fatal).
    #[schemars(range(min = 0, max = 6))]
    min_severity: Option<i64>,
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

pub async fn list(
    _: Auth<perm::AlertRead>,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<AlertList>> {
    let rows = state
        .store
        .alerts(crate::params::min_severity(q.min_severity)?.unwrap_or(0), limit(q.limit, 100, 1_000)?)
        .await?;
    Ok(Json(AlertList { alerts: alerts(rows) }))
}

#[derive(Serialize, JsonSchema)]
pub struct AlertList {
    alerts: Vec<AlertView>,
}

pub async fn get(
    _: Auth<perm::AlertRead>,
    State(state): State<AppState>,
    PathId(id): PathId<vigil_model::AlertId>,
) -> ApiResult<Json<OneAlert>> {
    let alert = state.store.alert(&id).await?.ok_or_else(|| ApiError::not_found("alert"))?;
    Ok(Json(OneAlert { alert: alert.into() }))
}

#[derive(Serialize, JsonSchema)]
pub struct OneAlert {
    alert: AlertView,
}
