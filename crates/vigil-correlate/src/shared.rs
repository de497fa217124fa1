//! One copy of each rule and entity key among the alerts a long-lived holder keeps. Alerts
//! decoded from the store, or raised one by one, each bring their own copies; a million alerts
//! of a few hundred rules about a few thousand hosts and users need only those few hundred rules
//! and few thousand keys.

use std::collections::HashSet;
use std::sync::Arc;

use vigil_model::Entity;

use crate::alert::{Alert, RuleRef};

#[derive(Debug, Default)]
pub struct Shared {
    rules: HashSet<Arc<RuleRef>>,
    keys: HashSet<Arc<str>>,
}

impl Shared {
    /// `alert` with its rule and entity keys replaced by the copies already held, if equal.
    pub fn alert(&mut self, mut alert: Alert) -> Alert {
        alert.rule = self.rule(alert.rule);
        for entity in &mut alert.entities {
            self.entity(entity);
        }
        for (a, b) in &mut alert.aliases {
            self.entity(a);
            self.entity(b);
        }
        alert
    }

    fn rule(&mut self, rule: Arc<RuleRef>) -> Arc<RuleRef> {
        match self.rules.get(&rule) {
            Some(held) => held.clone(),
            None => {
                self.rules.insert(rule.clone());
                rule
            }
        }
    }

    fn entity(&mut self, entity: &mut Entity) {
        match self.keys.get(&*entity.key) {
            Some(held) => entity.key = held.clone(),
            None => {
                self.keys.insert(entity.key.clone());
            }
        }
    }

    /// Drops the copies no alert names any more.
    pub fn forget_unused(&mut self) {
        self.rules.retain(|r| Arc::strong_count(r) > 1);
        self.keys.retain(|k| Arc::strong_count(k) > 1);
    }

    /// How many distinct rules and keys are held.
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        (self.rules.len(), self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use vigil_model::{EntityKind, Severity};

    use super::*;

    fn alert(id: &str, rule: &str, host: &str) -> Alert {
        Alert {
            tenant: None,
            id: id.into(),
            rule: Arc::new(RuleRef {
                id: rule.into(),
                title: format!("rule {rule}"),
                level: Severity::High,
                tags: Vec::new(),
                author: None,
                license: String::new(),
            }),
            time: 0,
            entities: vec![Entity::new(EntityKind::Host, host).expect("host")],
            aliases: Vec::new(),
            evidence: Vec::new(),
            summary: None,
        }
    }

    #[test]
    fn equal_rules_and_keys_are_one_copy_and_forgotten_once_unused() {
        let mut shared = Shared::default();
        let a = shared.alert(alert("a1", "r1", "ws-1"));
        let b = shared.alert(alert("a2", "r1", "WS-1.corp.example"));
        let c = shared.alert(alert("a3", "r2", "ws-2"));
        assert!(Arc::ptr_eq(&a.rule, &b.rule));
        assert!(Arc::ptr_eq(&a.entities[0].key, &b.entities[0].key));
        assert!(!Arc::ptr_eq(&a.rule, &c.rule));
        assert_eq!(shared.held(), (2, 2));
        drop(c);
        shared.forget_unused();
        assert_eq!(shared.held(), (1, 1));
    }

    #[test]
    fn a_rule_edited_under_the_same_id_is_not_shared_with_its_old_version() {
        let mut shared = Shared::default();
        let old = shared.alert(alert("a1", "r1", "ws-1"));
        let mut edited = alert("a2", "r1", "ws-1");
        Arc::make_mut(&mut edited.rule).title = "renamed".into();
        let edited = shared.alert(edited);
        assert_eq!(edited.rule.title, "renamed");
        assert!(!Arc::ptr_eq(&old.rule, &edited.rule));
    }
}
