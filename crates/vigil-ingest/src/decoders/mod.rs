//! One decoder per source format. Each owns its recognition (`sniff`) and its mapping to OCSF;
//! they are listed in [`crate::FORMATS`].

pub mod auditd;
pub mod azure_activity;
pub mod cloudtrail;
pub mod csv_table;
pub mod entra;
pub mod evtx;
pub mod evtx_json;
pub mod gcp_audit;
pub mod github_audit;
pub mod nxlog;
pub mod ocsf;
pub mod okta;
pub mod sentinel;
pub mod syslog;
pub mod winlogbeat;
