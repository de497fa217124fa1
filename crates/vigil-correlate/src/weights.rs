//! How much sharing an entity says two alerts belong together. A rare user or host says a lot; a
//! domain controller, `SYSTEM` or a NAT address that appears everywhere says little, and must not
//! glue unrelated incidents together.

use std::collections::HashMap;
use std::net::IpAddr;

use vigil_model::{Entity, EntityKind, address};

/// What sharing each entity weighs in one clustering. Only entities that two or more alerts name
/// and that weigh something are held (rarity changes nothing else); any other weighs its base.
pub(crate) struct Weights {
    shared: HashMap<Entity, f64>,
}

impl Weights {
    pub fn new(shared: HashMap<Entity, f64>) -> Weights {
        Weights { shared }
    }

    pub fn of(&self, entity: &Entity) -> f64 {
        self.shared.get(entity).copied().unwrap_or_else(|| base(entity))
    }
}

/// What an entity of this kind and key is worth before its rarity is counted.
pub fn base(entity: &Entity) -> f64 {
    match entity.kind {
        EntityKind::Rule => 0.0,
        EntityKind::User if address::is_builtin_account(&entity.key) => 0.0,
        EntityKind::User => 1.0,
        EntityKind::Host => 1.0,
        EntityKind::Process => 1.0,
        EntityKind::FileHash => 1.0,
        EntityKind::AccessKey => 1.0,
        EntityKind::CloudPrincipal => 1.0,
        EntityKind::Email => 1.0,
        EntityKind::Repository => 0.7,
        EntityKind::CloudAccount => 0.4,
        EntityKind::Service => 0.2,
        EntityKind::Ip => match entity.key.parse::<IpAddr>() {
            Ok(ip) if address::is_local(ip) => 0.0,
            Ok(ip) if address::is_private(ip) => 0.4,
            Ok(_) => 1.0,
            Err(_) => 0.0,
        },
    }
}

/// An entity seen with at most `limit` distinct identities keeps its whole weight; beyond that,
/// it shrinks in proportion (seen with twice as many, half the weight).
pub fn rarity(partners: usize, limit: usize) -> f64 {
    if partners <= limit { 1.0 } else { limit as f64 / partners as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: EntityKind, key: &str) -> Entity {
        Entity::new(kind, key).expect("entity")
    }

    #[test]
    fn builtin_accounts_loopback_and_rules_weigh_nothing_and_private_addresses_little() {
        assert_eq!(base(&e(EntityKind::User, "NT AUTHORITY\\SYSTEM")), 0.0);
        assert_eq!(base(&e(EntityKind::User, "system")), 0.0);
        assert_eq!(base(&e(EntityKind::Ip, "127.0.0.1")), 0.0);
        assert_eq!(base(&e(EntityKind::Ip, "fe80::1")), 0.0);
        assert!(base(&e(EntityKind::Ip, "10.0.2.15")) < 0.5);
        assert_eq!(base(&e(EntityKind::Ip, "198.51.100.7")), 1.0);
        assert_eq!(base(&e(EntityKind::User, "corp\\alice")), 1.0);
        assert_eq!(base(&e(EntityKind::Rule, "r1")), 0.0);
    }

    #[test]
    fn rarity_halves_when_an_entity_is_seen_with_twice_the_identities_of_the_limit() {
        assert_eq!(rarity(5, 10), 1.0);
        assert_eq!(rarity(20, 10), 0.5);
    }
}
