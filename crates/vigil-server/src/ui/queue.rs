//! The queue: cases, most severe and most recent first, with what each is waiting for.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;
use vigil_model::CaseState;
use vigil_store::CaseFilter;

use super::layout::{severity, shell};
use super::{Page, failure};
use crate::auth::perm;
use crate::params::Params;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only cases in this state; `open` (the default) is every state before closing.
    state: Option<String>,
    /// At least this OCSF severity.
    min_severity: Option<i64>,
}

pub async fn page(
    page_in: Page<perm::CaseRead>,
    State(state): State<AppState>,
    Params(query): Params<QueueQuery>,
) -> Response {
    let wanted = match query.state.as_deref() {
        None | Some("open" | "") => None,
        Some(name) => match name.parse::<CaseState>() {
            Ok(s) => Some(s),
            Err(e) => return failure(crate::error::ApiError::new(crate::error::Code::BadRequest, e)),
        },
    };
    let filter = CaseFilter { state: wanted, min_severity: query.min_severity, assignee: None, limit: 500 };
    let mut cases = match state.store.cases(&filter).await {
        Ok(cases) => cases,
        Err(e) => return failure(e.into()),
    };
    if wanted.is_none() {
        cases.retain(|c| !c.state.is_closed());
    }
    cases.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| b.last_seen.cmp(&a.last_seen)));
    // Two queries for the whole page, not two a case.
    let ids: Vec<_> = cases.iter().map(|c| c.id.clone()).collect();
    let (recommendations, awaiting) =
        match tokio::try_join!(state.store.latest_recommendations(&ids), state.store.awaiting_by_case()) {
            Ok(both) => both,
            Err(e) => return failure(e.into()),
        };
    let rows: Vec<_> = cases
        .iter()
        .map(|case| {
            let confidence =
                recommendations.get(&case.id).and_then(|r| r.get("confidence")).and_then(Value::as_f64);
            (case, confidence, awaiting.get(&case.id).copied().unwrap_or(0))
        })
        .collect();
    let who = page_in.principal();
    let body = html! {
        h1 { "Queue" }
        form.filters method="get" action="/ui/queue" {
            label for="state" { "State" }
            select #state name="state" {
                option value="open" { "open" }
                @for s in CaseState::ALL { option value=(s.as_str()) selected[wanted == Some(s)] { (s.as_str()) } }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if rows.is_empty() { p.muted { "No cases." } } @else {
            table {
                thead { tr {
                    th { "Severity" } th { "State" } th { "Case" } th.wide { "Owner" }
                    th.wide { "Alerts" } th.wide { "Confidence" } th { "Waiting" } th.wide { "Last seen" }
                } }
                tbody {
                    @for (case, confidence, waiting) in &rows {
                        tr {
                            td class=(format!("sev-{}", severity(case.severity))) { (severity(case.severity)) }
                            td { (case.state.as_str()) }
                            td { a href=(format!("/ui/cases/{}", case.id)) { (case.title) } }
                            td.wide { (case.assignee.as_ref().map_or("unassigned", |a| a.as_str())) }
                            td.wide { (case.body["alerts"].as_array().map_or(0, Vec::len)) }
                            td.wide { @if let Some(c) = confidence { (format!("{c:.2}")) } @else { span.muted { "none" } } }
                            td { @if *waiting > 0 { (waiting) " for approval" } }
                            td.wide { (case.last_seen) }
                        }
                    }
                }
            }
        }
    };
    shell("Queue", who, body).into_response()
}
