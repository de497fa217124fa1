//! The things alerts are about: users, hosts, processes, addresses, cloud accounts and
//! principals, keys, repositories, services, file hashes, email addresses and rules. An entity
//! is its kind and a canonical key, so two alerts naming the same thing in different spellings
//! (`WS-12.corp.example` and `ws-12`) name the same entity.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    User,
    Host,
    Process,
    Ip,
    CloudAccount,
    CloudPrincipal,
    AccessKey,
    Repository,
    Service,
    FileHash,
    Email,
    Rule,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Host => "host",
            EntityKind::Process => "process",
            EntityKind::Ip => "ip",
            EntityKind::CloudAccount => "cloud_account",
            EntityKind::CloudPrincipal => "cloud_principal",
            EntityKind::AccessKey => "access_key",
            EntityKind::Repository => "repository",
            EntityKind::Service => "service",
            EntityKind::FileHash => "file_hash",
            EntityKind::Email => "email",
            EntityKind::Rule => "rule",
        }
    }
}

/// One entity: its kind and canonical key (see [`Entity::new`]). The key is shared, not copied:
/// a case, its folded alerts, their merges and clustering's maps all name the same few hosts and
/// users, and a million alerts must not hold a million copies of `corp\\alice`.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Entity {
    pub kind: EntityKind,
    pub key: Arc<str>,
}

impl Entity {
    /// The entity of `kind` named `name`, with its key made canonical: lowercased and trimmed;
    /// a host by its short name (`ws-12.corp.example` is `ws-12`) unless it is an address; a
    /// user as `domain\name`, `name@domain` or a SID as given.
    pub fn new(kind: EntityKind, name: &str) -> Option<Entity> {
        let name = name.trim();
        if name.is_empty() || name == "-" {
            return None;
        }
        let mut key = name.to_lowercase();
        if kind == EntityKind::Host && key.parse::<std::net::IpAddr>().is_err() {
            key = key.split('.').next().unwrap_or(&key).to_owned();
        }
        if kind == EntityKind::Ip {
            // `::ffff:10.0.0.1` is `10.0.0.1`.
            if let Some(v4) = key.strip_prefix("::ffff:").filter(|v| v.parse::<std::net::Ipv4Addr>().is_ok())
            {
                key = v4.to_owned();
            }
        }
        (!key.is_empty()).then(|| Entity { kind, key: key.into() })
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_thing_are_one_entity() {
        assert_eq!(
            Entity::new(EntityKind::Host, "WS-12.corp.example"),
            Entity::new(EntityKind::Host, "ws-12")
        );
        assert_eq!(Entity::new(EntityKind::Host, "10.0.0.5").map(|e| e.key).as_deref(), Some("10.0.0.5"));
        assert_eq!(
            Entity::new(EntityKind::User, "CORP\\Alice"),
            Entity::new(EntityKind::User, "corp\\alice")
        );
        assert_eq!(Entity::new(EntityKind::Ip, "::ffff:10.0.0.1"), Entity::new(EntityKind::Ip, "10.0.0.1"));
        assert_eq!(Entity::new(EntityKind::User, " - "), None);
    }
}
