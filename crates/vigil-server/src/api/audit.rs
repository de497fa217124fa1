//! The audit trail, read-only: records in order, and a verification of the whole chain. No
//! route changes or deletes a record.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Auth, perm};
use crate::error::ApiResult;
use crate::params::{Params, limit};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Records after this sequence number.
    after: Option<i64>,
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

pub async fn list(
    _: Auth<perm::AuditRead>,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<Value>> {
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(crate::error::ApiError::new(
            crate::error::Code::BadRequest,
            "after: a sequence number, 0 or more",
        ));
    }
    let records = state.store.audit_records(after, limit(q.limit, 100, 5_000)?).await?;
    Ok(Json(json!({ "records": records })))
}

pub async fn verify(_: Auth<perm::AuditRead>, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(match state.store.verify_audit(&[]).await? {
        Ok(v) => json!({"intact": true, "verified": v}),
        Err(broken) => json!({"intact": false, "broken": broken}),
    }))
}
