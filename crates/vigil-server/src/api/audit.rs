//! The audit trail, read-only: records in order, and a verification of the whole chain. No
//! route changes or deletes a record.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_store::audit::{AuditRecord, Broken, Verified};

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
) -> ApiResult<Json<AuditPage>> {
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(crate::error::ApiError::new(
            crate::error::Code::BadRequest,
            "after: a sequence number, 0 or more",
        ));
    }
    let records = state.store.audit_records(after, limit(q.limit, 100, 5_000)?).await?;
    Ok(Json(AuditPage { records }))
}

#[derive(Serialize, JsonSchema)]
pub struct AuditPage {
    records: Vec<AuditRecord>,
}

pub async fn verify(_: Auth<perm::AuditRead>, State(state): State<AppState>) -> ApiResult<Json<AuditCheck>> {
    Ok(Json(match state.store.verify_audit(&[]).await? {
        Ok(v) => AuditCheck { intact: true, verified: Some(v), broken: None },
        Err(broken) => AuditCheck { intact: false, verified: None, broken: Some(broken) },
    }))
}

/// Whether the chain holds: what was verified, or the first thing that is wrong.
#[derive(Serialize, JsonSchema)]
pub struct AuditCheck {
    intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<Verified>,
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<Broken>,
}
