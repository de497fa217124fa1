//! HTML forms cannot send the `X-CSRF-Token` header, so a session's form posts carry the token
//! as the `csrf_token` field instead. This layer reads that field from a form body (bounded as
//! every write body is) and presents it as the header, so the one CSRF check in `Auth` judges
//! both ways of sending it. A request that already has the header is left alone.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::CSRF_HEADER;
use crate::body::JSON_LIMIT;
use crate::error::{ApiError, Code};

/// The form field that carries the session's CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

fn is_form(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// The `csrf_token` field of a form body, decoded.
fn field(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == CSRF_FIELD)
            .then(|| String::from_utf8_lossy(&crate::params::percent_decode(value)).into_owned())
    })
}

pub async fn layer(request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !unsafe_method || !is_form(&request) || request.headers().contains_key(CSRF_HEADER) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, JSON_LIMIT).await else {
        return ApiError::new(
            Code::PayloadTooLarge,
            format!("the body exceeds {JSON_LIMIT} bytes (or was cut off)"),
        )
        .into_response();
    };
    if let Some(token) = field(&bytes).and_then(|t| HeaderValue::from_str(&t).ok()) {
        parts.headers.insert(CSRF_HEADER, token);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_its_field_and_nowhere_else() {
        assert_eq!(field(b"reason=done&csrf_token=ab%2Bc").as_deref(), Some("ab+c"));
        assert_eq!(field(b"xcsrf_token=ab&csrf_tokens=cd"), None);
        assert_eq!(field(b"\xff\xfe"), None);
    }
}
