//! The evidence vault over HTTP. Uploads are addressed by their SHA-256; downloads are always
//! attachments of type `application/octet-stream` with `nosniff` and a sandboxing CSP, so no
//! uploaded file is ever rendered by the browser that fetches it.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_store::EvidenceMeta;

use super::actor;
use crate::auth::{Auth, perm};
use crate::body::EvidenceBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, PathId};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    name: String,
    /// `case:<id>` or `global`.
    scope: String,
    media_type: Option<String>,
}

fn printable(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.chars().all(|c| !c.is_control())
}

pub async fn upload(
    auth: Auth<perm::EvidenceWrite>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Params(q): Params<UploadQuery>,
    EvidenceBody(body, _slot): EvidenceBody,
) -> ApiResult<Json<Added>> {
    if !printable(&q.name, 255) || !printable(&q.scope, 300) {
        return Err(ApiError::new(Code::BadRequest, "name and scope: printable text"));
    }
    if let Some(id) = q.scope.strip_prefix("case:") {
        state.store.case(&vigil_model::CaseId::from(id)).await?.ok_or_else(|| ApiError::not_found("case"))?;
    } else if q.scope != "global" {
        return Err(ApiError::new(Code::BadRequest, "scope: case:<id> or global"));
    }
    let media_type = q.media_type.unwrap_or_else(|| "application/octet-stream".into());
    if !printable(&media_type, 100) {
        return Err(ApiError::new(Code::BadRequest, "media_type: printable text"));
    }
    let mut tx = state.store.write().await?;
    let (sha256, new) =
        tx.add_evidence(&body, &media_type, &q.name, &q.scope, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(Added { sha256, size: body.len() as u64, new }))
}

/// A file in the vault, addressed by its SHA-256.
#[derive(Serialize, JsonSchema)]
pub struct Added {
    sha256: String,
    size: u64,
    /// False when the vault already held the same bytes.
    new: bool,
}

fn sha256(text: &str) -> ApiResult<&str> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        Ok(text)
    } else {
        Err(ApiError::new(Code::BadRequest, "evidence is addressed by its SHA-256 in lowercase hex"))
    }
}

pub async fn meta(
    _: Auth<perm::EvidenceRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<OneEvidence>> {
    let evidence =
        state.store.evidence_meta(sha256(&id)?).await?.ok_or_else(|| ApiError::not_found("evidence"))?;
    Ok(Json(OneEvidence { evidence }))
}

#[derive(Serialize, JsonSchema)]
pub struct OneEvidence {
    evidence: EvidenceMeta,
}

pub async fn download(
    _: Auth<perm::EvidenceRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let sha = sha256(&id)?;
    let content = state.store.evidence_content(sha).await?.ok_or_else(|| ApiError::not_found("evidence"))?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    // The stored name is untrusted; the download is named by its address.
    let disposition = format!("attachment; filename=\"{sha}.bin\"");
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
    );
    Ok((headers, content).into_response())
}
