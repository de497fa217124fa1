//! Google Cloud audit logs (`protoPayload` of type AuditLog), each call an API Activity, and
//! Cloud Load Balancing request logs (`httpRequest`), each an HTTP Activity.

use serde_json::{Map, Value};
use vigil_model::Severity;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::fields::{get, get_ci, int, take_ci, text, text_at};
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct GcpAudit;

const LOGSOURCE: crate::view::StaticLogSource = crate::view::StaticLogSource::new("gcp", Some("gcp.audit"));

impl Format for GcpAudit {
    fn name(&self) -> &'static str {
        "gcp_audit"
    }
    fn describe(&self) -> &'static str {
        "Google Cloud audit logs (protoPayload AuditLog) and load balancer request logs (httpRequest)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let proto = get_ci(o, "protoPayload").is_some_and(Value::is_object);
        let log_name = get_ci(o, "logName").and_then(text).unwrap_or_default();
        let audit = log_name.contains("cloudaudit.googleapis.com");
        let requests = get_ci(o, "httpRequest").is_some_and(Value::is_object)
            && (log_name.ends_with("/logs/requests") || get_ci(o, "insertId").is_some());
        if proto || audit || requests { 92 } else { 0 }
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
    if get_ci(o, "protoPayload").is_none() && get_ci(o, "httpRequest").is_some_and(Value::is_object) {
        return http_request(o);
    }
    let proto = take_ci(o, "protoPayload").unwrap_or(Value::Null);
    let method = text_at(&proto, "methodName")
        .or_else(|| get_ci(o, "methodName").and_then(text))
        .unwrap_or_else(|| "unknown".into());
    let timestamp = take_ci(o, "timestamp").and_then(|v| text(&v)).or_else(|| text_at(&proto, "timestamp"));
    let time = timestamp
        .as_deref()
        .and_then(crate::time::parse)
        .or_else(|| get_ci(o, "receiveTimestamp").and_then(crate::time::from_value))
        .unwrap_or(0);
    let log_name = take_ci(o, "logName").and_then(|v| text(&v));
    let metadata = Metadata {
        log_name: log_name.clone(),
        original_time: timestamp,
        ..Metadata::new("Google", "Cloud Audit Logs")
    };
    let mut e = Event::new(Class::ApiActivity, api_activity(&method), time, metadata);
    if e.activity_id == 99 {
        e.activity_name = Some(method.clone());
    }
    let email = text_at(&proto, "authenticationInfo.principalEmail");
    let user = User {
        name: email.clone().or_else(|| text_at(&proto, "authenticationInfo.principalSubject")),
        email_addr: email.filter(|e| e.contains('@')),
        credential_uid: text_at(&proto, "authenticationInfo.serviceAccountKeyName"),
        type_id: text_at(&proto, "authenticationInfo.principalEmail")
            .map(|e| if e.ends_with(".gserviceaccount.com") { 3 } else { 1 }),
        ..User::default()
    };
    e.actor = (!user.is_empty()).then(|| Actor::user(user));
    let meta = get(&proto, "requestMetadata");
    let ip = meta.and_then(|m| m.get("callerIp").or_else(|| m.get("callerIP"))).and_then(text);
    e.src_endpoint = ip.map(|i| match crate::fields::ip(&i) {
        Some(ip) => Endpoint { ip: Some(ip), ..Endpoint::default() },
        // "private", "gce-internal-ip": kept as a name, never dropped.
        None => Endpoint { domain: Some(i), ..Endpoint::default() },
    });
    if let Some(agent) = meta.and_then(|m| m.get("callerSuppliedUserAgent")).and_then(text) {
        e.unmapped.insert("callerSuppliedUserAgent".into(), Value::String(agent));
    }
    let code = get(&proto, "status.code").and_then(int);
    e.api = Some(Api {
        operation: method,
        service: text_at(&proto, "serviceName").map(|n| Service { name: Some(n) }),
        response: code.filter(|c| *c != 0).map(|c| ApiResponse {
            code: Some(c),
            error_message: text_at(&proto, "status.message"),
            error: None,
        }),
        ..Api::default()
    });
    match code {
        Some(0) | None => e.set_status(Status::Success),
        Some(_) => e.set_status(Status::Failure),
    }
    let project = project_of(o, log_name.as_deref());
    e.cloud = Some(Cloud {
        provider: "GCP".into(),
        project_uid: project,
        region: text_at(&proto, "resourceLocation.currentLocations.0"),
        account: None,
    });
    if let Some(severity) = take_ci(o, "severity").and_then(|v| text(&v)) {
        let severity = match severity.as_str() {
            "WARNING" => Severity::Low,
            "ERROR" => Severity::Medium,
            "CRITICAL" | "ALERT" | "EMERGENCY" => Severity::High,
            _ => Severity::Informational,
        };
        e.set_severity(severity);
    }
    if let Some(resource) = text_at(&proto, "resourceName") {
        e.unmapped.insert("resourceName".into(), Value::String(resource));
    }
    for key in ["request", "response", "authorizationInfo", "serviceData", "metadata"] {
        if let Some(v) = proto.get(key) {
            e.unmapped.insert(key.into(), v.clone());
        }
    }
    e.unmapped.extend(std::mem::take(o));
    e
}

fn project_of(o: &Map<String, Value>, log_name: Option<&str>) -> Option<String> {
    get_ci(o, "resource").and_then(|r| get(r, "labels.project_id")).and_then(text).or_else(|| {
        log_name
            .and_then(|l| l.strip_prefix("projects/"))
            .and_then(|l| l.split('/').next())
            .map(str::to_owned)
    })
}

/// A load balancer request log entry: HTTP Activity.
fn http_request(o: &mut Map<String, Value>) -> Event {
    let request = take_ci(o, "httpRequest").unwrap_or(Value::Null);
    let timestamp = take_ci(o, "timestamp").and_then(|v| text(&v));
    let time = timestamp
        .as_deref()
        .and_then(crate::time::parse)
        .or_else(|| get_ci(o, "receiveTimestamp").and_then(crate::time::from_value))
        .unwrap_or(0);
    let log_name = get_ci(o, "logName").and_then(text);
    let metadata = Metadata {
        log_name: log_name.clone(),
        original_time: timestamp,
        ..Metadata::new("Google", "Cloud Load Balancing")
    };
    let method = text_at(&request, "requestMethod").map(|m| m.to_ascii_uppercase());
    // OCSF 1.5's HTTP methods; anything else (PATCH, WebDAV verbs) is activity 99.
    const METHODS: &[&str] = &["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "TRACE"];
    let known = method.as_deref().and_then(|m| METHODS.iter().position(|k| *k == m));
    let activity = known.map_or(99, |i| i as u32 + 1);
    let mut e = Event::new(Class::HttpActivity, activity, time, metadata);
    if activity == 99 {
        e.activity_name = method.clone();
    }
    let url_string = text_at(&request, "requestUrl");
    let (hostname, path) = url_string.as_deref().map(split_url).unwrap_or_default();
    e.http_request = Some(HttpRequest {
        http_method: method.filter(|_| known.is_some()),
        url: url_string.map(|u| Url { url_string: Some(u), hostname, path }),
        user_agent: text_at(&request, "userAgent"),
    });
    e.http_response = get(&request, "status").and_then(int).map(|code| HttpResponse { code });
    let endpoint = |key: &str| {
        text_at(&request, key)
            .and_then(|i| crate::fields::ip(&i))
            .map(|ip| Endpoint { ip: Some(ip), ..Endpoint::default() })
    };
    e.src_endpoint = endpoint("remoteIp");
    e.dst_endpoint = endpoint("serverIp");
    e.cloud = Some(Cloud {
        provider: "GCP".into(),
        project_uid: project_of(o, log_name.as_deref()),
        ..Cloud::default()
    });
    for key in ["requestSize", "responseSize", "latency", "referer", "cacheHit"] {
        if let Some(v) = request.get(key) {
            e.unmapped.insert(key.into(), v.clone());
        }
    }
    e.unmapped.extend(std::mem::take(o));
    e
}

/// Host and path of `scheme://host[:port]/path?query`.
fn split_url(url: &str) -> (Option<String>, Option<String>) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.split(':').next().unwrap_or(host),
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    ((!host.is_empty()).then(|| host.to_owned()), Some(path.to_owned()))
}

/// The API Activity verb of a GCP method (`v1.compute.instances.insert`, `SetIamPolicy`).
fn api_activity(method: &str) -> u32 {
    let last = method.rsplit('.').next().unwrap_or(method).to_ascii_lowercase();
    const VERBS: &[(&str, u32)] = &[
        ("create", 1),
        ("insert", 1),
        ("add", 1),
        ("signjwt", 1),
        ("generate", 1),
        ("encrypt", 1),
        ("get", 2),
        ("list", 2),
        ("search", 2),
        ("decrypt", 2),
        ("read", 2),
        ("update", 3),
        ("patch", 3),
        ("set", 3),
        ("replace", 3),
        ("enable", 3),
        ("disable", 3),
        ("stop", 3),
        ("start", 3),
        ("delete", 4),
        ("remove", 4),
        ("destroy", 4),
    ];
    VERBS.iter().find(|(v, _)| last.starts_with(v)).map(|(_, id)| *id).unwrap_or(99)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_url_handles_ports_credentials_ipv6_and_queries() {
        assert_eq!(split_url("http://6.7.8.9/"), (Some("6.7.8.9".into()), Some("/".into())));
        assert_eq!(
            split_url("https://u:p@www.example.com:8443/a/b?x=1"),
            (Some("www.example.com".into()), Some("/a/b".into()))
        );
        assert_eq!(split_url("http://[2001:db8::1]:80/x#f"), (Some("2001:db8::1".into()), Some("/x".into())));
        assert_eq!(split_url("example.com"), (Some("example.com".into()), Some("/".into())));
    }
}
