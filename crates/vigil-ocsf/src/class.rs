//! The OCSF event classes Vigil emits, with their uids, categories and activity names.

use serde::{Deserialize, Serialize};

/// An OCSF event class. `uid()` is the class_uid; the category comes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// OCSF's Base Event: a record we keep but whose meaning no specific class captures.
    BaseEvent,
    FileSystemActivity,
    ModuleActivity,
    ScheduledJobActivity,
    ProcessActivity,
    EventLogActivity,
    ScriptActivity,
    DetectionFinding,
    AccountChange,
    Authentication,
    AuthorizeSession,
    EntityManagement,
    UserAccess,
    GroupManagement,
    NetworkActivity,
    HttpActivity,
    DnsActivity,
    RdpActivity,
    ConfigState,
    DeviceConfigStateChange,
    ApiActivity,
    /// Windows extension.
    RegistryKeyActivity,
    /// Windows extension.
    RegistryValueActivity,
    /// Windows extension: a process's access to a Windows-managed object (a handle, a SAM or
    /// directory object, a privileged service).
    WindowsResourceActivity,
    /// Windows extension: the Service Control Manager's services.
    WindowsServiceActivity,
}

/// Every class, for tables and tests.
pub const CLASSES: &[Class] = &[
    Class::BaseEvent,
    Class::FileSystemActivity,
    Class::ModuleActivity,
    Class::ScheduledJobActivity,
    Class::ProcessActivity,
    Class::EventLogActivity,
    Class::ScriptActivity,
    Class::DetectionFinding,
    Class::AccountChange,
    Class::Authentication,
    Class::AuthorizeSession,
    Class::EntityManagement,
    Class::UserAccess,
    Class::GroupManagement,
    Class::NetworkActivity,
    Class::HttpActivity,
    Class::DnsActivity,
    Class::RdpActivity,
    Class::ConfigState,
    Class::DeviceConfigStateChange,
    Class::ApiActivity,
    Class::RegistryKeyActivity,
    Class::RegistryValueActivity,
    Class::WindowsResourceActivity,
    Class::WindowsServiceActivity,
];

impl Class {
    pub fn uid(self) -> u32 {
        match self {
            Class::BaseEvent => 0,
            Class::FileSystemActivity => 1001,
            Class::ModuleActivity => 1005,
            Class::ScheduledJobActivity => 1006,
            Class::ProcessActivity => 1007,
            Class::EventLogActivity => 1008,
            Class::ScriptActivity => 1009,
            Class::DetectionFinding => 2004,
            Class::AccountChange => 3001,
            Class::Authentication => 3002,
            Class::AuthorizeSession => 3003,
            Class::EntityManagement => 3004,
            Class::UserAccess => 3005,
            Class::GroupManagement => 3006,
            Class::NetworkActivity => 4001,
            Class::HttpActivity => 4002,
            Class::DnsActivity => 4003,
            Class::RdpActivity => 4005,
            Class::ConfigState => 5002,
            Class::DeviceConfigStateChange => 5019,
            Class::ApiActivity => 6003,
            Class::RegistryKeyActivity => 201001,
            Class::RegistryValueActivity => 201002,
            Class::WindowsResourceActivity => 201003,
            Class::WindowsServiceActivity => 201004,
        }
    }

    pub fn from_uid(uid: u32) -> Option<Class> {
        CLASSES.iter().copied().find(|c| c.uid() == uid)
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::BaseEvent => "Base Event",
            Class::FileSystemActivity => "File System Activity",
            Class::ModuleActivity => "Module Activity",
            Class::ScheduledJobActivity => "Scheduled Job Activity",
            Class::ProcessActivity => "Process Activity",
            Class::EventLogActivity => "Event Log Activity",
            Class::ScriptActivity => "Script Activity",
            Class::DetectionFinding => "Detection Finding",
            Class::AccountChange => "Account Change",
            Class::Authentication => "Authentication",
            Class::AuthorizeSession => "Authorize Session",
            Class::EntityManagement => "Entity Management",
            Class::UserAccess => "User Access Management",
            Class::GroupManagement => "Group Management",
            Class::NetworkActivity => "Network Activity",
            Class::HttpActivity => "HTTP Activity",
            Class::DnsActivity => "DNS Activity",
            Class::RdpActivity => "RDP Activity",
            Class::ConfigState => "Device Config State",
            Class::DeviceConfigStateChange => "Device Config State Change",
            Class::ApiActivity => "API Activity",
            Class::RegistryKeyActivity => "Registry Key Activity",
            Class::RegistryValueActivity => "Registry Value Activity",
            Class::WindowsResourceActivity => "Windows Resource Activity",
            Class::WindowsServiceActivity => "Windows Service Activity",
        }
    }

    /// The class's category uid. Extension classes belong to the System Activity category.
    pub fn category_uid(self) -> u32 {
        match self {
            Class::BaseEvent => 0,
            Class::RegistryKeyActivity
            | Class::RegistryValueActivity
            | Class::WindowsResourceActivity
            | Class::WindowsServiceActivity => 1,
            other => other.uid() / 1000,
        }
    }

    pub fn category_name(self) -> &'static str {
        match self.category_uid() {
            1 => "System Activity",
            2 => "Findings",
            3 => "Identity & Access Management",
            4 => "Network Activity",
            5 => "Discovery",
            6 => "Application Activity",
            _ => "Uncategorized",
        }
    }

    /// OCSF's name for an activity of this class; `None` for an id the class does not define.
    pub fn activity_name(self, activity_id: u32) -> Option<&'static str> {
        match activity_id {
            0 => return Some("Unknown"),
            99 => return Some("Other"),
            _ => {}
        }
        let names: &[&str] = match self {
            Class::BaseEvent => &[],
            Class::FileSystemActivity => &[
                "Create",
                "Read",
                "Update",
                "Delete",
                "Rename",
                "Set Attributes",
                "Set Security",
                "Get Attributes",
                "Get Security",
                "Encrypt",
                "Decrypt",
                "Mount",
                "Unmount",
                "Open",
            ],
            Class::ModuleActivity => &["Load", "Unload"],
            Class::ScheduledJobActivity => &["Create", "Update", "Delete", "Enable", "Disable", "Start"],
            Class::ProcessActivity => &["Launch", "Terminate", "Open", "Inject", "Set User ID"],
            Class::EventLogActivity => &[
                "Clear", "Delete", "Export", "Archive", "Rotate", "Start", "Stop", "Restart", "Enable",
                "Disable",
            ],
            Class::ScriptActivity => &["Execute"],
            Class::DetectionFinding => &["Create", "Update", "Close"],
            Class::AccountChange => &[
                "Create",
                "Enable",
                "Password Change",
                "Password Reset",
                "Disable",
                "Delete",
                "Attach Policy",
                "Detach Policy",
                "Lock",
                "MFA Factor Enable",
                "MFA Factor Disable",
                "Unlock",
            ],
            Class::Authentication => &[
                "Logon",
                "Logoff",
                "Authentication Ticket",
                "Service Ticket Request",
                "Service Ticket Renew",
                "Preauth",
            ],
            Class::AuthorizeSession => &["Assign Privileges", "Assign Groups"],
            Class::EntityManagement => &[
                "Create",
                "Read",
                "Update",
                "Delete",
                "Move",
                "Enroll",
                "Unenroll",
                "Enable",
                "Disable",
                "Activate",
                "Deactivate",
                "Suspend",
                "Resume",
            ],
            Class::UserAccess => &["Assign Privileges", "Revoke Privileges"],
            Class::GroupManagement => {
                &["Assign Privileges", "Revoke Privileges", "Add User", "Remove User", "Delete", "Create"]
            }
            Class::NetworkActivity => &["Open", "Close", "Reset", "Fail", "Refuse", "Traffic", "Listen"],
            Class::HttpActivity => &["Connect", "Delete", "Get", "Head", "Options", "Post", "Put", "Trace"],
            Class::DnsActivity => &["Query", "Response", "", "", "", "Traffic"],
            Class::RdpActivity => &[
                "Initial Request",
                "Initial Response",
                "Connect Request",
                "Connect Response",
                "TLS Handshake",
                "Traffic",
            ],
            Class::ConfigState | Class::DeviceConfigStateChange => &["Log", "Collect"],
            Class::ApiActivity => &["Create", "Read", "Update", "Delete"],
            Class::RegistryKeyActivity => &[
                "Create",
                "Read",
                "Modify",
                "Delete",
                "Rename",
                "Set Security",
                "Restore",
                "Import",
                "Export",
            ],
            Class::RegistryValueActivity => &["Get", "Set", "Modify", "Delete"],
            Class::WindowsResourceActivity => &["Access"],
            Class::WindowsServiceActivity => {
                &["Create", "Reconfigure", "Start", "Stop", "Pause", "Continue", "Delete"]
            }
        };
        let index = usize::try_from(activity_id).ok()?.checked_sub(1)?;
        names.get(index).copied().filter(|n| !n.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_round_trip_and_categories_follow_uids() {
        for class in CLASSES {
            assert_eq!(Class::from_uid(class.uid()), Some(*class));
        }
        assert_eq!(Class::Authentication.category_uid(), 3);
        assert_eq!(Class::RegistryValueActivity.category_uid(), 1);
        assert_eq!(Class::DnsActivity.activity_name(6), Some("Traffic"));
        assert_eq!(Class::DnsActivity.activity_name(3), None);
        assert_eq!(Class::ApiActivity.activity_name(99), Some("Other"));
    }
}
