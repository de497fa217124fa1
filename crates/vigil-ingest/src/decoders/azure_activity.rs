//! Azure activity and resource logs (ARM operations such as
//! `Microsoft.Storage/storageAccounts/write`): each is an API Activity.

use serde_json::{Map, Value};
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::fields::{get, get_ci, take_ci, text};
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct AzureActivity;

const LOGSOURCE: crate::view::StaticLogSource =
    crate::view::StaticLogSource::new("azure", Some("activitylogs"));

impl Format for AzureActivity {
    fn name(&self) -> &'static str {
        "azure_activity"
    }
    fn describe(&self) -> &'static str {
        "Azure activity and resource logs (ARM operations)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let operation = get_ci(o, "operationName");
        let resource = get_ci(o, "resourceId")
            .and_then(text)
            .is_some_and(|r| r.to_ascii_lowercase().starts_with("/subscriptions/"));
        if operation.is_some() && (resource || get_ci(o, "callerIpAddress").is_some()) { 80 } else { 0 }
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
    let operation = match take_ci(o, "operationName") {
        Some(Value::Object(op)) => op.get("value").and_then(text),
        Some(v) => text(&v),
        None => None,
    }
    .unwrap_or_else(|| "unknown".into());
    let time = get_ci(o, "time").and_then(crate::time::from_value).unwrap_or(0);
    let metadata = Metadata {
        original_time: take_ci(o, "time").and_then(|v| text(&v)),
        ..Metadata::new("Microsoft", "Azure Activity Log")
    };
    let last = operation.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    let activity = match last.as_str() {
        "write" => 3,
        "read" => 2,
        "delete" => 4,
        _ if last.starts_with("put") || last.starts_with("create") => 1,
        _ if last.starts_with("get") || last.starts_with("list") => 2,
        _ if last.starts_with("delete") => 4,
        _ => 99,
    };
    let mut e = Event::new(Class::ApiActivity, activity, time, metadata);
    if e.activity_id == 99 {
        e.activity_name = Some(operation.clone());
    }
    let identity = get_ci(o, "identity").cloned().unwrap_or(Value::Null);
    let claims = identity.get("claims");
    let upn = claims
        .and_then(|c| {
            c.get("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn").or_else(|| c.get("name"))
        })
        .and_then(text);
    let caller = get_ci(o, "caller").and_then(text).or(upn).or_else(|| text(&identity));
    e.actor = caller.map(|c| {
        Actor::user(User { email_addr: c.contains('@').then(|| c.clone()), name: Some(c), ..User::default() })
    });
    let ip = take_ci(o, "callerIpAddress").and_then(|v| text(&v));
    e.src_endpoint =
        ip.and_then(|i| crate::fields::ip(&i)).map(|ip| Endpoint { ip: Some(ip), ..Endpoint::default() });
    e.api = Some(Api {
        operation,
        service: Some(Service { name: Some("Azure Resource Manager".into()) }),
        ..Api::default()
    });
    let subscription = get_ci(o, "resourceId").and_then(text).and_then(|r| {
        let lower = r.to_ascii_lowercase();
        let rest = lower.strip_prefix("/subscriptions/")?;
        Some(r[r.len() - rest.len()..].split('/').next()?.to_owned())
    });
    e.cloud = Some(Cloud {
        provider: "Azure".into(),
        region: get_ci(o, "location").and_then(text),
        account: subscription.map(|uid| Account {
            uid: Some(uid),
            type_id: Some(99),
            r#type: Some("Azure Subscription".into()),
            name: None,
        }),
        project_uid: None,
    });
    let result = get_ci(o, "resultType")
        .and_then(text)
        .or_else(|| get_ci(o, "status").and_then(|s| get(s, "value")).and_then(text));
    match result.as_deref() {
        Some("Success" | "Succeeded" | "Start" | "Started" | "Accept" | "Accepted") => {
            e.set_status(Status::Success)
        }
        Some("Failure" | "Failed") => e.set_status(Status::Failure),
        _ => {}
    }
    e.unmapped.extend(std::mem::take(o));
    e
}
