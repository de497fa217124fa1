//! Response action requests over HTTP: propose one on a case (planned, and decided by the
//! policy at once), list them, my approvals inbox, one request with its answers, approve or
//! reject with a rationale bound to the request's hash, execute, the run log, and roll back. An
//! answer that cannot count is refused and the refusal audited; one that completes the quorum
//! approves the request (and moves its case to `approved`) in the same transaction. Nothing
//! here acts: execute queues the run, and the executor asks the policy again before it acts.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigil_model::{ActionRequest, AuditAction, CaseId, CaseState, Component, Outcome, Requester};
use vigil_policy::{Approval, Authorization, Context, Verdict, decide, reauthorize};
use vigil_store::{ActionRequestRow, ActionRun, ActionStatus, ApprovalRow, By, RunStatus, RunStep, time};

use super::actor;
use crate::auth::{Auth, Permission, Principal, perm, secrets};
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
    pub(crate) row: ActionRequestRow,
    pub(crate) approvals: Vec<ApprovalRow>,
}

/// What is known of a request's target and case when it is decided.
async fn context_of(state: &AppState, request: &ActionRequest) -> ApiResult<Context> {
    crate::respond::decision_context(&state.store, &state.engine, request).await.map_err(ApiError::internal)
}

pub async fn propose(
    auth: Auth<perm::ActionPropose>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(case): PathId<CaseId>,
    JsonBody(body): JsonBody<Propose>,
) -> ApiResult<Json<ActionView>> {
    Ok(Json(
        propose_for(
            &state,
            &auth.principal,
            from,
            case,
            body.action,
            body.target.as_deref(),
            body.parameters,
        )
        .await?,
    ))
}

/// A person's proposal on a case, from the API or a page: checked, planned, decided, stored.
pub(crate) async fn propose_for(
    state: &AppState,
    principal: &Principal,
    from: SocketAddr,
    case: CaseId,
    action: String,
    target: Option<&str>,
    parameters: std::collections::BTreeMap<String, Value>,
) -> ApiResult<ActionView> {
    state.store.case(&case).await?.ok_or_else(|| ApiError::not_found("case"))?;
    if action.chars().count() > 64 || parameters.len() > 32 {
        return Err(ApiError::new(Code::BadRequest, "action: at most 64 characters; parameters: at most 32"));
    }
    if serde_json::to_string(&parameters).map_or(true, |t| t.len() > 16_384) {
        return Err(ApiError::new(Code::BadRequest, "parameters: at most 16 KiB of JSON"));
    }
    let target = match target {
        Some(text) => {
            Some(vigil_policy::cases::entity(text).map_err(|e| ApiError::new(Code::BadRequest, e))?)
        }
        None => None,
    };
    let request = ActionRequest {
        action,
        target,
        parameters,
        case: Some(case),
        requested_by: Requester::Person(principal.name.as_str().to_owned()),
        plan_sha256: None,
    };
    decide_and_store(state, &actor(principal, from), request).await
}

/// Plans `request`, has the policy decide it, and stores it; one the policy lets run by itself
/// is queued for the executor in the same transaction.
pub(crate) async fn decide_and_store(
    state: &AppState,
    by: &By,
    request: ActionRequest,
) -> ApiResult<ActionView> {
    let cx = vigil_respond::Cx { store: state.store.clone(), by: by.clone() };
    let plan = state.engine.registry().plan(&cx, &request).await.map_err(respond_error)?;
    let policy = state.policy();
    let context = context_of(state, &request).await?;
    let decision = decide(&policy, &request, &context);
    let id = format!("act_{}", secrets::random_hex(12).map_err(ApiError::internal)?);
    let now = state.store.clock().now();
    let row = vigil_respond::decided_row(id, &policy, request, &decision, &plan, now);
    let deadline = now.timestamp_millis().saturating_add(vigil_respond::RUN_DEADLINE_MS);
    let mut tx = state.store.write().await?;
    let (stored, queued) =
        vigil_respond::store_proposal(&mut tx, &row, &plan, deadline, by).await.map_err(respond_error)?;
    tx.commit().await?;
    if queued {
        state.engine.actions.notify_one();
    }
    Ok(ActionView { row: stored, approvals: Vec::new() })
}

/// An action's own refusal as the API answers it.
fn respond_error(e: vigil_respond::Error) -> ApiError {
    match e {
        vigil_respond::Error::TargetGone(why) => ApiError::new(Code::TargetGone, why),
        vigil_respond::Error::Failed(why) => ApiError::new(Code::BadRequest, why),
        vigil_respond::Error::Store(e) => e.into(),
        other => ApiError::internal(other),
    }
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
    let me = &auth.principal;
    let answered = state.store.answered_by(me.name.as_str(), ActionStatus::AwaitingApproval).await?;
    let mut actions = state.store.action_requests(Some(ActionStatus::AwaitingApproval), 1_000).await?;
    actions.retain(|row| cannot_answer(me, row, answered.contains(&row.id)).is_none());
    Ok(Json(ActionList { actions }))
}

/// Why this person cannot answer the request, if they cannot: the inbox leaves such requests
/// out, and a page says why instead of offering a button. (The answer itself is judged by the
/// policy, which may refuse for more reasons.)
pub(crate) fn cannot_answer(who: &Principal, row: &ActionRequestRow, answered: bool) -> Option<String> {
    if !who.may(Permission::ActionApprove) {
        return Some(format!("a {} does not answer requests", who.role.as_str()));
    }
    if row.status != ActionStatus::AwaitingApproval {
        return Some(format!("it is {}", row.status.as_str()));
    }
    if row.request.requested_by.person() == Some(who.name.as_str()) {
        return Some("you asked for it, and the requester's answer never counts".into());
    }
    if answered {
        return Some("you have answered it".into());
    }
    let roles: Vec<&str> =
        row.decision["roles"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !roles.contains(&who.role.as_str()) {
        return Some(format!("the rule asks for {}; you are {}", roles.join(" or "), who.role.as_str()));
    }
    None
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
    pub(crate) request_sha256: String,
    /// Why, in words (1 to 2000 characters).
    pub(crate) rationale: String,
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

/// An answer that cannot count, as the audit trail keeps it.
fn refusal(by: &By, id: &str, verdict: Verdict, reason: &str) -> vigil_store::audit::AuditEntry {
    by.entry(verdict.audit_action(), Outcome::Refused, format!("action:{id}"), json!({"refused": reason}))
}

async fn refuse(state: &AppState, by: &By, id: &str, verdict: Verdict, reason: &str) -> ApiResult<()> {
    let mut tx = state.store.write().await?;
    tx.audit(refusal(by, id, verdict, reason)).await?;
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
    let mut given = vigil_respond::approvals_now(&state.store, &state.store.approvals(&id).await?)
        .await
        .map_err(ApiError::internal)?;
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
    // A stamp that does not read is no time at all: the request counts as long expired.
    let requested_at = time::to_millis(&row.requested_at).unwrap_or(i64::MIN);
    // The answers bind to the hash the request was asked under; the bar is the policy's now.
    let outcome =
        reauthorize(&policy, &row.request, &row.request_sha256, &context, &given, requested_at, now_ms);
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
        tx.audit(refusal(&by, &id, verdict, &reason)).await?;
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
        verdict,
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

/// A request's run: where it stands, every step so far, and any earlier run withdrawn before it
/// acted.
#[derive(Serialize, JsonSchema)]
pub struct RunView {
    run: ActionRun,
    log: Vec<RunStep>,
    withdrawn: Vec<ActionRun>,
}

async fn run_view(state: &AppState, run: ActionRun) -> ApiResult<RunView> {
    let log = state.store.run_log(&run.id).await?;
    let mut withdrawn = state.store.runs_of(&run.request_id).await?;
    withdrawn.retain(|r| r.status == RunStatus::Withdrawn);
    Ok(RunView { run, log, withdrawn })
}

/// Queues an approved request's run; the executor asks the policy in force again before it
/// acts. Asked again, it answers the same run: a request runs at most once.
pub async fn execute(
    auth: Auth<perm::ActionExecute>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let by = actor(&auth.principal, from);
    let row = state.store.action_request(&id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    if let Some(run) = state.store.run_of(&id).await? {
        return Ok((StatusCode::OK, Json(run_view(&state, run).await?)).into_response());
    }
    let refused = match row.status {
        ActionStatus::Approved if row.plan["runnable"].as_bool() == Some(true) => None,
        ActionStatus::Approved => {
            Some((Code::NoConnector, "Vigil has no action or connector that runs it".to_owned()))
        }
        ActionStatus::AwaitingApproval => {
            let need = row.decision["required"].as_u64().unwrap_or(1);
            Some((Code::NotApproved, format!("the request awaits its approvals ({need} required)")))
        }
        other => Some((Code::RequestClosed, format!("the request is {}", other.as_str()))),
    };
    if let Some((code, why)) = refused {
        let mut tx = state.store.write().await?;
        tx.audit(by.entry(
            AuditAction::ActionRun,
            Outcome::Refused,
            format!("action:{id}"),
            json!({"refused": why}),
        ))
        .await?;
        tx.commit().await?;
        return Err(ApiError::new(code, why));
    }
    let deadline = state.store.clock().now_ms().saturating_add(vigil_respond::RUN_DEADLINE_MS);
    let mut tx = state.store.write().await?;
    let (run, new) = vigil_respond::queue(&mut tx, &row, deadline, &by).await.map_err(respond_error)?;
    tx.commit().await?;
    state.engine.actions.notify_one();
    let status = if new { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(run_view(&state, run).await?)).into_response())
}

pub async fn run(
    _: Auth<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<RunView>> {
    state.store.action_request(&id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    let run = match state.store.run_of(&id).await? {
        Some(run) => run,
        // Only withdrawn runs: the latest of them.
        None => {
            state.store.runs_of(&id).await?.pop().ok_or_else(|| ApiError::not_found("run of this request"))?
        }
    };
    Ok(Json(run_view(&state, run).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// Why, in words (1 to 2000 characters).
    rationale: String,
}

/// Asks to undo what a request's run changed: a request of the action's undo, on the same
/// target, decided by the policy like any other.
pub async fn rollback(
    auth: Auth<perm::ActionPropose>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
    JsonBody(body): JsonBody<Rollback>,
) -> ApiResult<Json<ActionView>> {
    if body.rationale.trim().is_empty() || body.rationale.chars().count() > 2_000 {
        return Err(ApiError::new(Code::BadRequest, "rationale: 1 to 2000 characters"));
    }
    let row = state.store.action_request(&id).await?.ok_or_else(|| ApiError::not_found("action request"))?;
    let kind =
        row.request.kind().ok_or_else(|| ApiError::new(Code::NothingToRollBack, "no action of Vigil's"))?;
    let Some(undo) = kind.undo else {
        let why =
            if kind.self_undoing { "it changes nothing that needs undoing" } else { "it is irreversible" };
        return Err(ApiError::new(Code::NothingToRollBack, format!("{} has no rollback: {why}", kind.name)));
    };
    match state.store.run_of(&id).await? {
        Some(run) if run.status == RunStatus::Succeeded => {}
        Some(run) => {
            return Err(ApiError::new(
                Code::NothingToRollBack,
                format!("its run is {}, not succeeded", run.status.as_str()),
            ));
        }
        None => return Err(ApiError::new(Code::NothingToRollBack, "it has not run")),
    }
    let request = ActionRequest {
        action: undo.to_owned(),
        target: row.request.target.clone(),
        parameters: [
            (vigil_respond::ROLLBACK_OF.to_owned(), Value::String(id.clone())),
            ("rationale".to_owned(), Value::String(body.rationale)),
        ]
        .into(),
        case: row.request.case.clone(),
        requested_by: Requester::Person(auth.principal.name.as_str().to_owned()),
        plan_sha256: None,
    };
    Ok(Json(decide_and_store(&state, &actor(&auth.principal, from), request).await?))
}
