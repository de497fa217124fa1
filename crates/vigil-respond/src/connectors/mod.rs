//! Connectors: actions on systems outside Vigil, each configured by the site and added to the
//! registry (`Registry::with`) when it is.

pub mod aws;
pub mod directory;
pub mod email;
pub mod ssh;
pub mod webhook;

pub use aws::{
    Aws, AwsCredentials, AwsSettings, BlockBucketPublicAccess, CredentialSource, DeactivateAccessKey,
    DenyAllPolicy, QuarantineInstance, RemoveConsoleLogin, SnapshotVolumes,
};
pub use directory::{
    AccountAction, Dialect, Directory, DirectorySettings, RemovePrivilegedGroups, Transport,
};
pub use email::{MailSettings, MailTransport, NoOwners, NotifyEmail, Owners};
pub use ssh::{
    CollectTriageBundle, Command, GatewayBlock, HostSettings, IsolateHost, KillProcess, Ssh, SshSettings,
    private_key,
};
pub use webhook::{Purpose, Webhook, WebhookFormat};
