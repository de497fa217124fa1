//! The queue: open cases (or one state) a page at a time, in the order a person picks, with what
//! each is waiting for: how fresh its evidence is, how sure the recommendation is and what
//! context it lacked, who owns it, and actions blocked (waiting for approval, or failed).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use vigil_model::{CaseState, UserId};
use vigil_store::{Owner, QueueFilter, QueueOrder};

use super::layout::{segment, severity, shell};
use super::{Page, failure};
use crate::auth::{Permission, perm};
use crate::error::{ApiError, Code};
use crate::params::Params;
use crate::state::AppState;

const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Only cases in this state; `open` (the default) is every state before closing.
    state: Option<String>,
    /// At least this OCSF severity.
    min_severity: Option<i64>,
    /// `me`, `unassigned`, or anyone (absent or empty).
    owner: Option<String>,
    /// One of the queue's orders.
    sort: Option<String>,
    /// From 1.
    page: Option<i64>,
}

impl QueueQuery {
    /// The queue's address with this query, `page` replaced.
    fn link(&self, page: i64) -> String {
        let mut parts = vec![];
        for (name, value) in [("state", &self.state), ("owner", &self.owner), ("sort", &self.sort)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{name}={}", segment(v)));
            }
        }
        if let Some(s) = self.min_severity {
            parts.push(format!("min_severity={s}"));
        }
        parts.push(format!("page={page}"));
        format!("/ui/queue?{}", parts.join("&"))
    }
}

/// How long ago, in the largest unit that says it.
fn age(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0 => "just now".into(),
        m if m < 60 => format!("{m} min ago"),
        m if m < 48 * 60 => format!("{} h ago", m / 60),
        m => format!("{} days ago", m / (24 * 60)),
    }
}

fn filter_of(query: &QueueQuery, me: &UserId) -> Result<QueueFilter, ApiError> {
    let state = match query.state.as_deref() {
        None | Some("open" | "") => None,
        Some(name) => Some(name.parse::<CaseState>().map_err(|e| ApiError::new(Code::BadRequest, e))?),
    };
    let owner = match query.owner.as_deref() {
        None | Some("") => Owner::Anyone,
        Some("me") => Owner::Is(me.clone()),
        Some("unassigned") => Owner::Unassigned,
        Some(_) => return Err(ApiError::new(Code::BadRequest, "owner: me or unassigned")),
    };
    let order = match query.sort.as_deref() {
        None | Some("") => QueueOrder::default(),
        Some(name) => QueueOrder::parse(name)
            .ok_or_else(|| ApiError::new(Code::BadRequest, "sort: severity, newest, oldest or updated"))?,
    };
    let page = query.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(ApiError::new(Code::BadRequest, "page: 1 to 100000"));
    }
    Ok(QueueFilter {
        state,
        min_severity: query.min_severity.unwrap_or(0),
        owner,
        order,
        offset: (page - 1) * PER_PAGE,
        limit: PER_PAGE,
    })
}

pub async fn page(
    page_in: Page<perm::CaseRead>,
    State(state): State<AppState>,
    Params(query): Params<QueueQuery>,
) -> Response {
    let who = page_in.principal();
    let filter = match filter_of(&query, &who.name) {
        Ok(filter) => filter,
        Err(e) => return failure(e),
    };
    let queue = match state.store.queue(&filter).await {
        Ok(queue) => queue,
        Err(e) => return failure(e.into()),
    };
    // Four queries for the whole page, not four a case.
    let ids: Vec<_> = queue.cases.iter().map(|c| c.id.clone()).collect();
    let (recommendations, awaiting, failed, breached) = match tokio::try_join!(
        state.store.latest_recommendations(&ids),
        state.store.awaiting_by_case(),
        state.store.failed_runs_by_case(),
        state.store.sla_breached_clocks(&ids)
    ) {
        Ok(all) => all,
        Err(e) => return failure(e.into()),
    };
    // In the order a case meets its clocks.
    let breached: std::collections::HashMap<_, Vec<String>> = breached
        .into_iter()
        .map(|(id, mut clocks)| {
            clocks.sort_by_key(|c| vigil_report::sla::Clock::ALL.iter().position(|k| k.as_str() == c));
            (id, clocks)
        })
        .collect();
    let now = state.store.clock().now().timestamp_millis();
    let may_write = page_in.may(Permission::CaseWrite);
    let csrf = page_in.csrf();
    let page = filter.offset / PER_PAGE + 1;
    let pages = (queue.total + PER_PAGE - 1) / PER_PAGE;
    let body = html! {
        h1 { "Queue" }
        (filters(&query, filter.state, filter.order))
        // What the live script swaps when the cases change.
        div data-live="queue" {
        p.muted aria-live="polite" { (queue.total) " cases" @if pages > 1 { " · page " (page) " of " (pages) } }
        @if queue.cases.is_empty() { p.muted { "No cases." } } @else {
            table.queue {
                thead { tr {
                    th { "Severity" } th { "State" } th { "Case" } th { "Owner" } th.wide { "Alerts" }
                    th.wide { "Evidence" } th.wide { "Confidence" } th.wide { "Missing context" } th { "SLA" } th { "Blocked" }
                } }
                tbody {
                    @for case in &queue.cases {
                        @let rec = recommendations.get(&case.id);
                        @let unknowns = rec.and_then(|r| r.get("unknowns")).and_then(Value::as_array);
                        @let waiting = awaiting.get(&case.id).copied().unwrap_or(0);
                        @let failed = failed.get(&case.id).copied().unwrap_or(0);
                        tr {
                            td class=(format!("sev-{}", severity(case.severity))) { (severity(case.severity)) }
                            td { (case.state.as_str()) }
                            td { a href=(format!("/ui/cases/{}", segment(case.id.as_str()))) { (case.title) } }
                            td {
                                (case.assignee.as_ref().map_or("unassigned", |a| a.as_str()))
                                @if may_write && case.assignee.as_ref() != Some(&who.name) {
                                    form.inline method="post" action=(format!("/ui/cases/{}/assign", segment(case.id.as_str()))) {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        input type="hidden" name="back" value="queue";
                                        " " button.secondary.small type="submit" aria-label=(format!("Assign {} to me", case.title)) { "Assign to me" }
                                    }
                                }
                            }
                            td.wide { (case.body["alerts"].as_array().map_or(0, Vec::len)) }
                            td.wide {
                                @match vigil_store::time::to_millis(&case.last_seen) {
                                    Some(ms) => span title=(case.last_seen) { "newest " (age(now - ms)) },
                                    None => (case.last_seen),
                                }
                            }
                            td.wide { @match rec.and_then(|r| r.get("confidence")).and_then(Value::as_f64) {
                                Some(c) => (format!("{c:.2}")),
                                None => span.muted { "no recommendation" },
                            } }
                            td.wide { @match unknowns.filter(|u| !u.is_empty()) {
                                Some(u) => span title=(u.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")) { (u.len()) " unknown" },
                                None => span.muted { "none" },
                            } }
                            td { @match breached.get(&case.id) {
                                Some(clocks) => span.error.sla-breach { "breached: " (clocks.join(", ")) },
                                None => span.muted { "in time" },
                            } }
                            td {
                                @if waiting > 0 { (waiting) " for approval" br; }
                                @if failed > 0 { span.error { (failed) " failed" } }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="pages of the queue" {
            @if page > 1 { a href=(query.link(page - 1)) rel="prev" { "← Previous" } }
            @if page < pages { a href=(query.link(page + 1)) rel="next" { "Next →" } }
        }
        }
        script src="/ui/live.js" defer {}
    };
    shell("Queue", who, body).into_response()
}

fn filters(query: &QueueQuery, state: Option<CaseState>, order: QueueOrder) -> Markup {
    let owner = query.owner.as_deref().unwrap_or("");
    let min = query.min_severity.unwrap_or(0);
    html! {
        form.filters method="get" action="/ui/queue" {
            span {
                label for="state" { "State" }
                select #state name="state" {
                    option value="open" { "open" }
                    @for s in CaseState::ALL { option value=(s.as_str()) selected[state == Some(s)] { (s.as_str()) } }
                }
            }
            span {
                label for="min_severity" { "At least" }
                select #min_severity name="min_severity" {
                    @for (id, name) in [(0, "any severity"), (2, "low"), (3, "medium"), (4, "high"), (5, "critical")] {
                        option value=(id) selected[min == id] { (name) }
                    }
                }
            }
            span {
                label for="owner" { "Owner" }
                select #owner name="owner" {
                    @for (value, name) in [("", "anyone"), ("me", "me"), ("unassigned", "unassigned")] {
                        option value=(value) selected[owner == value] { (name) }
                    }
                }
            }
            span {
                label for="sort" { "Order" }
                select #sort name="sort" {
                    @for o in QueueOrder::ALL { option value=(o.as_str()) selected[order == o] { (o.as_str()) } }
                }
            }
            span { button.secondary type="submit" { "Show" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn an_age_is_said_in_the_largest_unit_that_says_it() {
        for (ms, said) in [
            (-5_000, "just now"),
            (59_000, "just now"),
            (60_000, "1 min ago"),
            (59 * 60_000, "59 min ago"),
            (60 * 60_000, "1 h ago"),
            (47 * 3_600_000, "47 h ago"),
            (48 * 3_600_000, "2 days ago"),
            (277 * 86_400_000, "277 days ago"),
        ] {
            assert_eq!(age(ms), said, "{ms} ms");
        }
    }
}
