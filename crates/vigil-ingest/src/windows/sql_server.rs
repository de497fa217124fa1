//! SQL Server's audit records in the Application log (event 33205, one `key:value` line per
//! audit field): logins succeeded (LGIS) and failed (LGIF) to OCSF Authentication, against the
//! server instance as the service. Other audit actions stay Base Events with their record.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use super::activity::authentication::LOGON;
use super::mapping::{Data, endpoint, user};

/// SQL Server's providers: `MSSQLSERVER` for the default instance, `MSSQL$NAME` for the others.
pub(super) fn is_sql_server(provider: &str) -> bool {
    provider.eq_ignore_ascii_case("MSSQLSERVER") || provider.to_ascii_uppercase().starts_with("MSSQL$")
}

/// The value of `key` in the audit record's lines, empty values left out.
fn field<'a>(audit: &'a str, key: &str) -> Option<&'a str> {
    audit.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim()).filter(|v| !v.is_empty())
    })
}

/// The client address SQL Server writes at the end of a login message (`[CLIENT: 10.0.0.5]`).
fn client(statement: &str) -> Option<String> {
    let rest = statement.split_once("[CLIENT:")?.1;
    Some(rest.split(']').next()?.trim().to_owned()).filter(|c| !c.is_empty() && c != "<local machine>")
}

pub(super) fn sql_server(id: u32, d: &mut Data, time: i64, metadata: Metadata) -> Option<Event> {
    if id != 33205 {
        return None;
    }
    let audit = match d.0.get("Data") {
        Some(serde_json::Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join("\n")
        }
        _ => d.get("Data")?,
    };
    let succeeded = match field(&audit, "action_id") {
        Some("LGIS") => true,
        Some("LGIF") => false,
        _ => return None,
    };
    let name = field(&audit, "server_principal_name").map(str::to_owned);
    let sid = field(&audit, "server_principal_sid").map(str::to_owned);
    let mut e = Event::new(Class::Authentication, LOGON, time, metadata);
    e.user = user(name, None, sid);
    e.user.as_ref()?;
    e.set_status(if succeeded { Status::Success } else { Status::Failure });
    e.service = Some(Service { name: field(&audit, "server_instance_name").map(str::to_owned) });
    e.src_endpoint = endpoint(field(&audit, "statement").and_then(client), None, None);
    e.status_detail = field(&audit, "statement").map(str::to_owned);
    Some(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_failed_sql_login_is_a_failed_logon_from_its_client() {
        let audit = "audit_schema_version:1\naction_id:LGIF\nsucceeded:false\nserver_principal_name:sa\nserver_instance_name:MSSQL01\\RADAR\nstatement:Login failed for user 'sa'. Reason: Password did not match. [CLIENT: 10.23.123.11]";
        let e =
            sql_server(33205, &mut Data::of(json!({"Data": audit})), 0, Metadata::default()).expect("mapped");
        assert_eq!((e.class_uid, e.status.as_deref()), (3002, Some("Failure")));
        assert_eq!(e.user.and_then(|u| u.name).as_deref(), Some("sa"));
        assert_eq!(e.src_endpoint.and_then(|s| s.ip).as_deref(), Some("10.23.123.11"));
    }

    #[test]
    fn a_login_without_a_name_or_another_audit_action_stays_unmapped() {
        let nameless = "action_id:LGIF\nserver_principal_name:\nstatement:Login failed for user ''.";
        assert!(
            sql_server(33205, &mut Data::of(json!({"Data": nameless})), 0, Metadata::default()).is_none()
        );
        let alter = "action_id:AL  \nserver_principal_name:sa";
        assert!(sql_server(33205, &mut Data::of(json!({"Data": alter})), 0, Metadata::default()).is_none());
    }
}
