//! Syslog lines, RFC 3164 and RFC 5424. SSH logins and failures become Authentication; other
//! lines are Base Events with the host, program and message.

use chrono::{Datelike, TimeZone, Utc};
use serde_json::{Map, Value};
use syslog_loose::{Variant, parse_message_with_year_exact_tz};
use vigil_model::Severity;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::format::{Container, Format, RawRecord, Sample};

pub struct Syslog;

const MONTHS: &[&str] = &["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

impl Format for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }
    fn describe(&self) -> &'static str {
        "syslog lines (RFC 3164 and RFC 5424)"
    }
    fn container(&self) -> Container {
        Container::Lines
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Ok(text) = std::str::from_utf8(&sample.head[..sample.head.len().min(4096)]) else { return 0 };
        let Some(first) = text.lines().find(|l| !l.trim().is_empty()) else { return 0 };
        let rest = first
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .map(|(pri, rest)| (pri.parse::<u8>().is_ok(), rest));
        match rest {
            Some((true, _)) => 70,
            _ if MONTHS.iter().any(|m| first.starts_with(m)) => 60,
            _ => 0,
        }
    }
    /// Linux rules for syslog name the program as the service (`sshd`, `sudo`, `cron`) and
    /// mostly match keywords in the message.
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        let Ok(message) =
            parse_message_with_year_exact_tz(&record.text, |_| 1970, Some(Utc), Variant::Either)
        else {
            return Vec::new();
        };
        let mut fields = Map::new();
        fields.insert("message".into(), Value::String(message.msg.to_owned()));
        if let Some(host) = message.hostname {
            fields.insert("hostname".into(), Value::String(host.to_owned()));
        }
        if let Some(app) = message.appname {
            fields.insert("appname".into(), Value::String(app.to_owned()));
        }
        let logsource = crate::view::LogSource::new("linux", message.appname);
        vec![crate::view::SourceView { logsource, fields: Value::Object(fields) }]
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let get_year = |date: syslog_loose::IncompleteDate| year_for(date, record.source_time);
        let message = parse_message_with_year_exact_tz(&record.text, get_year, Some(Utc), Variant::Either)
            .map_err(|_| Reject::Shape { format: "syslog", why: "no priority or timestamp header" })?;
        let time = message.timestamp.map(|t| t.timestamp_millis()).ok_or(Reject::Missing("timestamp"))?;
        let metadata = Metadata::new("syslog", "syslog");
        let host = message.hostname.map(str::to_owned);
        let app = message.appname.map(str::to_owned);
        let text = message.msg.to_owned();
        let mut e = match ssh_login(&text) {
            Some(login) if app.as_deref() == Some("sshd") => {
                let mut e = Event::new(Class::Authentication, 1, time, metadata);
                e.user = Some(User { name: Some(login.user), ..User::default() });
                e.src_endpoint = crate::fields::ip(&login.ip).map(|ip| Endpoint {
                    ip: Some(ip),
                    port: login.port,
                    ..Endpoint::default()
                });
                e.dst_endpoint = host.clone().map(|h| Endpoint { hostname: Some(h), ..Endpoint::default() });
                e.service = Some(Service { name: Some("sshd".into()) });
                e.auth_protocol = login.method;
                e.set_status(if login.success { Status::Success } else { Status::Failure });
                e
            }
            _ => {
                let mut e = Event::new(Class::BaseEvent, 99, time, metadata);
                e.activity_name = app.clone();
                e
            }
        };
        e.message = Some(text);
        e.device = host.map(|h| Device { hostname: Some(h), type_id: 0, ..Device::default() });
        if let Some(severity) = message.severity {
            // Syslog severities 0–7, most severe first.
            let severity = match severity as u8 {
                0 | 1 => Severity::Critical,
                2 | 3 => Severity::High,
                4 => Severity::Medium,
                5 => Severity::Low,
                _ => Severity::Informational,
            };
            e.set_severity(severity);
        }
        let mut unmapped = Map::new();
        if let Some(app) = app {
            unmapped.insert("appname".into(), Value::String(app));
        }
        if let Some(procid) = message.procid {
            unmapped.insert("procid".into(), Value::String(procid.to_string()));
        }
        if let Some(facility) = message.facility {
            unmapped.insert("facility".into(), Value::String(facility.as_str().to_owned()));
        }
        if let Some(msgid) = message.msgid {
            unmapped.insert("msgid".into(), Value::String(msgid.to_owned()));
        }
        for element in &message.structured_data {
            let params: Map<String, Value> =
                element.params().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
            unmapped.insert(element.id.to_string(), Value::Object(params));
        }
        e.unmapped.extend(unmapped);
        Ok(e)
    }
}

/// How far ahead of its reference time a yearless date may fall (clocks disagree a little).
const FUTURE_TOLERANCE_MS: i64 = 24 * 3600 * 1000;

/// The year of a yearless date: of the years around `reference` (when a file was last written,
/// or when a message was received over the network), the one that puts the date nearest to
/// it without placing it more than a day after it. With no reference the year is 1970.
fn year_for((month, day, hour, minute, second): syslog_loose::IncompleteDate, reference: Option<i64>) -> i32 {
    let Some(reference) = reference.and_then(|r| Utc.timestamp_millis_opt(r).single()) else {
        return 1970;
    };
    let at = |year: i32| {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, second).single().map(|t| t.timestamp_millis())
    };
    let now = reference.timestamp_millis();
    [reference.year() + 1, reference.year(), reference.year() - 1]
        .into_iter()
        .filter_map(|year| at(year).map(|t| (year, t)))
        .filter(|(_, t)| *t <= now + FUTURE_TOLERANCE_MS)
        .min_by_key(|(_, t)| (now - t).abs())
        .map_or(reference.year(), |(year, _)| year)
}

struct SshLogin {
    user: String,
    ip: String,
    port: Option<u32>,
    method: Option<String>,
    success: bool,
}

/// `Accepted password for alice from 10.0.0.5 port 52144 ssh2`, `Failed password for invalid
/// user bob from 10.0.0.9 port 4242 ssh2`.
fn ssh_login(msg: &str) -> Option<SshLogin> {
    let (success, rest) = if let Some(r) = msg.strip_prefix("Accepted ") {
        (true, r)
    } else if let Some(r) = msg.strip_prefix("Failed ") {
        (false, r)
    } else {
        return None;
    };
    let (method, rest) = rest.split_once(" for ")?;
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    let (user, rest) = rest.split_once(" from ")?;
    let mut words = rest.split_whitespace();
    let ip = words.next()?.to_owned();
    let port = match (words.next(), words.next()) {
        (Some("port"), Some(p)) => p.parse().ok(),
        _ => None,
    };
    Some(SshLogin { user: user.to_owned(), ip, port, method: Some(method.to_owned()), success })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).expect("time").timestamp_millis()
    }

    #[track_caller]
    fn check(date: syslog_loose::IncompleteDate, reference: &str, year: i32) {
        assert_eq!(year_for(date, Some(ms(reference))), year);
    }

    #[test]
    fn a_yearless_date_takes_the_nearest_year_not_more_than_a_day_ahead() {
        // Received the same day: the receive time's year.
        check((3, 2, 10, 15, 0), "2026-03-02T10:16:00Z", 2026);
        // A December message read in January belongs to last year.
        check((12, 31, 23, 59, 50), "2027-01-01T00:00:05Z", 2026);
        // A sender whose clock runs a few seconds ahead over the new year: next year.
        check((1, 1, 0, 0, 10), "2026-12-31T23:59:59Z", 2027);
        // More than a day ahead of the reference: the year before.
        check((3, 9, 0, 0, 0), "2026-03-02T10:16:00Z", 2025);
        // 29 February only exists in leap years.
        check((2, 29, 12, 0, 0), "2025-03-01T00:00:00Z", 2024);
    }

    #[test]
    fn yearless_syslog_received_over_the_network_is_not_dated_1970() {
        let record = RawRecord {
            locator: vigil_model::Locator::Line { line: 1, offset: 0 },
            text: "<38>Mar  2 10:15:00 bastion sshd[812]: Failed password for root from 203.0.113.9 port 4242 ssh2".into(),
            value: None,
            source_time: Some(ms("2026-03-02T10:15:01Z")),
        };
        let event = Syslog.map(&record).expect("maps");
        assert_eq!(event.time, ms("2026-03-02T10:15:00Z"));
    }
}
