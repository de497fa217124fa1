//! Cases kept up to date as alerts arrive. Every new alert re-clusters the open alerts (the
//! same clustering `vigil hunt` uses); a case keeps the id it was first given, whatever alerts
//! join it later, and a case absorbed into another is named so it can be closed as a duplicate.

use std::collections::{HashMap, HashSet};

use vigil_correlate::{Alert, Case, ClusterConfig, cluster};

/// What one batch of alerts changed.
#[derive(Debug)]
pub struct CaseUpdate {
    /// The case as it now stands, under its stable id.
    pub case: Case,
    /// The ids of the alerts that joined it in this batch.
    pub new_alerts: Vec<String>,
    /// Whether the case is new.
    pub created: bool,
    /// Cases that this one now contains, which should close as duplicates of it.
    pub absorbed: Vec<String>,
}

pub struct LiveCases {
    config: ClusterConfig,
    /// Alerts still able to join a case: those of cases active within the window.
    open: Vec<Alert>,
    seen: HashSet<String>,
    /// Alert id → the stable id of its case.
    home: HashMap<String, String>,
    /// Stable case id → the order it was created in (the older case keeps its id on a merge).
    born: HashMap<String, u64>,
}

impl LiveCases {
    pub fn new(config: ClusterConfig) -> LiveCases {
        LiveCases {
            config,
            open: Vec::new(),
            seen: HashSet::new(),
            home: HashMap::new(),
            born: HashMap::new(),
        }
    }

    /// Remembers alerts already filed under `case_id` (from the store, after a restart).
    pub fn restore(&mut self, case_id: &str, alerts: Vec<Alert>) {
        let order = self.born.len() as u64;
        self.born.entry(case_id.to_owned()).or_insert(order);
        for alert in alerts {
            if self.seen.insert(alert.id.clone()) {
                self.home.insert(alert.id.clone(), case_id.to_owned());
                self.open.push(alert);
            }
        }
    }

    pub fn open_alerts(&self) -> usize {
        self.open.len()
    }

    /// Files new alerts; returns every case they changed.
    pub fn add(&mut self, alerts: Vec<Alert>) -> Vec<CaseUpdate> {
        let mut fresh: HashSet<String> = HashSet::new();
        for alert in alerts {
            if self.seen.insert(alert.id.clone()) {
                fresh.insert(alert.id.clone());
                self.open.push(alert);
            }
        }
        if fresh.is_empty() {
            return Vec::new();
        }
        let mut updates = Vec::new();
        for mut case in cluster(&self.open, &self.config) {
            let ids: Vec<&String> = case.alerts.iter().flat_map(|a| &a.ids).collect();
            let new_alerts: Vec<String> =
                ids.iter().filter(|id| fresh.contains(**id)).map(|id| (*id).clone()).collect();
            if new_alerts.is_empty() {
                continue;
            }
            let mut existing: Vec<&String> = ids.iter().filter_map(|id| self.home.get(*id)).collect();
            existing.sort_by_key(|c| (self.born.get(*c).copied().unwrap_or(u64::MAX), (*c).clone()));
            existing.dedup();
            let (stable, created) = match existing.first() {
                Some(id) => ((*id).clone(), false),
                None => (case.id.clone(), true),
            };
            let absorbed: Vec<String> = existing.iter().skip(1).map(|c| (*c).clone()).collect();
            let order = self.born.len() as u64;
            self.born.entry(stable.clone()).or_insert(order);
            for id in &ids {
                self.home.insert((*id).clone(), stable.clone());
            }
            case.id = stable;
            updates.push(CaseUpdate { case, new_alerts, created, absorbed });
        }
        self.prune();
        updates
    }

    /// Forgets alerts of cases quiet for longer than the window: no new alert can join them.
    fn prune(&mut self) {
        let Some(latest) = self.open.iter().map(|a| a.time).max() else { return };
        let mut last_seen: HashMap<&str, i64> = HashMap::new();
        for alert in &self.open {
            if let Some(case) = self.home.get(&alert.id) {
                let t = last_seen.entry(case).or_insert(alert.time);
                *t = (*t).max(alert.time);
            }
        }
        let quiet: HashSet<String> = last_seen
            .into_iter()
            .filter(|(_, t)| *t < latest - self.config.window_ms)
            .map(|(c, _)| c.to_owned())
            .collect();
        if quiet.is_empty() {
            return;
        }
        let home = &self.home;
        self.open.retain(|a| home.get(&a.id).is_none_or(|c| !quiet.contains(c)));
    }
}

#[cfg(test)]
mod tests {
    use vigil_correlate::{Evidence, RuleRef};
    use vigil_model::{Entity, EntityKind, Severity};

    use super::*;

    fn alert(id: &str, time: i64, host: &str, user: &str) -> Alert {
        Alert {
            id: id.into(),
            rule: RuleRef {
                id: format!("rule-{id}"),
                title: format!("rule {id}"),
                level: Severity::High,
                tags: Vec::new(),
                author: None,
                license: String::new(),
            },
            time,
            entities: [Entity::new(EntityKind::Host, host), Entity::new(EntityKind::User, user)]
                .into_iter()
                .flatten()
                .collect(),
            aliases: Vec::new(),
            evidence: vec![Evidence {
                event_uid: format!("ev-{id}"),
                time,
                source: "test".into(),
                class_name: "Process Activity".into(),
                summary: None,
            }],
            summary: None,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn a_case_keeps_its_id_as_alerts_join() {
        let mut live = LiveCases::new(ClusterConfig::default());
        let first = live.add(vec![alert("a1", 0, "ws-12", "alice")]);
        assert_eq!(first.len(), 1);
        assert!(first[0].created);
        let id = first[0].case.id.clone();
        let second = live.add(vec![alert("a2", 5 * MIN, "ws-12", "alice")]);
        assert_eq!(second.len(), 1);
        assert!(!second[0].created);
        assert_eq!(second[0].case.id, id);
        assert_eq!(second[0].new_alerts, ["a2"]);
        assert_eq!(second[0].case.alert_count(), 2);
        // The same alert again changes nothing.
        assert!(live.add(vec![alert("a2", 5 * MIN, "ws-12", "alice")]).is_empty());
    }

    #[test]
    fn a_bridging_alert_merges_cases_into_the_older() {
        let mut live = LiveCases::new(ClusterConfig::default());
        let a = live.add(vec![alert("a1", 0, "ws-12", "alice")]).remove(0).case.id;
        let b = live.add(vec![alert("b1", MIN, "db-01", "bob")]).remove(0).case.id;
        assert_ne!(a, b);
        let merged = live.add(vec![alert("c1", 2 * MIN, "ws-12", "bob")]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].case.id, a);
        assert_eq!(merged[0].absorbed, [b]);
    }

    #[test]
    fn quiet_cases_are_forgotten_but_keep_their_alerts_filed() {
        let mut live = LiveCases::new(ClusterConfig::default());
        live.add(vec![alert("a1", 0, "ws-12", "alice")]);
        let day = 24 * 60 * MIN;
        live.add(vec![alert("z1", 3 * day, "ws-99", "zed")]);
        assert_eq!(live.open_alerts(), 1);
        // A late copy of a filed alert is still recognised.
        assert!(live.add(vec![alert("a1", 0, "ws-12", "alice")]).is_empty());
    }
}
