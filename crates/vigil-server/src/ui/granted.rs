//! What an auditor reads: the cases their grants cover now (with each grant's reason and end),
//! and each such case with its timeline, alerts and a link to its signed incident packet. Every
//! page read here is an `auditor.view` audit record; a case no grant covers is "no such case".

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::Value;
use vigil_model::CaseId;

use super::layout::{segment, severity, shell, text};
use super::{Page, failure};
use crate::api::grants::{audit_view, covered, granted_cases};
use crate::auth::perm;
use crate::params::PathId;
use crate::state::AppState;

pub async fn list(
    page_in: Page<perm::GrantRead>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
) -> Response {
    let who = page_in.principal();
    let (grants, cases) = match granted_cases(&state, who).await {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    if let Err(e) = audit_view(&state, who, from, None, "granted cases").await {
        return failure(e);
    }
    let body = html! {
        h1 { "Granted cases" }
        @if grants.is_empty() { p.muted { "No grant is in force for you. A lead grants an auditor chosen cases, or a period, until a date." } }
        @for g in &grants {
            p.muted {
                "Granted by " (g.granted_by) " until " (g.expires_at) ": "
                @match (&g.case_id, &g.from_at, &g.to_at) {
                    (Some(case), _, _) => { "case " code { (case) } },
                    (None, Some(f), Some(t)) => { "the cases with events from " (f) " to " (t) },
                    _ => { "nothing" },
                }
                " · " (g.reason)
            }
        }
        @if !cases.is_empty() {
            table {
                thead { tr { th { "Severity" } th { "State" } th { "Case" } th.wide { "Events" } } }
                tbody {
                    @for c in &cases {
                        tr {
                            td class=(format!("sev-{}", severity(c.severity))) { (severity(c.severity)) }
                            td { (c.state.as_str()) }
                            td { a href=(format!("/ui/granted/{}", segment(c.id.as_str()))) { (c.title) } }
                            td.wide { (c.first_seen) " to " (c.last_seen) }
                        }
                    }
                }
            }
        }
        p.muted { "Each page you read here is recorded in the audit trail." }
    };
    shell("Granted cases", who, body).into_response()
}

pub async fn case(
    page_in: Page<perm::GrantRead>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<CaseId>,
) -> Response {
    let who = page_in.principal();
    let case = match covered(&state, who, &id).await {
        Ok(case) => case,
        Err(e) => return failure(e),
    };
    if let Err(e) = audit_view(&state, who, from, Some(&id), "case").await {
        return failure(e);
    }
    let alerts = match state.store.case_alerts(&id).await {
        Ok(alerts) => alerts,
        Err(e) => return failure(e.into()),
    };
    let timeline: Vec<Value> = case.body["timeline"].as_array().cloned().unwrap_or_default();
    let body = html! {
        (super::layout::case_header(&case))
        p {
            a href=(format!("/api/v1/granted/cases/{}/packet", segment(case.id.as_str()))) { "Download the signed incident packet" }
            " — check it anywhere with " code { "vigil verify case.tar --key PUBLIC-KEY" } "."
        }
        section aria-labelledby="alerts" {
            h2 #alerts { "Alerts" }
            table {
                thead { tr { th { "Time" } th { "Rule" } th { "Severity" } } }
                tbody { @for a in &alerts { tr { td { (a.time) } td { (a.title) } td { (severity(a.severity)) } } } }
            }
        }
        section aria-labelledby="timeline" {
            h2 #timeline { "Timeline" }
            ul { @for e in &timeline { li {
                (e["time"].as_i64().map_or_else(String::new, super::layout::when)) " · " (text(&e["title"]))
            } } }
        }
    };
    shell(&case.title, who, body).into_response()
}
