//! Bulk ingest over HTTP: a body in any format Vigil decodes (NDJSON, CloudTrail, Okta, EVTX,
//! syslog, OCSF…), recognised from its content or named with `?format=`. The answer comes only
//! once the batch is durable, and says what became of every record that was not stored.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use vigil_engine::decode::{Rejected, decode, format_named};
use vigil_engine::ingest::Receipt;

use crate::auth::{Auth, perm};
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, PathId, valid_name};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// A decoder's name; recognised from the content when absent.
    format: Option<String>,
    /// A name for the source, kept with each event and dead letter.
    source: Option<String>,
}

#[derive(Serialize)]
pub struct IngestAnswer {
    #[serde(flatten)]
    receipt: Receipt,
    format: Option<&'static str>,
    /// The records that became dead letters, with their line and reason.
    rejected: Vec<Rejected>,
}

pub async fn bulk(
    auth: Auth<perm::Ingest>,
    State(state): State<AppState>,
    Params(query): Params<IngestQuery>,
    RawBody(body, _slot): RawBody,
) -> ApiResult<Json<IngestAnswer>> {
    let source = match &query.source {
        Some(s) if valid_name(s) => format!("http:{s}"),
        Some(_) => return Err(ApiError::new(Code::BadRequest, "source: 1-64 of a-z 0-9 . _ @ -")),
        None => format!("http:{}", auth.principal.name),
    };
    accept(&state, source, query.format.as_deref(), body.to_vec()).await.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookQuery {
    format: Option<String>,
}

/// `POST /api/v1/webhooks/{source}`: a source's own URL; its token is scoped to it
/// (`webhook:<source>`).
pub async fn webhook(
    auth: Auth<perm::Webhook>,
    State(state): State<AppState>,
    PathId(source): PathId,
    Params(query): Params<WebhookQuery>,
    RawBody(body, _slot): RawBody,
) -> ApiResult<Json<IngestAnswer>> {
    if !valid_name(&source) {
        return Err(ApiError::new(Code::BadRequest, "source: 1-64 of a-z 0-9 . _ @ -"));
    }
    if !auth.principal.may_post_to(&source) {
        return Err(ApiError::new(Code::Forbidden, "this token is not scoped to that webhook"));
    }
    accept(&state, format!("webhook:{source}"), query.format.as_deref(), body.to_vec()).await.map(Json)
}

async fn accept(
    state: &AppState,
    source: String,
    format: Option<&str>,
    body: Vec<u8>,
) -> ApiResult<IngestAnswer> {
    let format = match format {
        Some(name) => Some(format_named(name).ok_or_else(|| {
            ApiError::new(Code::UnsupportedFormat, "no decoder has that name; see vigil normalize --help")
        })?),
        None => None,
    };
    if body.is_empty() {
        return Err(ApiError::new(Code::BadRequest, "the body is empty"));
    }
    let received_at = vigil_store::time::now_ms();
    let decoded = tokio::task::spawn_blocking(move || {
        let name = if format.is_some() { "upload" } else { "upload.jsonl" };
        decode(&source, name, body, format, received_at)
    })
    .await
    .map_err(ApiError::internal)?;
    let rejected = decoded.rejected();
    let detected = decoded.events.first().map(|e| e.format.clone());
    let receipt = state.ingest.submit(decoded.events, decoded.dead).await?;
    Ok(IngestAnswer { receipt, format: detected.as_deref().and_then(format_named), rejected })
}
