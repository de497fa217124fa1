//! Local users: list, create (Argon2id-hashed password, or none for a service account), disable.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_model::UserId;
use vigil_store::UserRow;

use super::actor;
use crate::auth::{Auth, Role, password, perm};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{PathId, valid_name};
use crate::state::AppState;

pub async fn list(_: Auth<perm::UserRead>, State(state): State<AppState>) -> ApiResult<Json<UserList>> {
    Ok(Json(UserList { users: state.store.users().await? }))
}

#[derive(Serialize, JsonSchema)]
pub struct UserList {
    users: Vec<UserRow>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schemars(with = "String")]
    pub name: UserId,
    #[schemars(with = "super::names::RoleName")]
    pub role: String,
    /// Absent for a service account, which signs in only with tokens.
    pub password: Option<String>,
}

pub async fn create(
    auth: Auth<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<Json<UserRole>> {
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
    Ok(Json(UserRole { name: body.name, role }))
}

pub async fn disable(
    auth: Auth<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
) -> ApiResult<Json<UserDisabled>> {
    if name == auth.principal.name {
        return Err(ApiError::new(Code::Conflict, "you cannot disable yourself"));
    }
    let mut tx = state.store.write().await?;
    tx.set_user_disabled(&name, true, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(UserDisabled { name, disabled: true }))
}

pub async fn enable(
    auth: Auth<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
) -> ApiResult<Json<UserDisabled>> {
    let mut tx = state.store.write().await?;
    tx.set_user_disabled(&name, false, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(UserDisabled { name, disabled: false }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    #[schemars(with = "super::names::RoleName")]
    pub role: String,
}

pub async fn set_role(
    auth: Auth<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
    JsonBody(body): JsonBody<NewRole>,
) -> ApiResult<Json<UserRole>> {
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::new(Code::BadRequest, "role: admin, lead, responder, analyst, auditor or ingest")
    })?;
    if name == auth.principal.name {
        return Err(ApiError::new(Code::Conflict, "you cannot change your own role"));
    }
    let mut tx = state.store.write().await?;
    tx.set_user_role(&name, role.as_str(), &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(UserRole { name, role }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    current: String,
    new: String,
}

/// Changes the caller's own password, given the current one.
pub async fn change_password(
    auth: Auth<perm::Session>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<NewPassword>,
) -> ApiResult<Json<PasswordChanged>> {
    if !password::acceptable(&body.new) {
        return Err(ApiError::new(
            Code::BadRequest,
            format!("new: {} to 1024 characters, not all spaces", password::MIN_LENGTH),
        ));
    }
    let user = state.store.user(&auth.principal.name).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let (current, stored) = (body.current.clone(), user.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || password::verify(&current, &stored))
        .await
        .map_err(ApiError::internal)?;
    if !matches {
        return Err(ApiError::new(Code::Forbidden, "current: not your password"));
    }
    let new = body.new;
    let hash = tokio::task::spawn_blocking(move || password::hash(&new))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut tx = state.store.write().await?;
    tx.set_password(&auth.principal.name, &hash, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(PasswordChanged { name: auth.principal.name, password_changed: true }))
}

/// A user and their role, as created or changed.
#[derive(Serialize, JsonSchema)]
pub struct UserRole {
    name: UserId,
    role: Role,
}

#[derive(Serialize, JsonSchema)]
pub struct UserDisabled {
    name: UserId,
    disabled: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct PasswordChanged {
    name: UserId,
    password_changed: bool,
}
