//! Accounts as people see them: users with their roles, what each role may do, and API tokens
//! (never their secrets, but once, on the page that made one). An admin changes them here
//! through the API's own handlers, so the same checks (the last admin, your own role) and the
//! same audit records apply; anyone else with the right to read sees the lists alone.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Form, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use vigil_model::{TokenId, UserId};

use super::layout::{segment, shell};
use super::{Page, done, failure};
use crate::api::tokens::{Created, NewToken};
use crate::api::users::{NewRole, NewUser};
use crate::auth::{Permission, Role, perm};
use crate::body::JsonBody;
use crate::params::PathId;
use crate::state::AppState;

pub async fn users(page_in: Page<perm::UserRead>, State(state): State<AppState>) -> Response {
    let users = match state.store.users().await {
        Ok(users) => users,
        Err(e) => return failure(e.into()),
    };
    let admin = page_in.may(Permission::UserAdmin);
    let csrf = page_in.csrf().to_owned();
    let me = page_in.principal().name.clone();
    let body = html! {
        h1 { "People" }
        table {
            thead { tr { th { "Name" } th { "Role" } th { "Standing" } th.wide { "Since" } @if admin { th { "Change" } } } }
            tbody { @for u in &users {
                @let path = format!("/ui/people/{}", segment(u.name.as_str()));
                tr {
                    td { (u.name.as_str()) }
                    td { (u.role) }
                    td {
                        @if u.disabled { span.error { "disabled" } } @else { "active" }
                        @if let Some(until) = &u.locked_until { br; span.muted { "locked until " (until) } }
                    }
                    td.wide { (u.created_at) }
                    @if admin { td { @if u.name != me {
                        form.inline method="post" action=(format!("{path}/role")) {
                            input type="hidden" name="csrf_token" value=(csrf);
                            label.visually-hidden for=(format!("role-{}", segment(u.name.as_str()))) { "Role of " (u.name.as_str()) }
                            select id=(format!("role-{}", segment(u.name.as_str()))) name="role" {
                                @for r in Role::ALL { option value=(r.as_str()) selected[r.as_str() == u.role] { (r.as_str()) } }
                            }
                            " " button.secondary type="submit" { "Set role" }
                        }
                        " "
                        form.inline method="post" action=(format!("{path}/{}", if u.disabled { "enable" } else { "disable" })) {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.secondary type="submit" { @if u.disabled { "Enable" } @else { "Disable" } }
                        }
                    } @else { span.muted { "you" } } } }
                }
            } }
        }
        @if admin {
            h2 { "Add a person" }
            form method="post" action="/ui/people" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="new-name" { "Name (a-z 0-9 . _ @ -)" }
                input #new-name type="text" name="name" required maxlength="64" pattern="[a-z0-9._@-]+";
                label for="new-role" { "Role" }
                select #new-role name="role" { @for r in Role::ALL { option value=(r.as_str()) selected[r == Role::Analyst] { (r.as_str()) } } }
                label for="new-password" { "Password (empty for a service account, which signs in only with tokens)" }
                input #new-password type="password" name="password" autocomplete="new-password" maxlength="1024";
                p { button type="submit" { "Add" } }
            }
        }
        h2 #roles { "Roles" }
        table {
            thead { tr { th { "Role" } th { "May" } } }
            tbody { @for r in Role::ALL {
                tr { td { (r.as_str()) } td { @for (i, p) in r.permissions().iter().enumerate() { @if i > 0 { ", " } (p.as_str()) } } }
            } }
        }
    };
    shell("People", page_in.principal(), body).into_response()
}

#[derive(Deserialize)]
pub struct UserForm {
    name: String,
    role: String,
    #[serde(default)]
    password: String,
}

pub async fn add_user(
    page_in: Page<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Form(form): Form<UserForm>,
) -> Response {
    let password = Some(form.password).filter(|p| !p.is_empty());
    let body = JsonBody(NewUser { name: UserId::from(form.name), role: form.role, password });
    done(crate::api::users::create(page_in.auth, State(state), ConnectInfo(from), body).await, "/ui/people")
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    page_in: Page<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
    Form(form): Form<RoleForm>,
) -> Response {
    let body = JsonBody(NewRole { role: form.role });
    let changed =
        crate::api::users::set_role(page_in.auth, State(state), ConnectInfo(from), PathId(name), body);
    done(changed.await, "/ui/people")
}

pub async fn disable(
    page_in: Page<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
) -> Response {
    done(
        crate::api::users::disable(page_in.auth, State(state), ConnectInfo(from), PathId(name)).await,
        "/ui/people",
    )
}

pub async fn enable(
    page_in: Page<perm::UserAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(name): PathId<UserId>,
) -> Response {
    done(
        crate::api::users::enable(page_in.auth, State(state), ConnectInfo(from), PathId(name)).await,
        "/ui/people",
    )
}

pub async fn tokens(page_in: Page<perm::TokenAdmin>, State(state): State<AppState>) -> Response {
    let (tokens, users) = match tokio::try_join!(state.store.tokens(), state.store.users()) {
        Ok(both) => both,
        Err(e) => return failure(e.into()),
    };
    let csrf = page_in.csrf().to_owned();
    let body = html! {
        h1 { "API tokens" }
        p.muted { "Only a token's hash is kept: its secret was shown once, when it was made." }
        table {
            thead { tr { th { "Token" } th { "Owner" } th { "Scopes" } th.wide { "Made" } th { "Expires" } th { "" } } }
            tbody { @for t in &tokens {
                tr {
                    td { code { (t.id.as_str()) } }
                    td { (t.owner.as_str()) }
                    td { (t.scopes.join(", ")) }
                    td.wide { (t.created_at) br; span.muted { "by " (t.created_by) } }
                    td { (t.expires_at) }
                    td { @if let Some(at) = &t.revoked_at { span.muted { "revoked " (at) } } @else {
                        form.inline method="post" action=(format!("/ui/tokens/{}/revoke", segment(t.id.as_str()))) {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.secondary type="submit" { "Revoke" }
                        }
                    } }
                }
            } }
        }
        h2 { "Make a token" }
        form method="post" action="/ui/tokens" {
            input type="hidden" name="csrf_token" value=(csrf);
            label for="owner" { "For" }
            select #owner name="owner" { @for u in users.iter().filter(|u| !u.disabled) { option value=(u.name.as_str()) { (u.name.as_str()) " (" (u.role) ")" } } }
            label for="scopes" { "Scopes, separated by spaces or commas (* for all the owner's permissions, permission names, webhook:<source>)" }
            input #scopes type="text" name="scopes" required maxlength="2000";
            label for="days" { "Expires in days (1 to 366)" }
            input #days type="number" name="expires_in_days" min="1" max="366" value="90" required;
            p { button type="submit" { "Make the token" } }
        }
    };
    shell("API tokens", page_in.principal(), body).into_response()
}

#[derive(Deserialize)]
pub struct TokenForm {
    owner: String,
    scopes: String,
    expires_in_days: u32,
}

pub async fn make_token(
    page_in: Page<perm::TokenAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Form(form): Form<TokenForm>,
) -> Response {
    let scopes = form.scopes.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let body =
        JsonBody(NewToken { owner: UserId::from(form.owner), scopes, expires_in_days: form.expires_in_days });
    let who = page_in.principal().clone();
    match crate::api::tokens::create(page_in.auth, State(state), ConnectInfo(from), body).await {
        Ok(Json(Created { id, token, expires_at, .. })) => {
            let body = html! {
                h1 { "Token " code { (id.as_str()) } " made" }
                p { "Copy it now: Vigil keeps only its hash and will not show it again." }
                pre { (token) }
                p.muted { "Expires " (expires_at) ". Send it as " code { "Authorization: Bearer …" } "." }
                p { a href="/ui/tokens" { "Back to the tokens" } }
            };
            shell("Token made", &who, body).into_response()
        }
        Err(e) => failure(e),
    }
}

pub async fn revoke_token(
    page_in: Page<perm::TokenAdmin>,
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    PathId(id): PathId<TokenId>,
) -> Response {
    done(
        crate::api::tokens::revoke(page_in.auth, State(state), ConnectInfo(from), PathId(id)).await,
        "/ui/tokens",
    )
}
