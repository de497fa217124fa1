//! The System log's Service Control Manager (services installed, their start type changed)
//! and the event log service itself (a log cleared, the service stopped) to OCSF
//! Windows Service Activity and Event Log Activity. The Security log's own service install
//! (4697) and log clearing (1102) read the same way.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::{event_log, windows_service};
use super::mapping::{Data, user};

pub(super) const SERVICE_CONTROL_MANAGER: &str = "Service Control Manager";
pub(super) const EVENTLOG: &str = "Microsoft-Windows-Eventlog";

/// The actor of a Service Control Manager event: the account the event names (the user who
/// installed or changed a service) and the manager itself, which carried it out.
fn manager(sid: Option<&str>) -> Actor {
    Actor {
        user: user(None, None, sid.map(str::to_owned)),
        app_name: Some(SERVICE_CONTROL_MANAGER.to_owned()),
        ..Actor::default()
    }
}

fn named(name: Option<String>) -> Option<WinService> {
    Some(WinService { name: name.filter(|n| !n.trim().is_empty())?, ..WinService::default() })
}

/// OCSF's start type id for the Service Control Manager's words (`auto start`) or the
/// registry's number (`2`).
fn start_type_id(start: &str) -> u32 {
    match start.trim().to_ascii_lowercase().as_str() {
        "boot start" | "0" => 1,
        "system start" | "1" => 2,
        "auto start" | "2" => 3,
        "demand start" | "3" => 4,
        "disabled" | "4" => 5,
        _ => 99,
    }
}

/// OCSF's service type id for the manager's words or the registry's number (`0x10`).
fn type_id(kind: &str) -> u32 {
    match kind.trim().to_ascii_lowercase().as_str() {
        "kernel mode driver" | "0x1" | "1" => 1,
        "file system driver" | "0x2" | "2" => 2,
        "user mode service" | "0x10" | "16" => 3,
        "0x20" | "32" => 4,
        _ => 99,
    }
}

/// A service with what the record says of how it starts and runs.
fn service(
    name: Option<String>,
    cmd_line: Option<String>,
    kind: Option<String>,
    start: Option<String>,
    account: Option<String>,
) -> Option<WinService> {
    let mut s = named(name)?;
    s.cmd_line = cmd_line.filter(|c| !c.trim().is_empty());
    s.service_type_id = kind.as_deref().map(type_id);
    s.service_type = kind;
    s.service_start_type_id = start.as_deref().map(start_type_id);
    s.service_start_type = start;
    s.service_start_name = account.filter(|a| !a.trim().is_empty());
    Some(s)
}

/// 7045 a service installed, 7040 a service's start type changed. The manager's other events
/// (a service entering a state, failing to start, ending unexpectedly) name the service and
/// nothing else the class needs; they stay Base Events with all their data.
pub(super) fn service_control(
    id: u32,
    d: &mut Data,
    time: i64,
    metadata: Metadata,
    sid: Option<&str>,
) -> Option<Event> {
    use windows_service::*;
    let (activity, service) = match id {
        7045 => {
            let s = service(
                d.take("ServiceName"),
                d.take("ImagePath"),
                d.take("ServiceType"),
                d.take("StartType"),
                d.take("AccountName"),
            )?;
            (CREATE, s)
        }
        7040 => (RECONFIGURE, service(d.take("param1"), None, None, d.take("param3"), None)?),
        _ => return None,
    };
    let mut e = Event::new(Class::WindowsServiceActivity, activity, time, metadata);
    e.win_service = Some(service);
    e.actor = Some(manager(sid));
    Some(e)
}

/// 4697: a service installed, as the Security log records it (the subject installed it).
pub(super) fn service_installed(d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    let s = service(
        d.take("ServiceName"),
        d.take("ServiceFileName"),
        d.take("ServiceType"),
        d.take("ServiceStartType"),
        d.take("ServiceAccount"),
    )?;
    let mut e = Event::new(Class::WindowsServiceActivity, windows_service::CREATE, time, metadata);
    e.win_service = Some(s);
    let mut actor = manager(None);
    actor.user = d.user("Subject");
    e.actor = Some(actor);
    Some(e)
}

/// 1102 the Security log cleared, 104 another log cleared, 1100 the event log service shut
/// down.
pub(super) fn event_log(
    id: u32,
    d: &mut Data,
    time: i64,
    metadata: Metadata,
    channel: Option<&str>,
) -> Option<Event> {
    use event_log::*;
    let activity = match id {
        1102 | 104 => CLEAR,
        1100 => STOP,
        _ => return None,
    };
    let mut e = Event::new(Class::EventLogActivity, activity, time, metadata);
    e.log_provider = Some(EVENTLOG.to_owned());
    e.log_name = match id {
        104 => d.take("Channel"),
        _ => channel.map(str::to_owned),
    };
    if let Some(u) = d.user("Subject") {
        e.actor = Some(Actor::user(u));
    }
    if let Some(backup) = d.take("BackupPath").filter(|p| !p.is_empty() && p != "None") {
        e.file = Some(File::from_path(&backup));
    }
    Some(e)
}
