//! A case's SLA clocks: each clock's target, due time and where it stands, and the breaches
//! recorded for it (with how each was escalated).

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use vigil_model::CaseId;
use vigil_report::sla::ClockState;
use vigil_store::SlaBreach;

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult};
use crate::params::PathId;
use crate::state::AppState;

#[derive(Serialize, JsonSchema)]
pub struct CaseSla {
    case: CaseId,
    /// Every clock the case is held to, in the order a case meets them (times in ms since the
    /// epoch).
    clocks: Vec<ClockState>,
    breaches: Vec<SlaBreach>,
}

pub async fn case_sla(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<CaseSla>> {
    state.store.case(&id).await?.ok_or_else(|| ApiError::not_found("case"))?;
    let clocks = crate::sla::case_clocks(&state, &id).await.map_err(ApiError::internal)?;
    let breaches = state.store.sla_breaches(&id).await?;
    Ok(Json(CaseSla { case: id, clocks, breaches }))
}
