//! AWS CloudTrail: a `Records` array, a JSON array, or JSON lines. Console sign-ins become
//! Authentication, IAM user and group changes their IAM classes, every other call API Activity.

use serde_json::{Map, Value};
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event, Status};

use crate::error::Reject;
use crate::fields::{boolean, get, get_ci, take_ci, text, text_at};
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct CloudTrail;

const LOGSOURCE: crate::view::StaticLogSource = crate::view::StaticLogSource::new("aws", Some("cloudtrail"));

impl Format for CloudTrail {
    fn name(&self) -> &'static str {
        "cloudtrail"
    }
    fn describe(&self) -> &'static str {
        "AWS CloudTrail (Records array, JSON array or JSON lines)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let source = get_ci(o, "eventSource").and_then(text).unwrap_or_default();
        if source.ends_with(".amazonaws.com") {
            return 95;
        }
        let has = |k| get_ci(o, k).is_some();
        if has("eventName")
            && (has("userIdentity") || has("awsRegion") || has("recipientAccountId") || has("eventVersion"))
        {
            90
        } else {
            0
        }
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let mut o = object(record)?.clone();
        Ok(map_record(&mut o))
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        crate::format::json_view(record, LOGSOURCE)
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        crate::format::json_sigma_view(record, LOGSOURCE)
    }
    fn may_map_to(&self, record: &RawRecord, class_uid: u32) -> bool {
        // Only sign-in calls become Authentication (see `map`); nothing becomes a file event.
        match class_uid {
            3002 => object(record).ok().and_then(|o| get_ci(o, "eventName")).and_then(text).is_none_or(|n| {
                matches!(
                    n.as_str(),
                    "ConsoleLogin" | "CheckMfa" | "CredentialChallenge" | "CredentialVerification"
                )
            }),
            1001 => false,
            _ => true,
        }
    }
}

/// The OCSF event for one CloudTrail record; what it maps is taken out of `o`, the rest is
/// `unmapped`.
fn map_record(o: &mut Map<String, Value>) -> Event {
    let name = take_ci(o, "eventName").and_then(|v| text(&v)).unwrap_or_else(|| "unknown".into());
    let source = take_ci(o, "eventSource").and_then(|v| text(&v));
    let event_time = take_ci(o, "eventTime").and_then(|v| text(&v));
    let time = event_time
        .as_deref()
        .and_then(crate::time::parse)
        .or_else(|| get_ci(o, "@timestamp").and_then(crate::time::from_value))
        .unwrap_or(0);
    let metadata = Metadata {
        event_code: take_ci(o, "eventType").and_then(|v| text(&v)),
        original_time: event_time.clone(),
        ..Metadata::new("AWS", "CloudTrail")
    };
    let identity = take_ci(o, "userIdentity").unwrap_or(Value::Null);
    let request = get_ci(o, "requestParameters").cloned().unwrap_or(Value::Null);
    let request = match request {
        // Some exports keep requestParameters as a JSON string.
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    };
    let response = get_ci(o, "responseElements").cloned().unwrap_or(Value::Null);
    let is_signin = source.as_deref() == Some("signin.amazonaws.com");
    let (class, activity) = match (is_signin, name.as_str()) {
        (true, "ConsoleLogin") => (Class::Authentication, 1),
        (true, "CheckMfa" | "CredentialChallenge" | "CredentialVerification") => (Class::Authentication, 99),
        (_, "CreateUser") => (Class::AccountChange, 1),
        (_, "DeleteUser") => (Class::AccountChange, 6),
        (_, "CreateLoginProfile" | "UpdateLoginProfile" | "ChangePassword") => (Class::AccountChange, 3),
        (_, "AttachUserPolicy" | "PutUserPolicy") => (Class::AccountChange, 7),
        (_, "DetachUserPolicy" | "DeleteUserPolicy") => (Class::AccountChange, 8),
        (_, "EnableMFADevice") => (Class::AccountChange, 10),
        (_, "DeactivateMFADevice" | "DeleteVirtualMFADevice") => (Class::AccountChange, 11),
        (_, "AddUserToGroup") => (Class::GroupManagement, 3),
        (_, "RemoveUserFromGroup") => (Class::GroupManagement, 4),
        (_, "CreateGroup") => (Class::GroupManagement, 6),
        (_, "DeleteGroup") => (Class::GroupManagement, 5),
        (_, "AttachGroupPolicy" | "PutGroupPolicy") => (Class::GroupManagement, 1),
        (_, "DetachGroupPolicy" | "DeleteGroupPolicy") => (Class::GroupManagement, 2),
        _ => (Class::ApiActivity, api_activity(&name)),
    };
    let mut e = Event::new(class, activity, time, metadata);
    if e.activity_id == 99 {
        e.activity_name = Some(name.clone());
    }
    let actor_user = identity_user(&identity);
    let session = identity_session(&identity);
    e.actor = Some(Actor {
        user: actor_user.clone(),
        session,
        invoked_by: text_at(&identity, "invokedBy"),
        app_name: None,
        process: None,
    });
    let source_ip = take_ci(o, "sourceIPAddress").and_then(|v| text(&v));
    e.src_endpoint = source_ip.map(|s| match crate::fields::ip(&s) {
        Some(ip) => Endpoint { ip: Some(ip), ..Endpoint::default() },
        None => Endpoint { domain: Some(s), ..Endpoint::default() },
    });
    let error_code = take_ci(o, "errorCode").and_then(|v| text(&v));
    let error_message = take_ci(o, "errorMessage").and_then(|v| text(&v));
    e.api = Some(Api {
        operation: name.clone(),
        service: source.map(|s| Service { name: Some(s) }),
        version: take_ci(o, "apiVersion").and_then(|v| text(&v)),
        request: take_ci(o, "requestID").and_then(|v| text(&v)).map(|uid| ApiRequest { uid: Some(uid) }),
        response: error_code.clone().map(|code| ApiResponse {
            error: Some(code),
            error_message: error_message.clone(),
            code: None,
        }),
    });
    e.cloud = Some(Cloud {
        provider: "AWS".into(),
        region: take_ci(o, "awsRegion").and_then(|v| text(&v)),
        account: take_ci(o, "recipientAccountId").and_then(|v| text(&v)).map(|uid| Account {
            uid: Some(uid),
            type_id: Some(10),
            r#type: Some("AWS Account".into()),
            name: None,
        }),
        project_uid: None,
    });
    if error_code.is_some() {
        e.set_status(Status::Failure);
        e.status_code = error_code;
        e.status_detail = error_message;
    } else {
        e.set_status(Status::Success);
    }
    match class {
        Class::Authentication => {
            // The name typed at sign-in, when CloudTrail records one, is who authenticated.
            let typed = get_ci(o, "additionalEventData").and_then(|a| a.get("UserName")).and_then(text);
            e.user = match (typed, actor_user) {
                (Some(name), Some(user)) => Some(User { name: Some(name), ..user }),
                (Some(name), None) => Some(User { name: Some(name), ..User::default() }),
                (None, user) => user,
            };
            e.service = Some(Service { name: Some("AWS Sign-In".into()) });
            if let Some(result) = get(&response, "ConsoleLogin").and_then(text) {
                e.set_status(if result == "Success" { Status::Success } else { Status::Failure });
            }
            e.is_mfa = get_ci(o, "additionalEventData")
                .and_then(|a| a.get("MFAUsed"))
                .and_then(text)
                .map(|m| m == "Yes");
            // Authentication carries `api` only under the cloud profile, which `finish` declares.
        }
        Class::AccountChange => {
            e.user = text_at(&request, "userName").map(|n| User { name: Some(n), ..User::default() });
        }
        Class::GroupManagement => {
            e.group = text_at(&request, "groupName").map(|n| Group { name: Some(n), ..Group::default() });
            e.user = text_at(&request, "userName").map(|n| User { name: Some(n), ..User::default() });
        }
        _ => {}
    }
    e.http_request = None;
    if let Some(agent) = take_ci(o, "userAgent").and_then(|v| text(&v)) {
        e.unmapped.insert("userAgent".into(), Value::String(agent));
    }
    e.unmapped.insert("userIdentity".into(), identity);
    e.unmapped.extend(std::mem::take(o));
    e
}

fn identity_user(identity: &Value) -> Option<User> {
    if identity.is_null() {
        return None;
    }
    let arn = text_at(identity, "arn");
    let name = text_at(identity, "userName")
        .or_else(|| text_at(identity, "sessionContext.sessionIssuer.userName"))
        .or_else(|| arn.as_deref().and_then(|a| a.rsplit('/').next()).map(str::to_owned))
        .or_else(|| text_at(identity, "principalId"))
        .or_else(|| text_at(identity, "invokedBy"));
    let kind = text_at(identity, "type");
    let type_id = match kind.as_deref() {
        Some("Root") => Some(2),
        Some("IAMUser" | "AssumedRole" | "FederatedUser" | "IdentityCenterUser") => Some(1),
        Some("AWSService") => Some(3),
        Some(_) => Some(99),
        None => None,
    };
    let user = User {
        name,
        uid: arn.or_else(|| text_at(identity, "principalId")),
        type_id,
        r#type: kind,
        credential_uid: text_at(identity, "accessKeyId").or_else(|| text_at(identity, "credentialId")),
        account: text_at(identity, "accountId").map(|uid| Account {
            uid: Some(uid),
            type_id: Some(10),
            r#type: Some("AWS Account".into()),
            name: None,
        }),
        ..User::default()
    };
    (!user.is_empty()).then_some(user)
}

fn identity_session(identity: &Value) -> Option<Session> {
    let context = get(identity, "sessionContext")?;
    Some(Session {
        uid: None,
        issuer: text_at(context, "sessionIssuer.arn"),
        is_mfa: get(context, "attributes.mfaAuthenticated").and_then(boolean).unwrap_or(false),
    })
}

/// The API Activity verb an AWS operation name implies.
pub fn api_activity(name: &str) -> u32 {
    const PREFIXES: &[(&str, u32)] = &[
        ("Create", 1),
        ("Put", 1),
        ("Run", 1),
        ("Add", 1),
        ("Attach", 1),
        ("Register", 1),
        ("Import", 1),
        ("Allocate", 1),
        ("Associate", 1),
        ("Upload", 1),
        ("Copy", 1),
        ("Invoke", 1),
        ("Send", 1),
        ("Start", 1),
        ("Generate", 1),
        ("Issue", 1),
        ("Request", 1),
        ("Assume", 1),
        ("Get", 2),
        ("Describe", 2),
        ("List", 2),
        ("Head", 2),
        ("Lookup", 2),
        ("Search", 2),
        ("Select", 2),
        ("BatchGet", 2),
        ("Query", 2),
        ("Scan", 2),
        ("Download", 2),
        ("Decrypt", 2),
        ("Update", 3),
        ("Modify", 3),
        ("Set", 3),
        ("Change", 3),
        ("Enable", 3),
        ("Disable", 3),
        ("Stop", 3),
        ("Reboot", 3),
        ("Authorize", 3),
        ("Replace", 3),
        ("Reset", 3),
        ("Tag", 3),
        ("Untag", 3),
        ("Revoke", 3),
        ("Restore", 3),
        ("Apply", 3),
        ("Encrypt", 3),
        ("Delete", 4),
        ("Remove", 4),
        ("Terminate", 4),
        ("Detach", 4),
        ("Deregister", 4),
        ("Disassociate", 4),
        ("Release", 4),
        ("Leave", 4),
        ("Purge", 4),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| {
            name.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit())
            })
        })
        .map(|(_, id)| *id)
        .unwrap_or(99)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_activity_reads_the_verb_not_a_prefix_of_a_word() {
        assert_eq!(api_activity("DescribeInstances"), 2);
        assert_eq!(api_activity("PutBucketPolicy"), 1);
        assert_eq!(api_activity("StopLogging"), 3);
        assert_eq!(api_activity("DeleteTrail"), 4);
        // "Settle" starts with "Set" but is not the verb Set.
        assert_eq!(api_activity("Settle"), 99);
    }
}
