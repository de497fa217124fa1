//! Who owns a case's assets, read from the asset inventory the engine runs with now (reloaded
//! with the rules): what `notify_email` mails besides the on-call address.

use std::sync::{Arc, Mutex, PoisonError};

use vigil_model::{Entity, EntityKind};
use vigil_respond::connectors::Owners;
use vigil_triage::context::Context;

pub struct InventoryOwners {
    context: Arc<Mutex<Arc<Context>>>,
}

impl InventoryOwners {
    pub fn new(context: Arc<Mutex<Arc<Context>>>) -> InventoryOwners {
        InventoryOwners { context }
    }
}

impl Owners for InventoryOwners {
    fn owners(&self, entities: &[Entity]) -> Vec<(Entity, String)> {
        let context = Arc::clone(&self.context.lock().unwrap_or_else(PoisonError::into_inner));
        let Some(assets) = context.assets.as_ref() else { return Vec::new() };
        entities
            .iter()
            .filter(|e| e.kind == EntityKind::Host)
            .filter_map(|e| {
                let owner = assets.entries.get(&*e.key)?.owner.as_ref()?;
                Some((e.clone(), owner.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosts_owner_comes_from_the_asset_inventory_and_other_entities_have_none() {
        let mut context = Context::default();
        context
            .load_assets(
                "assets.yml",
                "as_of: 2026-11-30T00:00:00Z\nassets:\n  WS-12.corp.example: {owner: alice@corp.example}\n  db-1: {criticality: high}\n",
            )
            .expect("assets");
        let owners = InventoryOwners::new(Arc::new(Mutex::new(Arc::new(context))));
        let host = |k: &str| Entity { kind: EntityKind::Host, key: k.into() };
        let user = Entity { kind: EntityKind::User, key: "ws-12".into() };
        assert_eq!(
            owners.owners(&[host("ws-12"), host("db-1"), user]),
            vec![(host("ws-12"), "alice@corp.example".to_owned())]
        );
    }
}
