//! The page shell: the navigation a role may use, the stylesheet, and the policy that only
//! Vigil's own script file runs.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::auth::{Permission, Principal};

/// Scripts, styles and images from Vigil only (the one script is the queue's live updates; no
/// inline script runs), connections back to Vigil only, forms posting to Vigil only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                       img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("vigil.css");

pub async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

fn head(title: &str) -> Markup {
    html! {
        (DOCTYPE)
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · Vigil" }
        link rel="stylesheet" href="/ui/vigil.css";
    }
}

/// A page for someone signed in: the navigation their role may use, then `body`.
pub fn shell(title: &str, who: &Principal, body: Markup) -> Html<String> {
    let csrf = super::csrf_of(who);
    let may = |p: Permission| who.may(p);
    Html(
        html! {
            (head(title))
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    nav aria-label="Vigil" {
                        a.brand href=(if may(Permission::CaseRead) { "/ui/queue" } else { "/ui/granted" }) { "Vigil" }
                        @if may(Permission::CaseRead) { a href="/ui/queue" { "Queue" } }
                        @else if may(Permission::GrantRead) { a href="/ui/granted" { "Granted cases" } }
                        @if may(Permission::ActionApprove) { a href="/ui/inbox" { "Approvals" } }
                        @if may(Permission::EventRead) { a href="/ui/events" { "Events" } a href="/ui/dead-letters" { "Dead letters" } }
                        @if may(Permission::RuleRead) { a href="/ui/rules" { "Rules" } a href="/ui/learning" { "Learning" } }
                        @if may(Permission::UserRead) { a href="/ui/people" { "People" } }
                        @if may(Permission::TokenAdmin) { a href="/ui/tokens" { "Tokens" } }
                        @if may(Permission::ReportRead) { a href="/ui/scorecard" { "Scorecard" } a href="/ui/compliance" { "Compliance" } }
                        @if may(Permission::AuditRead) { a href="/ui/audit" { "Audit trail" } }
                    }
                    div.who {
                        span { (who.name.as_str()) " · " (who.role.as_str()) }
                        form method="post" action="/ui/sign-out" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
        .into_string(),
    )
}

/// A page with no one signed in (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(html! { (head(title)) body { main { (body) } } }.into_string())
}

/// A severity id as its word.
pub fn severity(id: i64) -> &'static str {
    match id {
        6 => "fatal",
        5 => "critical",
        4 => "high",
        3 => "medium",
        2 => "low",
        1 => "informational",
        _ => "unknown",
    }
}

/// One path segment for a link: an id from the store or from logs cannot leave its segment.
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Milliseconds since the epoch as a UTC time.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// A case's title and the line under it: severity, state, owner, the span of its events.
pub fn case_header(case: &vigil_store::CaseRow) -> Markup {
    html! {
        h1 { (case.title) }
        p {
            span class=(format!("sev-{}", severity(case.severity))) { (severity(case.severity)) }
            " · " (case.state.as_str())
            " · owner " (case.assignee.as_ref().map_or("unassigned", |a| a.as_str()))
            " · " (case.first_seen) " to " (case.last_seen)
        }
    }
}

/// A JSON string from a stored document, or nothing.
pub fn text(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or("")
}
