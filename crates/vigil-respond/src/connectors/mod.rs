//! Connectors: actions on systems outside Vigil, each configured by the site and added to the
//! registry (`Registry::with`) when it is.

pub mod directory;
pub mod webhook;

pub use directory::{
    AccountAction, Dialect, Directory, DirectorySettings, RemovePrivilegedGroups, Transport,
};
pub use webhook::{Purpose, Webhook, WebhookFormat};
