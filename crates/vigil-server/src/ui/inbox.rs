//! The approvals inbox and one request's page: its plan, the policy's decision and the rule
//! behind it, the answers given, the run and its log. Approve or reject with a rationale; a
//! request this person cannot answer says why instead of offering a button.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use vigil_model::Verdict;
use vigil_store::{ActionRequestRow, ActionStatus};

use super::layout::{segment, shell, text, when};
use super::{Page, failure};
use crate::api::actions::{
    Answer, approve as api_approve, cannot_answer, execute as api_execute, reject as api_reject,
};
use crate::auth::{Permission, perm};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::params::PathId;
use crate::state::AppState;

fn target(row: &ActionRequestRow) -> String {
    row.request
        .target
        .as_ref()
        .map_or_else(|| "the case".to_owned(), |t| format!("{} {}", t.kind.as_str(), t.key))
}

/// The blast radius the policy decided on, in words (requests decided before it was kept say
/// nothing).
fn blast_radius(row: &ActionRequestRow) -> Markup {
    let b = &row.decision["blast_radius"];
    let count = |k: &str| b[k].as_u64().unwrap_or(0);
    html! {
        @if b.is_object() {
            p { "Blast radius: " (count("users")) " users, " (count("hosts")) " hosts, " (count("services"))
                " services, " (count("accounts")) " cloud accounts seen with the target in the case's alerts" }
        }
    }
}

/// The case a request is for, as a link to its evidence.
fn evidence(row: &ActionRequestRow) -> Markup {
    html! {
        @match &row.request.case {
            Some(c) => a href=(format!("/ui/cases/{}#alerts", segment(c.as_str()))) { "the case's alerts and events" },
            None => span.muted { "no case" },
        }
    }
}

fn plan(row: &ActionRequestRow) -> Markup {
    html! {
        ul { @for c in row.plan["changes"].as_array().into_iter().flatten() { li { (text(c)) } } }
        @if row.plan["runnable"] != true { p.why { "Vigil has no action or connector that runs it yet." } }
    }
}

pub async fn page(page_in: Page<perm::ActionApprove>, State(state): State<AppState>) -> Response {
    let who = page_in.principal();
    let (waiting, answered) = match tokio::try_join!(
        state.store.action_requests(Some(ActionStatus::AwaitingApproval), 1_000),
        state.store.answered_by(who.name.as_str(), ActionStatus::AwaitingApproval),
    ) {
        Ok(both) => both,
        Err(e) => return failure(e.into()),
    };
    let body = html! {
        h1 { "Approvals" }
        @if waiting.is_empty() { p.muted { "Nothing waits for approval." } }
        @for row in &waiting {
            @let why = cannot_answer(who, row, answered.contains(&row.id));
            div.card {
                p { a href=(format!("/ui/actions/{}", segment(&row.id))) { strong { (row.request.action) } " on " (target(row)) } }
                p.muted { "case " (row.request.case.as_ref().map_or("-", |c| c.as_str())) " · asked by " (row.request.requested_by.to_string()) " · " (row.requested_at) " · expires " (row.expires_at) }
                p { (text(&row.decision["in_words"])) " — " (text(&row.decision["why"])) }
                (plan(row))
                (blast_radius(row))
                p { "Evidence: " (evidence(row)) }
                @if let Some(why) = why { p.why { "You cannot answer: " (why) "." } } @else { (answer_forms(row, page_in.csrf())) }
            }
        }
    };
    shell("Approvals", who, body).into_response()
}

fn answer_forms(row: &ActionRequestRow, csrf: &str) -> Markup {
    let id = segment(&row.id);
    html! {
        form method="post" action=(format!("/ui/actions/{id}/approve")) {
            input type="hidden" name="csrf_token" value=(csrf);
            input type="hidden" name="request_sha256" value=(row.request_sha256);
            label for=(format!("why-{id}")) { "Rationale (required)" }
            textarea id=(format!("why-{id}")) name="rationale" required maxlength="2000" {}
            button type="submit" { "Approve" } " "
            button.secondary type="submit" formaction=(format!("/ui/actions/{id}/reject")) { "Reject" }
        }
    }
}

pub async fn request(
    page_in: Page<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Response {
    let who = page_in.principal();
    let store = &state.store;
    let row = match store.action_request(&id).await {
        Ok(Some(row)) => row,
        Ok(None) => return failure(ApiError::not_found("action request")),
        Err(e) => return failure(e.into()),
    };
    let (approvals, run) = match tokio::try_join!(store.approvals(&id), store.run_of(&id)) {
        Ok(both) => both,
        Err(e) => return failure(e.into()),
    };
    let log = match &run {
        Some(run) => match store.run_log(&run.id).await {
            Ok(log) => log,
            Err(e) => return failure(e.into()),
        },
        None => Vec::new(),
    };
    let answered = approvals.iter().any(|a| a.approver == who.name.as_str());
    let why = cannot_answer(who, &row, answered);
    // Approved but with nothing to run it (no connector): no button that could only fail.
    let runnable = row.plan["runnable"] == true;
    let may_execute = who.may(Permission::ActionExecute)
        && row.status == ActionStatus::Approved
        && run.is_none()
        && runnable;
    let body = html! {
        h1 { (row.request.action) " on " (target(&row)) }
        p.muted {
            "status " strong { (row.status.as_str()) }
            " · case " @if let Some(c) = &row.request.case { a href=(format!("/ui/cases/{}", segment(c.as_str()))) { (c.as_str()) } }
            " · asked by " (row.request.requested_by.to_string()) " at " (row.requested_at)
        }
        section {
            h2 { "What it will change" }
            (plan(&row))
            p.muted { "request hash " code { (row.request_sha256) } }
        }
        section {
            h2 { "The policy's decision" }
            p { (text(&row.decision["in_words"])) " — " (text(&row.decision["why"])) }
            (blast_radius(&row))
            p { "Evidence: " (evidence(&row)) }
        }
        section {
            h2 { "Answers" }
            @if approvals.is_empty() { p.muted { "None yet." } }
            ul { @for a in &approvals { li { (a.verdict.as_str()) " by " (a.approver) " at " (when(a.at_ms)) ": " (a.rationale) } } }
            @if let Some(why) = &why { @if row.status == ActionStatus::AwaitingApproval { p.why { "You cannot answer: " (why) "." } } } @else { (answer_forms(&row, page_in.csrf())) }
        }
        @if may_execute {
            form method="post" action=(format!("/ui/actions/{}/execute", segment(&row.id))) {
                input type="hidden" name="csrf_token" value=(page_in.csrf());
                button type="submit" { "Execute" }
            }
        }
        @if let Some(run) = &run {
            section {
                h2 { "Run " (run.id) }
                p { strong { (run.status.as_str()) } @if let Some(code) = &run.code { " (" (code) ")" } @if let Some(reason) = &run.reason { ": " (reason) } }
                @if let Some(sha) = &run.evidence_sha256 { p.muted { "run log sealed as evidence " code { (sha) } } }
                table {
                    thead { tr { th { "#" } th { "Step" } th { "Outcome" } th { "Attempt" } th { "ms" } th.wide { "Detail" } } }
                    tbody { @for s in &log {
                        tr { td { (s.seq) } td { (s.step) } td { (s.outcome) } td { (s.attempt) } td { (s.ended_ms - s.started_ms) } td.wide { code { (s.detail.to_string()) } } }
                    } }
                }
            }
        }
    };
    shell(&format!("{} on {}", row.request.action, target(&row)), who, body).into_response()
}

#[derive(Deserialize)]
pub struct AnswerForm {
    request_sha256: String,
    rationale: String,
}

async fn answer(
    page_in: Page<perm::ActionApprove>,
    state: AppState,
    from: SocketAddr,
    id: String,
    form: AnswerForm,
    verdict: Verdict,
) -> Response {
    let body = JsonBody(Answer { request_sha256: form.request_sha256, rationale: form.rationale });
    let (state, from, path) = (State(state), ConnectInfo(from), PathId(id.clone()));
    let done = match verdict {
        Verdict::Approve => api_approve(page_in.auth, state, from, path, body).await.map(|_| ()),
        Verdict::Reject => api_reject(page_in.auth, state, from, path, body).await.map(|_| ()),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/ui/actions/{}", segment(&id))).into_response(),
        Err(e) => failure(e),
    }
}

pub async fn approve(
    page_in: Page<perm::ActionApprove>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
    Form(form): Form<AnswerForm>,
) -> Response {
    answer(page_in, state, from, id, form, Verdict::Approve).await
}

pub async fn reject(
    page_in: Page<perm::ActionApprove>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
    Form(form): Form<AnswerForm>,
) -> Response {
    answer(page_in, state, from, id, form, Verdict::Reject).await
}

pub async fn execute(
    page_in: Page<perm::ActionExecute>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
) -> Response {
    match api_execute(page_in.auth, State(state), ConnectInfo(from), PathId(id.clone())).await {
        Ok(_) => Redirect::to(&format!("/ui/actions/{}", segment(&id))).into_response(),
        Err(e) => failure(e),
    }
}
