//! Microsoft Entra ID sign-in and audit logs, as Azure diagnostic settings export them
//! (`time`, `category`, `operationName`, `properties`). The same mapping serves Sentinel's
//! `SigninLogs` and `AuditLogs` rows, whose columns are the properties at top level.

use serde_json::{Map, Value};
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::fields::{get, get_ci, int, text};
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct Entra;

const SIGN_IN_CATEGORIES: &[&str] = &[
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
];

fn category(o: &Map<String, Value>) -> Option<String> {
    get_ci(o, "category").and_then(text)
}

impl Format for Entra {
    fn name(&self) -> &'static str {
        "entra"
    }
    fn describe(&self) -> &'static str {
        "Microsoft Entra ID sign-in and audit logs (Azure diagnostic export)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let Some(category) = category(o) else { return 0 };
        let entra = SIGN_IN_CATEGORIES.contains(&category.as_str())
            || matches!(
                category.as_str(),
                "AuditLogs" | "ProvisioningLogs" | "RiskyUsers" | "UserRiskEvents"
            )
            || (get_ci(o, "operationName").is_some() && o.contains_key("Level"));
        if entra && get_ci(o, "operationName").is_some() { 88 } else { 0 }
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        let Ok(o) = object(record) else { return Vec::new() };
        crate::format::json_view(record, logsource(o))
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        let Ok(o) = object(record) else { return Vec::new() };
        crate::format::json_sigma_view(record, logsource(o))
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let o = object(record)?;
        let props = match get_ci(o, "properties") {
            Some(Value::Object(p)) => p,
            _ => o,
        };
        let time = get_ci(o, "time")
            .and_then(crate::time::from_value)
            .or_else(|| get_ci(props, "createdDateTime").and_then(crate::time::from_value))
            .or_else(|| get_ci(props, "activityDateTime").and_then(crate::time::from_value))
            .unwrap_or(0);
        let metadata = Metadata::new("Microsoft", "Entra ID");
        let category = category(o).unwrap_or_default();
        let sign_in = SIGN_IN_CATEGORIES.contains(&category.as_str())
            || get_ci(o, "operationName")
                .and_then(text)
                .is_some_and(|n| n.eq_ignore_ascii_case("Sign-in activity"));
        let mut event =
            if sign_in { self::sign_in(o, props, metadata, time) } else { audit(o, props, metadata, time) };
        event.metadata.tenant_uid = get_ci(o, "tenantId").and_then(text);
        Ok(event)
    }
}

/// A field from the properties, or from the record's top level.
fn field(o: &Map<String, Value>, props: &Map<String, Value>, key: &str) -> Option<String> {
    get_ci(props, key).and_then(text).or_else(|| get_ci(o, key).and_then(text))
}

/// A JSON value that Sentinel may have stored as a JSON string.
fn json_field(props: &Map<String, Value>, key: &str) -> Option<Value> {
    match get_ci(props, key)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn leftovers(o: &Map<String, Value>, props: &Map<String, Value>, taken: &[&str]) -> Map<String, Value> {
    let keep = |m: &Map<String, Value>| -> Vec<(String, Value)> {
        m.iter()
            .filter(|(k, _)| {
                !taken.iter().any(|t| t.eq_ignore_ascii_case(k)) && !k.eq_ignore_ascii_case("properties")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut out: Map<String, Value> = keep(o).into_iter().collect();
    if !std::ptr::eq(o, props) {
        out.extend(keep(props));
    }
    out
}

/// The Sigma logsource of a record, by its log category.
fn logsource(o: &Map<String, Value>) -> crate::view::StaticLogSource {
    let service = match category(o).as_deref() {
        Some(c) if SIGN_IN_CATEGORIES.contains(&c) => "signinlogs",
        Some("AuditLogs") => "auditlogs",
        Some("RiskyUsers" | "UserRiskEvents") => "riskdetection",
        _ => "auditlogs",
    };
    crate::view::StaticLogSource::new("azure", Some(service))
}

/// A sign-in: Authentication, logon.
pub fn sign_in(o: &Map<String, Value>, props: &Map<String, Value>, metadata: Metadata, time: i64) -> Event {
    let mut e = Event::new(Class::Authentication, 1, time, metadata);
    let upn = field(o, props, "userPrincipalName");
    let name = upn
        .clone()
        .or_else(|| field(o, props, "userDisplayName"))
        .or_else(|| field(o, props, "servicePrincipalName"))
        .or_else(|| get_ci(o, "identity").and_then(text));
    e.user = Some(User {
        name,
        uid: field(o, props, "userId").or_else(|| field(o, props, "servicePrincipalId")),
        email_addr: upn.filter(|u| u.contains('@')),
        full_name: field(o, props, "userDisplayName"),
        ..User::default()
    });
    let ip = field(o, props, "ipAddress").or_else(|| get_ci(o, "callerIpAddress").and_then(text));
    let location = json_field(props, "location").and_then(|l| {
        let loc = Location {
            city: text_of(&l, "city"),
            country: text_of(&l, "countryOrRegion"),
            region: text_of(&l, "state"),
        };
        (loc != Location::default()).then_some(loc)
    });
    e.src_endpoint = ip.and_then(|i| crate::fields::ip(&i)).map(|ip| Endpoint {
        ip: Some(ip),
        location,
        ..Endpoint::default()
    });
    e.service = Some(Service {
        name: field(o, props, "appDisplayName")
            .or_else(|| field(o, props, "resourceDisplayName"))
            .or(Some("Entra ID".into())),
    });
    e.auth_protocol = field(o, props, "authenticationProtocol");
    let error_code = json_field(props, "status")
        .and_then(|s| s.get("errorCode").and_then(int))
        .or_else(|| get_ci(o, "resultType").and_then(int))
        .or_else(|| get_ci(props, "ResultType").and_then(int));
    match error_code {
        Some(0) => e.set_status(Status::Success),
        Some(code) => {
            e.set_status(Status::Failure);
            e.status_code = Some(code.to_string());
            e.status_detail = json_field(props, "status")
                .and_then(|s| text_of(&s, "failureReason"))
                .or_else(|| field(o, props, "resultDescription"));
        }
        None => {}
    }
    let requirement = field(o, props, "authenticationRequirement");
    e.is_mfa = requirement.map(|r| r.eq_ignore_ascii_case("multiFactorAuthentication"));
    e.unmapped = leftovers(
        o,
        props,
        &[
            "userPrincipalName",
            "userId",
            "ipAddress",
            "callerIpAddress",
            "appDisplayName",
            "authenticationProtocol",
            "time",
            "TimeGenerated",
        ],
    );
    e
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(text)
}

/// An audit record: account, group and role changes get their IAM classes; the rest is an
/// API Activity named by its operation.
pub fn audit(o: &Map<String, Value>, props: &Map<String, Value>, metadata: Metadata, time: i64) -> Event {
    let operation = field(o, props, "activityDisplayName")
        .or_else(|| field(o, props, "operationName"))
        .unwrap_or_else(|| "unknown".into());
    let initiated = json_field(props, "initiatedBy");
    let actor_user = initiated.as_ref().and_then(|i| i.get("user")).filter(|u| !u.is_null()).map(|u| User {
        name: text_of(u, "userPrincipalName").or_else(|| text_of(u, "displayName")),
        uid: text_of(u, "id"),
        email_addr: text_of(u, "userPrincipalName").filter(|n| n.contains('@')),
        ..User::default()
    });
    let actor_app = initiated.as_ref().and_then(|i| get(i, "app.displayName")).and_then(text);
    let actor = Actor { user: actor_user.filter(|u| !u.is_empty()), app_name: actor_app, ..Actor::default() };
    let ip = initiated
        .as_ref()
        .and_then(|i| get(i, "user.ipAddress"))
        .and_then(text)
        .or_else(|| get_ci(o, "callerIpAddress").and_then(text));
    let targets =
        json_field(props, "targetResources").and_then(|t| t.as_array().cloned()).unwrap_or_default();
    let target_of = |kind: &str| {
        targets.iter().find(|t| text_of(t, "type").is_some_and(|ty| ty.eq_ignore_ascii_case(kind)))
    };
    let target_user = target_of("User").map(|t| User {
        name: text_of(t, "userPrincipalName").or_else(|| text_of(t, "displayName")),
        uid: text_of(t, "id"),
        email_addr: text_of(t, "userPrincipalName").filter(|n| n.contains('@')),
        ..User::default()
    });
    let target_group = target_of("Group").or_else(|| target_of("Role")).map(|t| Group {
        name: text_of(t, "displayName"),
        uid: text_of(t, "id"),
        domain: None,
    });
    let op = operation.to_ascii_lowercase();
    let (class, activity) = match op.as_str() {
        "add user" | "invite external user" => (Class::AccountChange, 1),
        "delete user" | "hard delete user" => (Class::AccountChange, 6),
        "disable account" => (Class::AccountChange, 5),
        "enable account" => (Class::AccountChange, 2),
        "change user password" | "change password (self-service)" => (Class::AccountChange, 3),
        "reset user password" | "reset password (by admin)" | "reset password (self-service)" => {
            (Class::AccountChange, 4)
        }
        "add member to group" => (Class::GroupManagement, 3),
        "remove member from group" => (Class::GroupManagement, 4),
        "add group" => (Class::GroupManagement, 6),
        "delete group" => (Class::GroupManagement, 5),
        "add member to role" | "add eligible member to role" => (Class::GroupManagement, 1),
        "remove member from role" | "remove eligible member from role" => (Class::GroupManagement, 2),
        _ => (Class::ApiActivity, api_activity(&op)),
    };
    let mut e = Event::new(class, activity, time, metadata);
    if activity == 99 {
        e.activity_name = Some(operation.clone());
    }
    e.actor = Some(actor);
    e.src_endpoint =
        ip.and_then(|i| crate::fields::ip(&i)).map(|ip| Endpoint { ip: Some(ip), ..Endpoint::default() });
    match class {
        Class::AccountChange => e.user = target_user,
        Class::GroupManagement => {
            e.group = target_group;
            e.user = target_user;
        }
        _ => {
            e.api = Some(Api {
                operation: operation.clone(),
                service: field(o, props, "loggedByService").map(|n| Service { name: Some(n) }),
                request: field(o, props, "correlationId").map(|uid| ApiRequest { uid: Some(uid) }),
                ..Api::default()
            });
            e.user = target_user;
            if e.user.is_some() {
                // API Activity has no `user`; the target is kept in unmapped instead.
                e.unmapped
                    .insert("target_user".into(), serde_json::to_value(e.user.take()).unwrap_or(Value::Null));
            }
        }
    }
    match field(o, props, "result")
        .or_else(|| get_ci(o, "resultType").and_then(text))
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("success" | "0") => e.set_status(Status::Success),
        Some("failure" | "failed") => e.set_status(Status::Failure),
        _ => {}
    }
    let mut rest =
        leftovers(o, props, &["activityDisplayName", "operationName", "time", "TimeGenerated", "result"]);
    rest.extend(std::mem::take(&mut e.unmapped));
    e.unmapped = rest;
    e
}

/// The API Activity verb an operation name implies.
fn api_activity(op: &str) -> u32 {
    let first = op.split_whitespace().next().unwrap_or("");
    match first {
        "add" | "create" | "invite" | "register" | "assign" => 1,
        "get" | "list" | "read" | "view" | "export" => 2,
        "update" | "set" | "change" | "reset" | "enable" | "disable" | "restore" | "consent" => 3,
        "delete" | "remove" | "hard" | "revoke" => 4,
        _ => 99,
    }
}
