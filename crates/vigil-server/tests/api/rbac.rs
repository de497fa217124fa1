//! Generated from the route table: every role against every route, allowed or denied as the
//! table says; no route reachable without authentication outside the public list.

use vigil_server::auth::Role;
use vigil_server::routes::ROUTES;

use crate::Server;

/// The only routes anyone may call without signing in.
const PUBLIC: &[&str] = &["GET /healthz", "GET /api/v1/openapi.json", "POST /api/v1/login"];

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "no-such-object" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_role_on_every_route_is_allowed_or_denied_as_the_table_says() {
    let server = Server::start();
    let tokens: Vec<(Role, String)> = Role::ALL
        .into_iter()
        .map(|r| (r, server.user_with_token(&format!("u-{}", r.as_str()), r.as_str())))
        .collect();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for route in ROUTES {
        let Some(permission) = route.permission else { continue };
        let path = concrete(route.path);
        for (role, token) in &tokens {
            let body = (route.method == vigil_server::routes::Method::Post).then_some(&b"{}"[..]);
            let answer = server.request(
                route.method.as_str(),
                &path,
                &[("Authorization", &format!("Bearer {token}"))],
                body,
            );
            let denied = answer.status == 403 && answer.code() == "forbidden";
            let expected_denied = !role.may(permission);
            if denied != expected_denied || answer.status == 401 || answer.status >= 500 {
                mismatches.push(format!(
                    "{} {} as {}: {} {}",
                    route.method.as_str(),
                    route.path,
                    role.as_str(),
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                ));
            }
            checked += 1;
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert_eq!(checked, Role::ALL.len() * ROUTES.iter().filter(|r| r.permission.is_some()).count());
}

#[test]
fn nothing_outside_the_public_list_answers_without_authentication() {
    let server = Server::start();
    for route in ROUTES {
        let key = format!("{} {}", route.method.as_str(), route.path);
        let body = (route.method == vigil_server::routes::Method::Post).then_some(&b"{}"[..]);
        let answer = server.request(route.method.as_str(), &concrete(route.path), &[], body);
        if PUBLIC.contains(&key.as_str()) {
            assert!(route.permission.is_none(), "{key} is public in the list but not in the table");
            assert_ne!(answer.status, 401, "{key}");
        } else {
            assert!(route.permission.is_some(), "{key} is public but not in the short public list");
            assert_eq!((answer.status, answer.code().as_str()), (401, "unauthenticated"), "{key}");
        }
    }
}

#[test]
fn the_openapi_document_lists_every_route_with_its_permission() {
    let server = Server::start();
    let doc = server.request("GET", "/api/v1/openapi.json", &[], None).json();
    assert_eq!(doc["openapi"], "3.1.0");
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
        assert!(op.is_object(), "{} {} is missing", route.method, route.path);
        let documented = op["x-vigil-permission"].as_str();
        assert_eq!(documented, route.permission.map(|p| p.as_str()), "{} {}", route.method, route.path);
    }
}

#[test]
fn the_openapi_document_says_what_each_route_takes_its_query_parameters_and_bodies() {
    let server = Server::start();
    let doc = server.request("GET", "/api/v1/openapi.json", &[], None).json();
    let names = |path: &str, method: &str| -> Vec<String> {
        let params = doc["paths"][path][method]["parameters"].as_array().cloned().unwrap_or_default();
        params
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    };
    let mut cases = names("/api/v1/cases", "get");
    cases.sort();
    assert_eq!(cases, ["assignee", "limit", "min_severity", "state"]);
    let params = doc["paths"]["/api/v1/cases"]["get"]["parameters"].as_array().cloned().unwrap_or_default();
    let param = |name: &str| params.iter().find(|p| p["name"] == name).cloned().unwrap_or_default();
    assert_eq!(param("min_severity")["schema"]["maximum"], 6);
    assert_eq!(param("min_severity")["schema"]["type"], "integer", "a query parameter is never null");
    assert_eq!(param("limit")["required"], false);
    assert!(param("state")["schema"]["enum"].as_array().is_some_and(|v| v.contains(&"recommended".into())));
    assert!(
        param("state")["schema"]["enum"].as_array().is_some_and(|v| !v.contains(&serde_json::Value::Null))
    );
    assert!(names("/api/v1/events", "get").contains(&"q".to_owned()));
    assert!(names("/api/v1/ingest", "post").contains(&"format".to_owned()));
    assert!(
        doc["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]["application/octet-stream"]
            .is_object()
    );

    let body = &doc["paths"]["/api/v1/cases/{id}/transition"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/TransitionRequest");
    let transition = &doc["components"]["schemas"]["TransitionRequest"];
    assert_eq!(transition["required"], serde_json::json!(["to", "reason"]));
    assert!(transition["properties"]["to"]["enum"].as_array().is_some_and(|v| v.contains(&"benign".into())));
    assert_eq!(
        transition["additionalProperties"], false,
        "unknown fields are refused, and the document says so"
    );

    // Every reference names a schema the document has.
    fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(target)) => out.push(target),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() >= 8, "{found:?}");
    for target in found {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or(target);
        assert!(doc["components"]["schemas"][name].is_object(), "{target} does not resolve");
    }
}

#[test]
fn a_token_is_limited_to_its_scopes() {
    let server = Server::start();
    let narrow = server.token_for("lead-narrow", "lead", &["case_read"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(server.get("/api/v1/cases", &narrow).status, 200);
    let denied = server.get("/api/v1/audit", &narrow);
    assert_eq!((denied.status, denied.code().as_str()), (403, "forbidden"));
    let hook = server.token_for("okta-hook", "ingest", &["webhook:okta"], "2099-01-01T00:00:00.000000Z");
    let line = br#"{"uuid":"x1","published":"2026-03-02T10:10:00.000Z","eventType":"user.session.start","actor":{"id":"u1","type":"User","alternateId":"a@corp.example"},"client":{"ipAddress":"10.0.0.1"},"outcome":{"result":"SUCCESS"}}"#;
    assert_eq!(server.post("/api/v1/webhooks/okta?format=okta", &hook, line).status, 200);
    let other = server.post("/api/v1/webhooks/github?format=okta", &hook, line);
    assert_eq!((other.status, other.code().as_str()), (403, "forbidden"));
    assert_eq!(
        server.post("/api/v1/ingest", &hook, line).status,
        403,
        "a webhook token is not a bulk-ingest token"
    );
}

#[test]
fn a_token_for_another_user_names_permissions_its_creator_holds_and_says_who_made_it() {
    let server = Server::start();
    let admin = server.user_with_token("root", "admin");
    server.user_with_token("lea", "lead");
    let everything = serde_json::json!({"owner": "lea", "scopes": ["*"], "expires_in_days": 1}).to_string();
    let refused = server.post("/api/v1/tokens", &admin, everything.as_bytes());
    assert_eq!((refused.status, refused.code().as_str()), (403, "forbidden"));
    let named =
        serde_json::json!({"owner": "lea", "scopes": ["case_read"], "expires_in_days": 1}).to_string();
    let made = server.post("/api/v1/tokens", &admin, named.as_bytes());
    assert_eq!(made.status, 200, "{}", String::from_utf8_lossy(&made.body));
    let id = made.json()["id"].as_str().expect("id").to_owned();
    let tokens = server.get("/api/v1/tokens", &admin).json();
    let row = tokens["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["id"] == id.as_str())
        .cloned()
        .expect("row");
    assert!(row["created_by"].as_str().is_some_and(|c| c.starts_with("root (token")), "{row}");
    let records = server.block_on(server.store.audit_records(0, 1_000)).expect("audit");
    let created = records.iter().rev().find(|r| r.action == "token.create").expect("audited");
    assert!(created.detail.contains("\"for_another_user\":true"), "{}", created.detail);
    // A lead cannot hand out what a lead does not hold.
    let lead = server.token_for("lea", "lead", &["token_admin"], "2099-01-01T00:00:00.000000Z");
    let up = serde_json::json!({"owner": "root", "scopes": ["user_admin"], "expires_in_days": 1}).to_string();
    let answer = server.post("/api/v1/tokens", &lead, up.as_bytes());
    assert_eq!(answer.status, 403, "{}", String::from_utf8_lossy(&answer.body));
}
