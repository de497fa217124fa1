//! Stored events found by text and time range, each a link to its raw record, and the dead
//! letters: the records that could not be read, with where they were and why.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::layout::{segment, shell, text};
use super::{Page, failure};
use crate::auth::perm;
use crate::error::{ApiError, Code};
use crate::params::Params;
use crate::state::AppState;

const SHOWN: i64 = 200;

/// How far back a search reaches, as the form offers it.
const RANGES: [(&str, &str, i64); 4] = [
    ("1d", "the last day", 1),
    ("7d", "the last 7 days", 7),
    ("30d", "the last 30 days", 30),
    ("all", "all time", 0),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchForm {
    /// Text the event holds (case-insensitive); empty for every event in the range.
    q: Option<String>,
    /// One of `RANGES`.
    range: Option<String>,
}

/// What an event says in a line: its message, or the activity and who and what it names.
fn summary(ocsf: &Value) -> String {
    if let Some(message) = ocsf["message"].as_str().filter(|m| !m.is_empty()) {
        return message.to_owned();
    }
    let named = [
        &ocsf["activity_name"],
        &ocsf["actor"]["user"]["name"],
        &ocsf["user"]["name"],
        &ocsf["api"]["operation"],
        &ocsf["process"]["cmd_line"],
        &ocsf["src_endpoint"]["ip"],
        &ocsf["device"]["hostname"],
    ];
    let mut parts: Vec<&str> = named.iter().filter_map(|v| v.as_str()).filter(|s| !s.is_empty()).collect();
    parts.dedup();
    parts.join(" · ")
}

pub async fn search(
    page_in: Page<perm::EventRead>,
    State(state): State<AppState>,
    Params(form): Params<SearchForm>,
) -> Response {
    let wanted = form.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    // All time by default: the newest events first, read from the time index, whatever their age
    // (a hunt's or a replay's logs may be months old).
    let range = form.range.as_deref().unwrap_or("all");
    let Some(&(range, _, days)) = RANGES.iter().find(|(name, _, _)| *name == range) else {
        return failure(ApiError::new(Code::BadRequest, "range: one of 1d, 7d, 30d, all"));
    };
    let now = state.store.clock().now();
    let from = match days {
        0 => "0000-01-01T00:00:00Z".to_owned(),
        d => vigil_store::time::stamp(now - chrono::Duration::days(d)),
    };
    let found = crate::api::events::find(&state, Some(&from), None, wanted, SHOWN, true).await;
    let events = match found {
        Ok(events) => events,
        Err(e) => return failure(e),
    };
    let body = html! {
        h1 { "Events" }
        form.filters method="get" action="/ui/events" role="search" {
            label for="q" { "Holding the text" }
            input #q type="text" name="q" value=(wanted.unwrap_or("")) maxlength="256";
            label for="range" { "Happened in" }
            select #range name="range" {
                @for (name, words, _) in RANGES { option value=(name) selected[name == range] { (words) } }
            }
            " " button type="submit" { "Search" }
        }
        p.muted { (events.len()) " events" @if events.len() as i64 == SHOWN { " (the first " (SHOWN) "; narrow the search for the rest)" } }
        @if !events.is_empty() {
            table {
                thead { tr { th { "Time" } th { "Event" } th.wide { "Class" } th.wide { "Source" } th { "What" } } }
                tbody { @for e in &events {
                    tr {
                        td { (e.time) }
                        td { a href=(format!("/ui/events/{}", segment(&e.id))) { code { (e.id.get(..12).unwrap_or(&e.id)) } } }
                        td.wide { (text(&e.ocsf["class_name"])) }
                        td.wide { (e.source) " · " (e.format) }
                        td { (summary(&e.ocsf)) }
                    }
                } }
            }
        }
    };
    shell("Events", page_in.principal(), body).into_response()
}

pub async fn dead_letters(page_in: Page<perm::EventRead>, State(state): State<AppState>) -> Response {
    let dead = match state.store.dead_letters(SHOWN).await {
        Ok(dead) => dead,
        Err(e) => return failure(e.into()),
    };
    let body = html! {
        h1 { "Dead letters" }
        p.muted { "Records Vigil could not read, kept with where they were and why. Newest first." }
        @if dead.is_empty() { p.muted { "None: every record received was read." } } @else {
            table {
                thead { tr { th { "Received" } th { "Source" } th.wide { "Where" } th { "Why" } th.wide { "The record begins" } } }
                tbody { @for d in &dead {
                    tr {
                        td { (d.received_at) }
                        td { (d.source) }
                        td.wide { code { (d.locator) } }
                        td { (d.reason) }
                        td.wide { code { (d.excerpt) } }
                    }
                } }
            }
        }
    };
    shell("Dead letters", page_in.principal(), body).into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::summary;

    #[test]
    fn an_event_is_said_by_its_message_or_by_what_it_names() {
        for (ocsf, said) in [
            (
                json!({"message": "Failed password for oracle", "activity_name": "Logon"}),
                "Failed password for oracle",
            ),
            (json!({"message": "", "activity_name": "Logon", "user": {"name": "alice"}}), "Logon · alice"),
            (
                json!({"activity_name": "Launch", "process": {"cmd_line": "cmd /c whoami"}, "device": {"hostname": "ws-12"}}),
                "Launch · cmd /c whoami · ws-12",
            ),
            (
                json!({"actor": {"user": {"name": "ops"}}, "api": {"operation": "StopLogging"}}),
                "ops · StopLogging",
            ),
            (json!({"unmapped": {"x": 1}}), ""),
        ] {
            assert_eq!(summary(&ocsf), said, "{ocsf}");
        }
    }
}
