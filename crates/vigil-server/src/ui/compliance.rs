//! A framework's compliance report as a page: pick the framework and the period; the report is
//! the one `vigil compliance report` writes (rendered and escaped by vigil-report), case ids
//! linking to their pages.

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
pub struct Query {
    framework: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn page(
    page_in: Page<perm::ReportRead>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Params(q): Params<Query>,
) -> Response {
    let chosen = q.framework.clone().unwrap_or_else(|| "soc2".to_owned());
    let report = match crate::api::reports::compliance_of(
        &state,
        &chosen,
        q.from.as_deref(),
        q.to.as_deref(),
        page_in.principal(),
        peer,
    )
    .await
    {
        Ok(report) => report,
        Err(e) => return failure(e),
    };
    let body = html! {
        form.filters method="get" action="/ui/compliance" {
            span {
                label for="framework" { "Framework" }
                select #framework name="framework" {
                    @for f in state.frameworks.iter() {
                        option value=(f.framework) selected[f.framework == chosen] { (f.title) }
                    }
                }
            }
            span { label for="from" { "From" } input #from type="text" name="from" value=(report.from); }
            span { label for="to" { "To" } input #to type="text" name="to" value=(report.to); }
            span { button.secondary type="submit" { "Show" } }
        }
        // vigil-report escapes every string that came from catalogues, rules or cases.
        (PreEscaped(vigil_report::compliance::html::body(&report, page_in.may(crate::auth::Permission::CaseRead))))
    };
    shell(&format!("{} compliance", report.title), page_in.principal(), body).into_response()
}
