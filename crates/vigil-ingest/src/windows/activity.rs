//! OCSF 1.5.0 activity ids of the classes the Windows mapping emits, by name, so a mapping
//! reads as what happened rather than as numbers.

pub mod authentication {
    pub const LOGON: u32 = 1;
    pub const LOGOFF: u32 = 2;
    pub const AUTHENTICATION_TICKET: u32 = 3;
    pub const SERVICE_TICKET_REQUEST: u32 = 4;
    pub const SERVICE_TICKET_RENEW: u32 = 5;
    pub const PREAUTH: u32 = 6;
}

pub mod account_change {
    pub const CREATE: u32 = 1;
    pub const ENABLE: u32 = 2;
    pub const PASSWORD_CHANGE: u32 = 3;
    pub const PASSWORD_RESET: u32 = 4;
    pub const DISABLE: u32 = 5;
    pub const DELETE: u32 = 6;
    pub const LOCK: u32 = 9;
    pub const UNLOCK: u32 = 12;
}

pub mod group_management {
    pub const ADD_USER: u32 = 3;
    pub const REMOVE_USER: u32 = 4;
    pub const DELETE: u32 = 5;
    pub const CREATE: u32 = 6;
}

pub mod process {
    pub const LAUNCH: u32 = 1;
    pub const TERMINATE: u32 = 2;
}

pub mod module {
    pub const LOAD: u32 = 1;
}

pub mod script {
    pub const EXECUTE: u32 = 1;
}

pub mod authorize_session {
    pub const ASSIGN_PRIVILEGES: u32 = 1;
}

pub mod entity_management {
    pub const CREATE: u32 = 1;
    pub const UPDATE: u32 = 3;
    pub const DELETE: u32 = 4;
    pub const MOVE: u32 = 5;
}

pub mod rdp {
    pub const CONNECT_REQUEST: u32 = 3;
}

pub mod device_config {
    pub const LOG: u32 = 1;
}

pub mod user_access {
    pub const ASSIGN_PRIVILEGES: u32 = 1;
    pub const REVOKE_PRIVILEGES: u32 = 2;
}

pub mod windows_resource {
    pub const ACCESS: u32 = 1;
}

pub mod windows_service {
    pub const CREATE: u32 = 1;
    pub const RECONFIGURE: u32 = 2;
}

pub mod event_log {
    pub const CLEAR: u32 = 1;
    pub const STOP: u32 = 7;
}

pub mod scheduled_job {
    pub const CREATE: u32 = 1;
    pub const UPDATE: u32 = 2;
    pub const DELETE: u32 = 3;
    pub const ENABLE: u32 = 4;
    pub const DISABLE: u32 = 5;
}

pub mod registry_value {
    pub const SET: u32 = 2;
    pub const MODIFY: u32 = 3;
    pub const DELETE: u32 = 4;
}

pub mod registry_key {
    pub const READ: u32 = 2;
    pub const MODIFY: u32 = 3;
    pub const DELETE: u32 = 4;
}

pub mod file_system {
    pub const READ: u32 = 2;
    pub const UPDATE: u32 = 3;
    pub const DELETE: u32 = 4;
    pub const OPEN: u32 = 14;
}

pub mod network {
    pub const OPEN: u32 = 1;
    pub const REFUSE: u32 = 5;
    pub const LISTEN: u32 = 7;
}

/// Any class's "Other": the source's own name goes in `activity_name`.
pub const OTHER: u32 = 99;

#[cfg(test)]
mod tests {
    use vigil_ocsf::Class;

    use super::*;

    #[test]
    fn the_named_ids_are_the_ones_ocsf_defines_under_those_names() {
        let cases = [
            (Class::Authentication, authentication::LOGON, "Logon"),
            (Class::Authentication, authentication::LOGOFF, "Logoff"),
            (Class::Authentication, authentication::AUTHENTICATION_TICKET, "Authentication Ticket"),
            (Class::Authentication, authentication::SERVICE_TICKET_REQUEST, "Service Ticket Request"),
            (Class::Authentication, authentication::SERVICE_TICKET_RENEW, "Service Ticket Renew"),
            (Class::Authentication, authentication::PREAUTH, "Preauth"),
            (Class::AccountChange, account_change::CREATE, "Create"),
            (Class::AccountChange, account_change::ENABLE, "Enable"),
            (Class::AccountChange, account_change::PASSWORD_CHANGE, "Password Change"),
            (Class::AccountChange, account_change::PASSWORD_RESET, "Password Reset"),
            (Class::AccountChange, account_change::DISABLE, "Disable"),
            (Class::AccountChange, account_change::DELETE, "Delete"),
            (Class::AccountChange, account_change::LOCK, "Lock"),
            (Class::AccountChange, account_change::UNLOCK, "Unlock"),
            (Class::GroupManagement, group_management::ADD_USER, "Add User"),
            (Class::GroupManagement, group_management::REMOVE_USER, "Remove User"),
            (Class::GroupManagement, group_management::DELETE, "Delete"),
            (Class::GroupManagement, group_management::CREATE, "Create"),
            (Class::ProcessActivity, process::LAUNCH, "Launch"),
            (Class::ProcessActivity, process::TERMINATE, "Terminate"),
            (Class::ModuleActivity, module::LOAD, "Load"),
            (Class::ScriptActivity, script::EXECUTE, "Execute"),
            (Class::AuthorizeSession, authorize_session::ASSIGN_PRIVILEGES, "Assign Privileges"),
            (Class::EntityManagement, entity_management::CREATE, "Create"),
            (Class::EntityManagement, entity_management::UPDATE, "Update"),
            (Class::EntityManagement, entity_management::DELETE, "Delete"),
            (Class::EntityManagement, entity_management::MOVE, "Move"),
            (Class::RdpActivity, rdp::CONNECT_REQUEST, "Connect Request"),
            (Class::DeviceConfigStateChange, device_config::LOG, "Log"),
            (Class::UserAccess, user_access::ASSIGN_PRIVILEGES, "Assign Privileges"),
            (Class::UserAccess, user_access::REVOKE_PRIVILEGES, "Revoke Privileges"),
            (Class::WindowsResourceActivity, windows_resource::ACCESS, "Access"),
            (Class::WindowsServiceActivity, windows_service::CREATE, "Create"),
            (Class::WindowsServiceActivity, windows_service::RECONFIGURE, "Reconfigure"),
            (Class::EventLogActivity, event_log::CLEAR, "Clear"),
            (Class::EventLogActivity, event_log::STOP, "Stop"),
            (Class::ScheduledJobActivity, scheduled_job::CREATE, "Create"),
            (Class::ScheduledJobActivity, scheduled_job::UPDATE, "Update"),
            (Class::ScheduledJobActivity, scheduled_job::DELETE, "Delete"),
            (Class::ScheduledJobActivity, scheduled_job::ENABLE, "Enable"),
            (Class::ScheduledJobActivity, scheduled_job::DISABLE, "Disable"),
            (Class::RegistryValueActivity, registry_value::SET, "Set"),
            (Class::RegistryValueActivity, registry_value::MODIFY, "Modify"),
            (Class::RegistryValueActivity, registry_value::DELETE, "Delete"),
            (Class::RegistryKeyActivity, registry_key::READ, "Read"),
            (Class::RegistryKeyActivity, registry_key::MODIFY, "Modify"),
            (Class::RegistryKeyActivity, registry_key::DELETE, "Delete"),
            (Class::FileSystemActivity, file_system::READ, "Read"),
            (Class::FileSystemActivity, file_system::UPDATE, "Update"),
            (Class::FileSystemActivity, file_system::DELETE, "Delete"),
            (Class::FileSystemActivity, file_system::OPEN, "Open"),
            (Class::NetworkActivity, network::OPEN, "Open"),
            (Class::NetworkActivity, network::REFUSE, "Refuse"),
            (Class::NetworkActivity, network::LISTEN, "Listen"),
            (Class::Authentication, OTHER, "Other"),
        ];
        for (class, id, name) in cases {
            assert_eq!(class.activity_name(id), Some(name), "{class:?} {id}");
        }
    }
}
