//! GitHub organization and enterprise audit log entries (`action`, `actor`, `created_at`).

use serde_json::{Map, Value};
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use crate::error::Reject;
use crate::fields::{get_ci, take_ci, text, text_at};
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct GithubAudit;

const LOGSOURCE: crate::view::StaticLogSource = crate::view::StaticLogSource::new("github", Some("audit"));

impl Format for GithubAudit {
    fn name(&self) -> &'static str {
        "github_audit"
    }
    fn describe(&self) -> &'static str {
        "GitHub audit log entries (action, actor, created_at)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let action = get_ci(o, "action").and_then(Value::as_str).is_some_and(|a| a.contains('.'));
        let actor = o.get("actor").is_none_or(Value::is_string);
        let context = ["org", "repo", "created_at", "@timestamp", "_document_id", "business"]
            .iter()
            .any(|k| o.contains_key(*k));
        let webhook = o.contains_key("sender") || o.contains_key("installation");
        if action && actor && context && !webhook { 85 } else { 0 }
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

fn map_record(o: &mut Map<String, Value>) -> Event {
    let action = take_ci(o, "action").and_then(|v| text(&v)).unwrap_or_else(|| "unknown".into());
    let time = ["@timestamp", "created_at", "at_sign_timestamp", "timestamp"]
        .iter()
        .find_map(|k| get_ci(o, k).and_then(crate::time::from_value))
        .unwrap_or(0);
    let metadata = Metadata { event_code: Some(action.clone()), ..Metadata::new("GitHub", "Audit Log") };
    let (class, activity) = match action.as_str() {
        "org.add_member" | "team.add_member" | "business.add_member" => (Class::GroupManagement, 3),
        "org.remove_member" | "team.remove_member" | "business.remove_member" => (Class::GroupManagement, 4),
        "team.create" => (Class::GroupManagement, 6),
        "team.destroy" => (Class::GroupManagement, 5),
        "org.update_member" | "team.promote_maintainer" => (Class::GroupManagement, 1),
        "user.create" => (Class::AccountChange, 1),
        "user.destroy" => (Class::AccountChange, 6),
        "user.suspend" => (Class::AccountChange, 5),
        "user.unsuspend" => (Class::AccountChange, 2),
        "two_factor_authentication.enabled" => (Class::AccountChange, 10),
        "two_factor_authentication.disabled" => (Class::AccountChange, 11),
        "user.login" | "user.failed_login" => (Class::Authentication, 1),
        _ => (Class::ApiActivity, api_activity(&action)),
    };
    let mut e = Event::new(class, activity, time, metadata);
    if e.activity_id == 99 {
        e.activity_name = Some(action.clone());
    }
    let actor_name = take_ci(o, "actor").and_then(|v| text(&v));
    let actor_user = actor_name.map(|name| User {
        name: Some(name),
        uid: get_ci(o, "actor_id").and_then(text),
        ..User::default()
    });
    e.actor = actor_user.clone().map(Actor::user);
    let ip = take_ci(o, "actor_ip").and_then(|v| text(&v)).and_then(|i| crate::fields::ip(&i));
    let country = get_ci(o, "actor_location").and_then(|l| text_at(l, "country_code"));
    e.src_endpoint = ip.map(|ip| Endpoint {
        ip: Some(ip),
        location: country.map(|c| Location { country: Some(c), ..Location::default() }),
        ..Endpoint::default()
    });
    let target_user =
        get_ci(o, "user").and_then(text).map(|name| User { name: Some(name), ..User::default() });
    let org = get_ci(o, "org").and_then(text);
    match class {
        Class::GroupManagement => {
            let team = get_ci(o, "team").and_then(text);
            e.group = Some(Group { name: team.or(org), ..Group::default() });
            e.user = target_user;
        }
        Class::AccountChange => e.user = target_user.or(actor_user),
        Class::Authentication => {
            e.user = actor_user;
            e.service = Some(Service { name: Some("GitHub".into()) });
        }
        _ => {
            e.api = Some(Api {
                operation: action.clone(),
                service: Some(Service { name: Some("GitHub".into()) }),
                ..Api::default()
            });
        }
    }
    e.unmapped.extend(std::mem::take(o));
    e
}

fn api_activity(action: &str) -> u32 {
    let verb = action.rsplit('.').next().unwrap_or(action);
    match verb {
        v if v.starts_with("create")
            || v.starts_with("add")
            || v == "invite_member"
            || v == "clone"
            || v == "push" =>
        {
            1
        }
        v if v.starts_with("update")
            || v.starts_with("enable")
            || v.starts_with("disable")
            || v.starts_with("change")
            || v == "rename"
            || v == "transfer"
            || v == "archived"
            || v == "access" =>
        {
            3
        }
        v if v.starts_with("destroy") || v.starts_with("delete") || v.starts_with("remove") => 4,
        v if v.starts_with("download") || v.starts_with("fetch") || v == "view" => 2,
        _ => 99,
    }
}
