//! Every route, declared once: method, path, the permission it needs (`None`: public), what it
//! does, its query and body types, and its handler. The router, the OpenAPI document and the
//! RBAC test all read this one table. A known path asked with another method is answered 405
//! with `Allow`.

use axum::Router;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::api::*;
use crate::auth::Permission::{self, *};
use crate::error::{ApiError, CODES, Code};
use crate::state::AppState;

/// The HTTP methods the API serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
}

use Method::{Get, Post};

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Get => "GET",
            Post => "POST",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Get => MethodFilter::GET,
            Post => MethodFilter::POST,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A type's JSON Schema, written into a generator that collects the types it names.
type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

/// The JSON Schema of `T`, inline (a query's parameters are read from it).
fn inline<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// A reference to the JSON Schema of `T`, kept once among the document's schemas.
fn named<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// What a route's request body is.
#[derive(Clone, Copy)]
pub enum Body {
    /// A JSON document of this type.
    Json(SchemaOf),
    /// Bytes: a log file (plain or gzip, recognised from the content) or an evidence file.
    Bytes(&'static str),
}

/// What a route answers when it succeeds.
#[derive(Clone, Copy)]
pub enum Answer {
    /// 200 with a JSON document of this type.
    Json(SchemaOf),
    /// 200 with this type, or 202 with the second when the change waits for someone else.
    JsonOrAccepted(SchemaOf, SchemaOf),
    /// 200 with bytes, as an attachment.
    File(&'static str),
    /// A document of this media type, not JSON.
    Text(&'static str, &'static str),
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub permission: Option<Permission>,
    pub summary: &'static str,
    /// The query parameters it takes (others are refused), as a type.
    query: Option<SchemaOf>,
    body: Option<Body>,
    /// What it answers; every route says (a test holds the table to it).
    answer: Option<Answer>,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

const fn r(
    method: Method,
    path: &'static str,
    permission: Option<Permission>,
    summary: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
) -> Route {
    Route { method, path, permission, summary, query: None, body: None, answer: None, handler }
}

impl Route {
    const fn query<T: JsonSchema>(self) -> Route {
        Route { query: Some(inline::<T>), ..self }
    }

    const fn json<T: JsonSchema>(self) -> Route {
        Route { body: Some(Body::Json(named::<T>)), ..self }
    }

    const fn bytes(self, what: &'static str) -> Route {
        Route { body: Some(Body::Bytes(what)), ..self }
    }

    const fn answers<T: JsonSchema>(self) -> Route {
        Route { answer: Some(Answer::Json(named::<T>)), ..self }
    }

    const fn answers_or_accepts<T: JsonSchema, U: JsonSchema>(self) -> Route {
        Route { answer: Some(Answer::JsonOrAccepted(named::<T>, named::<U>)), ..self }
    }

    const fn file(self, what: &'static str) -> Route {
        Route { answer: Some(Answer::File(what)), ..self }
    }

    const fn text(self, media: &'static str, what: &'static str) -> Route {
        Route { answer: Some(Answer::Text(media, what)), ..self }
    }
}

pub const ROUTES: &[Route] = &[
    r(Get, "/healthz", None, "Liveness", |m| on(m, system::health)).answers::<system::Health>(),
    r(Get, "/api/v1/openapi.json", None, "This document", |m| on(m, system::openapi))
        .answers::<serde_json::Value>(),
    r(Get, "/metrics", Some(MetricsRead), "Gauges for Prometheus, read from the store at each scrape", |m| {
        on(m, metrics::prometheus)
    })
    .text("text/plain", "The Prometheus text format"),
    r(Post, "/api/v1/login", None, "Sign in with a user name and password; sets the session cookie", |m| {
        on(m, session::login)
    })
    .answers::<session::SignedIn>()
    .json::<session::Login>(),
    r(Post, "/api/v1/logout", Some(Session), "Sign out", |m| on(m, session::logout))
        .answers::<session::SignedOut>(),
    r(Get, "/api/v1/me", Some(Session), "The caller: name, role, permissions", |m| on(m, system::me))
        .answers::<system::Me>(),
    r(Post, "/api/v1/me/password", Some(Session), "Change your own password, given the current one", |m| {
        on(m, users::change_password)
    })
    .answers::<users::PasswordChanged>()
    .json::<users::NewPassword>(),
    r(Get, "/api/v1/status", Some(Session), "Engine and ingest progress", |m| on(m, system::status))
        .answers::<system::Status>()
        .query::<system::StatusQuery>(),
    r(
        Post,
        "/api/v1/ingest",
        Some(Ingest),
        "Bulk ingest: a body in any decoded format; answered once durable",
        |m| on(m, ingest::bulk),
    )
    .answers::<ingest::IngestAnswer>()
    .query::<ingest::IngestQuery>()
    .bytes("Log records in any format Vigil decodes, plain or gzip (recognised from the content)"),
    r(
        Post,
        "/api/v1/webhooks/{source}",
        Some(Webhook),
        "A source's own ingest URL; its token is scoped to it",
        |m| on(m, ingest::webhook),
    )
    .answers::<ingest::IngestAnswer>()
    .query::<ingest::WebhookQuery>()
    .bytes("Records in the source's own format, plain or gzip"),
    r(Get, "/api/v1/cases", Some(CaseRead), "The case queue, filtered by state, severity, assignee", |m| {
        on(m, cases::list)
    })
    .answers::<cases::CaseList>()
    .query::<cases::ListQuery>(),
    r(
        Get,
        "/api/v1/cases/{id}",
        Some(CaseRead),
        "One case: document, alerts, comments, recommendation",
        |m| on(m, cases::detail),
    )
    .answers::<cases::CaseDetail>(),
    r(Get, "/api/v1/cases/{id}/timeline", Some(CaseRead), "A case's timeline", |m| on(m, cases::timeline))
        .answers::<cases::Timeline>(),
    r(Get, "/api/v1/cases/{id}/packet", Some(AuditRead), "A case's signed incident packet (docs/packet.md)", |m| {
        on(m, packets::download)
    })
    .file("The packet: a ustar archive"),
    r(Get, "/api/v1/scorecard", Some(ReportRead), "A week's scorecard (?week=2026-W48)", |m| on(m, reports::scorecard))
        .query::<reports::WeekQuery>()
        .answers::<vigil_report::scorecard::Scorecard>(),
    r(Get, "/api/v1/compliance", Some(ReportRead), "A framework's compliance report over a period", |m| {
        on(m, reports::compliance)
    })
    .query::<reports::ComplianceQuery>()
    .answers::<vigil_report::compliance::ComplianceReport>(),
    r(Post, "/api/v1/grants", Some(GrantAdmin), "Grant an auditor a case or a period until a date", |m| {
        on(m, grants::create)
    })
    .json::<grants::NewGrant>()
    .answers::<vigil_store::Grant>(),
    r(Get, "/api/v1/grants", Some(GrantAdmin), "Every auditor grant, newest first", |m| on(m, grants::list))
        .answers::<grants::GrantList>(),
    r(Post, "/api/v1/grants/{id}/revoke", Some(GrantAdmin), "Revoke an auditor grant", |m| on(m, grants::revoke))
        .answers::<grants::GrantList>(),
    r(Get, "/api/v1/granted/cases", Some(GrantRead), "The cases my grants cover (audited)", |m| {
        on(m, grants::cases)
    })
    .answers::<grants::GrantedCases>(),
    r(Get, "/api/v1/granted/cases/{id}", Some(GrantRead), "A case my grants cover (audited)", |m| {
        on(m, grants::case)
    })
    .answers::<cases::CaseDetail>(),
    r(Get, "/api/v1/granted/cases/{id}/packet", Some(GrantRead), "A granted case's incident packet (audited)", |m| {
        on(m, grants::packet)
    })
    .file("The packet: a ustar archive"),
    r(Get, "/api/v1/cases/{id}/learning", Some(CaseRead), "What a closed case proposes to change", |m| {
        on(m, learning::of_case)
    })
    .answers::<learning::TaskList>(),
    r(Get, "/api/v1/cases/{id}/sla", Some(CaseRead), "A case's SLA clocks and breaches", |m| on(m, sla::case_sla))
        .answers::<sla::CaseSla>(),
    r(Get, "/api/v1/cases/{id}/graph", Some(CaseRead), "A case's entity graph", |m| on(m, cases::graph))
        .answers::<cases::Graph>(),
    r(Get, "/api/v1/cases/{id}/recommendation", Some(CaseRead), "A case's newest recommendation", |m| {
        on(m, cases::recommendation)
    })
    .answers::<cases::CaseRecommendation>(),
    r(
        Post,
        "/api/v1/cases/{id}/transition",
        Some(CaseWrite),
        "Move a case to another state, with a reason; closing it records your verdict",
        |m| on(m, cases::transition),
    )
    .answers_or_accepts::<cases::Moved, cases::ClosePending>()
    .json::<cases::Transition>(),
    r(Post, "/api/v1/cases/{id}/assign", Some(CaseWrite), "Assign a case (or unassign with null)", |m| {
        on(m, cases::assign)
    })
    .answers::<cases::Assigned>()
    .json::<cases::Assign>(),
    r(
        Get,
        "/api/v1/verdicts",
        Some(CaseRead),
        "Analysts' verdicts by rule and entity, newest first, filtered by rule, entity, case",
        |m| on(m, verdicts::list),
    )
    .answers::<verdicts::VerdictList>()
    .query::<verdicts::ListQuery>(),
    r(Post, "/api/v1/cases/{id}/comments", Some(CaseWrite), "Comment on a case", |m| on(m, cases::comment))
        .answers::<cases::Commented>()
        .json::<cases::NewComment>(),
    r(
        Post,
        "/api/v1/cases/{id}/actions",
        Some(ActionPropose),
        "Propose a response action on a case; the policy decides at once what it needs",
        |m| on(m, actions::propose),
    )
    .json::<actions::Propose>()
    .answers::<actions::ActionView>(),
    r(Get, "/api/v1/actions", Some(CaseRead), "Response action requests, newest first", |m| {
        on(m, actions::list)
    })
    .query::<actions::ListQuery>()
    .answers::<actions::ActionList>(),
    r(
        Get,
        "/api/v1/actions/inbox",
        Some(ActionApprove),
        "My approvals inbox: requests awaiting an answer the policy would count from me",
        |m| on(m, actions::inbox),
    )
    .answers::<actions::ActionList>(),
    r(Get, "/api/v1/actions/{id}", Some(CaseRead), "One action request, its decision and its answers", |m| {
        on(m, actions::get)
    })
    .answers::<actions::ActionView>(),
    r(
        Post,
        "/api/v1/actions/{id}/approve",
        Some(ActionApprove),
        "Approve a request, bound to its hash, with a rationale",
        |m| on(m, actions::approve),
    )
    .json::<actions::Answer>()
    .answers::<actions::Answered>(),
    r(
        Post,
        "/api/v1/actions/{id}/reject",
        Some(ActionApprove),
        "Reject a request, bound to its hash, with a rationale",
        |m| on(m, actions::reject),
    )
    .json::<actions::Answer>()
    .answers::<actions::Answered>(),
    r(
        Post,
        "/api/v1/actions/{id}/execute",
        Some(ActionExecute),
        "Run an approved request (queued; 202): the executor asks the policy again, then plans, prechecks, executes and verifies; asked again, the same run (200)",
        |m| on(m, actions::execute),
    )
    .answers_or_accepts::<actions::RunView, actions::RunView>(),
    r(Get, "/api/v1/actions/{id}/run", Some(CaseRead), "A request's run and its run log, step by step", |m| {
        on(m, actions::run)
    })
    .answers::<actions::RunView>(),
    r(
        Post,
        "/api/v1/actions/{id}/rollback",
        Some(ActionPropose),
        "Ask to undo what a request's run changed: a request of its undo action, decided by the policy",
        |m| on(m, actions::rollback),
    )
    .json::<actions::Rollback>()
    .answers::<actions::ActionView>(),
    r(Get, "/api/v1/feeds/blocklist.txt", Some(FeedRead), "Vigil's blocklist as plain text, one indicator a line (an external dynamic list)", |m| {
        on(m, feeds::text)
    })
    .text("text/plain", "The indicators listed now, one a line"),
    r(Get, "/api/v1/feeds/blocklist.stix", Some(FeedRead), "Vigil's blocklist as a STIX 2.1 bundle of indicators", |m| {
        on(m, feeds::stix)
    })
    .text("application/stix+json", "A STIX 2.1 bundle"),
    r(Get, "/api/v1/alerts", Some(AlertRead), "Alerts, newest first", |m| on(m, alerts::list))
        .answers::<alerts::AlertList>()
        .query::<alerts::ListQuery>(),
    r(Get, "/api/v1/alerts/{id}", Some(AlertRead), "One alert with its entities and evidence", |m| {
        on(m, alerts::get)
    })
    .answers::<alerts::OneAlert>(),
    r(Get, "/api/v1/events", Some(EventRead), "Events in a time range", |m| on(m, events::search))
        .answers::<events::EventList>()
        .query::<events::SearchQuery>(),
    r(Get, "/api/v1/events/{id}", Some(EventRead), "One event: OCSF and the raw record", |m| {
        on(m, events::get)
    })
    .answers::<events::OneEvent>(),
    r(Get, "/api/v1/dead-letters", Some(EventRead), "Records that could not be read, with why", |m| {
        on(m, events::dead_letters)
    })
    .answers::<events::DeadLetters>()
    .query::<events::DeadQuery>(),
    r(Post, "/api/v1/evidence", Some(EvidenceWrite), "Add a file to the evidence vault", |m| {
        on(m, evidence::upload)
    })
    .answers::<evidence::Added>()
    .query::<evidence::UploadQuery>()
    .bytes("The file, as it is"),
    r(Get, "/api/v1/evidence/{id}", Some(EvidenceRead), "An evidence file's metadata", |m| {
        on(m, evidence::meta)
    })
    .answers::<evidence::OneEvidence>(),
    r(Get, "/api/v1/evidence/{id}/content", Some(EvidenceRead), "An evidence file, as an attachment", |m| {
        on(m, evidence::download)
    })
    .file("The file as it was added"),
    r(Get, "/api/v1/users", Some(UserRead), "Users and their roles", |m| on(m, users::list))
        .answers::<users::UserList>(),
    r(Post, "/api/v1/users", Some(UserAdmin), "Create a user", |m| on(m, users::create))
        .answers::<users::UserRole>()
        .json::<users::NewUser>(),
    r(
        Post,
        "/api/v1/users/{id}/disable",
        Some(UserAdmin),
        "Disable a user; their sessions and tokens stop working",
        |m| on(m, users::disable),
    )
    .answers::<users::UserDisabled>(),
    r(Post, "/api/v1/users/{id}/enable", Some(UserAdmin), "Enable a disabled user again", |m| {
        on(m, users::enable)
    })
    .answers::<users::UserDisabled>(),
    r(Post, "/api/v1/users/{id}/role", Some(UserAdmin), "Change a user's role (not your own)", |m| {
        on(m, users::set_role)
    })
    .answers::<users::UserRole>()
    .json::<users::NewRole>(),
    r(Get, "/api/v1/tokens", Some(TokenAdmin), "API tokens (never their secrets)", |m| on(m, tokens::list))
        .answers::<tokens::TokenList>(),
    r(Post, "/api/v1/tokens", Some(TokenAdmin), "Create an API token; the secret is shown once", |m| {
        on(m, tokens::create)
    })
    .answers::<tokens::Created>()
    .json::<tokens::NewToken>(),
    r(Post, "/api/v1/tokens/{id}/revoke", Some(TokenAdmin), "Revoke a token", |m| on(m, tokens::revoke))
        .answers::<tokens::Revoked>(),
    r(Get, "/api/v1/rules", Some(RuleRead), "The detection rules the engine runs", |m| on(m, rules::status))
        .answers::<rules::RuleList>(),
    r(Post, "/api/v1/rules/reload", Some(RuleAdmin), "Reload rules and configuration from disk", |m| {
        on(m, rules::reload)
    })
    .answers::<rules::Reloaded>(),
    r(Get, "/api/v1/learning", Some(RuleRead), "Learning tasks closed cases filed, with their replays", |m| {
        on(m, learning::list)
    })
    .answers::<learning::TaskList>()
    .query::<learning::ListQuery>(),
    r(Get, "/api/v1/learning/{id}", Some(RuleRead), "A learning task with its artefact and replay", |m| {
        on(m, learning::show)
    })
    .answers::<vigil_store::LearningTask>(),
    r(Post, "/api/v1/learning/{id}/decision", Some(RuleTune), "Accept (as proposed or edited) or reject a learning task", |m| {
        on(m, learning::decide)
    })
    .answers::<learning::DecisionAnswer>()
    .json::<learning::DecisionRequest>(),
    r(Get, "/api/v1/audit", Some(AuditRead), "Audit records in order", |m| on(m, audit::list))
        .answers::<audit::AuditPage>()
        .query::<audit::ListQuery>(),
    r(Get, "/api/v1/audit/verify", Some(AuditRead), "Verify the whole audit chain", |m| on(m, audit::verify))
        .answers::<audit::AuditCheck>(),
];

impl Route {
    /// Whether `path` (a request's path) is this route's, `{…}` segments matching any one segment.
    fn matches(&self, path: &str) -> bool {
        let mut want = self.path.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
                _ => return false,
            }
        }
    }
}

/// The API router, built from [`ROUTES`].
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route.path, (route.handler)(route.method.filter()));
    }
    router
        .merge(crate::ui::router())
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::auth::csrf_form::layer))
        .layer(axum::middleware::from_fn_with_state(state.limits.request_deadline, within_deadline))
        .with_state(state)
}

/// Answers 408 for a request still being worked on at the deadline.
async fn within_deadline(
    axum::extract::State(deadline): axum::extract::State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            Code::RequestTimeout,
            format!("the request took longer than {} s and was stopped", deadline.as_secs()),
        )
        .into_response(),
    }
}

/// 405 for a known path asked with a method it does not take, with the methods it does.
async fn method_not_allowed(uri: Uri) -> Response {
    let mut allowed: Vec<&str> = Vec::new();
    for route in ROUTES.iter().filter(|r| r.matches(uri.path())) {
        allowed.push(route.method.as_str());
        if route.method == Get {
            allowed.push("HEAD");
        }
    }
    allowed.sort_unstable();
    allowed.dedup();
    let allow = allowed.join(", ");
    let mut response =
        ApiError::new(Code::MethodNotAllowed, format!("this route takes {allow}")).into_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The OpenAPI 3.1 document, generated from [`ROUTES`] and the error code table.
pub fn openapi() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let mut params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(query) = route.query {
            params.extend(query_parameters(query(&mut generator).to_value()));
        }
        let mut responses = Map::new();
        let json_answer = |schema: Schema| json!({"description": "OK", "content": {"application/json": {"schema": schema.to_value()}}});
        match route.answer {
            Some(Answer::Json(schema)) => {
                responses.insert("200".into(), json_answer(schema(&mut generator)));
            }
            Some(Answer::JsonOrAccepted(done, waiting)) => {
                responses.insert("200".into(), json_answer(done(&mut generator)));
                let mut accepted = json_answer(waiting(&mut generator));
                accepted["description"] = json!("Accepted: recorded, and waiting for someone else");
                responses.insert("202".into(), accepted);
            }
            Some(Answer::File(what)) => {
                responses.insert(
                    "200".into(),
                    json!({"description": what, "content": {"application/octet-stream": {}}}),
                );
            }
            Some(Answer::Text(media, what)) => {
                responses.insert("200".into(), json!({"description": what, "content": {media: {}}}));
            }
            None => {}
        }
        for (_, name, status, meaning) in CODES {
            let public_skip = route.permission.is_none() && matches!(*status, 401 | 403);
            if !public_skip {
                let key = status.to_string();
                let entry = responses.entry(key).or_insert_with(|| json!({"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
                let text = entry["description"].as_str().unwrap_or_default().to_owned();
                let joined = if text.is_empty() {
                    format!("{name}: {meaning}")
                } else {
                    format!("{text}; {name}: {meaning}")
                };
                entry["description"] = Value::String(joined);
            }
        }
        let mut op = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method.as_str().to_lowercase(), route.path),
            "parameters": params,
            "responses": responses,
        });
        match route.body {
            Some(Body::Json(schema)) => {
                op["requestBody"] = json!({
                    "required": true,
                    "content": {"application/json": {"schema": schema(&mut generator).to_value()}},
                });
            }
            Some(Body::Bytes(what)) => {
                op["requestBody"] = json!({
                    "required": true,
                    "description": what,
                    "content": {"application/octet-stream": {}},
                });
            }
            None => {}
        }
        match route.permission {
            Some(p) => {
                op["security"] = json!([{"bearer": []}, {"session": []}]);
                op["x-vigil-permission"] = json!(p.as_str());
                let roles: Vec<&str> =
                    crate::auth::Role::ALL.into_iter().filter(|r| r.may(p)).map(|r| r.as_str()).collect();
                op["x-vigil-roles"] = json!(roles);
            }
            None => op["security"] = json!([]),
        }
        let item = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        item[route.method.as_str().to_lowercase()] = op;
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert("Error".into(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Vigil", "version": env!("CARGO_PKG_VERSION"), "description": "Vigil's SOC server API. Errors carry a stable code from the table in components.schemas.Error."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token: vgl_<id>_<secret>"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "Changes also need the X-CSRF-Token header from sign-in"},
            },
            "schemas": schemas,
        },
    })
}

/// The error body every refusal has, its code one of the stable table's.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "enum": CODES.iter().map(|(_, n, ..)| *n).collect::<Vec<_>>()},
            "message": {"type": "string"},
        }}},
    })
}

/// A query type's fields as OpenAPI query parameters: each optional unless the type requires
/// it, with its description and schema.
fn query_parameters(schema: Value) -> Vec<Value> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            let description = property.as_object_mut().and_then(|p| p.remove("description"));
            // A parameter left out is how a query says "none"; `null` is not a value it can send.
            if let Some(types) = property.get_mut("type").and_then(Value::as_array_mut) {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    property["type"] = only.clone();
                }
            }
            if let Some(values) = property.get_mut("enum").and_then(Value::as_array_mut) {
                values.retain(|v| !v.is_null());
            }
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": property,
            });
            if let Some(description) = description {
                parameter["description"] = description;
            }
            parameter
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_declared_once() {
        let mut keys: Vec<(Method, &str)> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before);
    }

    #[test]
    fn every_route_says_what_it_answers() {
        let silent: Vec<&str> = ROUTES.iter().filter(|r| r.answer.is_none()).map(|r| r.path).collect();
        assert!(silent.is_empty(), "{silent:?}");
    }

    #[test]
    fn every_json_answer_in_the_document_has_a_schema_that_resolves() {
        let doc = openapi();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operation") {
                for (status, answer) in op["responses"].as_object().expect("responses") {
                    let Some(schema) = answer.pointer("/content/application~1json/schema") else { continue };
                    let text = schema.to_string();
                    for name in text.split("#/components/schemas/").skip(1) {
                        let name = name.split('"').next().unwrap_or_default();
                        assert!(
                            schemas.contains_key(name),
                            "{method} {path} {status}: {name} is not in the document"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_path_with_placeholders_matches_one_segment_per_placeholder() {
        let route = ROUTES.iter().find(|r| r.path == "/api/v1/cases/{id}/timeline").expect("route");
        assert!(route.matches("/api/v1/cases/abc/timeline"));
        assert!(!route.matches("/api/v1/cases//timeline"));
        assert!(!route.matches("/api/v1/cases/abc"));
        assert!(!route.matches("/api/v1/cases/abc/timeline/more"));
    }
}
