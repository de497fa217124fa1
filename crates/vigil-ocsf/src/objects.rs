//! The OCSF objects Vigil fills. Every field is optional on the wire unless OCSF requires it;
//! empty values are never serialized, so an event shows only what its source said.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn is_false(b: &bool) -> bool {
    !*b
}

/// `metadata`: where the event came from and which schema it follows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub version: String,
    pub product: Product,
    /// Vigil's content-derived event id ([`vigil_model`'s `EventId`]): the id every later stage
    /// cites. The source's own record id stays in `unmapped` under the source's field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_uid: Option<String>,
    /// OCSF profiles the event uses; [`crate::Event::finish`] derives them from what is filled.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub profiles: Vec<String>,
}

impl Metadata {
    /// Metadata for an event from `vendor`'s `product`, in the OCSF version Vigil emits.
    pub fn new(vendor: &str, product: &str) -> Self {
        Metadata {
            version: crate::OCSF_VERSION.to_owned(),
            product: Product::new(vendor, product),
            ..Metadata::default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
}

impl Product {
    pub fn new(vendor: &str, name: &str) -> Self {
        Product { name: Some(name.to_owned()), vendor_name: Some(vendor.to_owned()) }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// 1 User, 2 Admin, 3 System, 99 Other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_uid: Option<String>,
}

impl User {
    pub fn is_empty(&self) -> bool {
        self == &User::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// 10 AWS Account, 5 GCP Project, 6 Azure AD Account, 99 Other…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "is_false", default)]
    pub is_mfa: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Box<Process>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

impl Actor {
    pub fn user(user: User) -> Self {
        Actor { user: Some(user), ..Actor::default() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Os {
    pub name: String,
    /// 100 Windows, 200 Linux, 0 Unknown.
    pub type_id: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// 0 Unknown, 1 Server, 2 Desktop, 99 Other.
    pub type_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `src_endpoint` / `dst_endpoint` (OCSF Network Endpoint).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svc_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Endpoint {
    pub fn is_empty(&self) -> bool {
        self == &Endpoint::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hash {
    /// 1 MD5, 2 SHA-1, 3 SHA-256, 4 SHA-512, 99 Other.
    pub algorithm_id: u32,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct File {
    pub name: String,
    /// 1 Regular File, 2 Folder, 0 Unknown.
    pub type_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_folder: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub hashes: Vec<Hash>,
}

impl File {
    /// A regular file from its full path; the name is the last path component.
    pub fn from_path(path: &str) -> Self {
        let trimmed = path.trim_end_matches(['\\', '/']);
        let (parent, name) = match trimmed.rfind(['\\', '/']) {
            Some(i) => (Some(trimmed[..i].to_owned()), &trimmed[i + 1..]),
            None => (None, trimmed),
        };
        File {
            name: if name.is_empty() { path.to_owned() } else { name.to_owned() },
            type_id: 1,
            path: Some(path.to_owned()),
            parent_folder: parent.filter(|p| !p.is_empty()),
            hashes: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Process {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_process: Option<Box<Process>>,
}

impl Process {
    pub fn is_empty(&self) -> bool {
        self == &Process::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Api {
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<ApiRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ApiResponse>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cloud {
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_uid: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Url {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_string: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub code: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsQuery {
    pub hostname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsAnswer {
    pub rdata: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// 0 Unknown, 1 Inbound, 2 Outbound, 3 Lateral, 99 Other.
    pub direction_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_num: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
}

/// A script as it ran (`script`): its text, what language it is in, where it came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// 1 Windows Command Prompt, 2 PowerShell, 3 Python, … 0 Unknown.
    pub type_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    pub script_content: LongString,
    /// The engine's id for the block (PowerShell's ScriptBlock ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
}

/// Text that may be long (`long_string`): a script's content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LongString {
    pub value: String,
}

/// A module (DLL, shared object) loaded into a process (`module`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// 1 Standard (the loader's normal way), 0 Unknown, 99 Other.
    pub load_type_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
}

/// `managed_entity`: a directory object (or any entity) an entity management event changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedEntity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

/// `win_resource` (Windows extension): a Windows-managed object a process reached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WinResource {
    /// The object type (`win_resource` type ids: 7 File, 8 Token, 20 Process, 25 Key, 35
    /// SAM_USER, …; 99 Other with `type`; 0 Unknown).
    pub type_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The handle or object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The service that mediated the access (`Security`, `LSA`, `DS`, `Security Account Manager`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svc_name: Option<String>,
}

/// `win_service` (Windows extension): a service as the Service Control Manager knows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WinService {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start_type: Option<String>,
    /// 1 Boot, 2 System, 3 Auto, 4 Demand, 5 Disabled, 0 Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start_type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// 1 Kernel Driver, 2 File System Driver, 3 Own Process, 4 Share Process, 0 Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type_id: Option<u32>,
}

/// `reg_key` (Windows extension `registry_key`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryKey {
    pub path: String,
}

/// `reg_value` (Windows extension `registry_value`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryValue {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Technique {
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tactic {
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technique: Option<Technique>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tactic: Option<Tactic>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Analytic {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// 1 Rule, 2 Behavioral, 3 Statistical.
    pub type_id: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingInfo {
    pub uid: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytic: Option<Analytic>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attacks: Vec<Attack>,
    /// The events the finding rests on (their `metadata.uid`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub related_events: Vec<RelatedEvent>,
}

/// `related_event`: an event a finding cites, by its id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RelatedEvent {
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_uid: Option<u64>,
}

/// An observable: a typed value pulled out of the event for search and correlation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observable {
    /// The attribute path it was taken from, e.g. `actor.user.name`.
    pub name: String,
    pub type_id: u32,
    pub value: String,
}

/// OCSF observable type ids Vigil fills.
pub mod observable_type {
    pub const HOSTNAME: u32 = 1;
    pub const IP_ADDRESS: u32 = 2;
    pub const USER_NAME: u32 = 4;
    pub const EMAIL_ADDRESS: u32 = 5;
    pub const URL_STRING: u32 = 6;
    pub const FILE_NAME: u32 = 7;
    pub const HASH: u32 = 8;
    pub const PROCESS_NAME: u32 = 9;
    pub const RESOURCE_UID: u32 = 10;
    pub const COMMAND_LINE: u32 = 13;
    pub const USER: u32 = 21;
}

/// Fields of the source record that no OCSF attribute took, under their (cleaned) source names.
pub type Unmapped = Map<String, Value>;
