//! Local users: list, create (Argon2id-hashed password, or none for a service account), disable.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_model::UserId;

use super::actor;
use crate::auth::{Auth, Role, password, perm};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{PathId, valid_name};
use crate::state::AppState;

pub async fn list(_: Auth<perm::UserRead>, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "users": state.store.users().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: UserId,
    role: String,
    /// Absent for a service account, which signs in only with tokens.
    password: Option<String>,
}

pub async fn create(
    auth: Auth<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<Json<Value>> {
    if !valid_name(body.name.as_str()) {
        return Err(ApiError::new(Code::BadRequest, "name: 1-64 of a-z 0-9 . _ @ -"));
    }
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::new(Code::BadRequest, "role: admin, lead, responder, analyst, auditor or ingest")
    })?;
    let hash = match body.password {
        Some(p) if !password::acceptable(&p) => {
            return Err(ApiError::new(
                Code::BadRequest,
                format!("password: {} to 1024 characters, not all spaces", password::MIN_LENGTH),
            ));
        }
        Some(p) => tokio::task::spawn_blocking(move || password::hash(&p))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?,
        None => "!".to_owned(),
    };
    let mut tx = state.store.write().await?;
    tx.create_user(&body.name, role.as_str(), &hash, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(json!({"name": body.name, "role": role})))
}

pub async fn disable(
    auth: Auth<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
) -> ApiResult<Json<Value>> {
    if name == auth.principal.name {
        return Err(ApiError::new(Code::Conflict, "you cannot disable yourself"));
    }
    let mut tx = state.store.write().await?;
    tx.set_user_disabled(&name, true, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(json!({"name": name, "disabled": true})))
}
