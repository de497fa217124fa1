//! Who is calling, and whether they may: sessions (cookie + CSRF header) and API tokens
//! (`Authorization: Bearer`), resolved to a [`Principal`] whose role and token scopes are checked
//! against the permission a handler's signature names.

pub mod csrf_form;
pub mod password;
pub mod roles;
pub mod scope;
pub mod secrets;

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use vigil_model::{TokenId, UserId};

pub use roles::{Permission, Role, perm};
pub use scope::Scope;

use crate::error::{ApiError, Code};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "vigil_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Clone, Debug)]
pub enum Via {
    Session { csrf: String },
    Token { id: TokenId, scopes: Vec<Scope> },
}

#[derive(Clone, Debug)]
pub struct Principal {
    pub name: UserId,
    pub role: Role,
    pub via: Via,
    /// Where the request came from (the trusted proxy's client when there is one).
    pub client: Option<std::net::IpAddr>,
}

impl Principal {
    /// The role allows it, and a token's scopes (`*`, a permission name) include it.
    pub fn may(&self, permission: Permission) -> bool {
        if !self.role.may(permission) {
            return false;
        }
        match &self.via {
            Via::Session { .. } => true,
            Via::Token { scopes, .. } => {
                permission == Permission::Session || scopes.iter().any(|s| s.allows(permission))
            }
        }
    }

    /// A token scoped to one webhook source (`webhook:<source>`), or to all ingest.
    pub fn may_post_to(&self, source: &str) -> bool {
        match &self.via {
            Via::Token { scopes, .. } => scopes.iter().any(|s| s.may_post_to(source)),
            Via::Session { .. } => true,
        }
    }

    /// Who the audit trail records: the person, or the person's token.
    pub fn actor(&self) -> vigil_model::Actor {
        match &self.via {
            Via::Session { .. } => vigil_model::Actor::user(self.name.to_string()),
            Via::Token { id, .. } => {
                vigil_model::Actor::Token { id: id.to_string(), owner: self.name.to_string() }
            }
        }
    }
}

/// Names a permission at the type level, so a handler's signature carries it.
pub trait Perm: Send + Sync + 'static {
    const PERMISSION: Permission;
}

/// An authenticated caller holding permission `P`. Extracting it answers 401 or 403 otherwise;
/// as a handler's first argument it runs before the body is read.
pub struct Auth<P: Perm> {
    pub principal: Principal,
    _permission: PhantomData<P>,
}

impl<P: Perm> FromRequestParts<AppState> for Auth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut principal = authenticate(parts, state).await?;
        principal.client = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| state.client_ip(c.0.ip(), &parts.headers));
        if !principal.may(P::PERMISSION) {
            let refused = ApiError::new(
                Code::Forbidden,
                format!("{} may not do this (needs {})", principal.role.as_str(), P::PERMISSION.as_str()),
            );
            return Err(audit_refusal(state, &principal, parts, refused).await);
        }
        if let Via::Session { csrf } = &principal.via {
            let safe = matches!(parts.method, Method::GET | Method::HEAD);
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !safe && sent != Some(csrf.as_str()) {
                let refused = ApiError::new(
                    Code::CsrfMismatch,
                    "this change needs the session's CSRF token (the X-CSRF-Token header, or a form's csrf_token field)",
                );
                return Err(audit_refusal(state, &principal, parts, refused).await);
            }
        }
        Ok(Auth { principal, _permission: PhantomData })
    }
}

/// Records a refused request in the audit trail (at most once a minute for each principal,
/// with how many went unrecorded in between), and hands the refusal back.
async fn audit_refusal(
    state: &AppState,
    principal: &Principal,
    parts: &Parts,
    refused: ApiError,
) -> ApiError {
    let now = state.store.clock().now_ms();
    let Some(unrecorded) = state.refusals.note(&format!("principal:{}", principal.actor()), now) else {
        return refused;
    };
    let origin = principal.client.map(|c| c.to_string()).unwrap_or_default();
    let entry = vigil_store::By::new(principal.actor(), origin).entry(
        vigil_model::AuditAction::AccessRefused,
        vigil_model::Outcome::Refused,
        format!("route:{} {}", parts.method, parts.uri.path()),
        serde_json::json!({"reason": refused.message, "unrecorded_since_last": unrecorded}),
    );
    let written = async {
        let mut tx = state.store.write().await?;
        tx.audit(entry).await?;
        tx.commit().await
    };
    if let Err(e) = written.await {
        tracing::error!(error = %e, "a refusal could not be audited");
    }
    refused
}

fn unauthenticated(why: &str) -> ApiError {
    ApiError::new(Code::Unauthenticated, why)
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let now = state.store.clock().stamp();
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        // The scheme's name is case-insensitive (RFC 9110 §11.1).
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret)
            .ok_or_else(|| unauthenticated("Authorization must be `Bearer <token>`"))?;
        let token = state
            .store
            .token_by_hash(&secrets::hash(secret.trim()))
            .await?
            .ok_or_else(|| unauthenticated("unknown token"))?;
        if token.revoked_at.is_some() {
            return Err(unauthenticated("the token was revoked"));
        }
        if token.expires_at <= now {
            return Err(unauthenticated("the token has expired"));
        }
        let role = live_role(state, &token.owner).await?;
        return Ok(Principal {
            name: token.owner,
            role,
            // A stored scope that names nothing grants nothing.
            via: Via::Token {
                id: token.id,
                scopes: token.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            },
            client: None,
        });
    }
    if let Some(secret) = cookie(parts, SESSION_COOKIE) {
        let session = state
            .store
            .session(&secrets::hash(secret))
            .await?
            .ok_or_else(|| unauthenticated("the session has ended; sign in again"))?;
        let role = live_role(state, &session.username).await?;
        return Ok(Principal {
            name: session.username,
            role,
            via: Via::Session { csrf: session.csrf },
            client: None,
        });
    }
    Err(unauthenticated("sign in, or send an API token"))
}

/// The role of an enabled user; a disabled or deleted owner's credentials stop working at once.
async fn live_role(state: &AppState, name: &UserId) -> Result<Role, ApiError> {
    let user =
        state.store.user(name).await?.ok_or_else(|| unauthenticated("the credential's user is gone"))?;
    if user.disabled {
        return Err(unauthenticated("the user is disabled"));
    }
    Role::parse(&user.role)
        .ok_or_else(|| ApiError::internal(format!("user {name} has unknown role {}", user.role)))
}
