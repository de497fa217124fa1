//! The pages a person uses in a browser, rendered on the server and readable with JavaScript
//! off: sign-in, the case queue, a case with its evidence path, an event with its raw record,
//! the approvals inbox and a request with its run log, events search and dead letters, the
//! rules, people and tokens, and the audit trail with each record's check. Every value is
//! escaped by the templates (`maud`); the one script is Vigil's own file for the queue's live
//! updates, and the Content-Security-Policy allows no other (no inline script, nothing from
//! elsewhere). Sessions and CSRF are the API's: a form carries the session's token as
//! `csrf_token`, and the same check judges it.

mod audit;
mod case;
mod compliance;
mod events;
mod granted;
mod inbox;
mod layout;
mod learning;
mod live;
mod people;
mod queue;
mod rules;
mod scorecard;
mod sign_in;
mod sla;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::auth::{Auth, Perm, Permission, Principal, Via};
use crate::error::{ApiError, Code};
use crate::state::AppState;

pub use layout::CSP;

/// The pages, under `/ui`, and `/` leading to them.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/queue") }))
        .route("/ui", get(|| async { Redirect::to("/ui/queue") }))
        .route("/ui/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .route("/ui/queue", get(queue::page))
        .route("/ui/cases/{id}", get(case::page))
        .route("/ui/cases/{id}/actions", post(case::propose))
        .route("/ui/cases/{id}/assign", post(case::assign))
        .route("/ui/cases/{id}/comments", post(case::comment))
        .route("/ui/events", get(events::search))
        .route("/ui/events/{id}", get(case::event))
        .route("/ui/dead-letters", get(events::dead_letters))
        .route("/ui/rules", get(rules::page))
        .route("/ui/rules/reload", post(rules::reload))
        .route("/ui/learning", get(learning::list))
        .route("/ui/learning/{id}", get(learning::task))
        .route("/ui/learning/{id}/decision", post(learning::decision))
        .route("/ui/people", get(people::users).post(people::add_user))
        .route("/ui/people/{id}/role", post(people::set_role))
        .route("/ui/people/{id}/disable", post(people::disable))
        .route("/ui/people/{id}/enable", post(people::enable))
        .route("/ui/tokens", get(people::tokens).post(people::make_token))
        .route("/ui/tokens/{id}/revoke", post(people::revoke_token))
        .route("/ui/scorecard", get(scorecard::page))
        .route("/ui/compliance", get(compliance::page))
        .route("/ui/granted", get(granted::list))
        .route("/ui/granted/{id}", get(granted::case))
        .route("/ui/audit", get(audit::trail))
        .route("/ui/audit/verify", get(audit::verify))
        .route("/ui/inbox", get(inbox::page))
        .route("/ui/actions/{id}", get(inbox::request))
        .route("/ui/actions/{id}/approve", post(inbox::approve))
        .route("/ui/actions/{id}/reject", post(inbox::reject))
        .route("/ui/actions/{id}/execute", post(inbox::execute))
        .route("/ui/vigil.css", get(layout::stylesheet))
        .route("/ui/live", get(live::events))
        .route("/ui/live.js", get(live::script))
        .route_layer(axum::middleware::from_fn(secure_headers))
}

/// Every page: no inline script, nothing from elsewhere, never framed, never cached.
async fn secure_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A signed-in person allowed `P`: a page's extractor. Without a session the answer is the
/// sign-in page; without the permission, a page that says so.
pub struct Page<P: Perm> {
    pub auth: Auth<P>,
}

/// The session's CSRF token, which the page's forms carry (none for a token's requests).
pub fn csrf_of(principal: &Principal) -> &str {
    match &principal.via {
        Via::Session { csrf } => csrf,
        Via::Token { .. } => "",
    }
}

impl<P: Perm> Page<P> {
    pub fn principal(&self) -> &Principal {
        &self.auth.principal
    }

    pub fn csrf(&self) -> &str {
        csrf_of(&self.auth.principal)
    }

    pub fn may(&self, permission: Permission) -> bool {
        self.auth.principal.may(permission)
    }
}

impl<P: Perm> FromRequestParts<AppState> for Page<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Auth::<P>::from_request_parts(parts, state).await {
            Ok(auth) => Ok(Page { auth }),
            Err(e) if e.code == Code::Unauthenticated => Err(Redirect::to("/ui/sign-in").into_response()),
            Err(e) => Err(failure(e)),
        }
    }
}

/// The answer to a form: on to `path` once the API's handler did the change, or the refusal
/// as a page.
pub fn done<T>(result: Result<T, ApiError>, path: &str) -> Response {
    match result {
        Ok(_) => Redirect::to(path).into_response(),
        Err(e) => failure(e),
    }
}

/// An error as a page: its code, its message, the way back.
pub fn failure(error: ApiError) -> Response {
    let (code, status) = crate::error::entry(error.code);
    if error.code == Code::Internal {
        tracing::error!(message = %error.message, "a page failed");
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = layout::bare(
        "Refused",
        maud::html! {
            h1 { "Not done" }
            p.error { (code) ": " (error.message) }
            p { a href="/ui/queue" { "Back to the queue" } }
        },
    );
    (status, body).into_response()
}
