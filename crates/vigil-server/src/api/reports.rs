//! The SOC's reports over the API: the weekly scorecard as JSON (the page shows the same).

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Deserialize;
use vigil_report::scorecard::{RuleInfo, Scorecard, Week};

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult, Code};
use crate::params::Params;
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekQuery {
    /// The ISO week, like 2026-W48; this week by default.
    week: Option<String>,
}

/// The week asked for, or this one.
pub(crate) fn week_of(state: &AppState, text: Option<&str>) -> ApiResult<Week> {
    match text {
        Some(text) => Week::parse(text).map_err(|e| ApiError::new(Code::BadRequest, format!("week: {e}"))),
        None => Ok(Week::containing(state.store.clock().now())),
    }
}

/// The week's scorecard, against the rules the engine runs now.
pub(crate) async fn scorecard_of(state: &AppState, week: Week) -> ApiResult<Scorecard> {
    let rules: Vec<RuleInfo> =
        state.engine.rules().into_iter().map(|r| RuleInfo { id: r.id, title: r.title }).collect();
    vigil_report::scorecard::build(&state.store, week, Some(&rules)).await.map_err(ApiError::internal)
}

pub async fn scorecard(
    _: Auth<perm::ReportRead>,
    State(state): State<AppState>,
    Params(q): Params<WeekQuery>,
) -> ApiResult<Json<Scorecard>> {
    let week = week_of(&state, q.week.as_deref())?;
    Ok(Json(scorecard_of(&state, week).await?))
}
