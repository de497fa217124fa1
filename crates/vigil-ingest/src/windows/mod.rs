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

use serde_json::{Map, Value};

use crate::fields::{clean_field_name, text};

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

impl WinEvent {
    /// The event as Sigma rules read it: `EventID`, `Channel`, `Provider_Name`, `Computer` and
    /// the data fields, with Security 4688's names also given under Sysmon's (`Image`,
    /// `ParentImage`) so process-creation rules apply to it.
    pub fn view(&self) -> crate::view::SourceView {
        use serde_json::Map;
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
        let channel = self.channel.as_deref().unwrap_or_default();
        let provider = self.provider.as_deref().unwrap_or_default();
        let service = SERVICES.iter().find(|(_, c)| c.eq_ignore_ascii_case(channel)).map(|(s, _)| *s);
        let mut logsource = crate::view::LogSource::new("windows", service);
        let event_id = self.event_id.unwrap_or(0);
        let is_sysmon =
            provider.eq_ignore_ascii_case("Microsoft-Windows-Sysmon") || service == Some("sysmon");
        let categories: &[&str] = if is_sysmon {
            let event_type = self.data.get("EventType").and_then(Value::as_str).unwrap_or_default();
            sysmon_categories(event_id, event_type)
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
        logsource.categories = categories.iter().map(|c| (*c).to_owned()).collect();
        if service == Some("security") && event_id == 4688 {
            for (sysmon_name, audit_name) in
                [("Image", "NewProcessName"), ("ParentImage", "ParentProcessName")]
            {
                if let Some(v) = self.data.get(audit_name) {
                    fields.entry(sysmon_name).or_insert_with(|| v.clone());
                }
            }
            if let Some(user) = self.data.get("SubjectUserName").and_then(Value::as_str) {
                let domain = self.data.get("SubjectDomainName").and_then(Value::as_str).unwrap_or_default();
                let user = if domain.is_empty() { user.to_owned() } else { format!("{domain}\\{user}") };
                fields.entry("User").or_insert(Value::String(user));
            }
        }
        crate::view::SourceView { logsource, fields: Value::Object(fields) }
    }
}
