//! Signing in and out. Sign-in is rate-limited per client address; failures in a row lock the
//! account for a while; every attempt is audited. The session cookie is HttpOnly, Secure and
//! SameSite=Strict; changes made with it also need the CSRF token the sign-in returned.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use vigil_model::UserId;
use vigil_store::{By, time};

use crate::auth::{Auth, SESSION_COOKIE, Via, password, perm, secrets};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    name: UserId,
    password: String,
}

fn wrong() -> ApiError {
    ApiError::new(Code::Unauthenticated, "wrong user name or password")
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<Response> {
    if !state.admit_login(from.ip()) {
        return Err(ApiError {
            retry_after: Some(60),
            ..ApiError::new(Code::RateLimited, "too many sign-in attempts")
        });
    }
    // A name no user can have is refused before it reaches the audit trail.
    if !crate::params::valid_name(body.name.as_str()) || body.password.len() > 1_024 {
        return Err(wrong());
    }
    let origin = By::user(body.name.to_string(), from.ip().to_string());
    let Some(user) = state.store.user(&body.name).await? else {
        password::verify_nobody(&body.password);
        let mut tx = state.store.write().await?;
        tx.record_login(&body.name, false, None, &origin).await?;
        tx.commit().await?;
        return Err(wrong());
    };
    let now = state.store.clock().stamp();
    if user.locked_until.as_deref().is_some_and(|until| until > now.as_str()) {
        return Err(ApiError::new(
            Code::AccountLocked,
            "the account is locked after repeated failed sign-ins",
        ));
    }
    let stored = user.password_hash.clone();
    let given = body.password.clone();
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .map_err(ApiError::internal)?;
    if !matches || user.disabled {
        let lock = (user.failed_logins + 1 >= state.limits.lockout_after)
            .then(|| time::stamp(state.store.clock().now() + state.limits.lockout));
        let mut tx = state.store.write().await?;
        tx.record_login(&user.name, false, lock.as_deref(), &origin).await?;
        tx.commit().await?;
        return Err(wrong());
    }
    let secret = secrets::random_hex(32).map_err(ApiError::internal)?;
    let csrf = secrets::random_hex(16).map_err(ApiError::internal)?;
    let expires = time::stamp(state.store.clock().now() + state.limits.session_lifetime);
    let mut tx = state.store.write().await?;
    tx.record_login(&user.name, true, None, &origin).await?;
    tx.create_session(&secrets::hash(&secret), &user.name, &csrf, &expires).await?;
    tx.commit().await?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        state.limits.session_lifetime.as_secs()
    );
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok((
        headers,
        Json(json!({"name": user.name, "role": user.role, "csrf_token": csrf, "expires_at": expires})),
    )
        .into_response())
}

pub async fn logout(
    auth: Auth<perm::Session>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Via::Session { .. } = auth.principal.via {
        let secret = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.to_owned());
        if let Some(secret) = secret {
            let mut tx = state.store.write().await?;
            tx.delete_session(&secrets::hash(&secret)).await?;
            tx.commit().await?;
        }
    }
    let mut out = HeaderMap::new();
    out.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("vigil_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"),
    );
    Ok((out, Json(json!({"signed_out": true}))).into_response())
}
