//! Response action requests over HTTP: propose one on a case (the policy decides at once what
//! it needs), list them, my approvals inbox, one request with its answers, and approve or
//! reject with a rationale bound to the request's hash. An answer that cannot count is refused
//! and the refusal audited; one that completes the quorum approves the request (and moves its
//! case to `approved`) in the same transaction. Nothing here runs an action.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigil_model::{ActionRequest, AuditAction, CaseId, CaseState, Component, Outcome, Requester, UserId};
use vigil_policy::{Approval, Authorization, Context, Tier, Verdict, authorize, decide};
use vigil_store::{ActionRequestRow, ActionStatus, ApprovalRow, By, time};

use super::actor;
use crate::auth::{Auth, Principal, perm, secrets};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, PathId, limit};
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Propose {
    /// An action's name (`vigil policy explain default --action list`).
    action: String,
    /// What it acts on, as `kind key` (`host ws-12`); absent for an action on the case.
    target: Option<String>,
    #[serde(default)]
    parameters: std::collections::BTreeMap<String, Value>,
}

/// A request, the policy's decision on it, and the answers given.
#[derive(Serialize, JsonSchema)]
pub struct ActionView {
    #[serde(flatten)]
    row: ActionRequestRow,
    approvals: Vec<ApprovalRow>,
}

/// What is known of a request's target and case when it is decided.
async fn context_of(state: &AppState, request: &ActionRequest) -> ApiResult<Context> {
    // The inventories the engine runs with: a step it proposed and the same step a person
    // proposes or approves are decided on the same facts.
    let mut context =
        vigil_engine::proposals::target_context(&state.engine.context(), request.target.as_ref());
    if let Some(case) = &request.case
        && let Some(row) = state.store.case(case).await?
    {
        context.severity = u8::try_from(row.severity).ok().and_then(vigil_model::Severity::from_id);
        context.confidence = state
            .store
            .recommendation(case)
            .await?
            .and_then(|(_, body)| body.get("confidence").and_then(Value::as_f64));
    }
    let Some(target) = &request.target else { return Ok(context) };
    let category = request.kind().map(|k| k.category);
    if target.kind == vigil_model::EntityKind::Host && state.own_host.as_deref() == Some(target.key.as_str())
    {
        context.effects.isolates_vigil_server = true;
    }
    if target.kind == vigil_model::EntityKind::User {
        if category == Some(vigil_model::ActionCategory::TokenRevocation) {
            context.effects.revokes_credentials_of.insert(target.key.clone());
        }
        if category == Some(vigil_model::ActionCategory::AccountContainment) {
            let admins: Vec<_> =
                state.store.users().await?.into_iter().filter(|u| u.role == "admin" && !u.disabled).collect();
            context.effects.locks_out_last_admin = admins.len() == 1 && admins[0].name.as_str() == target.key;
        }
    }
    Ok(context)
}

fn millis(stamp: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(stamp).map(|t| t.timestamp_millis()).unwrap_or(i64::MAX)
}

/// The stored answers as the policy counts them, with each approver's role and standing now.
async fn approvals_now(state: &AppState, rows: &[ApprovalRow]) -> ApiResult<Vec<Approval>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let user = state.store.user(&UserId::from(row.approver.as_str())).await?;
        out.push(Approval {
            approver: row.approver.clone(),
            role: user.as_ref().map(|u| u.role.clone()).unwrap_or_default(),
            enabled: user.as_ref().is_some_and(|u| !u.disabled),
            // Only a credential carrying the approve permission could record it.
            may_approve: true,
            request_sha256: row.request_sha256.clone(),
            verdict: if row.verdict == "reject" { Verdict::Reject } else { Verdict::Approve },
            rationale: row.rationale.clone(),
            at_ms: row.at_ms,
        });
    }
    Ok(out)
}

pub async fn propose(
    auth: Auth<perm::ActionPropose>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(case): PathId<CaseId>,
    JsonBody(body): JsonBody<Propose>,
) -> ApiResult<Json<ActionView>> {
    state.store.case(&case).await?.ok_or_else(|| ApiError::not_found("case"))?;
    if body.action.chars().count() > 64 || body.parameters.len() > 32 {
        return Err(ApiError::new(Code::BadRequest, "action: at most 64 characters; parameters: at most 32"));
    }
    if serde_json::to_string(&body.parameters).map_or(true, |t| t.len() > 16_384) {
        return Err(ApiError::new(Code::BadRequest, "parameters: at most 16 KiB of JSON"));
    }
    let target = match body.target.as_deref() {
        Some(text) => {
            Some(vigil_policy::cases::entity(text).map_err(|e| ApiError::new(Code::BadRequest, e))?)
        }
        None => None,
    };
    let request = ActionRequest {
        action: body.action,
        target,
        parameters: body.parameters,
        case: Some(case),
        requested_by: Requester::Person(auth.principal.name.as_str().to_owned()),
    };
    let policy = state.policy();
    let context = context_of(&state, &request).await?;
    let decision = decide(&policy, &request, &context);
    let status = match decision.tier {
        Tier::Automatic => ActionStatus::Approved,
        Tier::Approvals { .. } => ActionStatus::AwaitingApproval,
        Tier::Forbidden => ActionStatus::Forbidden,
    };
    let now = state.store.clock().now();
    let expires =
        now + chrono::Duration::seconds(i64::try_from(decision.expires_in_secs).unwrap_or(i64::MAX / 2_000));
    let row = ActionRequestRow {
        id: format!("act_{}", secrets::random_hex(12).map_err(ApiError::internal)?),
        request_sha256: request.hash(&policy.sha256),
        request,
        policy_sha256: policy.sha256.clone(),
        decision: decision.summary(),
        status,
        requested_at: time::stamp(now),
        expires_at: time::stamp(expires),
        updated_at: String::new(),
    };
    let mut tx = state.store.write().await?;
    tx.propose_action(&row, &actor(&auth.principal, from)).await?;
    tx.commit().await?;
    let stored =
        state.store.action_request(&row.id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    Ok(Json(ActionView { row: stored, approvals: Vec::new() }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only requests in this state.
    #[schemars(with = "Option<ActionStatus>")]
    status: Option<String>,
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

#[derive(Serialize, JsonSchema)]
pub struct ActionList {
    actions: Vec<ActionRequestRow>,
}

pub async fn list(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<ActionList>> {
    let status = match q.status.as_deref() {
        Some(name) => Some(ActionStatus::parse(name).ok_or_else(|| {
            ApiError::new(Code::BadRequest, format!("status: {name:?} is not a request state"))
        })?),
        None => None,
    };
    Ok(Json(ActionList { actions: state.store.action_requests(status, limit(q.limit, 100, 1_000)?).await? }))
}

/// What the caller may answer: awaiting, not theirs, not answered by them, their role named.
pub async fn inbox(
    auth: Auth<perm::ActionApprove>,
    State(state): State<AppState>,
) -> ApiResult<Json<ActionList>> {
    let me = auth.principal.name.as_str();
    let mine = auth.principal.role.as_str();
    let mut actions = Vec::new();
    for row in state.store.action_requests(Some(ActionStatus::AwaitingApproval), 1_000).await? {
        let named = row.decision["roles"].as_array().is_some_and(|roles| roles.iter().any(|r| r == mine));
        let answered = state.store.approvals(&row.id).await?.iter().any(|a| a.approver == me);
        if named && !answered && row.request.requested_by.person() != Some(me) {
            actions.push(row);
        }
    }
    Ok(Json(ActionList { actions }))
}

pub async fn get(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<ActionView>> {
    let row = state.store.action_request(&id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    let approvals = state.store.approvals(&id).await?;
    Ok(Json(ActionView { row, approvals }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The hash of the request as you read it: the answer binds to exactly that request.
    request_sha256: String,
    /// Why, in words (1 to 2000 characters).
    rationale: String,
}

/// The request after an answer, and what the policy now says of it.
#[derive(Serialize, JsonSchema)]
pub struct Answered {
    #[serde(flatten)]
    view: ActionView,
    /// `approved`, `awaiting_approval`, `rejected`, `expired`, `forbidden_by_policy`, `policy_raised`.
    outcome: String,
    /// More approvals it needs, when it still waits.
    need: Option<u8>,
}

pub async fn approve(
    auth: Auth<perm::ActionApprove>,
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    id: PathId,
    body: JsonBody<Answer>,
) -> ApiResult<Json<Answered>> {
    answer(auth.principal, state, from, id, body, Verdict::Approve).await
}

pub async fn reject(
    auth: Auth<perm::ActionApprove>,
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    id: PathId,
    body: JsonBody<Answer>,
) -> ApiResult<Json<Answered>> {
    answer(auth.principal, state, from, id, body, Verdict::Reject).await
}

async fn refuse(state: &AppState, by: &By, id: &str, verdict: Verdict, reason: &str) -> ApiResult<()> {
    let action =
        if verdict == Verdict::Reject { AuditAction::ActionReject } else { AuditAction::ActionApprove };
    let mut tx = state.store.write().await?;
    tx.audit(by.entry(action, Outcome::Refused, format!("action:{id}"), json!({"refused": reason}))).await?;
    tx.commit().await?;
    Ok(())
}

async fn answer(
    principal: Principal,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
    JsonBody(body): JsonBody<Answer>,
    verdict: Verdict,
) -> ApiResult<Json<Answered>> {
    let by = actor(&principal, from);
    if body.rationale.trim().is_empty() || body.rationale.chars().count() > 2_000 {
        return Err(ApiError::new(Code::BadRequest, "rationale: 1 to 2000 characters"));
    }
    let row = state.store.action_request(&id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    let now_ms = state.store.clock().now_ms();
    if row.status != ActionStatus::AwaitingApproval {
        refuse(&state, &by, &id, verdict, &format!("the request is {}", row.status.as_str())).await?;
        return Err(ApiError::new(Code::RequestClosed, format!("the request is {}", row.status.as_str())));
    }
    if body.request_sha256 != row.request_sha256 {
        refuse(&state, &by, &id, verdict, "the answer names another request hash").await?;
        return Err(ApiError::new(
            Code::RequestChanged,
            format!("this request's hash is {}; read it again before answering", row.request_sha256),
        ));
    }
    let policy = state.policy();
    let context = context_of(&state, &row.request).await?;
    let mut tx = state.store.write().await?;
    // The request is this transaction's from here: an answer racing this one waits, then
    // finds it decided; so the answers read next are all there are.
    if !tx.claim_awaiting(&id).await? {
        return Err(ApiError::new(Code::RequestClosed, "another answer decided the request first"));
    }
    let mut given = approvals_now(&state, &state.store.approvals(&id).await?).await?;
    let mine = Approval {
        approver: principal.name.as_str().to_owned(),
        role: principal.role.as_str().to_owned(),
        enabled: true,
        may_approve: true,
        request_sha256: body.request_sha256.clone(),
        verdict,
        rationale: body.rationale.clone(),
        at_ms: now_ms,
    };
    given.push(mine.clone());
    let requested_at = millis(&row.requested_at);
    let outcome = authorize(&policy, &row.request, &context, &given, requested_at, now_ms);
    // An answer the policy would not count is refused, not stored: a person's one answer is
    // not spent on one that cannot matter.
    let not_counted = match &outcome {
        Authorization::Pending { ignored, .. } => {
            ignored.iter().rev().find(|i| i.approver == mine.approver).map(|i| i.reason.clone())
        }
        Authorization::Expired { .. } => Some("the request has expired".to_owned()),
        Authorization::Forbidden { decision } => Some(format!("the policy now forbids it: {}", decision.why)),
        _ => None,
    };
    if let Some(reason) = not_counted {
        if matches!(outcome, Authorization::Expired { .. }) {
            tx.set_action_status(
                &id,
                ActionStatus::Expired,
                "no quorum before it expired",
                &By::vigil(Component::Policy),
            )
            .await?;
        }
        tx.audit(by.entry(
            if verdict == Verdict::Reject { AuditAction::ActionReject } else { AuditAction::ActionApprove },
            Outcome::Refused,
            format!("action:{id}"),
            json!({"refused": reason}),
        ))
        .await?;
        tx.commit().await?;
        let code = if matches!(outcome, Authorization::Expired { .. }) {
            Code::RequestClosed
        } else {
            Code::ApprovalNotCounted
        };
        return Err(ApiError::new(code, reason));
    }
    let stored = ApprovalRow {
        request_id: id.clone(),
        approver: mine.approver.clone(),
        verdict: if verdict == Verdict::Reject { "reject".into() } else { "approve".into() },
        rationale: body.rationale,
        request_sha256: body.request_sha256,
        at_ms: now_ms,
    };
    let policy_by = By::vigil(Component::Policy);
    match tx.record_approval(&stored, true, outcome.code(), &by).await {
        Err(vigil_store::Error::Conflict(why)) => return Err(ApiError::new(Code::Conflict, why)),
        other => other?,
    }
    let need = match &outcome {
        Authorization::Approved(approved) => {
            let why = format!("approved by {}", approved.approvers().join(" and "));
            tx.set_action_status(&id, ActionStatus::Approved, &why, &policy_by).await?;
            if let Some(case) = &row.request.case
                && tx.case_state(case).await? == CaseState::Recommended
            {
                let reason =
                    format!("{} on {} approved ({})", row.request.action, target_words(&row.request), why);
                tx.transition_case(case, CaseState::Approved, &reason, &policy_by).await?;
            }
            None
        }
        Authorization::Rejected { by: who, rationale, .. } => {
            tx.set_action_status(
                &id,
                ActionStatus::Rejected,
                &format!("rejected by {who}: {rationale}"),
                &policy_by,
            )
            .await?;
            None
        }
        Authorization::Pending { need, .. } => Some(*need),
        _ => None,
    };
    tx.commit().await?;
    let row = state.store.action_request(&id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    let approvals = state.store.approvals(&id).await?;
    Ok(Json(Answered { view: ActionView { row, approvals }, outcome: outcome.code().to_owned(), need }))
}

fn target_words(request: &ActionRequest) -> String {
    request
        .target
        .as_ref()
        .map_or_else(|| "the case".to_owned(), |t| format!("{} {}", t.kind.as_str(), t.key))
}
