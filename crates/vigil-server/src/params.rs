//! Path and query parameters, with failures reported in the API's own error format.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The one path parameter of a route (`{id}`, `{name}`, `{sha256}`, `{source}`), as the id type
/// the route takes (`PathId<CaseId>`), or as text.
pub struct PathId<T = String>(pub T);

impl<T: From<String> + Send> FromRequestParts<AppState> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(Code::BadRequest, format!("path parameter: {e}")))?;
        if id.is_empty() || id.len() > 256 {
            return Err(ApiError::new(Code::BadRequest, "path parameter: 1 to 256 characters"));
        }
        Ok(PathId(T::from(id)))
    }
}

/// Query parameters of type `T`; `T` should deny unknown fields.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_query(parts.uri.query().unwrap_or_default())?;
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

/// Refuses a query string a parameter of which is not UTF-8 once percent-decoded, or holds a
/// control character: decoding those lossily, or passing a NUL to the database (which ends the
/// text there), would answer a different question from the one asked.
fn check_query(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        for part in [name, value] {
            let bytes = percent_decode(part);
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Err(ApiError::new(Code::BadRequest, format!("query: {name:?} is not UTF-8")));
            };
            if text.chars().any(char::is_control) {
                return Err(ApiError::new(
                    Code::BadRequest,
                    format!("query: {name:?} holds a control character"),
                ));
            }
        }
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits stands for itself.
pub(crate) fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A limit parameter: `default` when absent, 400 outside 1 to `max`.
pub fn limit(requested: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match requested {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::new(Code::BadRequest, format!("limit: {n} is not between 1 and {max}"))),
    }
}

/// A minimum OCSF severity id parameter: 0 (Unknown) to 6 (Fatal).
pub fn min_severity(requested: Option<i64>) -> Result<Option<i64>, ApiError> {
    match requested {
        Some(n) if !(0..=6).contains(&n) => Err(ApiError::new(
            Code::BadRequest,
            format!("min_severity: {n} is not an OCSF severity id (0 to 6)"),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_that_is_not_utf8_or_holds_a_control_character_is_refused() {
        assert!(check_query("q=%00%ff").is_err());
        assert!(check_query("q=%ff").is_err());
        assert!(check_query("q=a%0Ab").is_err());
        assert!(check_query("q=caf%C3%A9+au+lait&limit=5").is_ok());
        assert!(check_query("q=100%").is_ok());
        assert_eq!(percent_decode("a+b%41%4"), b"a bA%4");
    }

    #[test]
    fn a_limit_outside_its_range_is_refused() {
        assert_eq!(limit(None, 100, 1_000).ok(), Some(100));
        assert_eq!(limit(Some(1_000), 100, 1_000).ok(), Some(1_000));
        for bad in [-1, 0, 1_001] {
            assert!(limit(Some(bad), 100, 1_000).is_err(), "{bad}");
        }
    }
}
