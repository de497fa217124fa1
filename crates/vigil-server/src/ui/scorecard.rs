//! The weekly scorecard as a page: the same document `vigil scorecard` writes (rendered and
//! escaped by vigil-report), case ids linking to their pages, with the weeks before and after.

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use maud::{PreEscaped, html};
use serde::Deserialize;

use super::layout::shell;
use super::{Page, failure};
use crate::auth::perm;
use crate::params::Params;
use crate::state::AppState;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekQuery {
    week: Option<String>,
}

pub async fn page(
    page_in: Page<perm::ReportRead>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Params(q): Params<WeekQuery>,
) -> Response {
    let week = match crate::api::reports::week_of(&state, q.week.as_deref()) {
        Ok(week) => week,
        Err(e) => return failure(e),
    };
    let card = match crate::api::reports::scorecard_of(&state, week, page_in.principal(), peer).await {
        Ok(card) => card,
        Err(e) => return failure(e),
    };
    let this = vigil_report::scorecard::Week::containing(state.store.clock().now());
    let body = html! {
        nav.pager aria-label="weeks" {
            a href=(format!("/ui/scorecard?week={}", week.back(1))) rel="prev" { "← " (week.back(1).to_string()) }
            @if week < this { a href=(format!("/ui/scorecard?week={}", week.forward())) rel="next" { (week.forward().to_string()) " →" } }
            a href=(format!("/api/v1/scorecard?week={week}")) { "JSON" }
        }
        // vigil-report escapes every string that came from rules, cases or people.
        (PreEscaped(vigil_report::scorecard::html::body(&card, page_in.may(crate::auth::Permission::CaseRead))))
    };
    shell(&format!("Scorecard {week}"), page_in.principal(), body).into_response()
}
