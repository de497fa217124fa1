//! A case's incident packet over HTTP: the same signed archive `vigil export packet` writes
//! (`docs/packet.md`), as an attachment, for those who may read the audit trail.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use vigil_model::CaseId;

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult};
use crate::params::PathId;
use crate::state::AppState;

pub async fn download(
    _: Auth<perm::AuditRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Response> {
    packet_of(&state, &id).await
}

/// The case's packet as an attachment.
pub(crate) async fn packet_of(state: &AppState, id: &CaseId) -> ApiResult<Response> {
    let (state, id) = (state.clone(), id.clone());
    let contents = match vigil_report::packet::gather(&state.store, &id, None, None).await {
        Ok(c) => c,
        Err(vigil_report::Error::NoCase(_)) => return Err(ApiError::not_found("case")),
        Err(e) => return Err(ApiError::internal(e)),
    };
    let store = state.store.clone();
    let packet = vigil_report::packet::write(&contents, &store.public_key(), &|m| store.sign(m))
        .map_err(ApiError::internal)?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The case id is data: only its letters, digits, `-` and `_` name the file.
    let name: String = id
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(80)
        .collect();
    let disposition = format!("attachment; filename=\"case-{name}.tar\"");
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
    );
    Ok((headers, packet).into_response())
}
