//! The mapping from Windows events (Security auditing, Sysmon, Task Scheduler, System) to OCSF,
//! by provider and event id. Events without a specific mapping become Base Events with all
//! their data in `unmapped`.

use serde_json::{Map, Value};
use vigil_model::Severity;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use super::{WinEvent, split_account};
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
    let mut event = if is_sysmon {
        sysmon(event_id, &mut d, time, metadata.clone())
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
struct Data(Map<String, Value>);

impl Data {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(text)
    }
    fn take(&mut self, key: &str) -> Option<String> {
        self.0.shift_remove(key).and_then(|v| text(&v))
    }
    fn take_int(&mut self, key: &str) -> Option<i64> {
        self.0.shift_remove(key).and_then(|v| int(&v))
    }
    /// A user from `<prefix>UserName`, `<prefix>DomainName`, `<prefix>UserSid`/`Sid`.
    fn user(&mut self, prefix: &str) -> Option<User> {
        let name = self.take(&format!("{prefix}UserName"));
        let domain = self.take(&format!("{prefix}DomainName"));
        let sid = self.take(&format!("{prefix}UserSid")).or_else(|| self.take(&format!("{prefix}Sid")));
        user(name, domain, sid)
    }
}

fn user(name: Option<String>, domain: Option<String>, sid: Option<String>) -> Option<User> {
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

fn endpoint(ip: Option<String>, port: Option<i64>, hostname: Option<String>) -> Option<Endpoint> {
    let ip = ip.and_then(|i| crate::fields::ip(&i));
    let port = port.and_then(|p| u32::try_from(p).ok()).filter(|p| *p > 0 && *p <= 65535);
    let e = Endpoint { ip, port, hostname, ..Endpoint::default() };
    (!e.is_empty()).then_some(e)
}

fn process(image: Option<String>, pid: Option<i64>, guid: Option<String>) -> Option<Process> {
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

fn security(id: u32, d: &mut Data, time: i64, metadata: Metadata, computer: Option<&str>) -> Option<Event> {
    let subject = |d: &mut Data| d.user("Subject").map(Actor::user);
    let event = match id {
        4624 | 4625 | 4634 | 4647 | 4648 => {
            let activity = if matches!(id, 4634 | 4647) { 2 } else { 1 };
            let mut e = Event::new(Class::Authentication, activity, time, metadata);
            e.actor = subject(d);
            e.user = d.user("Target");
            if id == 4647 && e.user.is_none() {
                e.user = e.actor.as_ref().and_then(|a| a.user.clone());
            }
            if let Some(t) = d.take_int("LogonType") {
                let known = matches!(t, 2..=5 | 7..=13);
                e.logon_type_id = Some(if known { t as u32 } else { 99 });
                e.logon_type = Some(logon_type_name(t).to_owned());
                e.is_remote = Some(matches!(t, 3 | 10));
            }
            e.auth_protocol = d.take("AuthenticationPackageName").or_else(|| d.take("LmPackageName"));
            e.src_endpoint = endpoint(d.take("IpAddress"), d.take_int("IpPort"), d.take("WorkstationName"));
            let target_server = d.take("TargetServerName");
            e.dst_endpoint = Some(Endpoint {
                hostname: target_server.or_else(|| computer.map(str::to_owned)),
                ..Endpoint::default()
            });
            if let Some(id) = d.take("TargetLogonId").or_else(|| d.take("LogonGuid")) {
                e.session = Some(Session { uid: Some(id), ..Session::default() });
            }
            if id == 4625 {
                e.set_status(Status::Failure);
                e.status_code = d.take("Status");
                e.status_detail = d.take("SubStatus").or_else(|| d.take("FailureReason"));
            } else if id != 4634 && id != 4647 {
                e.set_status(Status::Success);
            }
            e
        }
        4768 | 4769 | 4770 | 4771 | 4776 => {
            let activity = match id {
                4768 => 3,
                4769 => 4,
                4770 => 5,
                4771 => 6,
                _ => 1,
            };
            let mut e = Event::new(Class::Authentication, activity, time, metadata);
            let name = d.take("TargetUserName");
            let domain = d.take("TargetDomainName");
            e.user = user(name, domain, d.take("TargetSid"));
            e.src_endpoint = endpoint(d.take("IpAddress"), d.take_int("IpPort"), d.take("Workstation"));
            e.auth_protocol = Some(if id == 4776 { "NTLM" } else { "Kerberos" }.to_owned());
            e.service = d.take("ServiceName").map(|name| Service { name: Some(name) });
            e.dst_endpoint =
                computer.map(|c| Endpoint { hostname: Some(c.to_owned()), ..Endpoint::default() });
            let status = d.take("Status");
            let failed = status.as_deref().is_some_and(|s| s != "0x0" && s != "0");
            e.set_status(if failed { Status::Failure } else { Status::Success });
            e.status_code = status;
            e
        }
        4720 | 4722 | 4723 | 4724 | 4725 | 4726 | 4738 | 4740 | 4767 | 4781 => {
            let activity = match id {
                4720 => 1,
                4722 => 2,
                4723 => 3,
                4724 => 4,
                4725 => 5,
                4726 => 6,
                4740 => 9,
                4767 => 12,
                _ => 99,
            };
            let mut e = Event::new(Class::AccountChange, activity, time, metadata);
            e.actor = subject(d);
            e.user = d.user("Target").or_else(|| user(d.take("OldTargetUserName"), None, None));
            e
        }
        4727 | 4728 | 4729 | 4730 | 4731 | 4732 | 4733 | 4734 | 4754 | 4756 | 4757 | 4758 => {
            let activity = match id {
                4727 | 4731 | 4754 => 6,
                4730 | 4734 | 4758 => 5,
                4728 | 4732 | 4756 => 3,
                _ => 4,
            };
            let mut e = Event::new(Class::GroupManagement, activity, time, metadata);
            e.actor = subject(d);
            e.group = Some(Group {
                name: d.take("TargetUserName"),
                domain: d.take("TargetDomainName"),
                uid: d.take("TargetSid"),
            });
            let member = d.take("MemberName").map(|m| {
                // Member names are distinguished names; the CN is the readable part.
                m.strip_prefix("CN=").and_then(|r| r.split(',').next()).map(str::to_owned).unwrap_or(m)
            });
            e.user = user(member, None, d.take("MemberSid"));
            e
        }
        4688 | 4689 => {
            let mut e = Event::new(Class::ProcessActivity, if id == 4688 { 1 } else { 2 }, time, metadata);
            let (image, pid) = if id == 4688 {
                (d.take("NewProcessName"), d.take_int("NewProcessId"))
            } else {
                (d.take("ProcessName"), d.take_int("ProcessId"))
            };
            let mut p = process(image, pid, None)?;
            p.cmd_line = d.take("CommandLine");
            p.user = d.user("Target").filter(|u| u.name.is_some());
            let parent = if id == 4688 {
                process(d.take("ParentProcessName"), d.take_int("ProcessId"), None)
            } else {
                None
            };
            let mut actor = subject(d).unwrap_or_default();
            actor.process = parent.clone().map(Box::new);
            p.parent_process = parent.map(Box::new);
            e.actor = Some(actor);
            e.process = Some(p);
            e
        }
        4698..=4702 => {
            let activity = match id {
                4698 => 1,
                4699 => 3,
                4700 => 4,
                4701 => 5,
                _ => 2,
            };
            let mut e = Event::new(Class::ScheduledJobActivity, activity, time, metadata);
            let name = d.take("TaskName")?;
            let mut file = File::from_path(&format!("C:\\Windows\\System32\\Tasks{name}"));
            file.type_id = 1;
            e.job = Some(Job { name, cmd_line: None, file: Some(file) });
            e.actor = subject(d);
            e
        }
        4657 => {
            let activity = match d.get("OperationType").as_deref() {
                Some("%%1904") => 2,
                Some("%%1906") => 4,
                _ => 3,
            };
            let mut e = Event::new(Class::RegistryValueActivity, activity, time, metadata);
            e.reg_value = Some(RegistryValue {
                path: d.take("ObjectName")?,
                name: d.take("ObjectValueName").unwrap_or_default(),
                data: d.take("NewValue").map(Value::String),
            });
            e.actor = subject(d).map(|mut a| {
                a.process = process(d.take("ProcessName"), d.take_int("ProcessId"), None).map(Box::new);
                a
            });
            e
        }
        4656 | 4663 => {
            let object_type = d.get("ObjectType").unwrap_or_default();
            let access = d.get("AccessList").unwrap_or_default();
            // %%1537 DELETE, %%4417 WriteData, %%4416 ReadData.
            let activity = if access.contains("%%1537") {
                4
            } else if access.contains("%%4417") || access.contains("%%4418") || access.contains("%%4419") {
                3
            } else {
                2
            };
            let mut e = match object_type.as_str() {
                "File" => {
                    let mut e = Event::new(Class::FileSystemActivity, activity, time, metadata);
                    e.file = Some(File::from_path(&d.take("ObjectName")?));
                    e
                }
                "Key" => {
                    let activity = if activity == 4 {
                        4
                    } else if activity == 3 {
                        3
                    } else {
                        2
                    };
                    let mut e = Event::new(Class::RegistryKeyActivity, activity, time, metadata);
                    e.reg_key = Some(RegistryKey { path: d.take("ObjectName")? });
                    e
                }
                _ => return None,
            };
            let mut actor = subject(d).unwrap_or_default();
            actor.process = process(d.take("ProcessName"), d.take_int("ProcessId"), None).map(Box::new);
            e.actor = Some(actor);
            e
        }
        5140 | 5145 => {
            // A network share (5140) or a file through one (5145), seen from the file server.
            let share = d.take("ShareLocalPath").map(|p| p.trim_start_matches("\\??\\").to_owned());
            let relative = d.take("RelativeTargetName");
            let path = match (share, relative) {
                (Some(share), Some(rel)) => format!("{}\\{}", share.trim_end_matches('\\'), rel),
                (Some(share), None) => share,
                (None, Some(rel)) => rel,
                (None, None) => d.take("ShareName")?,
            };
            let access = d.get("AccessList").unwrap_or_default();
            let activity = if access.contains("%%1537") {
                4
            } else if access.contains("%%4417") || access.contains("%%4418") {
                3
            } else if id == 5140 {
                14
            } else {
                2
            };
            let mut e = Event::new(Class::FileSystemActivity, activity, time, metadata);
            e.file = Some(File::from_path(&path));
            // File System Activity has no src_endpoint: the client's IpAddress stays unmapped.
            e.actor = subject(d);
            e
        }
        5156..=5158 => {
            let activity = match id {
                5157 => 5,
                5158 => 7,
                _ => 1,
            };
            let mut e = Event::new(Class::NetworkActivity, activity, time, metadata);
            e.src_endpoint = endpoint(d.take("SourceAddress"), d.take_int("SourcePort"), None);
            e.dst_endpoint = endpoint(d.take("DestAddress"), d.take_int("DestPort"), None);
            let direction = match d.get("Direction").as_deref() {
                Some("%%14592") => 1,
                Some("%%14593") => 2,
                _ => 0,
            };
            e.connection_info = Some(ConnectionInfo {
                direction_id: direction,
                protocol_name: None,
                protocol_num: d.take_int("Protocol"),
            });
            let app = d.take("Application");
            let pid = d.take_int("ProcessID").or_else(|| d.take_int("ProcessId"));
            e.actor =
                process(app, pid, None).map(|p| Actor { process: Some(Box::new(p)), ..Actor::default() });
            e
        }
        _ => return None,
    };
    Some(event)
}

fn logon_type_name(t: i64) -> &'static str {
    match t {
        2 => "Interactive",
        3 => "Network",
        4 => "Batch",
        5 => "OS Service",
        7 => "Unlock",
        8 => "Network Cleartext",
        9 => "New Credentials",
        10 => "Remote Interactive",
        11 => "Cached Interactive",
        12 => "Cached Remote Interactive",
        13 => "Cached Unlock",
        _ => "Other",
    }
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
        let event =
            to_ocsf(win("System", 7045, json!({"ServiceName": "evil", "ImagePath": "C:\\x.exe"})), "test");
        assert_eq!(event.class_uid, 0);
        assert_eq!(event.unmapped["ServiceName"], "evil");
        assert_eq!(event.unmapped["ImagePath"], "C:\\x.exe");
    }
}
