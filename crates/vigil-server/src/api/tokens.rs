//! API tokens: created for a user with scopes and an expiry (the secret is shown once; only its
//! hash is kept), listed, revoked.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_model::{TokenId, UserId};
use vigil_store::{TokenRow, time};

use super::actor;
use crate::auth::{Auth, Permission, Scope, perm, secrets};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::PathId;
use crate::state::AppState;

pub async fn list(_: Auth<perm::TokenAdmin>, State(state): State<AppState>) -> ApiResult<Json<TokenList>> {
    Ok(Json(TokenList { tokens: state.store.tokens().await? }))
}

#[derive(Serialize, JsonSchema)]
pub struct TokenList {
    tokens: Vec<TokenRow>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schemars(with = "String")]
    pub owner: UserId,
    /// `*`, permission names, or `webhook:<source>`.
    pub scopes: Vec<String>,
    pub expires_in_days: u32,
}

pub async fn create(
    auth: Auth<perm::TokenAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<NewToken>,
) -> ApiResult<Json<Created>> {
    if body.scopes.is_empty()
        || body.scopes.len() > 32
        || !body.scopes.iter().all(|s| Scope::parse(s).is_some())
    {
        return Err(ApiError::new(Code::BadRequest, "scopes: *, permission names, or webhook:<source>"));
    }
    if !(1..=366).contains(&body.expires_in_days) {
        return Err(ApiError::new(Code::BadRequest, "expires_in_days: 1 to 366"));
    }
    state
        .store
        .user(&body.owner)
        .await?
        .ok_or_else(|| ApiError::new(Code::BadRequest, "owner: no such user"))?;
    // A token for someone else acts as them: it names each permission it carries, and only
    // permissions its creator holds; the trail records it as made for another user.
    if body.owner != auth.principal.name {
        for scope in body.scopes.iter().filter_map(|s| Scope::parse(s)) {
            let held = match &scope {
                Scope::All => false,
                Scope::Permission(p) => auth.principal.may(*p),
                Scope::Webhook(_) => auth.principal.may(Permission::Webhook),
            };
            if !held {
                return Err(ApiError::new(
                    Code::Forbidden,
                    format!(
                        "a token for another user carries only permissions you hold, each by name (not {scope})"
                    ),
                ));
            }
        }
    }
    let (id, secret) = secrets::new_token().map_err(ApiError::internal)?;
    let expires_at =
        time::stamp(state.store.clock().now() + chrono::Duration::days(i64::from(body.expires_in_days)));
    let token = TokenRow {
        id: TokenId::new(id.clone()),
        hash: secrets::hash(&secret),
        owner: body.owner,
        scopes: body.scopes,
        created_at: state.store.clock().stamp(),
        expires_at: expires_at.clone(),
        revoked_at: None,
        created_by: String::new(),
    };
    let mut tx = state.store.write().await?;
    tx.create_token(&token, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(Created {
        id: TokenId::new(id),
        token: secret,
        expires_at,
        note: "the token is shown once".into(),
    }))
}

/// A new token, with its secret: the only time the secret is shown.
#[derive(Serialize, JsonSchema)]
pub struct Created {
    pub id: TokenId,
    /// `vgl_<id>_<secret>`, for `Authorization: Bearer`.
    pub token: String,
    pub expires_at: String,
    note: String,
}

pub async fn revoke(
    auth: Auth<perm::TokenAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<TokenId>,
) -> ApiResult<Json<Revoked>> {
    let mut tx = state.store.write().await?;
    tx.revoke_token(&id, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(Revoked { id, revoked: true }))
}

#[derive(Serialize, JsonSchema)]
pub struct Revoked {
    id: TokenId,
    revoked: bool,
}
