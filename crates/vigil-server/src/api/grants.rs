//! Auditor grants. A lead grants an auditor chosen cases, or the cases of a period, until a
//! date; the auditor reads those cases and their incident packets through `/api/v1/granted/…`
//! (and the pages under `/ui/granted`), and nothing else of the queue. Every such read is an
//! `auditor.view` audit record; a grant expires by itself (it is checked against the store's
//! clock at every read) and can be revoked.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_model::CaseId;
use vigil_store::{CaseFilter, CaseRow, Grant};

use super::actor;
use super::cases::CaseDetail;
use super::views::CaseView;
use crate::auth::{Auth, Principal, Role, perm};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::PathId;
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// The auditor's user name (a user with the auditor role).
    auditor: String,
    /// One case; or, instead, a period:
    case: Option<String>,
    /// The period's start (RFC 3339): the cases with events in it.
    from: Option<String>,
    /// The period's end (RFC 3339).
    to: Option<String>,
    /// When the grant ends by itself (RFC 3339), at most a year from now.
    expires_at: String,
    /// Why, for the record.
    reason: String,
}

#[derive(Serialize, JsonSchema)]
pub struct GrantList {
    grants: Vec<Grant>,
}

#[derive(Serialize, JsonSchema)]
pub struct GrantedCases {
    /// The grants in force, and the cases they cover.
    grants: Vec<Grant>,
    cases: Vec<CaseView>,
}

fn time(field: &str, text: &str) -> ApiResult<String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| vigil_store::time::stamp(t.to_utc()))
        .map_err(|_| ApiError::new(Code::BadRequest, format!("{field}: a time like 2026-12-31T00:00:00Z")))
}

pub async fn create(
    auth: Auth<perm::GrantAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<NewGrant>,
) -> ApiResult<Json<Grant>> {
    let store = &state.store;
    let auditor = store.user(&body.auditor.as_str().into()).await?;
    if auditor.as_ref().map(|u| u.role.as_str()) != Some(Role::Auditor.as_str()) {
        return Err(ApiError::new(Code::BadRequest, "auditor: a user with the auditor role"));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1_000 {
        return Err(ApiError::new(Code::BadRequest, "reason: 1 to 1000 characters"));
    }
    let now = store.clock().now();
    let expires_at = time("expires_at", &body.expires_at)?;
    let latest = vigil_store::time::stamp(now + chrono::Duration::days(366));
    if expires_at <= store.clock().stamp() || expires_at > latest {
        return Err(ApiError::new(Code::BadRequest, "expires_at: in the future, at most a year away"));
    }
    let (case_id, from_at, to_at) = match (&body.case, &body.from, &body.to) {
        (Some(case), None, None) => {
            store.case(&CaseId::new(case.clone())).await?.ok_or_else(|| ApiError::not_found("case"))?;
            (Some(case.clone()), None, None)
        }
        (None, Some(f), Some(t)) => {
            let (f, t) = (time("from", f)?, time("to", t)?);
            if f >= t {
                return Err(ApiError::new(Code::BadRequest, "from: before to"));
            }
            (None, Some(f), Some(t))
        }
        _ => return Err(ApiError::new(Code::BadRequest, "a case, or a period (from and to), not both")),
    };
    let grant = Grant {
        id: format!("grant_{}", crate::auth::secrets::random_hex(8).map_err(ApiError::internal)?),
        auditor: body.auditor,
        case_id,
        from_at,
        to_at,
        expires_at,
        reason: reason.to_owned(),
        granted_by: auth.principal.name.as_str().to_owned(),
        granted_at: store.clock().stamp(),
        revoked_at: None,
    };
    let mut tx = store.write().await?;
    tx.create_grant(&grant, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(grant))
}

pub async fn list(_: Auth<perm::GrantAdmin>, State(state): State<AppState>) -> ApiResult<Json<GrantList>> {
    Ok(Json(GrantList { grants: state.store.grants().await? }))
}

pub async fn revoke(
    auth: Auth<perm::GrantAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
) -> ApiResult<Json<GrantList>> {
    let mut tx = state.store.write().await?;
    let revoked = tx.revoke_grant(&id, &state.store.clock().stamp(), &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    if !revoked {
        return Err(ApiError::not_found("grant in force"));
    }
    Ok(Json(GrantList { grants: state.store.grants().await? }))
}

/// The principal's grants in force now.
async fn live(state: &AppState, who: &Principal) -> ApiResult<Vec<Grant>> {
    Ok(state.store.live_grants(who.name.as_str(), &state.store.clock().stamp()).await?)
}

/// The case, if a grant in force covers it for `who`; "no such case" otherwise, so an auditor
/// learns nothing of cases not granted, not even that they exist.
pub(crate) async fn covered(state: &AppState, who: &Principal, id: &CaseId) -> ApiResult<CaseRow> {
    let grants = live(state, who).await?;
    let case = state.store.case(id).await?.ok_or_else(|| ApiError::not_found("case"))?;
    if grants.iter().any(|g| g.covers(case.id.as_str(), &case.first_seen, &case.last_seen)) {
        Ok(case)
    } else {
        Err(ApiError::not_found("case"))
    }
}

/// Of `ids`, the cases a grant in force covers for `who` (the reports keep only those).
pub(crate) async fn covered_ids(
    state: &AppState,
    who: &Principal,
    ids: impl IntoIterator<Item = String>,
) -> ApiResult<std::collections::HashSet<String>> {
    let grants = live(state, who).await?;
    let mut out = std::collections::HashSet::new();
    for id in ids {
        if let Some(case) = state.store.case(&CaseId::new(id.clone())).await?
            && grants.iter().any(|g| g.covers(&id, &case.first_seen, &case.last_seen))
        {
            out.insert(id);
        }
    }
    Ok(out)
}

/// The cases the principal's grants cover now.
pub(crate) async fn granted_cases(
    state: &AppState,
    who: &Principal,
) -> ApiResult<(Vec<Grant>, Vec<CaseRow>)> {
    let grants = live(state, who).await?;
    let mut cases: Vec<CaseRow> = Vec::new();
    for grant in grants.iter().filter(|g| g.case_id.is_some()) {
        if let Some(id) = &grant.case_id
            && let Some(case) = state.store.case(&CaseId::new(id.clone())).await?
            && !cases.iter().any(|c| c.id == case.id)
        {
            cases.push(case);
        }
    }
    if grants.iter().any(|g| g.case_id.is_none()) {
        let all = state.store.cases(&CaseFilter { limit: 10_000, ..CaseFilter::default() }).await?;
        for case in all {
            if grants
                .iter()
                .any(|g| g.case_id.is_none() && g.covers(case.id.as_str(), &case.first_seen, &case.last_seen))
                && !cases.iter().any(|c| c.id == case.id)
            {
                cases.push(case);
            }
        }
    }
    Ok((grants, cases))
}

/// Records that someone who reads cases only through grants read a report.
pub(crate) async fn audit_report_view(
    state: &AppState,
    who: &Principal,
    from: SocketAddr,
    what: &str,
) -> ApiResult<()> {
    let mut tx = state.store.write().await?;
    tx.audit_auditor_view("reports", what, &actor(who, from)).await?;
    tx.commit().await?;
    Ok(())
}

/// Records an auditor's read, in its own transaction, before the answer goes out.
pub(crate) async fn audit_view(
    state: &AppState,
    who: &Principal,
    from: SocketAddr,
    case: Option<&CaseId>,
    what: &str,
) -> ApiResult<()> {
    let target = case.map_or_else(|| "grants".to_owned(), |c| format!("case:{c}"));
    let mut tx = state.store.write().await?;
    tx.audit_auditor_view(&target, what, &actor(who, from)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn cases(
    auth: Auth<perm::GrantRead>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
) -> ApiResult<Json<GrantedCases>> {
    let (grants, cases) = granted_cases(&state, &auth.principal).await?;
    audit_view(&state, &auth.principal, from, None, "granted cases").await?;
    Ok(Json(GrantedCases { grants, cases: cases.into_iter().map(CaseView::from).collect() }))
}

pub async fn case(
    auth: Auth<perm::GrantRead>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<CaseDetail>> {
    covered(&state, &auth.principal, &id).await?;
    audit_view(&state, &auth.principal, from, Some(&id), "case").await?;
    Ok(Json(super::cases::detail_of(&state, &id).await?))
}

pub async fn packet(
    auth: Auth<perm::GrantRead>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Response> {
    covered(&state, &auth.principal, &id).await?;
    audit_view(&state, &auth.principal, from, Some(&id), "packet").await?;
    super::packets::packet_of(&state, &id).await
}
