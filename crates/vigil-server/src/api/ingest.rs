//! Bulk ingest over HTTP: a body in any format Vigil decodes (NDJSON, CloudTrail, Okta, EVTX,
//! syslog, OCSF…), recognised from its content or named with `?format=`. The answer comes only
//! once the batch is durable, and says what became of every record that was not stored.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use vigil_engine::decode::{Rejected, decode_for_tenant, format_named};
use vigil_engine::ingest::Receipt;

use vigil_ingest::inflate::{Inflated, inflate};

use crate::auth::{Auth, Principal, Via, perm};
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, PathId, valid_name};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// A decoder's name; recognised from the content when absent.
    format: Option<String>,
    /// A name for the source, kept with each event and dead letter.
    source: Option<String>,
    /// The tenant the events belong to, for those that do not name one themselves
    /// (`metadata.tenant_uid`). No case spans two tenants.
    tenant: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct IngestAnswer {
    #[serde(flatten)]
    receipt: Receipt,
    format: Option<&'static str>,
    /// The records that became dead letters, with their line and reason.
    rejected: Vec<Rejected>,
    /// Events whose own time could not be read or was not plausible, dated by their arrival.
    retimed: u64,
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
    if query.tenant.as_deref().is_some_and(|t| !valid_name(t)) {
        return Err(ApiError::new(Code::BadRequest, "tenant: 1-64 of a-z 0-9 . _ @ -"));
    }
    let tenant = query.tenant.clone();
    accept(&state, &auth.principal, source, query.format.as_deref(), tenant, body.to_vec()).await.map(Json)
}

#[derive(Deserialize, schemars::JsonSchema)]
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
    // A source's URL takes that source's records and nothing else: a token scoped to one
    // webhook cannot send another source's events through it.
    let Some(own) = format_named(&source) else {
        return Err(ApiError::not_found("webhook source (a webhook is named after its format)"));
    };
    if query.format.as_deref().is_some_and(|f| format_named(f) != Some(own)) {
        return Err(ApiError::new(Code::BadRequest, format!("this webhook takes {own} records only")));
    }
    let principal = &auth.principal;
    accept(&state, principal, format!("webhook:{source}"), Some(own), None, body.to_vec()).await.map(Json)
}

async fn accept(
    state: &AppState,
    principal: &Principal,
    source: String,
    format: Option<&str>,
    tenant: Option<String>,
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
    let received_at = state.store.clock().now_ms();
    let limits = state.limits.inflate;
    let decoded = tokio::task::spawn_blocking(move || {
        // Unpacked within bounds first: nothing of a bomb is decoded, let alone stored.
        let body = inflate(body, &limits)?;
        let unpacked = body.len() as u64;
        let name = if format.is_some() { "upload" } else { "upload.jsonl" };
        let decoded = decode_for_tenant(&source, name, body, format, received_at, tenant.as_deref());
        Ok::<_, Inflated>((decoded, unpacked))
    })
    .await
    .map_err(ApiError::internal)?;
    let (decoded, unpacked) = decoded.map_err(|why| {
        ApiError::new(Code::PayloadTooLarge, format!("{why}; nothing of the upload was stored"))
    })?;
    let events = decoded.events.len() as u64 + decoded.dead.len() as u64;
    state.quotas.admit(&state.limits.quota, &quota_key(principal), events, unpacked, received_at).map_err(
        |over| ApiError {
            retry_after: Some(over.retry_after_secs),
            ..ApiError::new(
                Code::QuotaExceeded,
                format!("over this credential's quota of {}; nothing was stored", over.what),
            )
        },
    )?;
    let rejected = decoded.rejected();
    let retimed = decoded.retimed;
    let detected = decoded.events.first().map(|e| e.format.clone());
    let receipt = state.ingest.submit(decoded.events, decoded.dead).await?;
    Ok(IngestAnswer { receipt, format: detected.as_deref().and_then(format_named), rejected, retimed })
}

/// Whose quota an upload counts against: the token's, or the signed-in user's.
fn quota_key(principal: &Principal) -> String {
    match &principal.via {
        Via::Token { id, .. } => format!("token:{id}"),
        Via::Session { .. } => format!("user:{}", principal.name),
    }
}
