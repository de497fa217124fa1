//! A case as an analyst reads it: the recommendation with every citation a link to what it
//! cites, the playbook's steps with their blast radius and a way to propose them, the alerts and
//! the events they rest on (each event with its raw record), the timeline, the action requests
//! with their state, and the case's history. Buttons only for what this person may do.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::Value;
use vigil_model::CaseId;

use super::layout::{segment, shell, text, when};
use super::{Page, done, failure};
use crate::auth::{Permission, perm};
use crate::error::{ApiError, Code};
use crate::params::PathId;
use crate::state::AppState;

/// A step's target (`kind key`) as Vigil names the entity, so it compares with a request's.
fn named(target: &str) -> String {
    vigil_policy::cases::entity(target)
        .map_or_else(|_| target.to_owned(), |e| format!("{} {}", e.kind.as_str(), e.key))
}

/// A citation (`alert:…`, `event:…`) as a link to what it cites.
fn citation(reference: &str) -> Markup {
    match reference.split_once(':') {
        Some(("event", id)) => html! { a href=(format!("/ui/events/{}", segment(id))) { (reference) } },
        Some(("alert", id)) => html! { a href=(format!("#alert-{}", segment(id))) { (reference) } },
        _ => html! { (reference) },
    }
}

/// The kill chain with the tactics the case reaches marked, then its techniques and the alerts
/// (by position in the case) that show each.
fn attack(case: &vigil_correlate::Case) -> Markup {
    let used: Vec<&str> = case.tactics.iter().map(|t| t.short_name.as_str()).collect();
    html! {
        div.chain aria-label="ATT&CK tactics, those this case reaches marked" {
            @for (short, name) in vigil_report::kill_chain() {
                @if used.contains(&short.as_str()) { span.hit { (name) } } @else { span { (name) } }
            }
        }
        @if case.techniques.is_empty() { p.muted { "No technique named by the alerts." } } @else {
            table {
                thead { tr { th { "Technique" } th { "Name" } th.wide { "Alerts" } } }
                tbody { @for t in &case.techniques {
                    tr {
                        td { code { (t.id) } }
                        td { (t.name.as_deref().unwrap_or("(not in this ATT&CK release)")) }
                        td.wide { @for i in &t.alerts { @if let Some(id) = case.alerts.get(*i).and_then(|a| a.ids.first()) {
                            a href=(format!("#alert-{}", segment(id.as_str()))) { "#" (i + 1) } " "
                        } } }
                    }
                } }
            }
        }
    }
}

/// The entities behind the graph, as text: what a screen reader reads and what the picture cuts.
fn entities(case: &vigil_correlate::Case) -> Markup {
    let mut listed: Vec<&vigil_correlate::CaseEntity> = case.entities.iter().collect();
    listed.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.entity.cmp(&b.entity)));
    html! {
        details {
            summary { (listed.len()) " entities" }
            table {
                thead { tr { th { "Kind" } th { "Entity" } th { "Alerts naming it" } } }
                tbody { @for e in listed.iter().take(500) {
                    tr { td { (e.entity.kind.as_str()) } td { code { (e.entity.key) } } td { (e.alerts) } }
                } }
            }
        }
    }
}

/// What the policy in force would ask of each playbook step not asked for yet, on each target
/// it touches, decided on the same facts a proposal would be: a person sees the tier before
/// proposing. A target that does not parse, or facts that cannot be read, show no tier.
async fn step_tiers(
    state: &AppState,
    case: &CaseId,
    recommendation: &Value,
    standing: &HashMap<(&str, String), &vigil_store::ActionRequestRow>,
    who: &crate::auth::Principal,
) -> HashMap<(String, String), vigil_policy::Decision> {
    let policy = state.policy();
    let mut tiers = HashMap::new();
    for step in recommendation["playbook"]["steps"].as_array().into_iter().flatten() {
        let action = text(&step["action"]);
        for touched in step["touches"].as_array().into_iter().flatten().map(text) {
            if standing.contains_key(&(action, named(touched))) {
                continue;
            }
            let Ok(target) = vigil_policy::cases::entity(touched) else { continue };
            let request = vigil_model::ActionRequest {
                action: action.to_owned(),
                target: Some(target),
                parameters: Default::default(),
                case: Some(case.clone()),
                requested_by: vigil_model::Requester::Person(who.name.as_str().to_owned()),
                plan_sha256: None,
            };
            let Ok(context) = crate::respond::decision_context(&state.store, &state.engine, &request).await
            else {
                continue;
            };
            tiers.insert(
                (action.to_owned(), touched.to_owned()),
                vigil_policy::decide(&policy, &request, &context),
            );
        }
    }
    tiers
}

pub async fn page(
    page_in: Page<perm::CaseRead>,
    State(state): State<AppState>,
    PathId(id): PathId<CaseId>,
) -> Response {
    let store = &state.store;
    let case = match store.case(&id).await {
        Ok(Some(case)) => case,
        Ok(None) => return failure(ApiError::not_found("case")),
        Err(e) => return failure(e.into()),
    };
    let (alerts, recommendation, requests, comments, answers, tickets) = match tokio::try_join!(
        store.case_alerts(&id),
        store.recommendation(&id),
        store.case_action_requests(&id),
        store.case_comments(&id),
        store.case_approvals(&id),
        store.case_tickets(&id),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e.into()),
    };
    // Each request's live run (one query for the case, not one per request).
    let runs: std::collections::HashMap<String, vigil_store::ActionRun> = match store.case_runs(&id).await {
        Ok(runs) => runs
            .into_iter()
            .filter(|r| r.status != vigil_store::RunStatus::Withdrawn)
            .map(|r| (r.request_id.clone(), r))
            .collect(),
        Err(e) => return failure(e.into()),
    };
    // The requests still standing (not closed), by action and target: a step asked for already
    // links to its request instead of offering to ask again.
    let standing: HashMap<(&str, String), &vigil_store::ActionRequestRow> = requests
        .iter()
        .filter(|r| r.status.open())
        .filter_map(|r| {
            let target = r.request.target.as_ref()?;
            Some(((r.request.action.as_str(), format!("{} {}", target.kind.as_str(), target.key)), r))
        })
        .collect();
    let rec = recommendation.map(|(_, body)| body).unwrap_or(Value::Null);
    let tiers = step_tiers(&state, &id, &rec, &standing, page_in.principal()).await;
    let may_propose = page_in.may(Permission::ActionPropose);
    let may_write = page_in.may(Permission::CaseWrite);
    let me = page_in.principal().name.clone();
    let case_path = format!("/ui/cases/{}", segment(case.id.as_str()));
    // The clustered case as the engine stored it; a row written otherwise has no graph to draw.
    let clustered = serde_json::from_value::<vigil_correlate::Case>(case.body.clone()).ok();
    let csrf = page_in.csrf().to_owned();
    let now = store.clock().now_ms();
    let clocks = match crate::sla::case_clocks(&state, &id).await {
        Ok(clocks) => clocks,
        Err(e) => return failure(ApiError::internal(e)),
    };
    let body = html! {
        (super::layout::case_header(&case))
        @if may_write && case.assignee.as_ref() != Some(&me) {
            form method="post" action=(format!("{case_path}/assign")) {
                input type="hidden" name="csrf_token" value=(csrf);
                button.secondary type="submit" { "Assign to me" }
            }
        }
        section aria-labelledby="sla" {
            h2 #sla { "SLA" }
            (super::sla::table(&clocks, now))
        }
        section aria-labelledby="recommendation" {
            h2 #recommendation { "Recommendation" }
            @if rec.is_null() { p.muted { "None drafted yet." } } @else {
                p { strong { (text(&rec["verdict"])) } " · confidence " (format!("{:.2}", rec["confidence"].as_f64().unwrap_or(0.0))) " · drafted by " (text(&rec["drafted_by"])) }
                p { (text(&rec["hypothesis"])) }
                @if let Some(supporting) = rec["supporting"].as_array() {
                    p { "Rests on: "
                        @for (i, r) in supporting.iter().enumerate() { @if i > 0 { ", " } (citation(text(r))) }
                    }
                }
                @if let Some(unknowns) = rec["unknowns"].as_array().filter(|u| !u.is_empty()) {
                    p { "Not known: " @for (i, u) in unknowns.iter().enumerate() { @if i > 0 { "; " } (text(u)) } }
                }
                @if let Some(steps) = rec["playbook"]["steps"].as_array() {
                    h2 { "Playbook: " (text(&rec["playbook"]["title"])) }
                    table {
                        thead { tr { th { "Phase" } th { "Step" } th { "Touches" } th.wide { "Blast radius" } th { "Policy" } } }
                        tbody { @for step in steps {
                            tr {
                                td { (text(&step["phase"])) }
                                td { (text(&step["action"])) br; span.muted { (text(&step["description"])) } }
                                td { @for t in step["touches"].as_array().into_iter().flatten() { (text(t)) br; } }
                                td.wide { @for b in step["blast_radius"].as_array().into_iter().flatten() { (text(b)) br; } }
                                td { @for t in step["touches"].as_array().into_iter().flatten() {
                                    @if let Some(asked) = standing.get(&(text(&step["action"]), named(text(t)))) {
                                        // Asked already (by the playbook or a person): the request, not a second one.
                                        a href=(format!("/ui/actions/{}", segment(&asked.id))) { (asked.status.as_str()) " on " (text(t)) } br;
                                    } @else {
                                    @if let Some(d) = tiers.get(&(text(&step["action"]).to_owned(), text(t).to_owned())) {
                                        span title=(d.why) { (d.tier.to_string()) } " " span.muted { "(" (d.rule) ")" } br;
                                    }
                                    @if may_propose {
                                        form.inline method="post" action=(format!("/ui/cases/{}/actions", segment(case.id.as_str()))) {
                                            input type="hidden" name="csrf_token" value=(csrf);
                                            input type="hidden" name="action" value=(text(&step["action"]));
                                            input type="hidden" name="target" value=(text(t));
                                            button.secondary type="submit" { "Propose on " (text(t)) }
                                        } br;
                                    }
                                    }
                                } }
                            }
                        } }
                    }
                }
            }
        }
        section aria-labelledby="attack" {
            h2 #attack { "ATT&CK" }
            @match &clustered { Some(c) => (attack(c)), None => p.muted { "No tactics recorded for this case." } }
        }
        section aria-labelledby="graph" {
            h2 #graph { "Entity graph" }
            @match &clustered {
                Some(c) => {
                    div.graph { (PreEscaped(vigil_report::entity_graph_svg(c))) }
                    (entities(c))
                }
                None => p.muted { "No entities recorded for this case." }
            }
        }
        section aria-labelledby="actions" {
            h2 #actions { "Response actions" }
            @if requests.is_empty() { p.muted { "None proposed." } } @else {
                table {
                    thead { tr { th { "Action" } th { "Target" } th { "Status" } th.wide { "Policy" } th { "Run" } } }
                    tbody { @for r in &requests {
                        tr {
                            td { a href=(format!("/ui/actions/{}", segment(&r.id))) { (r.request.action) } }
                            td { @if let Some(t) = &r.request.target { (t.kind.as_str()) " " (t.key) } @else { "the case" } }
                            td { (r.status.as_str()) }
                            td.wide { (text(&r.decision["in_words"])) " (" (text(&r.decision["rule"])) ")" }
                            td { @if let Some(run) = runs.get(&r.id) { (run.status.as_str()) @if let Some(code) = &run.code { " (" (code) ")" } } }
                        }
                    } }
                }
            }
        }
        @if !tickets.is_empty() {
            section aria-labelledby="tickets" {
                h2 #tickets { "Tickets" }
                table {
                    thead { tr { th { "Ticket" } th { "Owner" } th { "Due" } th.wide { "Title" } } }
                    tbody { @for t in &tickets {
                        tr {
                            td { @match (&t.external_id, &t.external_host) {
                                (Some(id), Some(host)) => { code { (id) } " at " (host) },
                                _ => { "Vigil's own " code { (t.id.get(..12).unwrap_or(&t.id)) } },
                            } }
                            td { (t.owner) }
                            td { (t.sla_due_at) }
                            td.wide { (t.title) }
                        }
                    } }
                }
            }
        }
        section aria-labelledby="alerts" {
            h2 #alerts { "Alerts and the events they rest on" }
            @for alert in &alerts {
                div.card id=(format!("alert-{}", segment(alert.id.as_str()))) {
                    p { strong { (alert.title) } " · " span.muted { (alert.rule_id) " · " (alert.time) } }
                    @if let Some(summary) = alert.finding["summary"].as_str() { p { (summary) } }
                    ul { @for e in alert.finding["evidence"].as_array().into_iter().flatten() {
                        li {
                            a href=(format!("/ui/events/{}", segment(text(&e["event_uid"])))) { (text(&e["event_uid"])) }
                            " " span.muted { (when(e["time"].as_i64().unwrap_or(0))) " · " (text(&e["class_name"])) " · " (text(&e["source"])) }
                            @if let Some(s) = e["summary"].as_str() { " · " (s) }
                        }
                    } }
                }
            }
        }
        section aria-labelledby="timeline" {
            h2 #timeline { "Timeline" }
            table { tbody { @for t in case.body["timeline"].as_array().into_iter().flatten().take(500) {
                tr { td { (when(t["time"].as_i64().unwrap_or(0))) } td { (text(&t["kind"])) } td { (text(&t["title"])) } td { (citation(&format!("{}:{}", if t["kind"] == "alert" { "alert" } else { "event" }, text(&t["reference"])))) } }
            } } }
        }
        section aria-labelledby="history" {
            h2 #history { "History" }
            ul { @for m in case.body["lifecycle"]["history"].as_array().into_iter().flatten() {
                li { (text(&m["at"])) ": " (text(&m["from"])) " → " (text(&m["to"])) " by " (text(&m["by"]["kind"])) " " (text(&m["by"]["name"])) ": " (text(&m["reason"])) }
            } }
            @if !answers.is_empty() {
                h3 { "Answers to its action requests" }
                ul { @for a in &answers {
                    @let asked = requests.iter().find(|r| r.id == a.request_id);
                    li {
                        (when(a.at_ms)) ": " (a.verdict.as_str()) " by " (a.approver) " of "
                        a href=(format!("/ui/actions/{}", segment(&a.request_id))) {
                            @match asked { Some(r) => (r.request.action), None => (a.request_id) }
                        }
                        ": " (a.rationale)
                    }
                } }
            }
            @for c in &comments { div.card { p.muted { (c.author) " · " (c.at) } p { (c.body) } } }
            @if may_write {
                form method="post" action=(format!("{case_path}/comments")) {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label for="comment" { "Comment" }
                    textarea #comment name="body" required maxlength="20000" {}
                    button type="submit" { "Add the comment" }
                }
            }
        }
    };
    shell(&case.title, page_in.principal(), body).into_response()
}

#[derive(Deserialize)]
pub struct ProposeForm {
    action: String,
    target: Option<String>,
}

/// A playbook step proposed from the case page: the API's proposal, then the request's page.
pub async fn propose(
    page_in: Page<perm::ActionPropose>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
    Form(form): Form<ProposeForm>,
) -> Response {
    let proposed = crate::api::actions::propose_for(
        &state,
        &page_in.auth.principal,
        from,
        id,
        form.action,
        form.target.as_deref(),
        Default::default(),
    );
    match proposed.await {
        Ok(view) => Redirect::to(&format!("/ui/actions/{}", segment(&view.row.id))).into_response(),
        Err(e) => failure(e),
    }
}

/// One event: its OCSF form and the raw record it was read from.
pub async fn event(
    page_in: Page<perm::EventRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Response {
    let event = match state.store.event(&id).await {
        Ok(Some(e)) => e,
        Ok(None) => return failure(ApiError::new(Code::NotFound, "no such event (purged by retention?)")),
        Err(e) => return failure(e.into()),
    };
    let raw = String::from_utf8_lossy(&event.raw);
    let ocsf = serde_json::to_string_pretty(&event.ocsf).unwrap_or_default();
    let body = html! {
        h1 { "Event " (event.id) }
        p.muted { (event.source) " · " (event.format) " · class " (event.class_uid) " · " (event.time) " · received " (event.received_at) }
        h2 { "The raw record, as it arrived" }
        pre { (raw) }
        h2 { "As OCSF" }
        pre { (ocsf) }
    };
    shell(&format!("Event {}", event.id), page_in.principal(), body).into_response()
}

#[derive(Deserialize)]
pub struct AssignForm {
    /// `queue` when asked from the queue, which the answer leads back to.
    back: Option<String>,
}

/// Assigns the case to the person asking, through the API's own handler.
pub async fn assign(
    page_in: Page<perm::CaseWrite>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
    Form(form): Form<AssignForm>,
) -> Response {
    let me = page_in.auth.principal.name.clone();
    let body = crate::body::JsonBody(crate::api::cases::Assign { assignee: Some(me) });
    let path = match form.back.as_deref() {
        Some("queue") => "/ui/queue".to_owned(),
        _ => format!("/ui/cases/{}", segment(id.as_str())),
    };
    done(
        crate::api::cases::assign(page_in.auth, State(state), ConnectInfo(from), PathId(id), body).await,
        &path,
    )
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
}

pub async fn comment(
    page_in: Page<perm::CaseWrite>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
    Form(form): Form<CommentForm>,
) -> Response {
    let body = crate::body::JsonBody(crate::api::cases::NewComment { body: form.body });
    let path = format!("/ui/cases/{}#history", segment(id.as_str()));
    done(
        crate::api::cases::comment(page_in.auth, State(state), ConnectInfo(from), PathId(id), body).await,
        &path,
    )
}
