//! Windows Security auditing events to OCSF, one function per family of event ids: logons,
//! Kerberos and NTLM, account changes, group changes, processes, scheduled tasks, registry
//! values, object access, shares, and the filtering platform's connections. An event id not
//! listed here is `None` (the caller keeps it as a Base Event).

use serde_json::Value;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use super::activity::{self, OTHER};
use super::directory::directory_change;
use super::mapping::{Data, endpoint, process, user};
use super::privileges::session_rights;
use super::security_objects::windows_resource;
use super::system::service_installed;

/// What every family needs from the event beyond its data.
struct Ctx<'a> {
    id: u32,
    time: i64,
    metadata: Metadata,
    computer: Option<&'a str>,
}

impl Ctx<'_> {
    fn event(&self, class: Class, activity: u32) -> Event {
        Event::new(class, activity, self.time, self.metadata.clone())
    }
}

fn subject(d: &mut Data) -> Option<Actor> {
    d.user("Subject").map(Actor::user)
}

pub(super) fn security(
    id: u32,
    d: &mut Data,
    time: i64,
    metadata: Metadata,
    computer: Option<&str>,
) -> Option<Event> {
    let ctx = Ctx { id, time, metadata, computer };
    match id {
        4624 | 4625 | 4634 | 4647 | 4648 => Some(logon(&ctx, d)),
        4768 | 4769 | 4770 | 4771 | 4776 => Some(credential_validation(&ctx, d)),
        4720 | 4722 | 4723 | 4724 | 4725 | 4726 | 4738 | 4740 | 4767 | 4781 => Some(account_change(&ctx, d)),
        4727 | 4728 | 4729 | 4730 | 4731 | 4732 | 4733 | 4734 | 4754 | 4756 | 4757 | 4758 => {
            Some(group_change(&ctx, d))
        }
        4688 | 4689 => process_activity(&ctx, d),
        4698..=4702 => scheduled_task(&ctx, d),
        4657 => registry_value(&ctx, d),
        4656 | 4663 => object_access(&ctx, d),
        4658 | 4661 | 4662 | 4670 | 4673 | 4674 | 4690 => windows_resource(id, d, time, ctx.metadata.clone()),
        4672 | 4703 => session_rights(id, d, time, ctx.metadata.clone()),
        4697 => service_installed(d, time, ctx.metadata.clone()),
        4622 => security_package(&ctx, d),
        5136 | 5137 | 5139 | 5141 => directory_change(id, d, time, ctx.metadata.clone()),
        5447 => filter_change(&ctx, d),
        5140 | 5145 => share_access(&ctx, d),
        5156..=5158 => filtering_platform(&ctx, d),
        _ => None,
    }
}

/// 4624 logon, 4625 failed logon, 4634 and 4647 logoff, 4648 logon with explicit credentials.
fn logon(ctx: &Ctx<'_>, d: &mut Data) -> Event {
    use activity::authentication::{LOGOFF, LOGON};
    let id = ctx.id;
    let logoff = matches!(id, 4634 | 4647);
    let mut e = ctx.event(Class::Authentication, if logoff { LOGOFF } else { LOGON });
    e.actor = subject(d);
    e.user = d.user("Target");
    if id == 4647 && e.user.is_none() {
        e.user = e.actor.as_ref().and_then(|a| a.user.clone());
    }
    if let Some(t) = d.take_int("LogonType") {
        let known = matches!(t, 2..=5 | 7..=13);
        e.logon_type_id = Some(if known { t as u32 } else { OTHER });
        e.logon_type = Some(logon_type_name(t).to_owned());
        e.is_remote = Some(matches!(t, 3 | 10));
    }
    e.auth_protocol = d.take("AuthenticationPackageName").or_else(|| d.take("LmPackageName"));
    e.src_endpoint = endpoint(d.take("IpAddress"), d.take_int("IpPort"), d.take("WorkstationName"));
    let target_server = d.take("TargetServerName");
    e.dst_endpoint = Some(Endpoint {
        hostname: target_server.or_else(|| ctx.computer.map(str::to_owned)),
        ..Endpoint::default()
    });
    if let Some(session) = d.take("TargetLogonId").or_else(|| d.take("LogonGuid")) {
        e.session = Some(Session { uid: Some(session), ..Session::default() });
    }
    if id == 4625 {
        e.set_status(Status::Failure);
        e.status_code = d.take("Status");
        e.status_detail = d.take("SubStatus").or_else(|| d.take("FailureReason"));
    } else if !logoff {
        e.set_status(Status::Success);
    }
    e
}

/// Kerberos on a domain controller (4768 TGT, 4769 service ticket, 4770 renewal, 4771
/// pre-authentication failure) and NTLM credential validation (4776).
fn credential_validation(ctx: &Ctx<'_>, d: &mut Data) -> Event {
    use activity::authentication::*;
    let activity = match ctx.id {
        4768 => AUTHENTICATION_TICKET,
        4769 => SERVICE_TICKET_REQUEST,
        4770 => SERVICE_TICKET_RENEW,
        4771 => PREAUTH,
        _ => LOGON,
    };
    let mut e = ctx.event(Class::Authentication, activity);
    let name = d.take("TargetUserName");
    let domain = d.take("TargetDomainName");
    e.user = user(name, domain, d.take("TargetSid"));
    e.src_endpoint = endpoint(d.take("IpAddress"), d.take_int("IpPort"), d.take("Workstation"));
    e.auth_protocol = Some(if ctx.id == 4776 { "NTLM" } else { "Kerberos" }.to_owned());
    e.service = d.take("ServiceName").map(|name| Service { name: Some(name) });
    e.dst_endpoint = ctx.computer.map(|c| Endpoint { hostname: Some(c.to_owned()), ..Endpoint::default() });
    let status = d.take("Status");
    let failed = status.as_deref().is_some_and(|s| s != "0x0" && s != "0");
    e.set_status(if failed { Status::Failure } else { Status::Success });
    e.status_code = status;
    e
}

/// 4720 created, 4722 enabled, 4723 password change, 4724 password reset, 4725 disabled, 4726
/// deleted, 4738 changed, 4740 locked out, 4767 unlocked, 4781 renamed.
fn account_change(ctx: &Ctx<'_>, d: &mut Data) -> Event {
    use activity::account_change::*;
    let activity = match ctx.id {
        4720 => CREATE,
        4722 => ENABLE,
        4723 => PASSWORD_CHANGE,
        4724 => PASSWORD_RESET,
        4725 => DISABLE,
        4726 => DELETE,
        4740 => LOCK,
        4767 => UNLOCK,
        _ => OTHER,
    };
    let mut e = ctx.event(Class::AccountChange, activity);
    e.actor = subject(d);
    e.user = d.user("Target").or_else(|| user(d.take("OldTargetUserName"), None, None));
    e
}

/// Security groups (global 4727–4730, local 4731–4734, universal 4754–4758): created, member
/// added, member removed, deleted.
fn group_change(ctx: &Ctx<'_>, d: &mut Data) -> Event {
    use activity::group_management::*;
    let activity = match ctx.id {
        4727 | 4731 | 4754 => CREATE,
        4730 | 4734 | 4758 => DELETE,
        4728 | 4732 | 4756 => ADD_USER,
        _ => REMOVE_USER,
    };
    let mut e = ctx.event(Class::GroupManagement, activity);
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

/// 4688 process created (its parent is the actor), 4689 process exited.
fn process_activity(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    use activity::process::{LAUNCH, TERMINATE};
    let created = ctx.id == 4688;
    let mut e = ctx.event(Class::ProcessActivity, if created { LAUNCH } else { TERMINATE });
    let (image, pid) = if created {
        (d.take("NewProcessName"), d.take_int("NewProcessId"))
    } else {
        (d.take("ProcessName"), d.take_int("ProcessId"))
    };
    let mut p = process(image, pid, None)?;
    p.cmd_line = d.take("CommandLine");
    p.user = d.user("Target").filter(|u| u.name.is_some());
    let parent =
        if created { process(d.take("ParentProcessName"), d.take_int("ProcessId"), None) } else { None };
    let mut actor = subject(d).unwrap_or_default();
    actor.process = parent.clone().map(Box::new);
    p.parent_process = parent.map(Box::new);
    e.actor = Some(actor);
    e.process = Some(p);
    Some(e)
}

/// 4698 created, 4699 deleted, 4700 enabled, 4701 disabled, 4702 updated.
fn scheduled_task(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    use activity::scheduled_job::*;
    let activity = match ctx.id {
        4698 => CREATE,
        4699 => DELETE,
        4700 => ENABLE,
        4701 => DISABLE,
        _ => UPDATE,
    };
    let mut e = ctx.event(Class::ScheduledJobActivity, activity);
    let name = d.take("TaskName")?;
    let mut file = File::from_path(&format!("C:\\Windows\\System32\\Tasks{name}"));
    file.type_id = 1;
    e.job = Some(Job { name, cmd_line: None, file: Some(file) });
    e.actor = subject(d);
    Some(e)
}

/// 4657 a registry value was modified (`%%1904` created, `%%1906` deleted).
fn registry_value(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    use activity::registry_value::*;
    let activity = match d.get("OperationType").as_deref() {
        Some("%%1904") => SET,
        Some("%%1906") => DELETE,
        _ => MODIFY,
    };
    let mut e = ctx.event(Class::RegistryValueActivity, activity);
    e.reg_value = Some(RegistryValue {
        path: d.take("ObjectName")?,
        name: d.take("ObjectValueName").unwrap_or_default(),
        data: d.take("NewValue").map(Value::String),
    });
    e.actor = subject(d).map(|mut a| {
        a.process = process(d.take("ProcessName"), d.take_int("ProcessId"), None).map(Box::new);
        a
    });
    Some(e)
}

/// What an access list asks for: `%%1537` DELETE, `%%4417`–`%%4419` write data, append data,
/// write extended attributes; anything else reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Delete,
    Write,
    Read,
}

fn access(list: &str, write_codes: &[&str]) -> Access {
    if list.contains("%%1537") {
        Access::Delete
    } else if write_codes.iter().any(|c| list.contains(c)) {
        Access::Write
    } else {
        Access::Read
    }
}

/// 5447: a Windows Filtering Platform filter added or removed, a change to the device's
/// firewall state (the filter's name, layer and conditions stay in `unmapped`).
fn filter_change(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    let change = match d.get("ChangeType").as_deref() {
        Some("%%16384") => "Filter Added",
        Some("%%16385") => "Filter Deleted",
        _ => "Filter Changed",
    };
    let mut e = ctx.event(Class::DeviceConfigStateChange, activity::device_config::LOG);
    d.take("ChangeType");
    e.state = Some(change.to_owned());
    let account = d.take("UserName").map(|a| super::split_account(&a));
    let u =
        user(account.as_ref().map(|(n, _)| n.clone()), account.and_then(|(_, dom)| dom), d.take("UserSid"));
    let p = process(None, d.take_int("ProcessId"), None);
    if u.is_some() || p.is_some() {
        e.actor = Some(Actor { user: u, process: p.map(Box::new), ..Actor::default() });
    }
    Some(e)
}

/// 4622: the Local Security Authority loaded a security package (`path : name`), a module
/// in lsass.
fn security_package(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    let package = d.take("SecurityPackageName")?;
    let (path, name) = package.split_once(" : ").unwrap_or((package.as_str(), ""));
    let mut e = ctx.event(Class::ModuleActivity, activity::module::LOAD);
    e.module = Some(Module {
        load_type_id: 1,
        load_type: Some(if name.is_empty() {
            "Security Package".into()
        } else {
            format!("Security Package: {name}")
        }),
        file: Some(File::from_path(path.trim())),
    });
    e.actor = Some(Actor { app_name: Some("Local Security Authority".into()), ..Actor::default() });
    Some(e)
}

/// 4656 a handle was requested, 4663 an object was accessed: files and registry keys; other
/// objects are Windows resources.
fn object_access(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    let object_type = d.get("ObjectType").unwrap_or_default();
    let wanted = access(&d.get("AccessList").unwrap_or_default(), &["%%4417", "%%4418", "%%4419"]);
    let mut e = match object_type.as_str() {
        "File" => {
            use activity::file_system::*;
            let activity = match wanted {
                Access::Delete => DELETE,
                Access::Write => UPDATE,
                Access::Read => READ,
            };
            let mut e = ctx.event(Class::FileSystemActivity, activity);
            e.file = Some(File::from_path(&d.take("ObjectName")?));
            e
        }
        "Key" => {
            use activity::registry_key::*;
            let activity = match wanted {
                Access::Delete => DELETE,
                Access::Write => MODIFY,
                Access::Read => READ,
            };
            let mut e = ctx.event(Class::RegistryKeyActivity, activity);
            e.reg_key = Some(RegistryKey { path: d.take("ObjectName")? });
            e
        }
        _ => return windows_resource(ctx.id, d, ctx.time, ctx.metadata.clone()),
    };
    let mut actor = subject(d).unwrap_or_default();
    actor.process = process(d.take("ProcessName"), d.take_int("ProcessId"), None).map(Box::new);
    e.actor = Some(actor);
    Some(e)
}

/// A network share opened (5140) or a file reached through one (5145), seen from the file
/// server.
fn share_access(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    use activity::file_system::*;
    let share = d.take("ShareLocalPath").map(|p| p.trim_start_matches("\\??\\").to_owned());
    let relative = d.take("RelativeTargetName");
    let path = match (share, relative) {
        (Some(share), Some(rel)) => format!("{}\\{}", share.trim_end_matches('\\'), rel),
        (Some(share), None) => share,
        (None, Some(rel)) => rel,
        (None, None) => d.take("ShareName")?,
    };
    let activity = match access(&d.get("AccessList").unwrap_or_default(), &["%%4417", "%%4418"]) {
        Access::Delete => DELETE,
        Access::Write => UPDATE,
        Access::Read if ctx.id == 5140 => OPEN,
        Access::Read => READ,
    };
    let mut e = ctx.event(Class::FileSystemActivity, activity);
    e.file = Some(File::from_path(&path));
    // File System Activity has no src_endpoint: the client's IpAddress stays unmapped.
    e.actor = subject(d);
    Some(e)
}

/// The Windows Filtering Platform: 5156 connection permitted, 5157 blocked, 5158 bind.
fn filtering_platform(ctx: &Ctx<'_>, d: &mut Data) -> Option<Event> {
    use activity::network::*;
    let activity = match ctx.id {
        5157 => REFUSE,
        5158 => LISTEN,
        _ => OPEN,
    };
    let mut e = ctx.event(Class::NetworkActivity, activity);
    e.src_endpoint = endpoint(d.take("SourceAddress"), d.take_int("SourcePort"), None);
    e.dst_endpoint = endpoint(d.take("DestAddress"), d.take_int("DestPort"), None);
    // `%%14592` inbound, `%%14593` outbound.
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
    e.actor = process(app, pid, None).map(|p| Actor { process: Some(Box::new(p)), ..Actor::default() });
    Some(e)
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
