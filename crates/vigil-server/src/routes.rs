//! Every route, in one table: method, path, the permission it needs (`None`: public), and what
//! it does. The router is built against the table (a route missing from it, or in it but not
//! served, stops the server from starting), the OpenAPI document is generated from it, and the
//! RBAC test walks it for every role.

use std::collections::BTreeSet;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use serde_json::{Map, Value, json};

use crate::api;
use crate::auth::Permission::{self, *};
use crate::error::CODES;
use crate::state::AppState;

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Option<Permission>,
    pub summary: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    permission: Option<Permission>,
    summary: &'static str,
) -> Route {
    Route { method, path, permission, summary }
}

pub const ROUTES: &[Route] = &[
    r("GET", "/healthz", None, "Liveness"),
    r("GET", "/api/v1/openapi.json", None, "This document"),
    r("POST", "/api/v1/login", None, "Sign in with a user name and password; sets the session cookie"),
    r("POST", "/api/v1/logout", Some(Session), "Sign out"),
    r("GET", "/api/v1/me", Some(Session), "The caller: name, role, permissions"),
    r("GET", "/api/v1/status", Some(Session), "Engine and ingest progress"),
    r(
        "POST",
        "/api/v1/ingest",
        Some(Ingest),
        "Bulk ingest: a body in any decoded format; answered once durable",
    ),
    r(
        "POST",
        "/api/v1/webhooks/{source}",
        Some(Webhook),
        "A source's own ingest URL; its token is scoped to it",
    ),
    r("GET", "/api/v1/cases", Some(CaseRead), "The case queue, filtered by state, severity, assignee"),
    r("GET", "/api/v1/cases/{id}", Some(CaseRead), "One case: document, alerts, comments, recommendation"),
    r("GET", "/api/v1/cases/{id}/timeline", Some(CaseRead), "A case's timeline"),
    r("GET", "/api/v1/cases/{id}/graph", Some(CaseRead), "A case's entity graph"),
    r("GET", "/api/v1/cases/{id}/recommendation", Some(CaseRead), "A case's newest recommendation"),
    r(
        "POST",
        "/api/v1/cases/{id}/transition",
        Some(CaseWrite),
        "Move a case to another state, with a reason; closing it records your verdict",
    ),
    r("POST", "/api/v1/cases/{id}/assign", Some(CaseWrite), "Assign a case (or unassign with null)"),
    r(
        "GET",
        "/api/v1/verdicts",
        Some(CaseRead),
        "Analysts' verdicts by rule and entity, newest first, filtered by rule, entity, case",
    ),
    r("POST", "/api/v1/cases/{id}/comments", Some(CaseWrite), "Comment on a case"),
    r("GET", "/api/v1/alerts", Some(AlertRead), "Alerts, newest first"),
    r("GET", "/api/v1/alerts/{id}", Some(AlertRead), "One alert with its entities and evidence"),
    r("GET", "/api/v1/events", Some(EventRead), "Events in a time range"),
    r("GET", "/api/v1/events/{id}", Some(EventRead), "One event: OCSF and the raw record"),
    r("GET", "/api/v1/dead-letters", Some(EventRead), "Records that could not be read, with why"),
    r("POST", "/api/v1/evidence", Some(EvidenceWrite), "Add a file to the evidence vault"),
    r("GET", "/api/v1/evidence/{id}", Some(EvidenceRead), "An evidence file's metadata"),
    r("GET", "/api/v1/evidence/{id}/content", Some(EvidenceRead), "An evidence file, as an attachment"),
    r("GET", "/api/v1/users", Some(UserRead), "Users and their roles"),
    r("POST", "/api/v1/users", Some(UserAdmin), "Create a user"),
    r(
        "POST",
        "/api/v1/users/{id}/disable",
        Some(UserAdmin),
        "Disable a user; their sessions and tokens stop working",
    ),
    r("GET", "/api/v1/tokens", Some(TokenAdmin), "API tokens (never their secrets)"),
    r("POST", "/api/v1/tokens", Some(TokenAdmin), "Create an API token; the secret is shown once"),
    r("POST", "/api/v1/tokens/{id}/revoke", Some(TokenAdmin), "Revoke a token"),
    r("GET", "/api/v1/rules", Some(RuleRead), "The detection rules the engine runs"),
    r("POST", "/api/v1/rules/reload", Some(RuleAdmin), "Reload rules and configuration from disk"),
    r("GET", "/api/v1/audit", Some(AuditRead), "Audit records in order"),
    r("GET", "/api/v1/audit/verify", Some(AuditRead), "Verify the whole audit chain"),
];

struct Builder {
    router: Router<AppState>,
    served: BTreeSet<(&'static str, &'static str)>,
}

impl Builder {
    fn add(mut self, method: &'static str, path: &'static str, handler: MethodRouter<AppState>) -> Builder {
        assert!(
            ROUTES.iter().any(|r| r.method == method && r.path == path),
            "{method} {path} is served but not in the route table"
        );
        self.served.insert((method, path));
        self.router = self.router.route(path, handler);
        self
    }
}

/// The API router, checked against [`ROUTES`].
pub fn router(state: AppState) -> Router {
    use api::*;
    let b = Builder { router: Router::new(), served: BTreeSet::new() }
        .add("GET", "/healthz", get(system::health))
        .add("GET", "/api/v1/openapi.json", get(system::openapi))
        .add("POST", "/api/v1/login", post(session::login))
        .add("POST", "/api/v1/logout", post(session::logout))
        .add("GET", "/api/v1/me", get(system::me))
        .add("GET", "/api/v1/status", get(system::status))
        .add("POST", "/api/v1/ingest", post(ingest::bulk))
        .add("POST", "/api/v1/webhooks/{source}", post(ingest::webhook))
        .add("GET", "/api/v1/cases", get(cases::list))
        .add("GET", "/api/v1/cases/{id}", get(cases::detail))
        .add("GET", "/api/v1/cases/{id}/timeline", get(cases::timeline))
        .add("GET", "/api/v1/cases/{id}/graph", get(cases::graph))
        .add("GET", "/api/v1/cases/{id}/recommendation", get(cases::recommendation))
        .add("POST", "/api/v1/cases/{id}/transition", post(cases::transition))
        .add("POST", "/api/v1/cases/{id}/assign", post(cases::assign))
        .add("GET", "/api/v1/verdicts", get(verdicts::list))
        .add("POST", "/api/v1/cases/{id}/comments", post(cases::comment))
        .add("GET", "/api/v1/alerts", get(alerts::list))
        .add("GET", "/api/v1/alerts/{id}", get(alerts::get))
        .add("GET", "/api/v1/events", get(events::search))
        .add("GET", "/api/v1/events/{id}", get(events::get))
        .add("GET", "/api/v1/dead-letters", get(events::dead_letters))
        .add("POST", "/api/v1/evidence", post(evidence::upload))
        .add("GET", "/api/v1/evidence/{id}", get(evidence::meta))
        .add("GET", "/api/v1/evidence/{id}/content", get(evidence::download))
        .add("GET", "/api/v1/users", get(users::list))
        .add("POST", "/api/v1/users", post(users::create))
        .add("POST", "/api/v1/users/{id}/disable", post(users::disable))
        .add("GET", "/api/v1/tokens", get(tokens::list))
        .add("POST", "/api/v1/tokens", post(tokens::create))
        .add("POST", "/api/v1/tokens/{id}/revoke", post(tokens::revoke))
        .add("GET", "/api/v1/rules", get(rules::status))
        .add("POST", "/api/v1/rules/reload", post(rules::reload))
        .add("GET", "/api/v1/audit", get(audit::list))
        .add("GET", "/api/v1/audit/verify", get(audit::verify));
    for route in ROUTES {
        assert!(
            b.served.contains(&(route.method, route.path)),
            "{} {} is in the table but not served",
            route.method,
            route.path
        );
    }
    b.router
        .fallback(|| async { crate::error::ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            crate::error::ApiError::new(
                crate::error::Code::BadRequest,
                "this route does not take that method",
            )
        })
        .with_state(state)
}

/// The OpenAPI 3.1 document, generated from [`ROUTES`] and the error code table.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        responses.insert("200".into(), json!({"description": "OK", "content": {"application/json": {}}}));
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
            "operationId": format!("{} {}", route.method.to_lowercase(), route.path),
            "parameters": params,
            "responses": responses,
        });
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
        item[route.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Vigil", "version": env!("CARGO_PKG_VERSION"), "description": "Vigil's SOC server API. Errors carry a stable code from the table in components.schemas.Error."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token: vgl_<id>_<secret>"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "Changes also need the X-CSRF-Token header from sign-in"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string", "enum": CODES.iter().map(|(_, n, ..)| *n).collect::<Vec<_>>()},
                        "message": {"type": "string"},
                    }}},
                },
            },
        },
    })
}
