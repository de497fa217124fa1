//! Signing in and out. Sign-in is rate-limited per client address (the trusted proxy's client
//! when there is one); failures in a row throttle the account with a growing wait, answered as
//! any wrong password is; every attempt is audited, rate-limited ones once a minute an address. The session cookie is HttpOnly, Secure and
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

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schemars(with = "String")]
    pub(crate) name: UserId,
    pub(crate) password: String,
}

fn wrong() -> ApiError {
    ApiError::new(Code::Unauthenticated, "wrong user name or password")
}

/// How long an account waits before its next sign-in is checked, after `failures` in a row:
/// nothing before `lockout_after`, then a second, doubling with each failure up to `lockout`.
fn throttle(limits: &crate::state::Limits, failures: i64) -> Option<chrono::Duration> {
    let over = failures - limits.lockout_after;
    if over < 0 {
        return None;
    }
    let cap = chrono::Duration::from_std(limits.lockout).unwrap_or(chrono::Duration::minutes(15));
    let wait = chrono::Duration::seconds(1_i64 << over.min(30));
    Some(wait.min(cap))
}

/// Audits a refused sign-in that never reached the account's own record.
async fn refuse(state: &AppState, origin: &By, name: &str, reason: &str, unrecorded: u64) -> ApiResult<()> {
    let mut tx = state.store.write().await?;
    tx.audit(origin.entry(
        vigil_model::AuditAction::UserLogin,
        vigil_model::Outcome::Refused,
        format!("user:{name}"),
        json!({"reason": reason, "unrecorded_since_last": unrecorded}),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<Response> {
    let (cookie, answer) = sign_in(&state, from, &headers, body).await?;
    Ok((cookie, Json(answer)).into_response())
}

/// Checks a name and password (rate-limited, throttled, audited) and opens a session: the
/// `Set-Cookie` header and what the session is. The API's sign-in and the sign-in page share it.
pub(crate) async fn sign_in(
    state: &AppState,
    from: SocketAddr,
    headers: &HeaderMap,
    body: Login,
) -> ApiResult<(HeaderMap, SignedIn)> {
    let state = state.clone();
    let client = state.client_ip(from.ip(), headers);
    // What the trail names: the name as given, cut to what a name may be (it may be anything).
    let named: String = body.name.as_str().chars().take(64).collect();
    let origin = By::user(named.clone(), client.to_string());
    if !state.admit_login(client) {
        // Recorded once a minute for the address, with how many were refused since.
        if let Some(unrecorded) =
            state.refusals.note(&format!("login:{client}"), state.store.clock().now_ms())
        {
            refuse(&state, &origin, &named, "too many sign-in attempts from this address", unrecorded)
                .await?;
        }
        return Err(ApiError {
            retry_after: Some(60),
            ..ApiError::new(Code::RateLimited, "too many sign-in attempts")
        });
    }
    if !crate::params::valid_name(body.name.as_str()) {
        password::verify_nobody(&body.password);
        refuse(&state, &origin, &named, "no account can have that name", 0).await?;
        return Err(wrong());
    }
    if body.password.chars().count() > 1_024 {
        refuse(&state, &origin, &named, "the password is longer than 1024 characters", 0).await?;
        return Err(wrong());
    }
    let Some(user) = state.store.user(&body.name).await? else {
        password::verify_nobody(&body.password);
        let mut tx = state.store.write().await?;
        tx.record_login(&body.name, false, None, &origin).await?;
        tx.commit().await?;
        return Err(wrong());
    };
    let now = state.store.clock().stamp();
    // A throttled account answers as a wrong password does, and as an unknown name does: the
    // answer tells no one which names exist, and no guess is checked until the wait is over.
    if user.locked_until.as_deref().is_some_and(|until| until > now.as_str()) {
        password::verify_nobody(&body.password);
        // Once a minute for the account, whichever addresses the attempts come from: many
        // addresses hammering one account must not flood the trail either.
        if let Some(unrecorded) =
            state.refusals.note(&format!("throttled:{}", user.name), state.store.clock().now_ms())
        {
            let reason = format!("throttled after {} failed sign-ins in a row", user.failed_logins);
            refuse(&state, &origin, &named, &reason, unrecorded).await?;
        }
        return Err(wrong());
    }
    let stored = user.password_hash.clone();
    let given = body.password.clone();
    let matches = tokio::task::spawn_blocking(move || password::verify(&given, &stored))
        .await
        .map_err(ApiError::internal)?;
    if !matches || user.disabled {
        let failures = user.failed_logins + 1;
        let wait = throttle(&state.limits, failures);
        let until = wait.map(|w| time::stamp(state.store.clock().now() + w));
        let mut tx = state.store.write().await?;
        tx.record_login(&user.name, false, until.as_deref(), &origin).await?;
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
    let answer = SignedIn { name: user.name, role: user.role, csrf_token: csrf, expires_at: expires };
    Ok((headers, answer))
}

/// A session: its cookie is set; changes made with it send `csrf_token` as `X-CSRF-Token`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct SignedIn {
    name: UserId,
    #[schemars(with = "super::names::RoleName")]
    pub(crate) role: String,
    csrf_token: String,
    expires_at: String,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct SignedOut {
    signed_out: bool,
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
    Ok((out, Json(SignedOut { signed_out: true })).into_response())
}
