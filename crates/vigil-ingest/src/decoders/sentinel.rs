//! Microsoft Sentinel / Log Analytics exports: one row per line, the table named in `Type`.
//! Windows tables (`SecurityEvent`, `WindowsEvent`, `Event`) go through the Windows mapping,
//! Entra tables (`SigninLogs`, `AuditLogs`) through the Entra mapping; other tables are kept
//! with what their columns say.

use quick_xml::events::Event as XmlEvent;
use serde_json::{Map, Value};
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::fields::{get_ci, int, text};
use crate::format::{Container, Format, RawRecord, Sample, object};
use crate::windows::{self, WinEvent};

pub struct Sentinel;

impl Format for Sentinel {
    fn name(&self) -> &'static str {
        "sentinel"
    }
    fn describe(&self) -> &'static str {
        "Microsoft Sentinel / Log Analytics rows (SecurityEvent, WindowsEvent, SigninLogs, AuditLogs, OfficeActivity, …)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        if o.contains_key("TimeGenerated")
            && (o.contains_key("Type") || o.contains_key("TenantId") || o.contains_key("Computer"))
        {
            93
        } else if o.contains_key("Timestamp") && o.contains_key("ActionType") {
            // Defender advanced-hunting results exported from Sentinel.
            80
        } else {
            0
        }
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let o = object(record)?;
        let table = o.get("Type").and_then(text).unwrap_or_default();
        Ok(match table.as_str() {
            "SecurityEvent" | "WindowsEvent" | "Event" => windows_row(o, &table),
            "SigninLogs" | "AADNonInteractiveUserSignInLogs" | "AADServicePrincipalSignInLogs" => {
                super::entra::sign_in(o, o, product("Sentinel SigninLogs"), time(o))
            }
            "AuditLogs" | "Application" | "ServicePrincipal" => {
                super::entra::audit(o, o, product("Sentinel AuditLogs"), time(o))
            }
            "OfficeActivity" => office_activity(o),
            "VMConnection" => vm_connection(o),
            "" if o.contains_key("EventID") && o.contains_key("Computer") => windows_row(o, "flattened"),
            _ => other_table(o, &table),
        })
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        let Ok(o) = object(record) else { return Vec::new() };
        match table_logsource(o) {
            Some(logsource) => crate::format::json_view(record, logsource),
            None => vec![windows_row_event(o).view()],
        }
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        let Ok(o) = object(record) else { return Vec::new() };
        match table_logsource(o) {
            Some(logsource) => crate::format::json_sigma_view(record, logsource),
            None => vec![crate::view::SigmaView::Owned(windows_row_event(o).view())],
        }
    }
}

/// The Sigma logsource of a row whose view is the row itself; `None` for a Windows event row,
/// whose view is the Windows event's.
fn table_logsource(o: &Map<String, Value>) -> Option<crate::view::StaticLogSource> {
    use crate::view::StaticLogSource;
    let table = o.get("Type").and_then(text).unwrap_or_default();
    Some(match table.as_str() {
        "SecurityEvent" | "WindowsEvent" | "Event" => return None,
        "" if o.contains_key("EventID") && o.contains_key("Computer") => return None,
        "SigninLogs" | "AADNonInteractiveUserSignInLogs" | "AADServicePrincipalSignInLogs" => {
            StaticLogSource::new("azure", Some("signinlogs"))
        }
        "AuditLogs" => StaticLogSource::new("azure", Some("auditlogs")),
        "OfficeActivity" => StaticLogSource::new("m365", None),
        _ => StaticLogSource::default(),
    })
}

fn product(name: &str) -> Metadata {
    Metadata::new("Microsoft", name)
}

fn time(o: &Map<String, Value>) -> i64 {
    ["TimeGenerated", "Timestamp", "TimeCreated"]
        .iter()
        .find_map(|k| o.get(*k).and_then(crate::time::from_value))
        .unwrap_or(0)
}

/// Sentinel's own columns; the rest of a Windows row is the event's data.
const SENTINEL_COLUMNS: &[&str] = &[
    "TenantId",
    "TimeGenerated",
    "SourceSystem",
    "Computer",
    "EventSourceName",
    "Channel",
    "Task",
    "Level",
    "EventData",
    "EventID",
    "Activity",
    "SourceComputerId",
    "EventOriginId",
    "MG",
    "TimeCollected",
    "ManagementGroupName",
    "Type",
    "_ResourceId",
    "Provider",
    "EventLevel",
    "EventLevelName",
    "Source",
    "EventLog",
    "ParameterXml",
    "EventData_string",
    "RenderedDescription",
    "EventCategory",
];

fn windows_row(o: &Map<String, Value>, table: &str) -> Event {
    let mut event = windows::to_ocsf(windows_row_event(o), &format!("Sentinel {table}"));
    event.metadata.tenant_uid = o.get("TenantId").and_then(text);
    event
}

fn windows_row_event(o: &Map<String, Value>) -> WinEvent {
    let original_time = o.get("TimeGenerated").and_then(text);
    let mut win = WinEvent {
        provider: ["EventSourceName", "Provider", "Source"].iter().find_map(|k| o.get(*k).and_then(text)),
        channel: ["Channel", "EventLog"].iter().find_map(|k| o.get(*k).and_then(text)),
        event_id: o.get("EventID").and_then(int).and_then(|e| u32::try_from(e).ok()),
        computer: o.get("Computer").and_then(text),
        time: original_time.as_deref().and_then(crate::time::parse),
        original_time,
        ..WinEvent::default()
    };
    for key in ["EventData", "EventData_string", "ParameterXml"] {
        match o.get(key) {
            Some(Value::String(s)) if s.trim_start().starts_with('<') => {
                for (name, value) in xml_event_data(s) {
                    win.put(&name, Value::String(value));
                }
            }
            Some(Value::String(s)) if s.trim_start().starts_with('{') => {
                if let Ok(Value::Object(data)) = serde_json::from_str::<Value>(s) {
                    for (k, v) in data {
                        win.put(&k, v);
                    }
                }
            }
            _ => {}
        }
    }
    for (key, value) in o {
        if SENTINEL_COLUMNS.contains(&key.as_str()) {
            if !matches!(
                key.as_str(),
                "EventData" | "EventData_string" | "ParameterXml" | "Computer" | "EventID" | "Channel"
            ) {
                win.extra.insert(key.clone(), value.clone());
            }
        } else {
            // Columns Sentinel flattened out of EventData; `_string`/`_dynamic` suffixes mark
            // type-split columns.
            let name = key.trim_end_matches("_string").trim_end_matches("_dynamic");
            win.put(name, value.clone());
        }
    }
    win
}

/// `<Data Name="X">value</Data>` pairs of an EventData XML fragment. Unnamed data items are
/// numbered (`Data1`, `Data2`…) so none is lost.
pub fn xml_event_data(xml: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut unnamed = 0;
    let mut value = String::new();
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e)) if e.local_name().as_ref() == b"Data" => {
                let name = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"Name")
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                current = Some(name.unwrap_or_else(|| {
                    unnamed += 1;
                    format!("Data{unnamed}")
                }));
                value.clear();
            }
            Ok(XmlEvent::Text(t)) if current.is_some() => {
                if let Ok(s) = t.decode() {
                    value.push_str(&s);
                }
            }
            Ok(XmlEvent::GeneralRef(r)) if current.is_some() => match r.resolve_char_ref() {
                Ok(Some(c)) => value.push(c),
                _ => value.push_str(match r.as_ref() {
                    b"amp" => "&",
                    b"lt" => "<",
                    b"gt" => ">",
                    b"quot" => "\"",
                    b"apos" => "'",
                    _ => "",
                }),
            },
            Ok(XmlEvent::End(e)) if e.local_name().as_ref() == b"Data" => {
                if let Some(name) = current.take() {
                    out.push((name, std::mem::take(&mut value)));
                }
            }
            Ok(XmlEvent::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn unmapped_except(o: &Map<String, Value>, taken: &[&str]) -> Map<String, Value> {
    o.iter().filter(|(k, _)| !taken.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn office_activity(o: &Map<String, Value>) -> Event {
    let mut e = Event::new(Class::ApiActivity, 99, time(o), product("Sentinel OfficeActivity"));
    let operation = o.get("Operation").and_then(text).unwrap_or_else(|| "unknown".into());
    e.activity_name = Some(operation.clone());
    e.api = Some(Api {
        operation,
        service: o.get("OfficeWorkload").and_then(text).map(|n| Service { name: Some(n) }),
        ..Api::default()
    });
    let user_id = o.get("UserId").and_then(text);
    e.actor = Some(Actor::user(User {
        name: user_id.clone(),
        email_addr: user_id.filter(|u| u.contains('@')),
        ..User::default()
    }));
    let ip = ["ClientIP", "Client_IPAddress"].iter().find_map(|k| o.get(*k).and_then(text));
    e.src_endpoint = ip
        .and_then(|i| crate::fields::ip(i.trim_matches(['[', ']']).split(']').next().unwrap_or(&i)))
        .map(|ip| Endpoint { ip: Some(ip), ..Endpoint::default() });
    match o.get("ResultStatus").and_then(text).as_deref() {
        Some("Succeeded" | "Success" | "True") => e.set_status(Status::Success),
        Some("Failed" | "False") => e.set_status(Status::Failure),
        _ => {}
    }
    e.cloud = Some(Cloud {
        provider: "Microsoft 365".into(),
        account: o
            .get("OrganizationId")
            .and_then(text)
            .map(|uid| Account { uid: Some(uid), ..Account::default() }),
        ..Cloud::default()
    });
    e.unmapped = unmapped_except(
        o,
        &["Operation", "OfficeWorkload", "UserId", "ClientIP", "ResultStatus", "TimeGenerated"],
    );
    e
}

fn vm_connection(o: &Map<String, Value>) -> Event {
    let mut e = Event::new(Class::NetworkActivity, 6, time(o), product("Sentinel VMConnection"));
    let ep = |ip: &str, port: Option<&str>| {
        let endpoint = Endpoint {
            ip: o.get(ip).and_then(text).and_then(|i| crate::fields::ip(&i)),
            port: port.and_then(|p| o.get(p)).and_then(int).and_then(|p| u32::try_from(p).ok()),
            ..Endpoint::default()
        };
        (!endpoint.is_empty()).then_some(endpoint)
    };
    e.src_endpoint = ep("SourceIp", None);
    e.dst_endpoint = ep("DestinationIp", Some("DestinationPort"));
    let direction = match o.get("Direction").and_then(text).as_deref() {
        Some("inbound") => 1,
        Some("outbound") => 2,
        _ => 0,
    };
    e.connection_info = Some(ConnectionInfo {
        direction_id: direction,
        protocol_name: o.get("Protocol").and_then(text),
        protocol_num: None,
    });
    e.device = o.get("Computer").and_then(text).map(|h| Device {
        hostname: Some(h),
        type_id: 0,
        ..Device::default()
    });
    e.unmapped = unmapped_except(
        o,
        &[
            "SourceIp",
            "DestinationIp",
            "DestinationPort",
            "Direction",
            "Protocol",
            "Computer",
            "TimeGenerated",
        ],
    );
    e
}

/// Tables with no specific mapping (Syslog, Defender hunting rows, …): a Base Event with the
/// host and message where the row has them, every column kept.
fn other_table(o: &Map<String, Value>, table: &str) -> Event {
    let name = if table.is_empty() { "Sentinel row" } else { table };
    let mut e = Event::new(Class::BaseEvent, 99, time(o), product(&format!("Sentinel {name}")));
    e.activity_name = ["ActionType", "EventType", "OperationName"]
        .iter()
        .find_map(|k| o.get(*k).and_then(text))
        .or(Some(name.to_owned()));
    e.message =
        ["SyslogMessage", "RenderedDescription", "Message"].iter().find_map(|k| o.get(*k).and_then(text));
    let host = ["Computer", "HostName", "DeviceName"].iter().find_map(|k| get_ci(o, k).and_then(text));
    e.device = host.map(|h| Device {
        hostname: Some(h),
        ip: o.get("HostIP").and_then(text).and_then(|i| crate::fields::ip(&i)),
        type_id: 0,
        ..Device::default()
    });
    e.metadata.tenant_uid = o.get("TenantId").and_then(text);
    e.unmapped = o.clone();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_event_data_reads_named_and_unnamed_items_and_unescapes() {
        let xml = r#"<EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <Data Name="ProcessID">3936</Data><Data Name="Application">\device\a&amp;b.exe</Data><Data>free</Data></EventData>"#;
        assert_eq!(
            xml_event_data(xml),
            vec![
                ("ProcessID".to_owned(), "3936".to_owned()),
                ("Application".to_owned(), "\\device\\a&b.exe".to_owned()),
                ("Data1".to_owned(), "free".to_owned()),
            ]
        );
    }
}
