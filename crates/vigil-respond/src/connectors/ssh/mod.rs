//! Linux hosts over SSH (russh, pure Rust): each host with its address, its user and its host
//! key pinned by fingerprint, signed in to with Vigil's key. No shell string is ever built from
//! case data: a [`Command`] is a fixed program with arguments that each pass a strict
//! character check (no quoting, no escaping to get wrong), and data such as an nftables ruleset
//! travels on the command's standard input, built only from parsed addresses.

mod gateway;
mod isolate;
mod process;
mod triage;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::client;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use russh::{ChannelMsg, Disconnect};
use serde_json::{Value, json};

pub use gateway::{BLOCK_TABLE, GatewayBlock};
pub use isolate::{ISOLATION_TABLE, IsolateHost};
pub use process::KillProcess;
pub use triage::CollectTriageBundle;

use crate::{Error, Result};

/// One host Vigil may act on.
#[derive(Clone, Debug)]
pub struct HostSettings {
    /// `address:port`.
    pub address: String,
    pub user: String,
    /// The host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`).
    pub host_key: String,
}

/// What a site configures.
#[derive(Clone)]
pub struct SshSettings {
    /// Hosts by the name cases know them by (a host entity's key).
    pub hosts: BTreeMap<String, HostSettings>,
    /// Vigil's private key (OpenSSH format, Ed25519 or ECDSA).
    pub key: Arc<PrivateKey>,
    /// The address Vigil reaches hosts from: an isolated host still answers it.
    pub management: IpAddr,
    /// The host (by name) where `gateway_block_address` adds addresses to a drop set.
    pub gateway: Option<String>,
    pub timeout: Duration,
}

/// A program and its arguments, each checked: what runs on the host is exactly this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    line: String,
    stdin: Option<Vec<u8>>,
}

/// The characters an argument may hold: enough for paths, addresses, numbers and nftables
/// words; nothing a shell treats specially.
fn plain(arg: &str) -> bool {
    !arg.is_empty()
        && arg.len() <= 256
        && arg.chars().all(|c| c.is_ascii_alphanumeric() || "_.:/@,=+-".contains(c))
}

impl Command {
    /// `program` with `args`; an argument outside [`plain`]'s characters is refused.
    pub fn new(program: &str, args: &[&str]) -> Result<Command> {
        let mut line = String::from(program);
        for arg in std::iter::once(&program).chain(args) {
            if !plain(arg) {
                return Err(Error::Failed(format!(
                    "{arg:?} cannot be passed to a host: only letters, digits and _.:/@,=+-"
                )));
            }
        }
        for arg in args {
            line.push(' ');
            line.push_str(arg);
        }
        Ok(Command { line, stdin: None })
    }

    /// The same command with `input` on its standard input.
    pub fn with_stdin(mut self, input: Vec<u8>) -> Command {
        self.stdin = Some(input);
        self
    }

    pub fn line(&self) -> &str {
        &self.line
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    pub status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr_line(&self) -> String {
        String::from_utf8_lossy(&self.stderr)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(300)
            .collect()
    }
}

struct Pinned {
    expected: String,
    seen: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A host key is pinned; a certificate, whoever signed it, is not that key.
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else { return Ok(false) };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let matches = fingerprint == self.expected;
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint);
        }
        Ok(matches)
    }
}

/// The hosts a site lets Vigil act on, and how it reaches them.
pub struct Ssh {
    settings: SshSettings,
}

impl Ssh {
    pub fn new(mut settings: SshSettings) -> Result<Ssh> {
        // Host entities' keys are lower case; so are the names they are looked up by.
        settings.hosts = settings.hosts.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        settings.gateway = settings.gateway.map(|g| g.to_ascii_lowercase());
        for (name, host) in &settings.hosts {
            if !host.host_key.starts_with("SHA256:") {
                return Err(Error::Failed(format!(
                    "ssh host {name}: host_key is the SHA256 fingerprint `ssh-keygen -lf` prints (SHA256:…)"
                )));
            }
            if !plain(&host.user) {
                return Err(Error::Failed(format!("ssh host {name}: user {:?}", host.user)));
            }
        }
        if let Some(gateway) = &settings.gateway
            && !settings.hosts.contains_key(gateway)
        {
            return Err(Error::Failed(format!("ssh gateway {gateway:?} is not one of the hosts")));
        }
        Ok(Ssh { settings })
    }

    pub fn management(&self) -> IpAddr {
        self.settings.management
    }

    pub fn gateway(&self) -> Option<&str> {
        self.settings.gateway.as_deref()
    }

    /// The host a request's target names, as configured.
    pub fn host(&self, name: &str) -> Result<(&str, &HostSettings)> {
        let key = name.to_ascii_lowercase();
        self.settings.hosts.get_key_value(&key).map(|(k, v)| (k.as_str(), v)).ok_or_else(|| {
            Error::Failed(format!("host {name} is not one of the hosts Vigil reaches over SSH"))
        })
    }

    /// Runs `command` on host `name` within the deadline.
    pub async fn run(&self, name: &str, command: &Command) -> Result<Output> {
        let (name, host) = self.host(name)?;
        let deadline = self.settings.timeout;
        tokio::time::timeout(deadline, self.session(name, host, command)).await.map_err(|_| {
            Error::Transient(format!(
                "host {name} ({}) did not finish `{}` within {deadline:?}",
                host.address, command.line
            ))
        })?
    }

    async fn session(&self, name: &str, host: &HostSettings, command: &Command) -> Result<Output> {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let handler = Pinned { expected: host.host_key.clone(), seen: Arc::clone(&seen) };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(self.settings.timeout),
            ..Default::default()
        });
        let mut session = match client::connect(config, host.address.as_str(), handler).await {
            Ok(s) => s,
            Err(russh::Error::UnknownKey) => {
                let got = seen.lock().ok().and_then(|s| s.clone()).unwrap_or_default();
                return Err(Error::Failed(format!(
                    "host {name} ({}) presented host key {got}, not the pinned {}: Vigil did not sign in",
                    host.address, host.host_key
                )));
            }
            Err(russh::Error::IO(e)) => {
                return Err(Error::Transient(format!(
                    "host {name} ({}) could not be reached: {e}",
                    host.address
                )));
            }
            Err(e) => return Err(Error::Failed(format!("host {name} ({}): {e}", host.address))),
        };
        let hash = session.best_supported_rsa_hash().await.ok().flatten().flatten();
        let auth = session
            .authenticate_publickey(
                &host.user,
                PrivateKeyWithHashAlg::new(Arc::clone(&self.settings.key), hash),
            )
            .await
            .map_err(|e| Error::Failed(format!("host {name}: signing in: {e}")))?;
        if !auth.success() {
            return Err(Error::Failed(format!(
                "host {name} ({}) refused Vigil's key for {}",
                host.address, host.user
            )));
        }
        let channel = session
            .channel_open_session()
            .await
            .map_err(|e| Error::Transient(format!("host {name}: {e}")))?;
        channel
            .exec(true, command.line.as_bytes())
            .await
            .map_err(|e| Error::Transient(format!("host {name}: {e}")))?;
        if let Some(input) = &command.stdin {
            channel
                .data_bytes(input.clone())
                .await
                .map_err(|e| Error::Transient(format!("host {name}: {e}")))?;
        }
        channel.eof().await.map_err(|e| Error::Transient(format!("host {name}: {e}")))?;
        let mut output = Output::default();
        let mut channel = channel;
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, .. } => output.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => output.status = Some(exit_status),
                _ => {}
            }
        }
        let _ = session.disconnect(Disconnect::ByApplication, "", "en").await;
        Ok(output)
    }

    /// Runs `command` and requires it to succeed; its failure names the host and the command.
    pub async fn must(&self, name: &str, command: &Command) -> Result<Output> {
        let output = self.run(name, command).await?;
        if output.ok() {
            return Ok(output);
        }
        Err(Error::Failed(format!(
            "host {name}: `{}` ended with {}: {}",
            command.line,
            output.status.map_or("no status".to_owned(), |s| s.to_string()),
            output.stderr_line()
        )))
    }

    /// Signs in to every host and runs `true`: what `vigil connectors check` reports.
    pub async fn check(&self) -> Result<Value> {
        let mut hosts = serde_json::Map::new();
        let probe = Command::new("true", &[])?;
        for name in self.settings.hosts.keys() {
            self.must(name, &probe).await?;
            hosts.insert(name.clone(), json!("ok"));
        }
        Ok(json!({"hosts": hosts, "management": self.settings.management.to_string()}))
    }
}

/// Vigil's private key from its OpenSSH text (Ed25519 or ECDSA, not encrypted).
pub fn private_key(text: &str) -> Result<Arc<PrivateKey>> {
    russh::keys::decode_secret_key(text, None)
        .map(Arc::new)
        .map_err(|e| Error::Failed(format!("the SSH private key cannot be read: {e}")))
}

/// The host a request's target names.
pub(crate) fn target_host(request: &vigil_model::ActionRequest) -> Result<&str> {
    request
        .target
        .as_ref()
        .map(|t| &*t.key)
        .ok_or_else(|| Error::Failed(format!("{} needs a host target", request.action)))
}

/// `nft -j` output's objects of one kind (`table`, `chain`, `rule`, `set`).
pub(crate) fn nft_objects<'a>(json: &'a Value, kind: &str) -> Vec<&'a Value> {
    json["nftables"].as_array().into_iter().flatten().filter_map(|o| o.get(kind)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_with_a_shell_character_never_reaches_a_host() {
        assert_eq!(Command::new("kill", &["-KILL", "4242"]).expect("plain").line(), "kill -KILL 4242");
        for bad in ["4242; reboot", "$(id)", "a b", "`x`", "a|b", "a&b", "a>b", "", "'q'", "x\ny"] {
            assert!(Command::new("kill", &[bad]).is_err(), "{bad:?}");
        }
        assert!(Command::new("rm -rf", &[]).is_err(), "the program is checked too");
    }
}
