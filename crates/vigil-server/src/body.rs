//! Request bodies: JSON for write requests (small, strict: unknown fields are refused, never
//! stored) and raw bytes for ingest (large, limited). Every failure is one of the API's codes.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The largest JSON body a write request takes.
pub const JSON_LIMIT: usize = 256 * 1024;

async fn bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(Code::PayloadTooLarge, format!("the body exceeds {limit} bytes (or was cut off)"))
    })
}

/// A JSON body of type `T`; `T` should deny unknown fields.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, ApiError> {
        let body = bytes(req.into_body(), JSON_LIMIT).await?;
        // serde_json refuses invalid UTF-8 and nesting deeper than 128 levels.
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError::new(Code::InvalidJson, format!("the body is not valid here: {e}")))
    }
}

/// How long a body of `announced` bytes may take to arrive: the base deadline plus its length at
/// the minimum rate (the largest allowed length when it is not announced).
fn deadline(state: &AppState, announced: Option<u64>, limit: usize) -> std::time::Duration {
    let length = announced.unwrap_or(limit as u64).min(limit as u64);
    let rate = state.limits.min_body_bytes_per_sec.max(1);
    state.limits.body_deadline + std::time::Duration::from_millis(length.saturating_mul(1000) / rate)
}

/// Reads an upload within its deadline, in one of `slots`; with none free, the request is
/// answered 503 before its body is read.
async fn upload(
    req: Request,
    state: &AppState,
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
) -> Result<(Bytes, tokio::sync::OwnedSemaphorePermit), ApiError> {
    let slot = slots.clone().try_acquire_owned().map_err(|_| ApiError {
        retry_after: Some(1),
        ..ApiError::new(Code::Overloaded, "too many uploads in progress; nothing was stored")
    })?;
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.limits.max_body_bytes;
    let within = deadline(state, announced, limit);
    match tokio::time::timeout(within, bytes(req.into_body(), limit)).await {
        Ok(body) => Ok((body?, slot)),
        Err(_) => Err(ApiError::new(
            Code::RequestTimeout,
            format!("the body did not arrive within {} ms; nothing was stored", within.as_millis()),
        )),
    }
}

/// A raw ingest upload, up to the server's ingest limit, read within its deadline. It holds one
/// of the server's ingest slots while it lives.
pub struct RawBody(pub Bytes, pub tokio::sync::OwnedSemaphorePermit);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (body, slot) = upload(req, state, &state.uploads).await?;
        Ok(RawBody(body, slot))
    }
}

/// An evidence upload: as [`RawBody`], in slots of its own.
pub struct EvidenceBody(pub Bytes, pub tokio::sync::OwnedSemaphorePermit);

impl FromRequest<AppState> for EvidenceBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (body, slot) = upload(req, state, &state.evidence_uploads).await?;
        Ok(EvidenceBody(body, slot))
    }
}
