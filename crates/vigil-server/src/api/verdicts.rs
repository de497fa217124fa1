//! Analysts' verdicts, newest first: which rules on which entities people judged benign or
//! malicious when they closed a case. The history the built-in analyst weighs.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_store::{VerdictFilter, VerdictRow};

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, limit};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    rule: Option<String>,
    /// `kind key`: `user corp\svc-backup`.
    entity: Option<String>,
    #[schemars(with = "Option<String>")]
    case: Option<vigil_model::CaseId>,
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

pub async fn list(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<VerdictList>> {
    if [q.rule.as_deref(), q.entity.as_deref(), q.case.as_ref().map(vigil_model::CaseId::as_str)]
        .into_iter()
        .flatten()
        .any(|v| v.chars().count() > 1_000)
    {
        return Err(ApiError::new(Code::BadRequest, "rule, entity, case: at most 1000 characters"));
    }
    let filter =
        VerdictFilter { rule: q.rule, entity: q.entity, case: q.case, limit: limit(q.limit, 100, 1_000)? };
    let verdicts = state.store.find_verdicts(&filter).await?;
    Ok(Json(VerdictList { count: verdicts.len() as u64, verdicts }))
}

#[derive(Serialize, JsonSchema)]
pub struct VerdictList {
    count: u64,
    verdicts: Vec<VerdictRow>,
}
