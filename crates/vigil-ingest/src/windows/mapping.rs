//! The mapping from Windows events to OCSF, by provider and event id: Sysmon here, Security
//! auditing in `security` (and `security_objects`, `privileges`, `directory`), PowerShell in
//! `powershell`, Remote Desktop's transport in `remote_desktop`, SQL Server's logins in
//! `sql_server`, Defender's health report in `defender`,
//! the Service Control Manager and the event log service in `system`. Events of other
//! providers and event ids without a specific mapping become Base Events with all their data
//! in `unmapped`.

use serde_json::{Map, Value};
use vigil_model::Severity;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::defender::{DEFENDER, defender};
use super::powershell::{is_powershell, powershell};
use super::remote_desktop::{RDP_CORE, remote_desktop};
use super::security::security;
use super::sql_server::{is_sql_server, sql_server};
use super::system::{EVENTLOG, SERVICE_CONTROL_MANAGER, event_log, service_control};
use super::{WinEvent, activity, split_account};
use crate::fields::{int, text};

const SYSMON: &str = "Microsoft-Windows-Sysmon";
const SECURITY: &str = "Microsoft-Windows-Security-Auditing";

/// Maps a Windows event to OCSF. `product` names the shipper (`evtx`, `NXLog`…).
pub fn to_ocsf(mut win: WinEvent, product: &str) -> Event {
    if win.provider.is_none() {
        // Some shippers drop the provider; these channels have only one.
        win.provider = match win.channel.as_deref() {
            Some(c) if c.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") => {
                Some(SYSMON.to_owned())
            }
            Some(c) if c.eq_ignore_ascii_case("Security") => Some(SECURITY.to_owned()),
            _ => None,
        };
    }
    let provider = win.provider.clone().unwrap_or_default();
    let event_id = win.event_id.unwrap_or(0);
    let mut d = Data(std::mem::take(&mut win.data));
    if win.time.is_none() {
        // Sysmon's own UTC timestamp, when the shipper's could not be read.
        win.time = d.get("UtcTime").and_then(|t| crate::time::parse(&t));
    }
    let metadata = Metadata {
        log_name: win.channel.clone(),
        log_provider: win.provider.clone(),
        event_code: win.event_id.map(|e| e.to_string()),
        original_time: win.original_time.clone(),
        ..Metadata::new("Microsoft", &format!("Windows ({product})"))
    };
    let device = win.computer.as_deref().map(device);
    let time = win.time.unwrap_or(0);

    let is_sysmon = provider.eq_ignore_ascii_case(SYSMON) || provider == "Linux-Sysmon";
    let is_security = provider.eq_ignore_ascii_case(SECURITY)
        || win.channel.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("security"));
    let sid = win.user_sid.as_deref();
    let mut event = if is_sysmon {
        sysmon(event_id, &mut d, time, metadata.clone())
    } else if provider.eq_ignore_ascii_case(EVENTLOG) {
        event_log(event_id, &mut d, time, metadata.clone(), win.channel.as_deref())
    } else if provider.eq_ignore_ascii_case(SERVICE_CONTROL_MANAGER) {
        service_control(event_id, &mut d, time, metadata.clone(), sid)
    } else if provider.eq_ignore_ascii_case(DEFENDER) {
        defender(event_id, &mut d, time, metadata.clone())
    } else if is_sql_server(&provider) {
        sql_server(event_id, &mut d, time, metadata.clone())
    } else if provider.eq_ignore_ascii_case(RDP_CORE) {
        remote_desktop(event_id, &mut d, time, metadata.clone())
    } else if is_powershell(&provider) {
        let message = win.extra.get("Message").and_then(text);
        powershell(event_id, &mut d, time, metadata.clone(), sid, message.as_deref())
    } else if is_security {
        security(event_id, &mut d, time, metadata.clone(), win.computer.as_deref())
    } else {
        None
    }
    .unwrap_or_else(|| {
        let mut e = Event::new(Class::BaseEvent, 99, time, metadata);
        e.activity_name = Some(format!("{provider} {event_id}"));
        e
    });
    event.device = device;
    if let Some(level) = win.level {
        let severity = match level {
            1 => Severity::High,
            2 => Severity::Medium,
            3 => Severity::Low,
            _ => Severity::Informational,
        };
        event.set_severity(severity);
    }
    if win.time.is_none() {
        event.unmapped.insert("vigil_time".into(), Value::String("missing in record".into()));
    }
    if let Some(record_id) = win.record_id {
        win.extra.insert("EventRecordID".into(), Value::from(record_id));
    }
    if let Some(sid) = win.user_sid.take() {
        win.extra.insert("UserID".into(), Value::String(sid));
    }
    let mut unmapped = win.extra;
    unmapped.extend(d.0);
    unmapped.extend(std::mem::take(&mut event.unmapped));
    event.unmapped = unmapped;
    event
}

/// EventData fields, taken out as they are mapped.
pub(super) struct Data(pub(super) Map<String, Value>);

impl Data {
    /// The fields of a JSON object, as a test writes them.
    #[cfg(test)]
    pub(super) fn of(value: Value) -> Data {
        match value {
            Value::Object(map) => Data(map),
            _ => Data(Map::new()),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(text)
    }
    pub(super) fn take(&mut self, key: &str) -> Option<String> {
        self.0.shift_remove(key).and_then(|v| text(&v))
    }
    pub(super) fn take_int(&mut self, key: &str) -> Option<i64> {
        self.0.shift_remove(key).and_then(|v| int(&v))
    }
    /// A user from `<prefix>UserName`, `<prefix>DomainName`, `<prefix>UserSid`/`Sid`.
    pub(super) fn user(&mut self, prefix: &str) -> Option<User> {
        let name = self.take(&format!("{prefix}UserName"));
        let domain = self.take(&format!("{prefix}DomainName"));
        let sid = self.take(&format!("{prefix}UserSid")).or_else(|| self.take(&format!("{prefix}Sid")));
        user(name, domain, sid)
    }
}

pub(super) fn user(name: Option<String>, domain: Option<String>, sid: Option<String>) -> Option<User> {
    if name.is_none() && sid.is_none() {
        return None;
    }
    let type_id = match sid.as_deref() {
        Some("S-1-5-18" | "S-1-5-19" | "S-1-5-20") => Some(3),
        _ => None,
    };
    Some(User { name, domain, uid: sid, type_id, ..User::default() })
}

fn device(computer: &str) -> Device {
    let domain = computer.split_once('.').map(|(_, d)| d.to_owned());
    Device {
        hostname: Some(computer.to_owned()),
        domain,
        type_id: 0,
        os: Some(Os { name: "Windows".into(), type_id: 100 }),
        ..Device::default()
    }
}

pub(super) fn endpoint(ip: Option<String>, port: Option<i64>, hostname: Option<String>) -> Option<Endpoint> {
    let ip = ip.and_then(|i| crate::fields::ip(&i));
    let port = port.and_then(|p| u32::try_from(p).ok()).filter(|p| *p > 0 && *p <= 65535);
    let e = Endpoint { ip, port, hostname, ..Endpoint::default() };
    (!e.is_empty()).then_some(e)
}

pub(super) fn process(image: Option<String>, pid: Option<i64>, guid: Option<String>) -> Option<Process> {
    if image.is_none() && pid.is_none() && guid.is_none() {
        return None;
    }
    let file = image.as_deref().map(File::from_path);
    Some(Process { name: file.as_ref().map(|f| f.name.clone()), pid, uid: guid, file, ..Process::default() })
}

fn hashes(text: &str) -> Vec<Hash> {
    text.split(',')
        .filter_map(|pair| {
            let (alg, value) = pair.split_once('=')?;
            let algorithm_id = match alg.trim().to_ascii_uppercase().as_str() {
                "MD5" => 1,
                "SHA1" => 2,
                "SHA256" => 3,
                "SHA512" => 4,
                _ => return None,
            };
            Some(Hash { algorithm_id, value: value.trim().to_owned() })
        })
        .collect()
}

fn sysmon(id: u32, d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    let event = match id {
        1 | 5 => {
            let mut e = Event::new(Class::ProcessActivity, if id == 1 { 1 } else { 2 }, time, metadata);
            let mut p = process(d.take("Image"), d.take_int("ProcessId"), d.take("ProcessGuid"))?;
            p.cmd_line = d.take("CommandLine");
            p.integrity = d.take("IntegrityLevel");
            if let (Some(file), Some(h)) = (p.file.as_mut(), d.get("Hashes")) {
                file.hashes = hashes(&h);
            }
            if let Some(account) = d.take("User") {
                let (name, domain) = split_account(&account);
                p.user = user(Some(name), domain, None);
            }
            let mut parent =
                process(d.take("ParentImage"), d.take_int("ParentProcessId"), d.take("ParentProcessGuid"));
            if let Some(parent) = parent.as_mut() {
                parent.cmd_line = d.take("ParentCommandLine");
            }
            // A launch is done by the parent; an exit by the process itself.
            let acting =
                if id == 1 { parent.clone() } else { Some(Process { parent_process: None, ..p.clone() }) };
            e.actor = Some(Actor { user: p.user.clone(), process: acting.map(Box::new), ..Actor::default() });
            p.parent_process = parent.map(Box::new);
            e.process = Some(p);
            e
        }
        8 | 10 => {
            let activity = if id == 8 { 4 } else { 3 };
            let mut e = Event::new(Class::ProcessActivity, activity, time, metadata);
            let source = process(
                d.take("SourceImage"),
                d.take_int("SourceProcessId"),
                d.take("SourceProcessGUID").or_else(|| d.take("SourceProcessGuid")),
            );
            e.actor = Some(Actor { process: source.map(Box::new), ..Actor::default() });
            e.process = process(
                d.take("TargetImage"),
                d.take_int("TargetProcessId"),
                d.take("TargetProcessGUID").or_else(|| d.take("TargetProcessGuid")),
            );
            e
        }
        3 => {
            let mut e = Event::new(Class::NetworkActivity, 1, time, metadata);
            e.src_endpoint = endpoint(d.take("SourceIp"), d.take_int("SourcePort"), d.take("SourceHostname"));
            e.dst_endpoint = endpoint(
                d.take("DestinationIp"),
                d.take_int("DestinationPort"),
                d.take("DestinationHostname"),
            );
            let outbound = d.get("Initiated").is_some_and(|i| i.eq_ignore_ascii_case("true"));
            e.connection_info = Some(ConnectionInfo {
                direction_id: if outbound { 2 } else { 1 },
                protocol_name: d.take("Protocol"),
                protocol_num: None,
            });
            e.actor = Some(actor_process(d));
            e
        }
        22 => {
            let mut e = Event::new(Class::DnsActivity, 1, time, metadata);
            e.query = Some(DnsQuery { hostname: d.take("QueryName")?, r#type: None });
            if let Some(results) = d.get("QueryResults") {
                e.answers = results
                    .split(';')
                    .map(|r| r.trim().trim_start_matches("::ffff:"))
                    .filter(|r| !r.is_empty() && !r.starts_with("type:"))
                    .map(|r| DnsAnswer { rdata: r.to_owned() })
                    .collect();
            }
            e.actor = Some(actor_process(d));
            e.src_endpoint =
                Some(Endpoint { hostname: None, svc_name: Some("dns-client".into()), ..Endpoint::default() });
            e
        }
        7 => {
            let mut e = Event::new(Class::ModuleActivity, activity::module::LOAD, time, metadata);
            let mut file = File::from_path(&d.take("ImageLoaded")?);
            if let Some(h) = d.get("Hashes") {
                file.hashes = hashes(&h);
            }
            e.module = Some(Module { load_type_id: 1, load_type: None, file: Some(file) });
            e.actor = Some(actor_process(d));
            e
        }
        2 | 11 | 15 | 23 | 26 => {
            let activity = match id {
                2 => 6,
                23 | 26 => 4,
                _ => 1,
            };
            let mut e = Event::new(Class::FileSystemActivity, activity, time, metadata);
            e.file = Some(File::from_path(&d.take("TargetFilename")?));
            e.actor = Some(actor_process(d));
            e
        }
        12..=14 => {
            let event_type = d.get("EventType").unwrap_or_default();
            let target = d.take("TargetObject")?;
            let mut e = match (id, event_type.as_str()) {
                (13, _) | (12, "DeleteValue") | (12, "CreateValue") => {
                    let activity = match (id, event_type.as_str()) {
                        (12, "DeleteValue") => 4,
                        _ => 2,
                    };
                    let mut e = Event::new(Class::RegistryValueActivity, activity, time, metadata);
                    let (path, name) = target.rsplit_once('\\').unwrap_or((&target, ""));
                    e.reg_value = Some(RegistryValue {
                        path: path.to_owned(),
                        name: name.to_owned(),
                        data: d.take("Details").map(Value::String),
                    });
                    e
                }
                _ => {
                    let activity = match (id, event_type.as_str()) {
                        (14, _) => 5,
                        (_, "DeleteKey") => 4,
                        _ => 1,
                    };
                    let mut e = Event::new(Class::RegistryKeyActivity, activity, time, metadata);
                    e.reg_key = Some(RegistryKey { path: target });
                    e
                }
            };
            e.actor = Some(actor_process(d));
            e
        }
        _ => return None,
    };
    Some(event)
}

/// The acting process of a Sysmon event (`Image`, `ProcessId`, `ProcessGuid`, `User`).
fn actor_process(d: &mut Data) -> Actor {
    let mut p = process(d.take("Image"), d.take_int("ProcessId"), d.take("ProcessGuid"));
    let u = d.take("User").map(|account| {
        let (name, domain) = split_account(&account);
        User { name: Some(name), domain, ..User::default() }
    });
    if let Some(p) = p.as_mut() {
        p.user = u.clone();
    }
    Actor { user: u, process: p.map(Box::new), ..Actor::default() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn win(channel: &str, event_id: u32, data: Value) -> WinEvent {
        let mut w = WinEvent {
            channel: Some(channel.into()),
            event_id: Some(event_id),
            computer: Some("ws-12.corp.example".into()),
            time: Some(1),
            ..WinEvent::default()
        };
        w.put_event_data(&data);
        w
    }

    #[test]
    fn events_without_a_provider_are_mapped_by_their_channel() {
        let data = json!({"SourceImage": "C:\\a.exe", "SourceProcessId": "1", "TargetImage": "C:\\Windows\\System32\\lsass.exe", "TargetProcessId": "2"});
        let event = to_ocsf(win("Microsoft-Windows-Sysmon/Operational", 10, data), "test");
        assert_eq!(event.class_uid, 1007);
        assert_eq!(event.metadata.log_provider.as_deref(), Some(SYSMON));
    }

    #[test]
    fn share_access_is_file_activity_on_the_share_path() {
        let data = json!({"SubjectUserName": "alice", "ShareLocalPath": "\\??\\C:\\Shares\\Finance", "RelativeTargetName": "q3.xlsx", "AccessList": "%%4416", "IpAddress": "10.0.0.5"});
        let event = to_ocsf(win("Security", 5145, data), "test").finish();
        assert_eq!(event.class_uid, 1001);
        assert_eq!(event.file.as_ref().and_then(|f| f.path.as_deref()), Some("C:\\Shares\\Finance\\q3.xlsx"));
        assert_eq!(event.unmapped["IpAddress"], "10.0.0.5");
    }

    #[test]
    fn unknown_events_keep_all_their_data_as_base_events() {
        let data = json!({"Image": "C:\\x.exe", "TargetFilename": "C:\\y.txt"});
        let event = to_ocsf(win("Microsoft-Windows-Sysmon/Operational", 29, data), "test");
        assert_eq!(event.class_uid, 0);
        assert_eq!(event.unmapped["Image"], "C:\\x.exe");
        assert_eq!(event.unmapped["TargetFilename"], "C:\\y.txt");
    }

    #[test]
    fn a_service_state_change_names_only_its_service_and_stays_a_base_event() {
        let mut w = win("System", 7036, json!({"param1": "updsvc", "param2": "running"}));
        w.provider = Some("Service Control Manager".into());
        let event = to_ocsf(w, "test").finish();
        assert_eq!(event.class_uid, 0);
        assert_eq!(event.unmapped["param1"], "updsvc");
    }

    #[test]
    fn an_installed_service_is_a_windows_service_created_with_how_it_starts() {
        let data = json!({"ServiceName": "updsvc", "ImagePath": "C:\\Windows\\Temp\\u.exe", "ServiceType": "user mode service", "StartType": "auto start", "AccountName": "LocalSystem"});
        let mut w = win("System", 7045, data);
        w.provider = Some("Service Control Manager".into());
        let event = to_ocsf(w, "test").finish();
        assert_eq!(event.class_uid, 201004);
        let s = event.win_service.expect("service");
        assert_eq!((s.service_start_type_id, s.service_type_id), (Some(3), Some(3)));
    }
}
