//! Windows events, whichever shipper carried them: one [`WinEvent`] that every Windows decoder
//! fills, and one mapping from it to OCSF.

mod activity;
mod defender;
mod directory;
mod mapping;
mod powershell;
mod privileges;
mod remote_desktop;
mod security;
mod security_objects;
mod sql_server;
mod system;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::fields::{clean_field_name, text};
use crate::view::{Added, Overlay, StaticLogSource};

pub use mapping::to_ocsf;

/// A Windows event reduced to what every shipper keeps: the System header and the event's
/// data fields under the names Sigma rules use.
#[derive(Clone, Debug, Default)]
pub struct WinEvent {
    pub provider: Option<String>,
    pub channel: Option<String>,
    pub event_id: Option<u32>,
    pub computer: Option<String>,
    pub record_id: Option<u64>,
    /// Milliseconds since the epoch, when the shipper's time could be read.
    pub time: Option<i64>,
    pub original_time: Option<String>,
    pub level: Option<i64>,
    pub user_sid: Option<String>,
    /// EventData / UserData fields. The mapping takes what it maps; the rest is `unmapped`.
    pub data: Map<String, Value>,
    /// System or shipper fields no OCSF attribute takes, kept in `unmapped`.
    pub extra: Map<String, Value>,
}

impl WinEvent {
    /// Adds a data field under its Sigma name. Placeholder values are kept: Sigma rules test
    /// for them (`'-'`) as often as for real ones.
    pub fn put(&mut self, name: &str, value: Value) {
        self.data.insert(clean_field_name(name), value);
    }

    /// Fills `data` from an evtx-style `EventData`/`UserData` object: named fields directly,
    /// `UserData`'s single child element flattened, attributes (`#attributes`) dropped.
    pub fn put_event_data(&mut self, value: &Value) {
        let Value::Object(map) = value else {
            if let Some(t) = text(value) {
                self.put("Data", Value::String(t));
            }
            return;
        };
        for (key, field) in map {
            if key == "#attributes" || key == "xmlns" {
                continue;
            }
            match field {
                // UserData wraps its fields in one element named after the event.
                Value::Object(inner) if !inner.contains_key("#text") && map.len() == 1 => {
                    for (k, v) in inner {
                        if k != "#attributes" {
                            self.put(k, v.clone());
                        }
                    }
                }
                Value::Object(inner) if inner.contains_key("#text") => {
                    self.put(key, inner["#text"].clone());
                }
                other => self.put(key, other.clone()),
            }
        }
    }
}

/// Splits `DOMAIN\user` into (user, domain).
pub fn split_account(account: &str) -> (String, Option<String>) {
    match account.split_once('\\') {
        Some((domain, user)) if !domain.is_empty() => (user.to_owned(), Some(domain.to_owned())),
        _ => (account.to_owned(), None),
    }
}

/// Sigma's Windows services and the channels that carry them.
const SERVICES: &[(&str, &str)] = &[
    ("security", "Security"),
    ("system", "System"),
    ("application", "Application"),
    ("sysmon", "Microsoft-Windows-Sysmon/Operational"),
    ("powershell", "Microsoft-Windows-PowerShell/Operational"),
    ("powershell-classic", "Windows PowerShell"),
    ("taskscheduler", "Microsoft-Windows-TaskScheduler/Operational"),
    ("wmi", "Microsoft-Windows-WMI-Activity/Operational"),
    ("windefend", "Microsoft-Windows-Windows Defender/Operational"),
    ("firewall-as", "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"),
    ("bits-client", "Microsoft-Windows-Bits-Client/Operational"),
    ("codeintegrity-operational", "Microsoft-Windows-CodeIntegrity/Operational"),
    ("appxdeployment-server", "Microsoft-Windows-AppXDeploymentServer/Operational"),
    ("ntlm", "Microsoft-Windows-NTLM/Operational"),
    ("dns-server", "DNS Server"),
    ("driver-framework", "Microsoft-Windows-DriverFrameworks-UserMode/Operational"),
    ("msexchange-management", "MSExchange Management"),
    (
        "terminalservices-localsessionmanager",
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    ),
    ("printservice-admin", "Microsoft-Windows-PrintService/Admin"),
    ("printservice-operational", "Microsoft-Windows-PrintService/Operational"),
    ("smbclient-security", "Microsoft-Windows-SmbClient/Security"),
    ("openssh", "OpenSSH/Operational"),
    ("lsa-server", "Microsoft-Windows-LSA/Operational"),
    ("applocker", "Microsoft-Windows-AppLocker/EXE and DLL"),
    ("shell-core", "Microsoft-Windows-Shell-Core/Operational"),
    ("diagnosis-scripted", "Microsoft-Windows-Diagnosis-Scripted/Operational"),
    ("capi2", "Microsoft-Windows-CAPI2/Operational"),
    (
        "certificateservicesclient-lifecycle-system",
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    ),
    ("vhdmp", "Microsoft-Windows-VHDMP/Operational"),
    ("dhcp", "Microsoft-Windows-DHCP-Server/Operational"),
];

/// Sysmon event ids and the Sigma categories they carry.
fn sysmon_categories(event_id: u32, event_type: &str) -> &'static [&'static str] {
    match (event_id, event_type) {
        (1, _) => &["process_creation"],
        (2, _) => &["file_change"],
        (3, _) => &["network_connection"],
        (5, _) => &["process_termination"],
        (6, _) => &["driver_load"],
        (7, _) => &["image_load"],
        (8, _) => &["create_remote_thread"],
        (9, _) => &["raw_access_thread"],
        (10, _) => &["process_access"],
        (11, _) => &["file_event"],
        (12, "DeleteKey" | "DeleteValue") => &["registry_delete", "registry_event"],
        (12, _) => &["registry_add", "registry_event"],
        (13, _) => &["registry_set", "registry_event"],
        (14, _) => &["registry_rename", "registry_event"],
        (15, _) => &["create_stream_hash"],
        (17 | 18, _) => &["pipe_created"],
        (19..=21, _) => &["wmi_event"],
        (22, _) => &["dns_query"],
        (23, _) => &["file_delete"],
        (24, _) => &["clipboard_capture"],
        (25, _) => &["process_tampering"],
        (26, _) => &["file_delete_detected", "file_delete"],
        (27, _) => &["file_block_executable"],
        (28, _) => &["file_block_shredding"],
        (29, _) => &["file_executable_detected"],
        _ => &[],
    }
}

/// The Sigma logsource of a Windows event: `windows`, the service its channel names, and the
/// categories Sysmon's event ids (or a few of the built-in channels' ids) carry.
pub fn logsource(
    channel: Option<&str>,
    provider: Option<&str>,
    event_id: u32,
    event_type: Option<&str>,
) -> StaticLogSource {
    let channel = channel.unwrap_or_default();
    let provider = provider.unwrap_or_default();
    let service = SERVICES.iter().find(|(_, c)| c.eq_ignore_ascii_case(channel)).map(|(s, _)| *s);
    let is_sysmon = provider.eq_ignore_ascii_case("Microsoft-Windows-Sysmon") || service == Some("sysmon");
    let categories: &'static [&'static str] = if is_sysmon {
        sysmon_categories(event_id, event_type.unwrap_or_default())
    } else {
        match (service, event_id) {
            (Some("security"), 4688) => &["process_creation"],
            (Some("powershell"), 4104) => &["ps_script"],
            (Some("powershell"), 4103) => &["ps_module"],
            (Some("powershell-classic"), 400) => &["ps_classic_start"],
            (Some("powershell-classic"), 600) => &["ps_classic_provider_start"],
            (Some("powershell-classic"), 800) => &["ps_classic_script"],
            _ => &[],
        }
    };
    StaticLogSource { product: Some("windows"), service, categories }
}

/// What Security 4688 also carries under Sysmon's names (`Image`, `ParentImage`, `User`), so
/// process-creation rules apply to it; read from its data fields by `data`. A view adds these
/// only where the event has no field of that name.
pub fn process_aliases<'a>(
    logsource: &StaticLogSource,
    event_id: u32,
    data: impl Fn(&str) -> Option<&'a Value>,
) -> Vec<Added<'a>> {
    let mut out = Vec::new();
    if logsource.service != Some("security") || event_id != 4688 {
        return out;
    }
    for (sysmon_name, audit_name) in [("Image", "NewProcessName"), ("ParentImage", "ParentProcessName")] {
        if let Some(v) = data(audit_name) {
            out.push((sysmon_name, Cow::Borrowed(v)));
        }
    }
    if let Some(user) = data("SubjectUserName").and_then(Value::as_str) {
        let domain = data("SubjectDomainName").and_then(Value::as_str).unwrap_or_default();
        let user = if domain.is_empty() { user.to_owned() } else { format!("{domain}\\{user}") };
        out.push(("User", Cow::Owned(Value::String(user))));
    }
    out
}

/// A System header field as a view holds it: [`text`]'s reading, borrowed when the record
/// already holds exactly that string.
pub fn text_value(value: &Value) -> Option<Cow<'_, Value>> {
    if let Value::String(s) = value
        && !s.is_empty()
        && s.trim().len() == s.len()
        && s != "-"
        && s != "null"
    {
        return Some(Cow::Borrowed(value));
    }
    text(value).map(|t| Cow::Owned(Value::String(t)))
}

/// A Windows view's header fields, read from the record without copying its data.
pub struct Header<'a> {
    pub event_id: Option<u32>,
    pub channel: Option<Cow<'a, Value>>,
    pub provider: Option<Cow<'a, Value>>,
    pub computer: Option<Cow<'a, Value>>,
    pub level: Option<i64>,
}

impl<'a> Header<'a> {
    /// The view over `data` (the event's data fields, less what `hidden` names), with the
    /// header and the 4688 aliases added; `None` when a data field's name needs cleaning (the
    /// owned view then renames it).
    pub fn overlay(self, object: &'a Value, hidden: Option<fn(&str) -> bool>) -> Option<Overlay<'a>> {
        let data = object.as_object()?;
        let is_hidden = |k: &str| hidden.is_some_and(|h| h(k));
        if data.keys().any(|k| k.contains(' ') && !is_hidden(k)) {
            return None;
        }
        let visible = move |k: &str| data.get(k).filter(|_| !is_hidden(k));
        let event_type = visible("EventType").and_then(Value::as_str);
        let logsource = logsource(
            self.channel.as_deref().and_then(Value::as_str),
            self.provider.as_deref().and_then(Value::as_str),
            self.event_id.unwrap_or(0),
            event_type,
        );
        let mut added: Vec<Added<'a>> = Vec::with_capacity(8);
        if let Some(id) = self.event_id {
            added.push(("EventID", Cow::Owned(Value::from(id))));
        }
        for (key, value) in
            [("Channel", self.channel), ("Provider_Name", self.provider), ("Computer", self.computer)]
        {
            if let Some(v) = value {
                added.push((key, v));
            }
        }
        if let Some(level) = self.level {
            added.push(("Level", Cow::Owned(Value::from(level))));
        }
        added.extend(process_aliases(&logsource, self.event_id.unwrap_or(0), visible));
        Some(Overlay::new(logsource, object, added, hidden))
    }
}

/// An empty set of data fields, for events that carry none.
pub fn no_data() -> &'static Value {
    static EMPTY: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| Value::Object(Map::new()));
    &EMPTY
}

/// Whether a Windows event with this id may map to OCSF class `class_uid`: decided by id for
/// the classes the behavioural detectors read (Authentication and File System Activity, see
/// `security` and `mapping`), `true` for every other class.
pub fn may_map_to(event_id: Option<i64>, class_uid: u32) -> bool {
    let Some(id) = event_id else { return true };
    match class_uid {
        3002 => matches!(id, 4624 | 4625 | 4634 | 4647 | 4648 | 4768..=4771 | 4776 | 33205),
        1001 => matches!(id, 2 | 11 | 15 | 23 | 26 | 4656 | 4663 | 5140 | 5145),
        _ => true,
    }
}

impl WinEvent {
    /// The event as Sigma rules read it: `EventID`, `Channel`, `Provider_Name`, `Computer` and
    /// the data fields, with Security 4688's names also given under Sysmon's (`Image`,
    /// `ParentImage`) so process-creation rules apply to it.
    pub fn view(&self) -> crate::view::SourceView {
        let mut fields = Map::with_capacity(self.data.len() + 6);
        if let Some(id) = self.event_id {
            fields.insert("EventID".into(), Value::from(id));
        }
        for (key, value) in
            [("Channel", &self.channel), ("Provider_Name", &self.provider), ("Computer", &self.computer)]
        {
            if let Some(v) = value {
                fields.insert(key.into(), Value::String(v.clone()));
            }
        }
        if let Some(level) = self.level {
            fields.insert("Level".into(), Value::from(level));
        }
        for (k, v) in &self.data {
            fields.insert(k.clone(), v.clone());
        }
        let event_id = self.event_id.unwrap_or(0);
        let event_type = self.data.get("EventType").and_then(Value::as_str);
        let logsource = logsource(self.channel.as_deref(), self.provider.as_deref(), event_id, event_type);
        for (name, value) in process_aliases(&logsource, event_id, |k| self.data.get(k)) {
            fields.entry(name).or_insert_with(|| value.into_owned());
        }
        crate::view::SourceView { logsource: logsource.to_owned_logsource(), fields: Value::Object(fields) }
    }
}
