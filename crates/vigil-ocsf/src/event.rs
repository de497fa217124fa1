//! The OCSF event: one typed header every class shares, plus the class-specific attributes.

use serde::{Deserialize, Serialize};

use vigil_model::Severity;

use crate::class::Class;
use crate::objects::*;

/// OCSF `status_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Unknown,
    Success,
    Failure,
}

impl Status {
    pub fn id(self) -> u32 {
        match self {
            Status::Unknown => 0,
            Status::Success => 1,
            Status::Failure => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Unknown => "Unknown",
            Status::Success => "Success",
            Status::Failure => "Failure",
        }
    }
}

/// One OCSF event. Build it with [`Event::new`], which keeps `class_uid`, `category_uid`,
/// `type_uid` and the captions consistent; then fill the attributes the source has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub class_uid: u32,
    pub class_name: String,
    pub category_uid: u32,
    pub category_name: String,
    pub activity_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_name: Option<String>,
    pub type_uid: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Milliseconds since the Unix epoch, UTC.
    pub time: i64,
    pub severity_id: u8,
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub metadata: Metadata,

    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_endpoint: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_endpoint: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,

    // Class-specific attributes. The validator checks each belongs to the event's class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_mfa: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_remote: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<Module>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<ManagedEntity>,
    /// A device configuration's new state, as the source words it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_resource: Option<WinResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_service: Option<WinService>,
    /// The privileges an authorization assigned or a user access change granted or took away.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub privileges: Vec<String>,
    /// The log an event log activity is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reg_key: Option<RegistryKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reg_value: Option<RegistryValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request: Option<HttpRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_response: Option<HttpResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<DnsQuery>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub answers: Vec<DnsAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_info: Option<ConnectionInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Job>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_info: Option<FindingInfo>,

    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub observables: Vec<Observable>,
    /// The original record, exactly as read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_data: Option<String>,
    #[serde(skip_serializing_if = "Unmapped::is_empty", default)]
    pub unmapped: Unmapped,
}

impl Event {
    /// A new event of `class`. An activity id the class does not define becomes 99 (Other),
    /// keeping the source's meaning in `unmapped` is the caller's job.
    pub fn new(class: Class, activity_id: u32, time: i64, metadata: Metadata) -> Self {
        let (activity_id, activity_name) = match class.activity_name(activity_id) {
            Some(name) => (activity_id, name),
            None => (99, "Other"),
        };
        let type_uid = u64::from(class.uid()) * 100 + u64::from(activity_id);
        Event {
            class_uid: class.uid(),
            class_name: class.name().to_owned(),
            category_uid: class.category_uid(),
            category_name: class.category_name().to_owned(),
            activity_id,
            activity_name: Some(activity_name.to_owned()),
            type_uid,
            type_name: Some(format!("{}: {}", class.name(), activity_name)),
            time,
            severity_id: Severity::Informational.id(),
            severity: Severity::Informational.name().to_owned(),
            status_id: None,
            status: None,
            status_code: None,
            status_detail: None,
            message: None,
            metadata,
            actor: None,
            device: None,
            src_endpoint: None,
            dst_endpoint: None,
            cloud: None,
            user: None,
            session: None,
            service: None,
            auth_protocol: None,
            logon_type_id: None,
            logon_type: None,
            is_mfa: None,
            is_remote: None,
            process: None,
            file: None,
            script: None,
            module: None,
            entity: None,
            state: None,
            win_resource: None,
            win_service: None,
            privileges: Vec::new(),
            log_name: None,
            log_provider: None,
            reg_key: None,
            reg_value: None,
            api: None,
            http_request: None,
            http_response: None,
            query: None,
            answers: Vec::new(),
            connection_info: None,
            group: None,
            job: None,
            finding_info: None,
            observables: Vec::new(),
            raw_data: None,
            unmapped: Unmapped::new(),
        }
    }

    pub fn class(&self) -> Option<Class> {
        Class::from_uid(self.class_uid)
    }

    pub fn set_status(&mut self, status: Status) {
        self.status_id = Some(status.id());
        self.status = Some(status.name().to_owned());
    }

    /// Sets `severity_id` and its caption.
    pub fn set_severity(&mut self, severity: Severity) {
        self.severity_id = severity.id();
        self.severity = severity.name().to_owned();
    }

    /// Adds an observable unless the same (name, value) is already there or the value is empty.
    pub fn observe(&mut self, name: &str, type_id: u32, value: &str) {
        if value.is_empty() || value == "-" {
            return;
        }
        if self.observables.iter().any(|o| o.name == name && o.value == value) {
            return;
        }
        self.observables.push(Observable { name: name.to_owned(), type_id, value: value.to_owned() });
    }

    /// Completes a filled event: derives the observables, falls back to Base Event when the
    /// class's required attributes are missing, and declares the profiles its attributes use.
    pub fn finish(mut self) -> Event {
        self.fill_observables();
        let mut event = self.or_base_event();
        event.declare_profiles();
        event
    }

    fn declare_profiles(&mut self) {
        let mut profiles = Vec::new();
        if self.device.is_some() || self.actor.is_some() {
            profiles.push("host".to_owned());
        }
        if self.cloud.is_some() {
            profiles.push("cloud".to_owned());
        }
        self.metadata.profiles = profiles;
    }

    /// Derives observables from the attributes that hold entities: users, hosts, IPs,
    /// processes, files, commands, URLs. Call once the event is filled.
    pub fn fill_observables(&mut self) {
        use observable_type as t;
        let mut found: Vec<(&'static str, u32, String)> = Vec::new();
        let mut user = |path: &'static str, u: &Option<User>| {
            if let Some(u) = u {
                if let Some(name) = &u.name {
                    found.push((path, t::USER_NAME, name.clone()));
                }
                if let Some(email) = &u.email_addr {
                    found.push(("user.email_addr", t::EMAIL_ADDRESS, email.clone()));
                }
            }
        };
        user("actor.user.name", &self.actor.as_ref().and_then(|a| a.user.clone()));
        user("user.name", &self.user);
        if let Some(device) = &self.device {
            if let Some(h) = &device.hostname {
                found.push(("device.hostname", t::HOSTNAME, h.clone()));
            }
            if let Some(ip) = &device.ip {
                found.push(("device.ip", t::IP_ADDRESS, ip.clone()));
            }
        }
        for (path_ip, path_host, endpoint) in [
            ("src_endpoint.ip", "src_endpoint.hostname", &self.src_endpoint),
            ("dst_endpoint.ip", "dst_endpoint.hostname", &self.dst_endpoint),
        ] {
            if let Some(e) = endpoint {
                if let Some(ip) = &e.ip {
                    found.push((path_ip, t::IP_ADDRESS, ip.clone()));
                }
                if let Some(h) = &e.hostname {
                    found.push((path_host, t::HOSTNAME, h.clone()));
                }
            }
        }
        if let Some(p) = &self.process {
            if let Some(n) = &p.name {
                found.push(("process.name", t::PROCESS_NAME, n.clone()));
            }
            if let Some(c) = &p.cmd_line {
                found.push(("process.cmd_line", t::COMMAND_LINE, c.clone()));
            }
            for h in p.file.iter().flat_map(|f| &f.hashes) {
                found.push(("process.file.hashes.value", t::HASH, h.value.clone()));
            }
        }
        if let Some(f) = &self.file {
            found.push(("file.name", t::FILE_NAME, f.name.clone()));
        }
        if let Some(f) = self.module.as_ref().and_then(|m| m.file.as_ref()) {
            found.push(("module.file.name", t::FILE_NAME, f.name.clone()));
        }
        if let Some(url) = self.http_request.as_ref().and_then(|r| r.url.as_ref())
            && let Some(u) = &url.url_string
        {
            found.push(("http_request.url.url_string", t::URL_STRING, u.clone()));
        }
        if let Some(q) = &self.query {
            found.push(("query.hostname", t::HOSTNAME, q.hostname.clone()));
        }
        for (name, type_id, value) in found {
            self.observe(name, type_id, &value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keeps_type_uid_consistent_and_unknown_activity_becomes_other() {
        let event = Event::new(Class::Authentication, 1, 0, Metadata::default());
        assert_eq!(event.type_uid, 300201);
        assert_eq!(event.category_uid, 3);
        let event = Event::new(Class::ApiActivity, 42, 0, Metadata::default());
        assert_eq!(event.activity_id, 99);
        assert_eq!(event.type_uid, 600399);
    }

    #[test]
    fn observables_skip_empty_and_duplicate_values() {
        let mut event = Event::new(Class::Authentication, 1, 0, Metadata::default());
        event.user = Some(User { name: Some("alice".into()), ..User::default() });
        event.src_endpoint = Some(Endpoint { ip: Some("-".into()), ..Endpoint::default() });
        event.fill_observables();
        event.fill_observables();
        assert_eq!(event.observables.len(), 1);
        assert_eq!(event.observables[0].name, "user.name");
    }
}
