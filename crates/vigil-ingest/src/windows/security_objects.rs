//! Security auditing of Windows-managed objects that are neither files nor registry keys (SAM
//! and directory objects, tokens, processes, printers, privileged services) and of handles
//! themselves (closed, duplicated) to OCSF Windows Resource Activity: what was reached, through
//! which service, by which account and process.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::{OTHER, windows_resource::ACCESS};
use super::mapping::{Data, process};

/// OCSF's `win_resource` type id for an object type as Windows names it; 99 (Other) for the
/// rest, whose name goes in `type`.
fn type_id(object_type: &str) -> u32 {
    match object_type {
        "Directory" => 1,
        "Event" => 2,
        "Timer" => 3,
        "Device" => 4,
        "Mutant" => 5,
        "Type" => 6,
        "File" => 7,
        "Token" => 8,
        "Thread" => 9,
        "Section" => 10,
        "WindowStation" => 11,
        "DebugObject" => 12,
        "Desktop" => 22,
        "Process" => 20,
        "Job" => 29,
        "ALPC Port" => 32,
        "Key" => 25,
        "Semaphore" => 28,
        "SymbolicLink" => 18,
        "Driver" => 15,
        "SAM_ALIAS" => 33,
        "SAM_GROUP" => 34,
        "SAM_USER" => 35,
        "SAM_DOMAIN" => 36,
        "SAM_SERVER" => 37,
        "" => 0,
        _ => 99,
    }
}

fn resource(
    object_type: Option<String>,
    name: Option<String>,
    uid: Option<String>,
    svc: Option<String>,
) -> WinResource {
    let object_type = object_type.filter(|t| !t.is_empty() && t != "-");
    WinResource {
        type_id: type_id(object_type.as_deref().unwrap_or_default()),
        r#type: object_type,
        name: name.filter(|n| !n.is_empty() && n != "-"),
        uid: uid.filter(|u| !u.is_empty() && u != "-"),
        svc_name: svc.filter(|s| !s.is_empty() && s != "-"),
    }
}

/// The subject and its process (`ProcessName`, `ProcessId`, or for 4690 the source process).
fn actor(d: &mut Data, pid_field: &str) -> Actor {
    let mut actor = d.user("Subject").map(Actor::user).unwrap_or_default();
    actor.process = process(d.take("ProcessName"), d.take_int(pid_field), None).map(Box::new);
    actor
}

/// 4656 a handle requested and 4663 an object accessed (other than files and keys), 4658 a
/// handle closed, 4661 a SAM or directory object's handle requested, 4662 a directory
/// operation, 4670 an object's permissions changed, 4673 a privileged service called, 4674 an
/// operation on a privileged object, 4690 a handle duplicated.
pub(super) fn windows_resource(id: u32, d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    let (activity, other_name) = match id {
        4656 | 4661 | 4662 | 4663 | 4673 | 4674 => (ACCESS, None),
        4658 => (OTHER, Some("Close Handle")),
        4670 => (OTHER, Some("Set Security")),
        4690 => (OTHER, Some("Duplicate Handle")),
        _ => return None,
    };
    let mut e = Event::new(Class::WindowsResourceActivity, activity, time, metadata);
    if let Some(name) = other_name {
        e.activity_name = Some(name.to_owned());
    }
    let service = d.get("ObjectServer");
    let reached = match id {
        4673 => resource(Some("Privileged Service".into()), d.get("Service"), None, service),
        4690 => resource(None, None, d.get("SourceHandleId"), service),
        _ => resource(d.get("ObjectType"), d.get("ObjectName"), d.get("HandleId"), service),
    };
    // An object named by neither name nor handle is nothing the class can hold.
    if reached.name.is_none() && reached.uid.is_none() {
        return None;
    }
    for taken in ["ObjectServer", "Service", "SourceHandleId", "ObjectType", "ObjectName", "HandleId"] {
        d.take(taken);
    }
    e.win_resource = Some(reached);
    // A duplicated handle's target process has no attribute in this class: it stays unmapped.
    let pid_field = if id == 4690 { "SourceProcessId" } else { "ProcessId" };
    e.actor = Some(actor(d, pid_field));
    Some(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_sam_handle_names_its_object_type_service_and_process() {
        let mut d = Data::of(
            json!({"SubjectUserName": "hack1", "SubjectDomainName": "OFFSEC", "SubjectUserSid": "S-1-5-21-1-2-3-1234",
            "ObjectServer": "Security Account Manager", "ObjectType": "SAM_SERVER", "ObjectName": "CN=Server,CN=System,DC=offsec,DC=lan",
            "HandleId": "0x1850972c010", "ProcessId": "0x254", "ProcessName": "C:\\Windows\\System32\\lsass.exe"}),
        );
        let e = windows_resource(4661, &mut d, 0, Metadata::default()).expect("mapped");
        let r = e.win_resource.expect("resource");
        assert_eq!((r.type_id, r.svc_name.as_deref()), (37, Some("Security Account Manager")));
        let p = e.actor.and_then(|a| a.process).expect("process");
        assert_eq!((p.pid, p.name.as_deref()), (Some(0x254), Some("lsass.exe")));
    }

    #[test]
    fn a_duplicated_handle_names_its_source_process_and_keeps_the_target() {
        let mut d = Data::of(
            json!({"SubjectUserName": "wardog", "SubjectUserSid": "S-1-5-21-1-2-3-500", "SourceHandleId": "0x108",
            "SourceProcessId": "0x1a74", "TargetHandleId": "0x3794", "TargetProcessId": "0x4"}),
        );
        let e = windows_resource(4690, &mut d, 0, Metadata::default()).expect("mapped");
        assert_eq!(e.activity_name.as_deref(), Some("Duplicate Handle"));
        assert_eq!(e.actor.and_then(|a| a.process).and_then(|p| p.pid), Some(0x1a74));
        assert_eq!(d.get("TargetProcessId").as_deref(), Some("0x4"));
        assert_eq!(d.get("TargetHandleId").as_deref(), Some("0x3794"), "what is not mapped stays");
    }
}
