//! The learning queue: what closed cases propose to change, each with its document and what the
//! replay found, and the review form (accept as proposed or edited, or reject, with a rationale)
//! for those who may tune rules.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use vigil_store::{Decision, LearningKind, LearningTask};

use super::layout::{segment, shell};
use super::{Page, failure};
use crate::api::learning::{DecisionRequest, decide};
use crate::auth::{Permission, perm};
use crate::body::JsonBody;
use crate::params::PathId;
use crate::state::AppState;

fn status(t: &LearningTask) -> Markup {
    html! {
        @if t.status == "proposed" && t.first_accepted_by.is_some() {
            "waits for a second person (accepted by " (t.first_accepted_by.as_deref().unwrap_or("")) ")"
        } @else { (t.status) }
    }
}

/// How many matches a regression test's files expect, together.
fn matches(replay: &Value) -> u64 {
    replay["tests"].as_array().map_or(0, |t| t.iter().filter_map(|f| f["matches"].as_u64()).sum())
}

fn removed(replay: &Value, label: &str) -> u64 {
    replay["removed"][label].as_u64().unwrap_or(0)
}

/// A task's replay in one line, by what it proposes.
fn replay_line(t: &LearningTask) -> Markup {
    let r = &t.replay;
    match t.kind {
        LearningKind::Regression => html! { "a test: " (matches(r)) " matches must hold" },
        LearningKind::Detection => html! {
            "would add " (r["added"]["this_case"].as_u64().unwrap_or(0)) " here, "
            (r["added"]["elsewhere"].as_u64().unwrap_or(0)) " elsewhere"
        },
        LearningKind::Runbook => html! {
            "playbook " code { (r["playbook"].as_str().unwrap_or("")) } ": "
            (r["added"].as_array().map_or(0, Vec::len)) " steps added, "
            (r["removed_steps"].as_array().map_or(0, Vec::len)) " removed"
        },
        LearningKind::Tuning => html! {
            "removes " (removed(r, "benign")) " benign, " (removed(r, "unjudged")) " not judged"
            @if t.hides_malicious { br; strong.bad { (removed(r, "malicious")) " judged malicious" } }
        },
    }
}

/// A unified diff, its added and removed lines marked.
fn diff(text: &str) -> Markup {
    html! {
        pre.diff { code { @for line in text.lines() {
            @if line.starts_with('+') && !line.starts_with("+++") { span.add { (line) } }
            @else if line.starts_with('-') && !line.starts_with("---") { span.del { (line) } }
            @else { (line) "\n" }
        } } }
    }
}

/// What a detection draft would have caught, and what else it would raise.
fn draft_replay(r: &Value) -> Markup {
    html! {
        h2 { "Replay" }
        p {
            "Drafted from " (r["early_events"].as_array().map_or(0, Vec::len))
            " events of the case's users, hosts and keys before its first alert, which no rule in force fires on"
            @if let Some(n) = r["undrafted_events"].as_u64().filter(|n| *n > 0) { " (" (n) " more said nothing a rule can key on)" }
            "."
        }
        p {
            "Over " (r["period"]["from"].as_str().unwrap_or("")) " to " (r["period"]["to"].as_str().unwrap_or("")) ", "
            (r["replayed_events"].as_u64().unwrap_or(0)) " stored events replayed"
            @if r["capped"].as_bool() == Some(true) { " (the most a replay reads)" }
            ": the rule would raise " strong { (r["added"]["this_case"].as_u64().unwrap_or(0)) } " alerts on this case's early events and "
            strong { (r["added"]["elsewhere"].as_u64().unwrap_or(0)) } " on other events."
        }
        @if let Some(examples) = r["added"]["elsewhere_examples"].as_array().filter(|e| !e.is_empty()) {
            p { "Other events it fires on, for a look: "
                @for (i, e) in examples.iter().enumerate() {
                    @if i > 0 { ", " }
                    @let id = e.as_str().unwrap_or("");
                    a href={ "/ui/events/" (segment(id)) } { code { (id) } }
                }
            }
        }
    }
}

/// The steps a runbook edit adds and takes out, and its diff.
fn runbook_changes(r: &Value) -> Markup {
    let changes = |key: &str| r[key].as_array().cloned().unwrap_or_default();
    html! {
        h2 { "What the case's response did" }
        table {
            thead { tr { th { "Change" } th { "Phase" } th { "Action" } th { "Target" } th { "Why" } } }
            tbody {
                @for c in changes("added") { tr {
                    td.ok { "add" } td { (c["phase"].as_str().unwrap_or("")) } td { code { (c["action"].as_str().unwrap_or("")) } }
                    td { (c["target"].as_str().unwrap_or("")) } td { (c["why"].as_str().unwrap_or("")) }
                } }
                @for c in changes("removed_steps") { tr {
                    td.bad { "remove" } td { (c["phase"].as_str().unwrap_or("")) } td { code { (c["action"].as_str().unwrap_or("")) } }
                    td { (c["target"].as_str().unwrap_or("")) } td { (c["why"].as_str().unwrap_or("")) }
                } }
            }
        }
        h2 { "Diff of playbook " code { (r["playbook"].as_str().unwrap_or("")) } }
        (diff(r["diff"].as_str().unwrap_or("")))
    }
}

pub async fn list(page_in: Page<perm::RuleRead>, State(state): State<AppState>) -> Response {
    let tasks = match state.store.learning_tasks(None).await {
        Ok(t) => t,
        Err(e) => return failure(e.into()),
    };
    let (open, decided): (Vec<&LearningTask>, Vec<&LearningTask>) =
        tasks.iter().partition(|t| t.status == "proposed");
    let table = |rows: &[&LearningTask]| {
        html! {
            table {
                thead { tr { th { "Proposal" } th { "Case" } th { "Replay" } th { "Status" } } }
                tbody { @for t in rows {
                    tr {
                        td { a href={ "/ui/learning/" (segment(&t.id)) } { (t.title) } br; code.muted { (t.id) } }
                        td { a href={ "/ui/cases/" (segment(&t.case_id)) } { code { (t.case_id) } } }
                        td { (replay_line(t)) }
                        td { (status(t)) }
                    }
                } }
            }
        }
    };
    let body = html! {
        h1 { "Learning" }
        p.muted { "What closed cases propose to change: filters, new detections, playbook edits and regression tests. Every rule proposal was replayed against stored alerts and events before it was filed." }
        h2 { "Waiting for review (" (open.len()) ")" }
        @if open.is_empty() { p { "Nothing waits." } } @else { (table(&open)) }
        h2 { "Decided (" (decided.len()) ")" }
        @if decided.is_empty() { p { "Nothing decided yet." } } @else { (table(&decided)) }
    };
    shell("Learning", page_in.principal(), body).into_response()
}

pub async fn task(
    page_in: Page<perm::RuleRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Response {
    let t = match state.store.learning_task(&id).await {
        Ok(Some(t)) => t,
        Ok(None) => return failure(crate::error::ApiError::not_found("learning task")),
        Err(e) => return failure(e.into()),
    };
    let r = &t.replay;
    let by_case = r["by_case"].as_array().cloned().unwrap_or_default();
    let body = html! {
        h1 { (t.title) }
        p.muted {
            (t.kind.as_str()) " proposal " code { (t.id) } " from case "
            a href={ "/ui/cases/" (segment(&t.case_id)) } { code { (t.case_id) } }
            @if let Some(rule) = &t.rule_id { ", rule " code { (rule) } }
            ", filed " (t.created_at)
        }
        p { strong { "Status: " } (status(&t)) }
        @if let (Some(who), Some(at)) = (&t.decided_by, &t.decided_at) {
            p { "Decided by " (who) " at " (at) ": " (t.rationale.as_deref().unwrap_or("")) }
        }
        @if t.hides_malicious {
            p.bad { strong { "This change would hide " (removed(r, "malicious")) " alerts of cases judged malicious." } " Accepting it takes two people." }
        }
        @if t.kind == LearningKind::Detection {
            (draft_replay(r))
        } @else if t.kind == LearningKind::Runbook {
            (runbook_changes(r))
        } @else if t.kind == LearningKind::Regression {
            h2 { "The test" }
            p { "The case's events that fired the rule, written beside the " code { "info.yml" } " when accepted; the rule must keep matching them." }
            table {
                thead { tr { th { "File" } th { "Read as" } th { "Events" } th { "Matches expected" } } }
                tbody { @for f in r["tests"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    tr {
                        td { code { (f["file"].as_str().unwrap_or("")) } }
                        td { (f["format"].as_str().unwrap_or("")) }
                        td { (f["events"].as_array().map_or(0, Vec::len)) }
                        td { (f["matches"].as_u64().unwrap_or(0)) }
                    }
                } }
            }
        } @else {
            h2 { "Replay" }
            p {
                "Over " (r["period"]["from"].as_str().unwrap_or("")) " to " (r["period"]["to"].as_str().unwrap_or("")) ": "
                (r["replayed"].as_u64().unwrap_or(0)) " alerts of the rule replayed; the change removes "
                (removed(r, "benign")) " judged false positive or benign, "
                (removed(r, "unjudged")) " not judged and "
                (removed(r, "malicious")) " judged malicious."
            }
            @if !by_case.is_empty() {
                table {
                    thead { tr { th { "Case" } th { "Verdict" } th { "Alerts" } th { "Removed" } } }
                    tbody { @for c in &by_case {
                        tr {
                            td { @match c["case"].as_str() { Some(id) => a href={ "/ui/cases/" (segment(id)) } { code { (id) } }, None => "no case" } }
                            td { (c["verdict"].as_str().unwrap_or("")) }
                            td { (c["alerts"].as_u64().unwrap_or(0)) }
                            td { (c["removed"].as_u64().unwrap_or(0)) }
                        }
                    } }
                }
            }
        }
        h2 { "Proposed document" }
        pre { code { (t.artefact) } }
        @if t.status == "proposed" && page_in.may(Permission::RuleTune) {
            h2 { "Review" }
            form method="post" action={ "/ui/learning/" (segment(&t.id)) "/decision" } {
                input type="hidden" name="csrf_token" value=(page_in.csrf());
                label for="artefact" {
                    @match t.kind {
                        LearningKind::Regression => "Document (its counts and names may be edited; the events stay the case's)",
                        LearningKind::Runbook => "Playbook (edit it to accept a changed version; it keeps its id and the new version number)",
                        _ => "Document (edit it to accept a changed version; it is replayed again)",
                    }
                }
                textarea #artefact name="artefact" rows="16" spellcheck="false" { (t.artefact) }
                label for="rationale" { "Rationale" }
                textarea #rationale name="rationale" rows="3" required maxlength="2000" {}
                p {
                    button type="submit" name="decision" value="accept" { "Accept" }
                    " "
                    button.secondary type="submit" name="decision" value="reject" { "Reject" }
                }
            }
        }
    };
    shell(&t.title, page_in.principal(), body).into_response()
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: Decision,
    rationale: String,
    artefact: Option<String>,
}

pub async fn decision(
    page_in: Page<perm::RuleTune>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId,
    Form(form): Form<DecisionForm>,
) -> Response {
    // A browser sends the textarea back with line ends as CRLF.
    let artefact = match form.decision {
        Decision::Accept => form.artefact.map(|a| a.replace("\r\n", "\n")),
        Decision::Reject => None,
    };
    let body = JsonBody(DecisionRequest::new(form.decision, form.rationale, artefact));
    match decide(page_in.auth, State(state), ConnectInfo(from), PathId(id.clone()), body).await {
        Ok(_) => Redirect::to(&format!("/ui/learning/{}", segment(&id))).into_response(),
        Err(e) => failure(e),
    }
}
