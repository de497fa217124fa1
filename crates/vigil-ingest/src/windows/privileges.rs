//! Security auditing of what a logon session may do: the special privileges a new logon was
//! given (4672), to OCSF Authorize Session; a token's privileges enabled or disabled (4703),
//! to OCSF User Access Management. (4627, the groups of a new logon, stays a Base Event: the
//! class holds one group, the event lists them all.)

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::{authorize_session, user_access};
use super::mapping::{Data, process};

/// A privilege list as Windows writes it (one per line, `-` for none).
fn privileges(list: Option<String>) -> Vec<String> {
    list.unwrap_or_default().split_whitespace().filter(|p| *p != "-").map(str::to_owned).collect()
}

pub(super) fn session_rights(id: u32, d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    let e = match id {
        4672 => {
            let mut e =
                Event::new(Class::AuthorizeSession, authorize_session::ASSIGN_PRIVILEGES, time, metadata);
            let session = d.take("SubjectLogonId");
            e.user = d.user("Subject");
            e.session = session.map(|uid| Session { uid: Some(uid), ..Session::default() });
            e.privileges = privileges(d.take("PrivilegeList"));
            e
        }
        4703 => {
            let enabled = privileges(d.take("EnabledPrivilegeList"));
            let disabled = privileges(d.get("DisabledPrivilegeList"));
            let (activity, list) = if enabled.is_empty() {
                d.take("DisabledPrivilegeList");
                (user_access::REVOKE_PRIVILEGES, disabled)
            } else {
                (user_access::ASSIGN_PRIVILEGES, enabled)
            };
            let mut e = Event::new(Class::UserAccess, activity, time, metadata);
            let mut actor = d.user("Subject").map(Actor::user).unwrap_or_default();
            actor.process = process(d.take("ProcessName"), d.take_int("ProcessId"), None).map(Box::new);
            e.actor = Some(actor);
            e.user = d.user("Target");
            e.privileges = list;
            e
        }
        _ => return None,
    };
    (e.user.is_some() && !e.privileges.is_empty()).then_some(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn special_privileges_of_a_logon_are_a_list() {
        let mut d = Data::of(
            json!({"SubjectUserSid": "S-1-5-21-1-2-3-1111", "SubjectUserName": "admmig", "SubjectDomainName": "OFFSEC",
            "SubjectLogonId": "0x74872", "PrivilegeList": "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeDebugPrivilege"}),
        );
        let e = session_rights(4672, &mut d, 0, Metadata::default()).expect("mapped");
        assert_eq!(e.privileges, ["SeSecurityPrivilege", "SeBackupPrivilege", "SeDebugPrivilege"]);
        assert_eq!(e.session.and_then(|s| s.uid).as_deref(), Some("0x74872"));
    }

    #[test]
    fn a_token_losing_privileges_is_a_revocation_and_one_gaining_them_an_assignment() {
        let mut d = Data::of(json!({"TargetUserName": "alice", "TargetUserSid": "S-1-5-21-1-2-3-1001",
            "EnabledPrivilegeList": "-", "DisabledPrivilegeList": "SeDebugPrivilege"}));
        let e = session_rights(4703, &mut d, 0, Metadata::default()).expect("mapped");
        assert_eq!(
            (e.activity_id, e.privileges.as_slice()),
            (user_access::REVOKE_PRIVILEGES, ["SeDebugPrivilege".to_owned()].as_slice())
        );
        let mut d = Data::of(
            json!({"TargetUserName": "alice", "EnabledPrivilegeList": "SeDebugPrivilege", "DisabledPrivilegeList": "SeTcbPrivilege"}),
        );
        let e = session_rights(4703, &mut d, 0, Metadata::default()).expect("mapped");
        assert_eq!(e.activity_id, user_access::ASSIGN_PRIVILEGES);
        assert_eq!(
            d.get("DisabledPrivilegeList").as_deref(),
            Some("SeTcbPrivilege"),
            "the other list stays unmapped"
        );
    }
}
