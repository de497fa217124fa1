//! The detection rules the engine runs, filtered by text, with each rule's author and licence
//! (DRL 1.1 asks that the author be named); a reload button for those who may reload.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::shell;
use super::{Page, done};
use crate::auth::{Permission, perm};
use crate::params::Params;
use crate::state::AppState;

const SHOWN: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleQuery {
    /// Text in the rule's id, title, level or tags (case-insensitive).
    q: Option<String>,
}

pub async fn page(
    page_in: Page<perm::RuleRead>,
    State(state): State<AppState>,
    Params(query): Params<RuleQuery>,
) -> Response {
    let rules = state.engine.rules();
    let typed = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let wanted = typed.map(str::to_lowercase);
    let matching: Vec<_> = rules
        .iter()
        .filter(|r| {
            wanted.as_deref().is_none_or(|q| {
                [r.id.as_str(), r.title.as_str(), r.level.as_str()]
                    .into_iter()
                    .chain(r.tags.iter().map(String::as_str))
                    .any(|field| field.to_lowercase().contains(q))
            })
        })
        .collect();
    let body = html! {
        h1 { "Detection rules" }
        form.filters method="get" action="/ui/rules" role="search" {
            label for="q" { "Id, title, level or tag" }
            input #q type="text" name="q" value=(typed.unwrap_or("")) maxlength="256";
            " " button type="submit" { "Filter" }
        }
        @if page_in.may(Permission::RuleAdmin) {
            form method="post" action="/ui/rules/reload" {
                input type="hidden" name="csrf_token" value=(page_in.csrf());
                p { button.secondary type="submit" { "Reload rules, inventories and policy from disk" } }
            }
        }
        p.muted { (matching.len()) " of " (rules.len()) " rules" @if matching.len() > SHOWN { ", the first " (SHOWN) " shown" } }
        table {
            thead { tr { th { "Rule" } th { "Level" } th.wide { "Tags" } th.wide { "Author and licence" } } }
            tbody { @for r in matching.iter().take(SHOWN) {
                tr {
                    td {
                        (r.title) br; code.muted { (r.id) }
                        @if let Some(d) = &r.description { br; span.muted { (d) } }
                    }
                    td { (r.level) }
                    td.wide { (r.tags.join(" ")) }
                    td.wide { (r.author.as_deref().unwrap_or("unknown")) br; span.muted { (r.license) } }
                }
            } }
        }
    };
    shell("Rules", page_in.principal(), body).into_response()
}

pub async fn reload(
    page_in: Page<perm::RuleAdmin>,
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
) -> Response {
    done(crate::api::rules::reload(page_in.auth, state, from).await, "/ui/rules")
}
