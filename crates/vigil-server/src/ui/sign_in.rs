//! The sign-in page: a plain form posting a name and password; the session it opens is the
//! API's (rate-limited, throttled, audited).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::Page;
use super::layout::bare;
use crate::api::session::{Login, sign_in};
use crate::auth::perm;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
}

fn form_page(message: Option<&str>) -> axum::response::Html<String> {
    bare(
        "Sign in",
        html! {
            div.sign-in.card {
                h1 { "Sign in to Vigil" }
                @if let Some(message) = message { p.error role="alert" { (message) } }
                form method="post" action="/ui/sign-in" {
                    label for="name" { "User name" }
                    input #name type="text" name="name" autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p { button type="submit" { "Sign in" } }
                }
            }
        },
    )
}

pub async fn form() -> Response {
    form_page(None).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let login = Login { name: form.name.as_str().into(), password: form.password };
    match sign_in(&state, from, &headers, login).await {
        // An auditor reads only what grants cover; everyone else starts at the queue.
        Ok((cookie, who)) if who.role == "auditor" => (cookie, Redirect::to("/ui/granted")).into_response(),
        Ok((cookie, _)) => (cookie, Redirect::to("/ui/queue")).into_response(),
        Err(e) => {
            let status = if e.code == crate::error::Code::RateLimited {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            (status, form_page(Some(&e.message))).into_response()
        }
    }
}

pub async fn sign_out(page: Page<perm::Session>, state: State<AppState>, headers: HeaderMap) -> Response {
    let ended = crate::api::session::logout(page.auth, state, headers).await;
    let mut out = Redirect::to("/ui/sign-in").into_response();
    if let Ok(ended) = ended
        && let Some(cookie) = ended.headers().get(header::SET_COOKIE)
    {
        out.headers_mut().insert(header::SET_COOKIE, cookie.clone());
    }
    out
}
