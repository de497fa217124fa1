//! Live updates for the queue: a server-sent event each time the cases change (the engine
//! finished a batch, or someone moved, assigned or saved a case), so an open queue refreshes its
//! rows without a reload. The stream carries no case data: the page's script fetches its own
//! rows again, rendered and escaped by the server, with the session it already has.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::Page;
use crate::auth::perm;
use crate::state::AppState;

/// How long a change that the engine did not announce (a person's) may wait to be seen.
const RECHECK: Duration = Duration::from_secs(5);

const SCRIPT: &str = include_str!("live.js");

pub async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

/// `text/event-stream`: an event named `cases` whenever the newest change to any case moves.
/// Each event's id is that change's time: a browser that reconnects sends it back
/// (`Last-Event-ID`), and a change made while it was away is told at once instead of missed.
pub async fn events(_: Page<perm::CaseRead>, State(state): State<AppState>, headers: HeaderMap) -> Response {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map(str::to_owned);
    let seen = match last {
        Some(last) => Some(last),
        None => state.store.cases_changed_at().await.ok().flatten(),
    };
    let stream = futures_util::stream::unfold((state, seen), |(state, mut seen)| async move {
        let mut closing = state.closing.subscribe();
        loop {
            if *closing.borrow_and_update() {
                return None;
            }
            // A store that cannot answer ends the stream; the browser reconnects by itself.
            let now = state.store.cases_changed_at().await.ok()?;
            if now != seen {
                seen.clone_from(&now);
                let stamp = now.unwrap_or_default();
                let event = Event::default().event("cases").id(stamp.clone()).data(stamp);
                return Some((Ok::<_, Infallible>(event), (state, seen)));
            }
            tokio::select! {
                _ = state.engine.processed.notified() => {}
                _ = tokio::time::sleep(RECHECK) => {}
                _ = closing.changed() => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
