//! Okta System Log events: sign-ins become Authentication, lifecycle and MFA events Account
//! Change, group membership Group Management, everything else API Activity named by its
//! `eventType`.

use serde_json::{Map, Value};
use vigil_model::Severity;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::fields::{get_ci, take_ci, text, text_at};
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct Okta;

const LOGSOURCE: crate::view::StaticLogSource = crate::view::StaticLogSource::new("okta", Some("okta"));

impl Format for Okta {
    fn name(&self) -> &'static str {
        "okta"
    }
    fn describe(&self) -> &'static str {
        "Okta System Log events"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let has = |k| get_ci(o, k).is_some();
        let actor_alt = get_ci(o, "actor").and_then(|a| a.get("alternateId")).is_some();
        if get_ci(o, "eventType").is_some_and(Value::is_string)
            && (has("published") || actor_alt || has("legacyEventType") || has("displayMessage"))
        {
            90
        } else {
            0
        }
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let mut o = object(record)?.clone();
        Ok(map_record(&mut o))
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        crate::format::json_view(record, LOGSOURCE)
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        crate::format::json_sigma_view(record, LOGSOURCE)
    }
}

fn okta_user(v: &Value) -> Option<User> {
    let alt = text_at(v, "alternateId");
    let user = User {
        name: alt.clone().or_else(|| text_at(v, "displayName")),
        uid: text_at(v, "id"),
        email_addr: alt.filter(|a| a.contains('@')),
        full_name: text_at(v, "displayName"),
        ..User::default()
    };
    (!user.is_empty()).then_some(user)
}

fn map_record(o: &mut Map<String, Value>) -> Event {
    let event_type = take_ci(o, "eventType").and_then(|v| text(&v)).unwrap_or_else(|| "unknown".into());
    let published = take_ci(o, "published").and_then(|v| text(&v));
    let metadata = Metadata {
        event_code: Some(event_type.clone()),
        original_time: published.clone(),
        ..Metadata::new("Okta", "System Log")
    };
    let time = published.as_deref().and_then(crate::time::parse).unwrap_or(0);
    let (class, activity) = classify(&event_type);
    let mut e = Event::new(class, activity, time, metadata);
    if e.activity_id == 99 {
        e.activity_name = Some(event_type.clone());
    }
    let actor = take_ci(o, "actor").unwrap_or(Value::Null);
    let client = take_ci(o, "client").unwrap_or(Value::Null);
    let outcome = take_ci(o, "outcome").unwrap_or(Value::Null);
    let targets = take_ci(o, "target").and_then(|t| t.as_array().cloned()).unwrap_or_default();
    let target_of = |kinds: &[&str]| {
        targets
            .iter()
            .find(|t| text_at(t, "type").is_some_and(|ty| kinds.iter().any(|k| ty.eq_ignore_ascii_case(k))))
    };
    let actor_user = okta_user(&actor);
    e.actor = actor_user.clone().map(Actor::user);
    let ip = text_at(&client, "ipAddress").and_then(|i| crate::fields::ip(&i));
    let geo = client.get("geographicalContext");
    let location = geo
        .map(|g| Location {
            city: text_at(g, "city"),
            country: text_at(g, "country"),
            region: text_at(g, "state"),
        })
        .filter(|l| l != &Location::default());
    e.src_endpoint = ip.map(|ip| Endpoint { ip: Some(ip), location, ..Endpoint::default() });
    match text_at(&outcome, "result").as_deref() {
        Some("SUCCESS" | "ALLOW") => e.set_status(Status::Success),
        Some("FAILURE" | "DENY") => e.set_status(Status::Failure),
        _ => {}
    }
    e.status_detail = text_at(&outcome, "reason");
    if let Some(severity) = take_ci(o, "severity").and_then(|v| text(&v)) {
        let severity = match severity.as_str() {
            "WARN" => Severity::Medium,
            "ERROR" => Severity::High,
            "HIGH" => Severity::High,
            _ => Severity::Informational,
        };
        e.set_severity(severity);
    }
    let message = take_ci(o, "displayMessage").and_then(|v| text(&v));
    e.message = message;
    match class {
        Class::Authentication => {
            e.user = actor_user;
            e.service = Some(Service {
                name: target_of(&["AppInstance"])
                    .and_then(|t| text_at(t, "displayName"))
                    .or(Some("Okta".into())),
            });
            e.is_mfa = Some(event_type.contains("mfa"));
            if let Some(session) =
                get_ci(o, "authenticationContext").and_then(|a| text_at(a, "externalSessionId"))
            {
                e.session = Some(Session { uid: Some(session), ..Session::default() });
            }
        }
        Class::AccountChange => {
            e.user = target_of(&["User"]).and_then(okta_user).or(actor_user);
        }
        Class::GroupManagement => {
            e.group = target_of(&["UserGroup", "Group"]).map(|t| Group {
                name: text_at(t, "displayName"),
                uid: text_at(t, "id"),
                domain: None,
            });
            e.user = target_of(&["User"]).and_then(okta_user);
        }
        _ => {
            e.api = Some(Api {
                operation: event_type.clone(),
                service: Some(Service { name: Some("Okta".into()) }),
                ..Api::default()
            });
        }
    }
    if !targets.is_empty() {
        e.unmapped.insert("target".into(), Value::Array(targets));
    }
    if !client.is_null() {
        e.unmapped.insert("client".into(), client);
    }
    e.unmapped.extend(std::mem::take(o));
    e
}

fn classify(event_type: &str) -> (Class, u32) {
    match event_type {
        "user.session.start" => (Class::Authentication, 1),
        "user.session.end" => (Class::Authentication, 2),
        t if t.starts_with("user.authentication.") => (Class::Authentication, 1),
        "user.lifecycle.create" => (Class::AccountChange, 1),
        "user.lifecycle.activate" | "user.lifecycle.reactivate" | "user.lifecycle.unsuspend" => {
            (Class::AccountChange, 2)
        }
        "user.account.update_password" => (Class::AccountChange, 3),
        "user.account.reset_password" | "user.lifecycle.password_reset" => (Class::AccountChange, 4),
        "user.lifecycle.deactivate" | "user.lifecycle.suspend" => (Class::AccountChange, 5),
        "user.lifecycle.delete.completed" | "user.lifecycle.delete.initiated" => (Class::AccountChange, 6),
        "user.account.privilege.grant" => (Class::AccountChange, 7),
        "user.account.privilege.revoke" => (Class::AccountChange, 8),
        "user.account.lock" | "user.account.lock.limit" => (Class::AccountChange, 9),
        "user.mfa.factor.activate" => (Class::AccountChange, 10),
        "user.mfa.factor.deactivate" | "user.mfa.factor.reset_all" => (Class::AccountChange, 11),
        "user.account.unlock" | "user.account.unlock_by_admin" => (Class::AccountChange, 12),
        "group.user_membership.add" => (Class::GroupManagement, 3),
        "group.user_membership.remove" => (Class::GroupManagement, 4),
        "group.privilege.grant" => (Class::GroupManagement, 1),
        "group.privilege.revoke" => (Class::GroupManagement, 2),
        "group.lifecycle.create" => (Class::GroupManagement, 6),
        "group.lifecycle.delete" => (Class::GroupManagement, 5),
        t => {
            let last = t.rsplit('.').next().unwrap_or("");
            let activity = match last {
                "create" | "add" | "grant" | "activate" => 1,
                "read" | "show" | "list" | "view" | "export" => 2,
                "update" | "change" | "modify" | "reset" | "revoke" | "deactivate" => 3,
                "delete" | "remove" => 4,
                _ => 99,
            };
            (Class::ApiActivity, activity)
        }
    }
}
