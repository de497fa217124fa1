//! The connectors `vigil.yml` configures (`respond.webhook`, `respond.ticket_webhook`,
//! `respond.directory`, `respond.email`, `respond.aws`, `respond.ssh`), where each one's secret comes from, the actions each adds to what
//! Vigil can run, and `vigil connectors check`, which tries each one read-only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use vigil_respond::Action;
use vigil_respond::connectors::{
    AccountAction, Aws, AwsSettings, BlockBucketPublicAccess, CollectTriageBundle, CredentialSource,
    DeactivateAccessKey, DenyAllPolicy, Dialect, Directory, DirectorySettings, GatewayBlock,
    HostSettings as SshHost, IsolateHost, KillProcess, MailSettings, MailTransport, NotifyEmail, Owners,
    QuarantineInstance, RemoveConsoleLogin, RemovePrivilegedGroups, SnapshotVolumes, Ssh, SshSettings,
    Transport,
};

use crate::config::RespondConfig;

/// Where a secret is read from: an environment variable, or a file only Vigil's user can read.
/// Never the secret itself in `vigil.yml`.
pub fn read_secret(section: &str, env: Option<&str>, file: Option<&Path>, base: &Path) -> Result<String> {
    match (env, file) {
        (Some(name), None) => {
            std::env::var(name).with_context(|| format!("{section}: the environment has no {name}"))
        }
        (None, Some(file)) => {
            let path = base.join(file);
            check_private(&path).with_context(|| section.to_owned())?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{section}: reading {}", path.display()))?;
            Ok(text.trim_end_matches(['\r', '\n']).to_owned())
        }
        _ => bail!("{section}: the secret from one place, an environment variable or a file"),
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!("{} can be read by others (mode {:o}): chmod 600 it", path.display(), mode & 0o777);
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<()> {
    Ok(())
}

/// `respond.directory`: an LDAP directory Vigil disables accounts, forces password resets and
/// removes privileged group memberships in.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// `ldaps://host:636`, or `ldap://host:389` with StartTLS.
    pub url: String,
    /// `ldaps`, `starttls`, or `plain` (unprotected: only when written here); by default
    /// `ldaps` for an `ldaps://` URL and `starttls` for `ldap://`.
    pub transport: Option<String>,
    /// The PEM file of the CA that signed the directory's certificate; the system's roots
    /// otherwise.
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub base_dn: String,
    /// `openldap` (ppolicy) or `active_directory`.
    pub dialect: String,
    #[serde(default)]
    pub privileged_groups: Vec<String>,
    #[serde(default = "ten")]
    pub timeout_secs: u64,
}

fn ten() -> u64 {
    10
}

impl DirectoryConfig {
    fn directory(&self, base: &Path) -> Result<Directory> {
        let section = "respond.directory";
        let dialect = Dialect::parse(&self.dialect).with_context(|| {
            format!("{section}.dialect: openldap or active_directory, not {:?}", self.dialect)
        })?;
        let transport = match &self.transport {
            Some(name) => Transport::parse(name)
                .with_context(|| format!("{section}.transport: ldaps, starttls or plain, not {name:?}"))?,
            None if self.url.starts_with("ldaps://") => Transport::Ldaps,
            None => Transport::StartTls,
        };
        let password = read_secret(
            &format!("{section}.password"),
            self.password_env.as_deref(),
            self.password_file.as_deref(),
            base,
        )?;
        Directory::new(DirectorySettings {
            url: self.url.clone(),
            transport,
            ca_file: self.ca_file.as_ref().map(|f| base.join(f)),
            bind_dn: self.bind_dn.clone(),
            password,
            base_dn: self.base_dn.clone(),
            dialect,
            privileged_groups: self.privileged_groups.clone(),
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
        })
        .map_err(|e| anyhow::anyhow!("{section}: {e}"))
    }
}

/// `respond.email`: the mail server `notify_email` sends through.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    /// 587 by default (465 for `smtps`, 25 for `plain`).
    pub port: Option<u16>,
    /// `starttls` (required; the default), `smtps`, `starttls_if_offered`, or `plain`.
    #[serde(default = "starttls")]
    pub transport: String,
    pub ca_file: Option<PathBuf>,
    pub from: String,
    /// Signing in: the user, and the password from the environment or a mode-600 file.
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub on_call: Vec<String>,
    /// The domain an asset owner named without one is mailed at.
    pub owner_domain: Option<String>,
    #[serde(default = "ten")]
    pub timeout_secs: u64,
}

fn starttls() -> String {
    "starttls".into()
}

impl EmailConfig {
    fn connector(&self, base: &Path, owners: Arc<dyn Owners>) -> Result<NotifyEmail> {
        let section = "respond.email";
        let transport = MailTransport::parse(&self.transport).with_context(|| {
            format!(
                "{section}.transport: starttls, smtps, starttls_if_offered or plain, not {:?}",
                self.transport
            )
        })?;
        let credentials = match &self.username {
            Some(user) => Some((
                user.clone(),
                read_secret(
                    &format!("{section}.password"),
                    self.password_env.as_deref(),
                    self.password_file.as_deref(),
                    base,
                )?,
            )),
            None if self.password_env.is_some() || self.password_file.is_some() => {
                bail!("{section}: a password without a username")
            }
            None => None,
        };
        let port = self.port.unwrap_or(match transport {
            MailTransport::Smtps => 465,
            MailTransport::Plain => 25,
            _ => 587,
        });
        NotifyEmail::new(
            MailSettings {
                host: self.host.clone(),
                port,
                transport,
                ca_file: self.ca_file.as_ref().map(|f| base.join(f)),
                from: self.from.clone(),
                credentials,
                on_call: self.on_call.clone(),
                owner_domain: self.owner_domain.clone(),
                timeout: Duration::from_secs(self.timeout_secs.max(1)),
            },
            owners,
        )
        .map_err(|e| anyhow::anyhow!("{section}: {e}"))
    }
}

/// `respond.aws`: the AWS account Vigil contains principals, buckets and instances in. Its
/// credentials come from the standard chain (the environment's `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY`, or the shared credentials file under `AWS_PROFILE`), never from
/// this file.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub region: String,
    /// One URL for every service instead of AWS's public endpoints (a VPC endpoint, a proxy).
    pub endpoint: Option<String>,
    /// The security group `quarantine_instance` leaves an instance in; without it, Vigil does
    /// not quarantine instances.
    pub quarantine_group: Option<String>,
    #[serde(default = "ten")]
    pub timeout_secs: u64,
}

impl AwsConfig {
    fn connector(&self) -> Result<Vec<Arc<dyn Action>>> {
        let settings = AwsSettings {
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            credentials: CredentialSource::Chain,
            quarantine_group: self.quarantine_group.clone(),
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
        };
        // The credentials are read now, so a missing one stops the start, and again for each
        // request, so a rotated key is used.
        CredentialSource::Chain.resolve().map_err(|e| anyhow::anyhow!("respond.aws: {e}"))?;
        let aws = Arc::new(Aws::new(settings).map_err(|e| anyhow::anyhow!("respond.aws: {e}"))?);
        let mut actions: Vec<Arc<dyn Action>> = Vec::new();
        if self.quarantine_group.is_some() {
            // First: `vigil connectors check` runs the first action's check, and this one's
            // also reads the quarantine group.
            actions.push(Arc::new(
                QuarantineInstance::new(Arc::clone(&aws)).map_err(|e| anyhow::anyhow!("respond.aws: {e}"))?,
            ));
        }
        actions.push(Arc::new(DeactivateAccessKey::new(Arc::clone(&aws))));
        actions.push(Arc::new(DenyAllPolicy::new(Arc::clone(&aws))));
        actions.push(Arc::new(RemoveConsoleLogin::new(Arc::clone(&aws))));
        actions.push(Arc::new(BlockBucketPublicAccess::new(Arc::clone(&aws))));
        actions.push(Arc::new(SnapshotVolumes::new(aws)));
        Ok(actions)
    }
}

/// `respond.ssh`: Linux hosts Vigil isolates, kills processes on and reads triage bundles
/// from over SSH, and the gateway it blocks addresses at.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// Vigil's private key (OpenSSH, Ed25519 or ECDSA): a file only Vigil's user can read.
    pub key_file: PathBuf,
    /// The address Vigil reaches the hosts from; an isolated host still answers it.
    pub management: String,
    /// The host (one of `hosts`) where `gateway_block_address` drops addresses.
    pub gateway: Option<String>,
    #[serde(default = "ten")]
    pub timeout_secs: u64,
    /// Hosts by the name cases know them by.
    pub hosts: std::collections::BTreeMap<String, SshHostConfig>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SshHostConfig {
    /// `address:port`.
    pub address: String,
    #[serde(default = "root")]
    pub user: String,
    /// The host key's SHA256 fingerprint, as `ssh-keygen -lf` prints it.
    pub host_key: String,
}

fn root() -> String {
    "root".into()
}

impl SshConfig {
    fn connector(&self, base: &Path) -> Result<Vec<Arc<dyn Action>>> {
        let section = "respond.ssh";
        let text = read_secret(&format!("{section}.key_file"), None, Some(&self.key_file), base)?;
        let fail = |e: vigil_respond::Error| anyhow::anyhow!("{section}: {e}");
        let key = vigil_respond::connectors::private_key(&text).map_err(fail)?;
        let management = self
            .management
            .parse()
            .with_context(|| format!("{section}.management: an IP address, not {:?}", self.management))?;
        let hosts = self
            .hosts
            .iter()
            .map(|(name, h)| {
                (
                    name.clone(),
                    SshHost {
                        address: h.address.clone(),
                        user: h.user.clone(),
                        host_key: h.host_key.clone(),
                    },
                )
            })
            .collect();
        let ssh = Arc::new(
            Ssh::new(SshSettings {
                hosts,
                key,
                management,
                gateway: self.gateway.clone(),
                timeout: Duration::from_secs(self.timeout_secs.max(1)),
            })
            .map_err(fail)?,
        );
        let mut actions: Vec<Arc<dyn Action>> = vec![
            Arc::new(IsolateHost::new(Arc::clone(&ssh))),
            Arc::new(KillProcess::new(Arc::clone(&ssh))),
            Arc::new(CollectTriageBundle::new(Arc::clone(&ssh))),
        ];
        if self.gateway.is_some() {
            actions.push(Arc::new(GatewayBlock::new(ssh).map_err(fail)?));
        }
        Ok(actions)
    }
}

/// One configured connector: its section in `vigil.yml` and the actions it adds.
pub struct Connector {
    pub section: &'static str,
    pub actions: Vec<Arc<dyn Action>>,
}

/// Every connector the configuration names, with its secret read now; `owners` says who owns
/// a case's assets (the engine's inventory).
pub fn configured(respond: &RespondConfig, base: &Path, owners: Arc<dyn Owners>) -> Result<Vec<Connector>> {
    let mut connectors = Vec::new();
    if let Some(webhook) = &respond.webhook {
        connectors
            .push(Connector { section: "respond.webhook", actions: vec![Arc::new(webhook.connector()?)] });
    }
    if let Some(tickets) = &respond.ticket_webhook {
        connectors.push(Connector {
            section: "respond.ticket_webhook",
            actions: vec![Arc::new(tickets.ticketing()?)],
        });
    }
    if let Some(directory) = &respond.directory {
        let dir = Arc::new(directory.directory(base)?);
        connectors.push(Connector {
            section: "respond.directory",
            actions: vec![
                Arc::new(AccountAction::disable(Arc::clone(&dir))),
                Arc::new(AccountAction::force_password_reset(Arc::clone(&dir))),
                Arc::new(RemovePrivilegedGroups::new(dir)),
            ],
        });
    }
    if let Some(email) = &respond.email {
        connectors.push(Connector {
            section: "respond.email",
            actions: vec![Arc::new(email.connector(base, owners)?)],
        });
    }
    if let Some(ssh) = &respond.ssh {
        connectors.push(Connector { section: "respond.ssh", actions: ssh.connector(base)? });
    }
    if let Some(aws) = &respond.aws {
        connectors.push(Connector { section: "respond.aws", actions: aws.connector()? });
    }
    Ok(connectors)
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Try each configured connector read-only (connect, sign in, read) and report what works.
    Check {
        /// The configuration file (`vigil.yml`).
        #[arg(long, short)]
        config: PathBuf,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    let Command::Check { config } = args.command;
    let settings = crate::serve::Settings::load(Some(&config))?;
    let base = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let owners = Arc::new(vigil_respond::connectors::NoOwners);
    let connectors = configured(&settings.config.respond, &base, owners)?;
    if connectors.is_empty() {
        println!("no connectors are configured in {}", config.display());
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut failed = 0;
    for connector in &connectors {
        let names: Vec<&str> = connector.actions.iter().map(|a| a.name()).collect();
        let Some(first) = connector.actions.first() else { continue };
        let started = Instant::now();
        let checked = runtime.block_on(first.check());
        let ms = started.elapsed().as_millis();
        match checked {
            Ok(seen) => println!(
                "ok      {:<24} {ms:>5} ms  {}  actions: {}",
                connector.section,
                seen.map(|v| v.to_string()).unwrap_or_default(),
                names.join(", ")
            ),
            Err(e) => {
                failed += 1;
                println!(
                    "FAILED  {:<24} {ms:>5} ms  {}",
                    connector.section,
                    crate::terminal::safe(&e.to_string(), 2000)
                );
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(extra: &str) -> Result<DirectoryConfig> {
        let text =
            format!("url: ldap://dc1:389\nbind_dn: cn=vigil\nbase_dn: dc=x\ndialect: openldap\n{extra}");
        Ok(yaml_serde::from_str(&text)?)
    }

    #[test]
    fn a_secret_comes_from_one_place_and_a_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
            let refused =
                read_secret("x", None, Some(Path::new("pw")), dir.path()).expect_err("group-readable");
            assert!(format!("{refused:#}").contains("chmod 600"), "{refused:#}");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        assert_eq!(read_secret("x", None, Some(Path::new("pw")), dir.path()).expect("read"), "s3cret");
        assert!(read_secret("x", Some("A"), Some(Path::new("pw")), dir.path()).is_err());
        assert!(read_secret("x", None, None, dir.path()).is_err());
    }

    #[test]
    fn a_directory_of_an_unknown_dialect_or_transport_is_refused_and_an_unknown_key_too() {
        let dir = tempfile::tempdir().expect("dir");
        let bad = directory("password_env: HOME\n").expect("parses");
        let bad = DirectoryConfig { dialect: "novell".into(), ..bad };
        assert!(
            format!("{:#}", bad.directory(dir.path()).expect_err("dialect")).contains("active_directory")
        );
        let bad = directory("password_env: HOME\ntransport: tls\n").expect("parses");
        assert!(format!("{:#}", bad.directory(dir.path()).expect_err("transport")).contains("starttls"));
        assert!(directory("password: inline\n").is_err(), "a password written in the file is no setting");
    }
}
