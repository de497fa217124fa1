//! Path and query parameters, with failures reported in the API's own error format.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The one path parameter of a route (`{id}`, `{name}`, `{sha256}`, `{source}`).
pub struct PathId(pub String);

impl FromRequestParts<AppState> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(Code::BadRequest, format!("path parameter: {e}")))?;
        if id.is_empty() || id.len() > 256 {
            return Err(ApiError::new(Code::BadRequest, "path parameter: 1 to 256 characters"));
        }
        Ok(PathId(id))
    }
}

/// Query parameters of type `T`; `T` should deny unknown fields.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Params(t))
            .map_err(|e| ApiError::new(Code::BadRequest, format!("query: {}", e.body_text())))
    }
}

/// A name Vigil accepts for users, sources and scopes: 1–64 of `a-z 0-9 . _ @ -`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b))
}

/// A limit parameter, clamped.
pub fn limit(requested: Option<i64>, default: i64, max: i64) -> i64 {
    requested.unwrap_or(default).clamp(1, max)
}
