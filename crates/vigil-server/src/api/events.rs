//! Stored events by time range or id (the OCSF event with its raw record), and dead letters.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vigil_store::{StoredDeadLetter, StoredEvent};

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{Params, PathId, limit};
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// RFC 3339, inclusive; a day before `to` when absent.
    from: Option<String>,
    /// RFC 3339, exclusive; now when absent.
    to: Option<String>,
    /// Text the event contains (case-insensitive).
    q: Option<String>,
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

fn instant(text: Option<&str>, default: &str) -> Result<String, ApiError> {
    match text {
        None => Ok(default.to_owned()),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| vigil_store::time::stamp(d.with_timezone(&chrono::Utc)))
            .map_err(|e| ApiError::new(Code::BadRequest, format!("{t:?} is not an RFC 3339 time: {e}"))),
    }
}

pub async fn search(
    _: Auth<perm::EventRead>,
    State(state): State<AppState>,
    Params(q): Params<SearchQuery>,
) -> ApiResult<Json<EventList>> {
    let limit = limit(q.limit, 100, 1_000)?;
    let events = find(&state, q.from.as_deref(), q.to.as_deref(), q.q.as_deref(), limit, false).await?;
    Ok(Json(EventList { events }))
}

/// Events in `[from, to)` holding `text`: without `from`, the last day up to `to` (or now), so a
/// search never scans every event unless it asks to. The API (oldest first) and the events page
/// (newest first) both ask here.
pub async fn find(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    text: Option<&str>,
    limit: i64,
    newest_first: bool,
) -> ApiResult<Vec<StoredEvent>> {
    let to = match to {
        Some(t) => instant(Some(t), "")?,
        None => vigil_store::time::stamp(state.store.clock().now() + chrono::Duration::seconds(1)),
    };
    let from = match from {
        Some(f) => instant(Some(f), "")?,
        None => chrono::DateTime::parse_from_rfc3339(&to)
            .map(|t| vigil_store::time::stamp(t.to_utc() - chrono::Duration::days(1)))
            .unwrap_or_else(|_| "0000".to_owned()),
    };
    if text.is_some_and(|t| t.is_empty() || t.chars().count() > 256) {
        return Err(ApiError::new(Code::BadRequest, "q: 1 to 256 characters"));
    }
    Ok(state.store.search_events_ordered(&from, &to, text, limit, newest_first).await?)
}

#[derive(Serialize, JsonSchema)]
pub struct EventList {
    events: Vec<StoredEvent>,
}

pub async fn get(
    _: Auth<perm::EventRead>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<OneEvent>> {
    let event = state.store.event(&id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let raw = String::from_utf8_lossy(&event.raw).into_owned();
    Ok(Json(OneEvent { event, raw }))
}

/// An event and the raw record it was read from.
#[derive(Serialize, JsonSchema)]
pub struct OneEvent {
    event: StoredEvent,
    /// The record as it arrived (bytes that are not UTF-8 shown as U+FFFD).
    raw: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadQuery {
    /// At most this many (each list has its own default and maximum).
    #[schemars(range(min = 1))]
    limit: Option<i64>,
}

pub async fn dead_letters(
    _: Auth<perm::EventRead>,
    State(state): State<AppState>,
    Params(q): Params<DeadQuery>,
) -> ApiResult<Json<DeadLetters>> {
    let dead_letters = state.store.dead_letters(limit(q.limit, 100, 1_000)?).await?;
    Ok(Json(DeadLetters { dead_letters }))
}

#[derive(Serialize, JsonSchema)]
pub struct DeadLetters {
    dead_letters: Vec<StoredDeadLetter>,
}
