//! The directory connector: Vigil's connection to an LDAP directory (OpenLDAP with the ppolicy
//! overlay, or Active Directory), the lookups its actions share, and what the directory's
//! answers mean for a run. Every operation binds as Vigil's service account over TLS (LDAPS or
//! StartTLS, the server's certificate checked against the configured CA); a plain connection is
//! made only when the configuration says `plain` in so many words. Case data reaches the
//! directory only as an escaped filter value or a DN the directory itself returned.

mod accounts;
mod groups;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry, ldap_escape};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use vigil_model::ActionRequest;

use crate::{Error, Result};

pub use accounts::AccountAction;
pub use groups::RemovePrivilegedGroups;

/// Which directory's account model the actions speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenLDAP with the ppolicy overlay: `pwdAccountLockedTime`, `pwdReset`; accounts by
    /// `uid` or `mail`.
    OpenLdap,
    /// Active Directory: `userAccountControl`, `pwdLastSet`; accounts by `sAMAccountName` or
    /// `userPrincipalName`.
    ActiveDirectory,
}

impl Dialect {
    pub fn parse(name: &str) -> Option<Dialect> {
        match name {
            "openldap" => Some(Dialect::OpenLdap),
            "active_directory" | "ad" => Some(Dialect::ActiveDirectory),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::OpenLdap => "openldap",
            Dialect::ActiveDirectory => "active_directory",
        }
    }

    fn account_attributes(self) -> [&'static str; 2] {
        match self {
            Dialect::OpenLdap => ["uid", "mail"],
            Dialect::ActiveDirectory => ["sAMAccountName", "userPrincipalName"],
        }
    }
}

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with StartTLS before the bind.
    StartTls,
    /// `ldap://` in the clear: only when the configuration asks for it by name.
    Plain,
}

impl Transport {
    pub fn parse(name: &str) -> Option<Transport> {
        match name {
            "ldaps" => Some(Transport::Ldaps),
            "starttls" => Some(Transport::StartTls),
            "plain" => Some(Transport::Plain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ldaps => "ldaps",
            Transport::StartTls => "starttls",
            Transport::Plain => "plain",
        }
    }
}

/// What a site configures: where the directory is and how Vigil signs in to it.
#[derive(Clone)]
pub struct DirectorySettings {
    /// `ldap://host:port` (StartTLS or plain) or `ldaps://host:port`.
    pub url: String,
    pub transport: Transport,
    /// The PEM file of the CA that signed the directory's certificate; the system's roots
    /// when `None`.
    pub ca_file: Option<std::path::PathBuf>,
    pub bind_dn: String,
    pub password: String,
    /// Where accounts are looked up.
    pub base_dn: String,
    pub dialect: Dialect,
    /// The DNs of the groups `remove_privileged_groups` takes an account out of.
    pub privileged_groups: Vec<String>,
    /// The longest any one connection, bind or operation may take.
    pub timeout: Duration,
}

/// A configured directory, shared by its actions.
pub struct Directory {
    settings: DirectorySettings,
    tls: Arc<rustls::ClientConfig>,
    host: String,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Directory")
            .field("host", &self.host)
            .field("transport", &self.settings.transport)
            .field("dialect", &self.settings.dialect)
            .finish_non_exhaustive()
    }
}

/// An account as the directory holds it: its DN and the attributes the actions read.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<String>>,
}

impl Account {
    /// The first value of `name`, matched without regard to case as LDAP does.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// The attributes an account is read with: what the actions change, for both dialects.
const ACCOUNT_STATE: [&str; 4] = ["pwdAccountLockedTime", "pwdReset", "userAccountControl", "pwdLastSet"];

impl Directory {
    pub fn new(settings: DirectorySettings) -> Result<Directory> {
        let scheme_ok = match settings.transport {
            Transport::Ldaps => settings.url.starts_with("ldaps://"),
            Transport::StartTls | Transport::Plain => settings.url.starts_with("ldap://"),
        };
        if !scheme_ok {
            return Err(Error::Failed(format!(
                "directory url: {} takes {}, not {:?}",
                settings.transport.as_str(),
                if settings.transport == Transport::Ldaps { "ldaps://host:port" } else { "ldap://host:port" },
                settings.url
            )));
        }
        let host = settings.url.split("://").nth(1).unwrap_or_default().trim_end_matches('/').to_owned();
        if host.is_empty() || settings.bind_dn.is_empty() || settings.base_dn.is_empty() {
            return Err(Error::Failed("directory: a url with a host, a bind_dn and a base_dn".into()));
        }
        let tls = Arc::new(client_config(settings.ca_file.as_deref())?);
        Ok(Directory { settings, tls, host })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn dialect(&self) -> Dialect {
        self.settings.dialect
    }

    pub fn privileged_groups(&self) -> &[String] {
        &self.settings.privileged_groups
    }

    /// Where the actions say they act: the directory, its dialect and transport.
    fn system(&self) -> String {
        format!(
            "the {} directory at {} ({})",
            match self.settings.dialect {
                Dialect::OpenLdap => "OpenLDAP",
                Dialect::ActiveDirectory => "Active Directory",
            },
            self.host,
            self.settings.transport.as_str()
        )
    }

    /// A connection bound as Vigil's service account.
    async fn connect(&self) -> Result<Ldap> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.settings.timeout)
            .set_starttls(self.settings.transport == Transport::StartTls)
            .set_config(self.tls.clone());
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.settings.url)
            .await
            .map_err(|e| self.connection_error(e))?;
        ldap3::drive!(conn);
        ldap.with_timeout(self.settings.timeout)
            .simple_bind(&self.settings.bind_dn, &self.settings.password)
            .await
            .and_then(ldap3::LdapResult::success)
            .map_err(|e| match e {
                LdapError::LdapResult { result } if result.rc == 49 => Error::Failed(format!(
                    "the directory at {} refused Vigil's credentials (49 invalid credentials)",
                    self.host
                )),
                other => self.answer_error("binding", other),
            })?;
        Ok(ldap)
    }

    fn connection_error(&self, e: LdapError) -> Error {
        if let LdapError::Io { source } = &e
            && let Some(tls) = source.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Error::Failed(format!("the directory at {}: TLS refused: {tls}", self.host));
        }
        if let LdapError::LdapResult { result } = &e {
            return Error::Failed(format!("the directory at {} refused StartTLS ({})", self.host, result.rc));
        }
        Error::Transient(format!("the directory at {} could not be reached: {e}", self.host))
    }

    /// What an answer other than success means: busy or down is worth another attempt; a
    /// refusal is not.
    fn answer_error(&self, doing: &str, e: LdapError) -> Error {
        match e {
            LdapError::LdapResult { result } => {
                let why = format!(
                    "the directory at {} refused {doing}: {} ({}){}",
                    self.host,
                    result_name(result.rc),
                    result.rc,
                    if result.text.is_empty() { String::new() } else { format!(": {}", result.text) }
                );
                match result.rc {
                    // busy, unavailable, unwilling to perform (often a replica catching up)
                    51 | 52 => Error::Transient(why),
                    32 => Error::TargetGone(why),
                    _ => Error::Failed(why),
                }
            }
            LdapError::Timeout { .. } => {
                Error::Transient(format!("the directory at {} did not answer {doing} in time", self.host))
            }
            other => Error::Transient(format!("the directory at {} failed {doing}: {other}", self.host)),
        }
    }

    /// The one account the request's target names.
    pub async fn account(&self, request: &ActionRequest) -> Result<Account> {
        let key = account_key(request)?;
        let [a, b] = self.settings.dialect.account_attributes();
        let escaped = ldap_escape(key);
        let filter = format!("(|({a}={escaped})({b}={escaped}))");
        let mut ldap = self.connect().await?;
        let found = ldap
            .with_timeout(self.settings.timeout)
            .search(&self.settings.base_dn, Scope::Subtree, &filter, ACCOUNT_STATE.to_vec())
            .await
            .and_then(ldap3::SearchResult::success)
            .map_err(|e| self.answer_error("the account search", e));
        let _ = ldap.unbind().await;
        let (entries, _) = found?;
        let mut accounts: Vec<Account> = entries
            .into_iter()
            .map(|e| {
                let e = SearchEntry::construct(e);
                Account { dn: e.dn, attrs: e.attrs.into_iter().collect() }
            })
            .collect();
        match accounts.len() {
            0 => Err(Error::TargetGone(format!(
                "no account {key:?} under {} in {}",
                self.settings.base_dn,
                self.system()
            ))),
            1 => Ok(accounts.remove(0)),
            n => Err(Error::Failed(format!(
                "{n} accounts match {key:?} in {}: Vigil acts on one account only",
                self.system()
            ))),
        }
    }

    /// The account at `dn` as it is now.
    pub async fn read(&self, dn: &str) -> Result<Account> {
        let mut ldap = self.connect().await?;
        let found = ldap
            .with_timeout(self.settings.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", ACCOUNT_STATE.to_vec())
            .await
            .and_then(ldap3::SearchResult::success)
            .map_err(|e| self.answer_error("reading the account", e));
        let _ = ldap.unbind().await;
        let (mut entries, _) = found?;
        let entry = entries
            .pop()
            .ok_or_else(|| Error::TargetGone(format!("the account {dn} is gone from {}", self.system())))?;
        let e = SearchEntry::construct(entry);
        Ok(Account { dn: e.dn, attrs: e.attrs.into_iter().collect() })
    }

    /// Which of the privileged groups list `member` as a member now.
    pub async fn groups_of(&self, member: &str) -> Result<Vec<String>> {
        let mut ldap = self.connect().await?;
        let filter = format!("(member={})", ldap_escape(member));
        let mut found = Vec::new();
        for group in &self.settings.privileged_groups {
            let answer = ldap
                .with_timeout(self.settings.timeout)
                .search(group, Scope::Base, &filter, vec!["1.1"])
                .await
                .and_then(ldap3::SearchResult::success);
            match answer {
                Ok((entries, _)) if !entries.is_empty() => found.push(group.clone()),
                Ok(_) => {}
                Err(LdapError::LdapResult { result }) if result.rc == 32 => {
                    let _ = ldap.unbind().await;
                    return Err(Error::Failed(format!(
                        "the privileged group {group} does not exist in {}",
                        self.system()
                    )));
                }
                Err(e) => {
                    let _ = ldap.unbind().await;
                    return Err(self.answer_error("the group search", e));
                }
            }
        }
        let _ = ldap.unbind().await;
        Ok(found)
    }

    /// Applies `mods` to `dn`, each change in one modify operation, in order.
    async fn modify(&self, dn: &str, mods: Vec<Mod<String>>) -> Result<()> {
        let mut ldap = self.connect().await?;
        let done = ldap
            .with_timeout(self.settings.timeout)
            .modify(dn, mods)
            .await
            .and_then(ldap3::LdapResult::success)
            .map(drop)
            .map_err(|e| self.answer_error(&format!("the change to {dn}"), e));
        let _ = ldap.unbind().await;
        done
    }

    /// Changes each group's membership of `member` (added or removed), one group at a time:
    /// the groups done before one fails, and the error.
    async fn change_memberships(
        &self,
        member: &str,
        groups: &[String],
        add: bool,
    ) -> std::result::Result<(), (Vec<String>, Error)> {
        let mut ldap = self.connect().await.map_err(|e| (Vec::new(), e))?;
        let mut done = Vec::new();
        for group in groups {
            let values = HashSet::from([member.to_owned()]);
            let change = if add {
                Mod::Add("member".to_owned(), values)
            } else {
                Mod::Delete("member".to_owned(), values)
            };
            let answer =
                ldap.with_timeout(self.settings.timeout).modify(group, vec![change]).await.and_then(|r| {
                    // Already a member (20) or already not (16): the change is there.
                    if r.rc == 0 || (add && r.rc == 20) || (!add && r.rc == 16) { Ok(r) } else { r.success() }
                });
            if let Err(e) = answer {
                let _ = ldap.unbind().await;
                let doing = format!(
                    "{} {member} {} {group}",
                    if add { "adding" } else { "removing" },
                    if add { "to" } else { "from" }
                );
                return Err((done, self.answer_error(&doing, e)));
            }
            done.push(group.clone());
        }
        let _ = ldap.unbind().await;
        Ok(())
    }

    /// Reads what `vigil connectors check` reports: the service account binds and the base
    /// DN answers. Changes nothing.
    pub async fn check(&self) -> Result<Value> {
        let mut ldap = self.connect().await?;
        let answer = ldap
            .with_timeout(self.settings.timeout)
            .search(&self.settings.base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .and_then(ldap3::SearchResult::success)
            .map_err(|e| self.answer_error("reading the base DN", e));
        let _ = ldap.unbind().await;
        answer?;
        let mut missing = Vec::new();
        for group in &self.settings.privileged_groups {
            let mut ldap = self.connect().await?;
            let found = ldap
                .with_timeout(self.settings.timeout)
                .search(group, Scope::Base, "(objectClass=*)", vec!["1.1"])
                .await
                .and_then(ldap3::SearchResult::success);
            let _ = ldap.unbind().await;
            if found.is_err() {
                missing.push(group.clone());
            }
        }
        if !missing.is_empty() {
            return Err(Error::Failed(format!("privileged groups not found: {}", missing.join("; "))));
        }
        Ok(json!({"host": self.host, "dialect": self.settings.dialect.as_str(),
                  "transport": self.settings.transport.as_str(),
                  "privileged_groups": self.settings.privileged_groups.len()}))
    }
}

/// The TLS client configuration: the CA file's certificates, or the system's roots.
fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::Failed(format!("directory ca_file {}: {e}", path.display())))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Failed(format!("directory ca_file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(Error::Failed(format!(
                    "directory ca_file {}: no certificate in it",
                    path.display()
                )));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| Error::Failed(format!("directory ca_file {}: {e}", path.display())))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                return Err(Error::Failed(
                    "directory: the system has no CA certificates; name the directory's CA in ca_file".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Failed(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The account name the target gives: `DOMAIN\name` is looked up as `name`; the name is held
/// to what an account name can be before it goes anywhere near the directory.
fn account_key(request: &ActionRequest) -> Result<&str> {
    let target = request
        .target
        .as_ref()
        .filter(|t| t.kind == vigil_model::EntityKind::User)
        .ok_or_else(|| Error::Failed(format!("{} needs a user as its target", request.action)))?;
    let key = target.key.rsplit('\\').next().unwrap_or(&target.key);
    if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
        return Err(Error::Failed(format!("{:?} is not an account name", target.key)));
    }
    Ok(key)
}

/// LDAP result codes by their RFC 4511 names, for people reading a run.
fn result_name(rc: u32) -> &'static str {
    match rc {
        16 => "no such attribute",
        19 => "constraint violation",
        20 => "attribute or value exists",
        32 => "no such object",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwilling to perform",
        65 => "object class violation",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{Entity, EntityKind};

    fn request(kind: EntityKind, key: &str) -> ActionRequest {
        ActionRequest {
            action: "disable_account".into(),
            target: Some(Entity { kind, key: key.into() }),
            parameters: Default::default(),
            case: None,
            requested_by: vigil_model::Requester::Person("rita".into()),
            plan_sha256: None,
        }
    }

    #[test]
    fn an_account_is_named_by_its_user_target_without_the_domain() {
        assert_eq!(account_key(&request(EntityKind::User, "corp\\alice")).ok(), Some("alice"));
        assert_eq!(
            account_key(&request(EntityKind::User, "alice@corp.example")).ok(),
            Some("alice@corp.example")
        );
        assert!(account_key(&request(EntityKind::Host, "ws-12")).is_err());
        assert!(account_key(&request(EntityKind::User, "a\u{0}b")).is_err());
    }

    #[test]
    fn a_plain_connection_is_only_made_when_asked_for_and_the_url_must_say_the_same() {
        let settings = |url: &str, transport| DirectorySettings {
            url: url.into(),
            transport,
            ca_file: None,
            bind_dn: "cn=vigil".into(),
            password: "pw".into(),
            base_dn: "dc=x".into(),
            dialect: Dialect::OpenLdap,
            privileged_groups: vec![],
            timeout: Duration::from_secs(1),
        };
        assert!(Directory::new(settings("ldaps://dc1:636", Transport::StartTls)).is_err());
        assert!(Directory::new(settings("ldap://dc1:389", Transport::Ldaps)).is_err());
        assert_eq!(Transport::parse("plain"), Some(Transport::Plain));
        assert_eq!(Transport::parse("none"), None);
    }

    #[test]
    fn an_empty_ca_file_is_refused_and_named() {
        let dir = tempfile::tempdir().expect("dir");
        let ca = dir.path().join("empty.pem");
        std::fs::write(&ca, "").expect("write");
        let made = Directory::new(DirectorySettings {
            url: "ldap://dc1:389".into(),
            transport: Transport::Plain,
            ca_file: Some(ca),
            bind_dn: "cn=vigil".into(),
            password: "hunter2-secret".into(),
            base_dn: "dc=x".into(),
            dialect: Dialect::OpenLdap,
            privileged_groups: vec![],
            timeout: Duration::from_secs(1),
        });
        assert!(made.err().is_some_and(|e| e.to_string().contains("empty.pem: no certificate")));
    }
}
