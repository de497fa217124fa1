//! Cases: the queue, one case with its alerts, comments, timeline, entity graph and
//! recommendation, and the changes an analyst makes (assign, comment, transition), each audited.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigil_model::{AuditAction, CaseId, CaseState, Outcome, UserId};
use vigil_store::{By, CaseFilter, Comment};

use super::actor;
use super::views::{AlertView, CaseView, RecommendationBody, alerts};
use crate::auth::{Auth, Role, perm};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, PathId, limit, valid_name};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only cases in this state.
    #[schemars(with = "Option<super::names::CaseStateName>")]
    state: Option<String>,
    /// The lowest OCSF severity id to include: 0 (unknown) to 6 (fatal).
    #[schemars(range(min = 0, max = 6))]
    min_severity: Option<i64>,
    /// Only cases assigned to this user.
    assignee: Option<String>,
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

fn parse_state(name: &str) -> ApiResult<CaseState> {
    name.parse().map_err(|e: String| ApiError::new(Code::BadRequest, e))
}

pub async fn list(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<CaseList>> {
    let filter = CaseFilter {
        state: q.state.as_deref().map(parse_state).transpose()?,
        min_severity: crate::params::min_severity(q.min_severity)?,
        assignee: q.assignee.map(UserId::from),
        limit: limit(q.limit, 100, 1_000)?,
    };
    let cases = state.store.cases(&filter).await?;
    let cases = cases
        .into_iter()
        .map(|c| CaseSummary {
            id: c.id,
            title: c.title,
            state: c.state,
            severity: c.severity,
            assignee: c.assignee,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            updated_at: c.updated_at,
        })
        .collect();
    Ok(Json(CaseList { cases }))
}

#[derive(Serialize, JsonSchema)]
pub struct CaseList {
    cases: Vec<CaseSummary>,
}

/// A case in the queue: its columns, without its document.
#[derive(Serialize, JsonSchema)]
pub struct CaseSummary {
    id: CaseId,
    title: String,
    state: CaseState,
    /// OCSF severity id.
    severity: i64,
    assignee: Option<UserId>,
    first_seen: String,
    last_seen: String,
    updated_at: String,
}

async fn case_or_404(state: &AppState, id: &CaseId) -> ApiResult<vigil_store::CaseRow> {
    state.store.case(id).await?.ok_or_else(|| ApiError::not_found("case"))
}

pub async fn detail(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(detail_of(&state, &id).await?))
}

/// A case with its alerts, comments and newest recommendation.
pub(crate) async fn detail_of(state: &AppState, id: &CaseId) -> ApiResult<CaseDetail> {
    let (state, id) = (state.clone(), id.clone());
    let case = case_or_404(&state, &id).await?;
    let alerts = alerts(state.store.case_alerts(&id).await?);
    let comments = state.store.case_comments(&id).await?;
    let recommendation = state
        .store
        .recommendation(&id)
        .await?
        .map(|(version, body)| VersionedRecommendation { version, body: RecommendationBody(body) });
    Ok(CaseDetail { case: case.into(), alerts, comments, recommendation })
}

#[derive(Serialize, JsonSchema)]
pub struct CaseDetail {
    case: CaseView,
    alerts: Vec<AlertView>,
    comments: Vec<Comment>,
    /// The newest recommendation, if the built-in analyst has drafted one.
    recommendation: Option<VersionedRecommendation>,
}

#[derive(Serialize, JsonSchema)]
pub struct VersionedRecommendation {
    /// 1 for the first draft, one more for each redraft as the case grows.
    version: i64,
    body: RecommendationBody,
}

pub async fn timeline(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<Timeline>> {
    let case = case_or_404(&state, &id).await?;
    let timeline = case.body.get("timeline").cloned().unwrap_or_else(|| Value::Array(Vec::new()));
    Ok(Json(Timeline { case: id, timeline }))
}

#[derive(Serialize, JsonSchema)]
pub struct Timeline {
    case: CaseId,
    #[schemars(with = "Vec<vigil_correlate::TimelineEntry>")]
    timeline: Value,
}

/// The entity graph: alerts and entities as nodes, an edge where an alert names an entity.
pub async fn graph(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<Graph>> {
    case_or_404(&state, &id).await?;
    let alerts = state.store.case_alerts(&id).await?;
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for alert in &alerts {
        let from = format!("alert:{}", alert.id);
        nodes.push(Node { id: from.clone(), kind: "alert".into(), label: alert.title.clone() });
        for entity in alert.finding.get("entities").and_then(Value::as_array).into_iter().flatten() {
            let (Some(kind), Some(key)) =
                (entity.get("kind").and_then(Value::as_str), entity.get("key").and_then(Value::as_str))
            else {
                continue;
            };
            let node = format!("{kind}:{key}");
            if seen.insert(node.clone()) {
                nodes.push(Node { id: node.clone(), kind: kind.into(), label: key.into() });
            }
            edges.push(Edge { from: from.clone(), to: node });
        }
    }
    Ok(Json(Graph { case: id, nodes, edges }))
}

#[derive(Serialize, JsonSchema)]
pub struct Graph {
    case: CaseId,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// An alert (`alert:<id>`) or an entity (`<kind>:<key>`).
#[derive(Serialize, JsonSchema)]
pub struct Node {
    id: String,
    /// `alert`, or the entity's kind.
    kind: String,
    label: String,
}

/// An alert naming an entity.
#[derive(Serialize, JsonSchema)]
pub struct Edge {
    from: String,
    to: String,
}

pub async fn recommendation(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> ApiResult<Json<CaseRecommendation>> {
    case_or_404(&state, &id).await?;
    let (version, body) =
        state.store.recommendation(&id).await?.ok_or_else(|| ApiError::not_found("recommendation"))?;
    Ok(Json(CaseRecommendation { case: id, version, recommendation: RecommendationBody(body) }))
}

#[derive(Serialize, JsonSchema)]
pub struct CaseRecommendation {
    case: CaseId,
    version: i64,
    recommendation: RecommendationBody,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TransitionRequest")]
pub struct Transition {
    /// The state to move to.
    #[schemars(with = "super::names::CaseStateName")]
    to: String,
    /// Why, in words: kept with the move in the case's history and the audit trail.
    reason: String,
}

pub async fn transition(
    auth: Auth<perm::CaseWrite>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
    JsonBody(body): JsonBody<Transition>,
) -> ApiResult<Response> {
    let to = parse_state(&body.to)?;
    if body.reason.trim().is_empty() || body.reason.chars().count() > 2_000 {
        return Err(ApiError::new(Code::BadRequest, "reason: 1 to 2000 characters"));
    }
    let by = actor(&auth.principal, from);
    let case = case_or_404(&state, &id).await?;
    let judged_malicious = state
        .store
        .recommendation(&id)
        .await?
        .is_some_and(|(_, r)| r.get("verdict").and_then(Value::as_str) == Some("malicious"));
    let mut reason = body.reason.clone();
    let mut confirmed_by = None;
    if vigil_model::close_needs_second_person(to, case.severity, judged_malicious) {
        // The case as read above carries its lifecycle: its moves so far bind the request.
        let moves = case.body["lifecycle"]["history"].as_array().map_or(0, |h| h.len() as i64);
        let me = &auth.principal.name;
        match state.store.close_request(&id).await? {
            // The same closing, asked for by someone else, with the case as it was then.
            Some(asked) if asked.to == to && asked.bound_moves == moves && asked.requested_by != *me => {
                if !matches!(auth.principal.role, Role::Lead | Role::Admin) {
                    return Err(ApiError::new(
                        Code::Forbidden,
                        "confirming this closing needs the lead role",
                    ));
                }
                reason = format!("{} (confirmed by {me}: {})", asked.reason, body.reason);
                confirmed_by = Some(me.clone());
            }
            Some(asked) if asked.to == to && asked.bound_moves == moves => {
                return Err(ApiError::new(
                    Code::Conflict,
                    "this closing waits for a second person with the lead role; it cannot be you",
                ));
            }
            // None waiting, another closing, or the case has moved since: a new request.
            _ => {
                let request = vigil_store::CloseRequest {
                    case_id: id.clone(),
                    to,
                    reason: body.reason.clone(),
                    requested_by: me.clone(),
                    bound_moves: moves,
                    at: String::new(),
                };
                let mut tx = state.store.write().await?;
                tx.request_close(&request, &by).await?;
                tx.commit().await?;
                let answer = ClosePending {
                    case: id,
                    to,
                    pending: true,
                    waits_for: "a second person with the lead role, asking for the same closing".into(),
                };
                return Ok((StatusCode::ACCEPTED, Json(answer)).into_response());
            }
        }
    }
    // What the closing teaches is worked out before the write transaction opens (it replays
    // stored alerts), and filed inside it, with the closing.
    let learning = crate::learning::tasks_on_closing(&state, &id, to).await;
    let mut tx = state.store.write().await?;
    // The transition table says who may make which move (a person cannot approve or execute).
    let was = match tx.transition_case(&id, to, &reason, &by).await {
        Ok(was) => was,
        Err(vigil_store::Error::Transition(refused)) => {
            drop(tx);
            // A refused change is audited as refused, in a transaction of its own.
            let mut audit = state.store.write().await?;
            audit
                .audit(by.entry(
                    AuditAction::CaseTransition,
                    Outcome::Refused,
                    format!("case:{id}"),
                    json!({"to": to, "reason": body.reason, "refused": refused.to_string()}),
                ))
                .await?;
            audit.commit().await?;
            return Err(ApiError::new(Code::Conflict, refused.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    tx.clear_close_request(&id).await?;
    // A person's close or reopen is a verdict (or takes one back), kept with the state.
    vigil_engine::verdicts::record(&state.store, &mut tx, &id, to, &by).await?;
    let learner = By::vigil(vigil_model::Component::Learning);
    for task in &learning {
        tx.file_learning_task(task, &learner).await?;
    }
    tx.commit().await?;
    Ok(Json(Moved { case: id, from: was, to, confirmed_by }).into_response())
}

/// A case moved.
#[derive(Serialize, JsonSchema)]
pub struct Moved {
    case: CaseId,
    from: CaseState,
    to: CaseState,
    /// The lead who confirmed a closing that needed a second person.
    confirmed_by: Option<UserId>,
}

/// A closing that needs a second person, recorded and waiting (answered 202).
#[derive(Serialize, JsonSchema)]
pub struct ClosePending {
    case: CaseId,
    to: CaseState,
    pending: bool,
    waits_for: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    #[schemars(with = "Option<String>")]
    pub(crate) assignee: Option<UserId>,
}

pub async fn assign(
    auth: Auth<perm::CaseWrite>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
    JsonBody(body): JsonBody<Assign>,
) -> ApiResult<Json<Assigned>> {
    if let Some(name) = &body.assignee {
        // A case goes to a person who can work it: not a disabled account, not a service.
        let user = if valid_name(name.as_str()) { state.store.user(name).await? } else { None };
        match user {
            None => return Err(ApiError::new(Code::BadRequest, "assignee: no such user")),
            Some(u) if u.disabled => {
                return Err(ApiError::new(Code::BadRequest, "assignee: the user is disabled"));
            }
            Some(u) if u.role == crate::auth::Role::Ingest.as_str() => {
                return Err(ApiError::new(
                    Code::BadRequest,
                    "assignee: an ingest service account works no cases",
                ));
            }
            Some(_) => {}
        }
    }
    let mut tx = state.store.write().await?;
    tx.assign_case(&id, body.assignee.as_ref(), &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(Assigned { case: id, assignee: body.assignee }))
}

#[derive(Serialize, JsonSchema)]
pub struct Assigned {
    case: CaseId,
    assignee: Option<UserId>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub(crate) body: String,
}

pub async fn comment(
    auth: Auth<perm::CaseWrite>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
    JsonBody(body): JsonBody<NewComment>,
) -> ApiResult<Json<Commented>> {
    if body.body.trim().is_empty() || body.body.chars().count() > 20_000 {
        return Err(ApiError::new(Code::BadRequest, "body: 1 to 20000 characters"));
    }
    let mut tx = state.store.write().await?;
    tx.comment_case(&id, &body.body, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    Ok(Json(Commented { case: id, commented: true }))
}

#[derive(Serialize, JsonSchema)]
pub struct Commented {
    case: CaseId,
    commented: bool,
}
