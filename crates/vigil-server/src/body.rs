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

/// A raw upload, up to the server's ingest limit. It holds one of the server's upload slots
/// while it lives; with none free, the request is answered 503 before its body is read.
pub struct RawBody(pub Bytes, pub tokio::sync::OwnedSemaphorePermit);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let slot = state.uploads.clone().try_acquire_owned().map_err(|_| ApiError {
            retry_after: Some(1),
            ..ApiError::new(Code::Overloaded, "too many uploads in progress; nothing was stored")
        })?;
        let body = bytes(req.into_body(), state.limits.max_body_bytes).await?;
        Ok(RawBody(body, slot))
    }
}
