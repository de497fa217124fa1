//! Linux audit logs (auditd): lines grouped into one event per serial number. Program
//! executions become Process Activity, logins Authentication, user and group changes their IAM
//! classes; other record types are Base Events.

use serde_json::{Map, Value};
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::format::{Container, Format, RawRecord, Sample};

pub struct Auditd;

impl Format for Auditd {
    fn name(&self) -> &'static str {
        "auditd"
    }
    fn describe(&self) -> &'static str {
        "Linux audit logs (type=… msg=audit(…): lines)"
    }
    fn container(&self) -> Container {
        Container::AuditLines
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Ok(text) = std::str::from_utf8(&sample.head[..sample.head.len().min(4096)]) else {
            return 0;
        };
        match text.lines().find(|l| !l.trim().is_empty()) {
            Some(first)
                if first.contains("msg=audit(")
                    && (first.starts_with("type=") || first.starts_with("node=")) =>
            {
                95
            }
            _ => 0,
        }
    }
    /// One view per audit line, as Sigma's auditd rules match single records (`type: EXECVE`).
    /// The line itself is there too, as `_raw`: Sigma keywords search a text log's whole line,
    /// and an EXECVE record spreads its arguments over `a0`, `a1`, … (`'|all': [dd, 'if=']`).
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        record
            .text
            .lines()
            .filter_map(|text| parse_line(text).map(|line| (text, line)))
            .map(|(text, line)| {
                let mut fields = Map::new();
                fields.insert("type".into(), Value::String(line.kind.clone()));
                fields.insert("_raw".into(), Value::String(text.to_owned()));
                for (k, v) in &line.fields {
                    fields.insert(k.clone(), Value::String(v.clone()));
                }
                crate::view::SourceView {
                    logsource: crate::view::LogSource::new("linux", Some("auditd")),
                    fields: Value::Object(fields),
                }
            })
            .collect()
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let lines: Vec<AuditLine> = record.text.lines().filter_map(parse_line).collect();
        let first = lines
            .first()
            .ok_or(Reject::Shape { format: "auditd", why: "no `type=… msg=audit(…)` line" })?;
        let time = first.time;
        let metadata = Metadata { event_code: Some(first.kind.clone()), ..Metadata::new("Linux", "auditd") };
        let find = |kind: &str| lines.iter().find(|l| l.kind == kind);
        let syscall = find("SYSCALL");
        let execve = find("EXECVE");
        let node = lines.iter().find_map(|l| l.field("node"));
        let is_exec = execve.is_some()
            || syscall.and_then(|s| s.field("syscall")).is_some_and(|n| n == "59" || n == "execve");
        let primary = first.kind.as_str();
        let mut e = if is_exec {
            let mut e = Event::new(Class::ProcessActivity, 1, time, metadata);
            let exe = syscall.and_then(|s| s.field("exe"));
            let mut process = Process {
                pid: syscall.and_then(|s| s.field("pid")).and_then(|p| p.parse().ok()),
                name: syscall.and_then(|s| s.field("comm")),
                file: exe.as_deref().map(File::from_path),
                ..Process::default()
            };
            process.cmd_line = execve.map(command_line).or_else(|| {
                find("PROCTITLE")
                    .and_then(|p| p.field("proctitle"))
                    .map(|t| decode_hex(&t).replace('\0', " "))
            });
            let parent = syscall
                .and_then(|s| s.field("ppid"))
                .and_then(|p| p.parse().ok())
                .map(|pid| Process { pid: Some(pid), ..Process::default() });
            process.parent_process = parent.clone().map(Box::new);
            // `uid` is numeric; only enriched logs (`UID=`) carry the account name.
            let user = syscall.and_then(|s| s.field("uid")).map(|uid| User {
                name: syscall.and_then(|s| s.field("UID")),
                uid: Some(uid),
                ..User::default()
            });
            process.user = user.clone();
            e.actor = Some(Actor { user, process: parent.map(Box::new), ..Actor::default() });
            e.process = Some(process);
            e
        } else {
            match primary {
                "USER_LOGIN" | "USER_AUTH" => {
                    let mut e = Event::new(Class::Authentication, 1, time, metadata);
                    e.user = first.field("acct").map(|a| User { name: Some(a), ..User::default() });
                    e.src_endpoint =
                        first.field("addr").and_then(|a| crate::fields::ip(&a)).map(|ip| Endpoint {
                            ip: Some(ip),
                            hostname: first.field("hostname").filter(|h| h != "?"),
                            ..Endpoint::default()
                        });
                    e.service = first.field("exe").map(|x| Service { name: Some(x) });
                    e.set_status(if first.field("res").as_deref() == Some("success") {
                        Status::Success
                    } else {
                        Status::Failure
                    });
                    e
                }
                "ADD_USER" | "DEL_USER" | "USER_CHAUTHTOK" => {
                    let activity = match primary {
                        "ADD_USER" => 1,
                        "DEL_USER" => 6,
                        _ => 3,
                    };
                    let mut e = Event::new(Class::AccountChange, activity, time, metadata);
                    e.user = first
                        .field("acct")
                        .or_else(|| first.field("id"))
                        .map(|a| User { name: Some(a), ..User::default() });
                    e
                }
                "ADD_GROUP" | "DEL_GROUP" => {
                    let mut e = Event::new(
                        Class::GroupManagement,
                        if primary == "ADD_GROUP" { 6 } else { 5 },
                        time,
                        metadata,
                    );
                    e.group = first
                        .field("acct")
                        .or_else(|| first.field("id"))
                        .map(|a| Group { name: Some(a), ..Group::default() });
                    e
                }
                other => {
                    let mut e = Event::new(Class::BaseEvent, 99, time, metadata);
                    e.activity_name = Some(other.to_owned());
                    e
                }
            }
        };
        e.device = node.map(|n| Device {
            hostname: Some(n),
            type_id: 0,
            os: Some(Os { name: "Linux".into(), type_id: 200 }),
            ..Device::default()
        });
        e.unmapped.insert("serial".into(), Value::String(first.serial.clone()));
        for line in &lines {
            let fields: Map<String, Value> =
                line.fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            e.unmapped.insert(line.kind.clone(), Value::Object(fields));
        }
        Ok(e)
    }
}

struct AuditLine {
    kind: String,
    serial: String,
    time: i64,
    fields: Vec<(String, String)>,
}

impl AuditLine {
    fn field(&self, key: &str) -> Option<String> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| v != "(null)")
    }
}

/// The serial number of an audit line (`msg=audit(1604996384.965:93777)` → `93777`).
pub fn serial(line: &str) -> Option<&str> {
    let start = line.find("msg=audit(")? + "msg=audit(".len();
    let rest = &line[start..];
    let end = rest.find(')')?;
    rest[..end].split_once(':').map(|(_, s)| s)
}

fn parse_line(line: &str) -> Option<AuditLine> {
    let start = line.find("msg=audit(")? + "msg=audit(".len();
    let rest = &line[start..];
    let end = rest.find(')')?;
    let (stamp, serial) = rest[..end].split_once(':')?;
    let time = crate::time::parse(stamp)?;
    let mut fields = key_values(&line[..start - "msg=audit(".len()]);
    let kind = fields.iter().find(|(k, _)| k == "type").map(|(_, v)| v.clone())?;
    fields.retain(|(k, _)| k != "type");
    let body = rest[end + 1..].trim_start_matches(':');
    fields.extend(key_values(body));
    Some(AuditLine { kind, serial: serial.to_owned(), time, fields })
}

/// `key=value` pairs; values may be double- or single-quoted. A `msg='…'` value (user-space
/// messages) is itself key=value text, flattened in.
fn key_values(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_owned();
        let after = &rest[eq + 1..];
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(close) => (after[1..=close].to_owned(), &after[close + 2..]),
                None => (after[1..].to_owned(), ""),
            },
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            }
        };
        if key == "msg" && value.contains('=') {
            out.extend(key_values(&value));
        } else if !key.is_empty() {
            out.push((key, value));
        }
        rest = next.trim_start();
    }
    out
}

/// EXECVE's `a0 … aN` joined, hex-encoded arguments decoded.
fn command_line(execve: &AuditLine) -> String {
    let argc: usize = execve.field("argc").and_then(|a| a.parse().ok()).unwrap_or(0);
    (0..argc.min(4096))
        .filter_map(|i| execve.fields.iter().find(|(k, _)| *k == format!("a{i}")).map(|(_, v)| v.clone()))
        .map(|a| decode_hex(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// auditd writes values with spaces or special bytes as unquoted hex.
fn decode_hex(value: &str) -> String {
    if value.len().is_multiple_of(2)
        && value.len() >= 2
        && value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
    {
        let bytes: Option<Vec<u8>> =
            (0..value.len()).step_by(2).map(|i| u8::from_str_radix(&value[i..i + 2], 16).ok()).collect();
        if let Some(bytes) = bytes {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_quoted_and_hex_values() {
        let line = parse_line(
            r#"type=EXECVE msg=audit(1604996384.965:93777): argc=2 a0="dd" a1=69663D2F6465762F7A65726F"#,
        )
        .expect("parses");
        assert_eq!(line.kind, "EXECVE");
        assert_eq!(line.serial, "93777");
        assert_eq!(line.time, 1_604_996_384_965);
        assert_eq!(command_line(&line), "dd if=/dev/zero");
    }
}
