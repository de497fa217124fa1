//! The API's errors: one table of stable codes, each with its HTTP status. A body names the code
//! and a message meant for the caller; internal detail (database errors, paths) goes to the
//! server's log under a reference, never into the response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    BadRequest,
    InvalidJson,
    Unauthenticated,
    Forbidden,
    CsrfMismatch,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    PayloadTooLarge,
    UnsupportedFormat,
    RateLimited,
    QuotaExceeded,
    Overloaded,
    Unavailable,
    ApprovalNotCounted,
    RequestChanged,
    RequestClosed,
    NotApproved,
    NoConnector,
    TargetGone,
    NothingToRollBack,
    Internal,
}

/// Every code: its name in responses, its status, what it means. The OpenAPI document lists it.
pub const CODES: &[(Code, &str, u16, &str)] = &[
    (Code::BadRequest, "bad_request", 400, "a parameter is missing or not valid"),
    (
        Code::InvalidJson,
        "invalid_json",
        400,
        "the body is not the JSON this endpoint takes (syntax, depth, unknown or missing fields)",
    ),
    (
        Code::Unauthenticated,
        "unauthenticated",
        401,
        "no valid session or token: absent, unknown, expired or revoked",
    ),
    (Code::Forbidden, "forbidden", 403, "the principal's role or token scopes do not allow this"),
    (
        Code::CsrfMismatch,
        "csrf_mismatch",
        403,
        "a session-authenticated change without the session's X-CSRF-Token",
    ),
    (Code::NotFound, "not_found", 404, "no such object"),
    (
        Code::MethodNotAllowed,
        "method_not_allowed",
        405,
        "the route exists but does not take this method; Allow lists those it takes",
    ),
    (
        Code::RequestTimeout,
        "request_timeout",
        408,
        "the body did not arrive in time (too slow for its length); nothing was stored",
    ),
    (
        Code::Conflict,
        "conflict",
        409,
        "the change conflicts with the object's state (an illegal case transition, a name in use)",
    ),
    (Code::PayloadTooLarge, "payload_too_large", 413, "the body exceeds the endpoint's limit"),
    (Code::UnsupportedFormat, "unsupported_format", 415, "no decoder has that name"),
    (Code::RateLimited, "rate_limited", 429, "too many requests from this address; see Retry-After"),
    (
        Code::QuotaExceeded,
        "quota_exceeded",
        429,
        "the credential's ingest quota (events a minute, bytes a day) is used up; nothing was stored; see Retry-After",
    ),
    (
        Code::Overloaded,
        "overloaded",
        503,
        "the ingest queue is full; nothing was stored; retry after Retry-After",
    ),
    (
        Code::Unavailable,
        "unavailable",
        503,
        "the database or the event stream does not answer; nothing was acknowledged; retry after Retry-After",
    ),
    (
        Code::ApprovalNotCounted,
        "approval_not_counted",
        403,
        "this approval could not count (the requester, a role the rule does not name, the action revokes your own credentials); nothing was recorded but the refusal",
    ),
    (
        Code::RequestChanged,
        "request_changed",
        409,
        "the request hash given is not the request's (it changed, or the policy did); read it again",
    ),
    (
        Code::RequestClosed,
        "request_closed",
        409,
        "the action request no longer awaits answers: approved, rejected, expired or forbidden",
    ),
    (
        Code::NotApproved,
        "not_approved",
        409,
        "the action request has not been approved (it awaits its quorum); nothing was queued",
    ),
    (
        Code::NoConnector,
        "no_connector",
        409,
        "no built-in action or configured connector runs this kind of action",
    ),
    (
        Code::TargetGone,
        "target_gone",
        409,
        "the action's target is not there (a deleted token, an unknown case or user)",
    ),
    (
        Code::NothingToRollBack,
        "nothing_to_roll_back",
        409,
        "the request has no succeeded run, or its action is irreversible or changes nothing that needs undoing",
    ),
    (Code::Internal, "internal", 500, "the server failed; the reference names the log entry"),
];

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), retry_after: None }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(Code::NotFound, format!("no such {what}"))
    }

    /// An internal failure: the detail is logged with a reference; the caller gets the reference.
    /// 503 with `Retry-After`: a dependency is down; the caller may send the same again later.
    pub fn unavailable(message: &str, retry_after_secs: u64) -> ApiError {
        ApiError { code: Code::Unavailable, message: message.into(), retry_after: Some(retry_after_secs) }
    }

    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        let mut bytes = [0u8; 6];
        let reference = match getrandom::fill(&mut bytes) {
            Ok(()) => hex::encode(bytes),
            Err(_) => "unavailable".into(),
        };
        tracing::error!(reference = %reference, detail = %detail, "internal error");
        ApiError::new(Code::Internal, format!("internal error; reference {reference}"))
    }
}

pub(crate) fn entry(code: Code) -> (&'static str, u16) {
    CODES
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, name, status, _)| (*name, *status))
        .unwrap_or(("internal", 500))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (name, status) = entry(self.code);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (status, Json(json!({"error": {"code": name, "message": self.message}}))).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<vigil_store::Error> for ApiError {
    fn from(e: vigil_store::Error) -> ApiError {
        match e {
            vigil_store::Error::NotFound { kind, .. } => ApiError::not_found(kind),
            vigil_store::Error::Transition(t) => ApiError::new(Code::Conflict, t.to_string()),
            vigil_store::Error::Conflict(m) => ApiError::new(Code::Conflict, m),
            ref e if e.is_unreachable() => {
                tracing::warn!(error = %e, "the database does not answer");
                ApiError::unavailable("the database does not answer; nothing was stored", STORE_RETRY_SECS)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<vigil_engine::Error> for ApiError {
    fn from(e: vigil_engine::Error) -> ApiError {
        match e {
            vigil_engine::Error::Overloaded { retry_after_secs } => ApiError {
                code: Code::Overloaded,
                message: "the ingest queue is full; nothing was stored".into(),
                retry_after: Some(retry_after_secs),
            },
            vigil_engine::Error::StreamUnavailable { reason, retry_after_secs } => {
                tracing::warn!(reason = %reason, "the event stream does not answer");
                ApiError::unavailable(
                    "the event stream does not answer; nothing was acknowledged",
                    retry_after_secs,
                )
            }
            vigil_engine::Error::NotDurable(reason) => {
                tracing::warn!(reason = %reason, "a batch could not be stored");
                ApiError::unavailable(
                    "the batch could not be stored; nothing was acknowledged",
                    STORE_RETRY_SECS,
                )
            }
            vigil_engine::Error::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

/// How long a caller is asked to wait when the database does not answer.
const STORE_RETRY_SECS: u64 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_entry_with_a_distinct_name() {
        let mut names: Vec<&str> = CODES.iter().map(|(_, n, ..)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CODES.len());
        for code in [Code::BadRequest, Code::Internal, Code::Overloaded, Code::CsrfMismatch] {
            assert!(CODES.iter().any(|(c, ..)| *c == code));
        }
    }
}
