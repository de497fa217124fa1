//! Cases kept up to date as alerts arrive. Every new alert re-clusters the alerts still able to
//! join a case (the same clustering `vigil hunt` uses); a case keeps the id it was first given,
//! whatever alerts join it later, and a case absorbed into another is named so it can be closed
//! as a duplicate. Memory is bounded by the clustering window: a case quiet for longer than it
//! is forgotten whole (its alerts, their homes, its birth order); the store remembers it.

use std::collections::{HashMap, HashSet};

use vigil_correlate::{Alert, Case, ClusterConfig, cluster};
use vigil_model::{AlertId, CaseId};

/// What one batch of alerts changed.
#[derive(Debug)]
pub struct CaseUpdate {
    /// The case as it now stands, under its stable id.
    pub case: Case,
    /// The alerts that joined it in this batch, whole, as they were raised (aliases included):
    /// what the store keeps, so a restart clusters exactly as the live engine did.
    pub new_alerts: Vec<Alert>,
    /// Whether the case is new.
    pub created: bool,
    /// Cases that this one now contains, which should close as duplicates of it.
    pub absorbed: Vec<CaseId>,
}

/// How much a [`LiveCases`] holds, for the status API and the bench.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    pub alerts: usize,
    pub cases: usize,
    /// The alerts of the largest case held.
    pub largest_case: usize,
    /// How far (ms of event time) the oldest alert held lies behind the newest.
    pub span_ms: i64,
}

pub struct LiveCases {
    config: ClusterConfig,
    /// Alerts still able to join a case: those of cases active within the window.
    open: Vec<Alert>,
    /// Alert id → the stable id of its case, for the alerts in `open`.
    home: HashMap<AlertId, CaseId>,
    /// Stable case id → the order it was created in (the older case keeps its id on a merge),
    /// for the cases that have an alert in `open`.
    born: HashMap<CaseId, u64>,
    next_order: u64,
}

impl LiveCases {
    pub fn new(config: ClusterConfig) -> LiveCases {
        LiveCases { config, open: Vec::new(), home: HashMap::new(), born: HashMap::new(), next_order: 0 }
    }

    /// Remembers alerts already filed under `case_id` (from the store, after a restart). Cases
    /// must be restored oldest first, so a merge keeps the id it kept before the restart.
    pub fn restore(&mut self, case_id: &CaseId, alerts: Vec<Alert>) {
        self.born_order(case_id);
        for alert in alerts {
            if !self.home.contains_key(&alert.id) {
                self.home.insert(alert.id.clone(), case_id.clone());
                self.open.push(alert);
            }
        }
    }

    /// Ends a restore: forgets what the live engine would already have forgotten.
    pub fn restored(&mut self) {
        self.prune();
    }

    pub fn held(&self) -> Held {
        let mut per_case: HashMap<&CaseId, usize> = HashMap::new();
        for alert in &self.open {
            if let Some(case) = self.home.get(&alert.id) {
                *per_case.entry(case).or_default() += 1;
            }
        }
        let (oldest, newest) =
            self.open.iter().fold((i64::MAX, i64::MIN), |(lo, hi), a| (lo.min(a.time), hi.max(a.time)));
        Held {
            alerts: self.open.len(),
            cases: self.born.len(),
            largest_case: per_case.values().copied().max().unwrap_or(0),
            span_ms: if self.open.is_empty() { 0 } else { newest - oldest },
        }
    }

    fn born_order(&mut self, case_id: &CaseId) {
        if !self.born.contains_key(case_id) {
            self.born.insert(case_id.clone(), self.next_order);
            self.next_order += 1;
        }
    }

    /// Files new alerts; returns every case they changed. An alert already held is ignored;
    /// one the engine has forgotten is the caller's to recognise (the store knows it).
    pub fn add(&mut self, alerts: Vec<Alert>) -> Vec<CaseUpdate> {
        let mut fresh: HashMap<AlertId, Alert> = HashMap::new();
        for alert in alerts {
            if !self.home.contains_key(&alert.id) && !fresh.contains_key(&alert.id) {
                fresh.insert(alert.id.clone(), alert.clone());
                self.open.push(alert);
            }
        }
        if fresh.is_empty() {
            return Vec::new();
        }
        let mut updates = Vec::new();
        for mut case in cluster(&self.open, &self.config) {
            let ids: Vec<&AlertId> = case.alerts.iter().flat_map(|a| &a.ids).collect();
            let mut new_alerts: Vec<Alert> = ids.iter().filter_map(|id| fresh.get(*id).cloned()).collect();
            if new_alerts.is_empty() {
                continue;
            }
            new_alerts.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
            let mut existing: Vec<&CaseId> = ids.iter().filter_map(|id| self.home.get(*id)).collect();
            existing.sort_by_key(|c| (self.born.get(*c).copied().unwrap_or(u64::MAX), (*c).clone()));
            existing.dedup();
            let (stable, created) = match existing.first() {
                Some(id) => ((*id).clone(), false),
                None => (case.id.clone(), true),
            };
            let absorbed: Vec<CaseId> = existing.iter().skip(1).map(|c| (*c).clone()).collect();
            self.born_order(&stable);
            for id in &ids {
                self.home.insert((*id).clone(), stable.clone());
            }
            case.id = stable;
            updates.push(CaseUpdate { case, new_alerts, created, absorbed });
        }
        self.prune();
        updates
    }

    /// Forgets cases quiet for longer than the window, whole: no new alert can join them.
    fn prune(&mut self) {
        let Some(latest) = self.open.iter().map(|a| a.time).max() else { return };
        let mut last_seen: HashMap<&CaseId, i64> = HashMap::new();
        for alert in &self.open {
            if let Some(case) = self.home.get(&alert.id) {
                let t = last_seen.entry(case).or_insert(alert.time);
                *t = (*t).max(alert.time);
            }
        }
        let active: HashSet<CaseId> = last_seen
            .into_iter()
            .filter(|(_, t)| *t >= latest - self.config.window_ms)
            .map(|(c, _)| c.clone())
            .collect();
        let home = &mut self.home;
        self.open.retain(|a| {
            let keep = home.get(&a.id).is_some_and(|c| active.contains(c));
            if !keep {
                home.remove(&a.id);
            }
            keep
        });
        self.born.retain(|case, _| active.contains(case));
    }
}

#[cfg(test)]
mod tests {
    use vigil_correlate::{Evidence, RuleRef};
    use vigil_model::{Entity, EntityKind, Severity};

    use super::*;

    fn alert(id: &str, time: i64, host: &str, user: &str) -> Alert {
        Alert {
            id: AlertId::from(id),
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
        assert_eq!(second[0].new_alerts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a2"]);
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
    fn quiet_cases_are_forgotten_whole() {
        let mut live = LiveCases::new(ClusterConfig::default());
        live.add(vec![alert("a1", 0, "ws-12", "alice")]);
        let day = 24 * 60 * MIN;
        live.add(vec![alert("z1", 3 * day, "ws-99", "zed")]);
        assert_eq!((live.held().alerts, live.held().cases), (1, 1));
    }

    #[test]
    fn live_cases_hold_no_more_than_the_window_however_long_they_run() {
        // A year of alerts, one an hour, each day on a host and user of its own: what is held
        // stays within about one window's worth (24 h), instead of growing with every alert
        // ever filed.
        let mut live = LiveCases::new(ClusterConfig::default());
        let mut most = Held::default();
        for hour in 0..24 * 365 {
            let day = hour / 24;
            live.add(vec![alert(
                &format!("h{hour}"),
                hour * 60 * MIN,
                &format!("ws-{day}"),
                &format!("u{day}"),
            )]);
            let held = live.held();
            most = Held { alerts: most.alerts.max(held.alerts), cases: most.cases.max(held.cases), ..most };
        }
        assert!(most.alerts <= 49 && most.cases <= 3, "{most:?}");
    }

    #[test]
    fn alerts_keep_their_aliases_so_a_restart_clusters_as_the_live_engine_did() {
        let name = Entity::new(EntityKind::User, "corp\\alice").expect("entity");
        let sid =
            Entity::new(EntityKind::User, "S-1-5-21-1004336348-1177238915-682003330-1104").expect("entity");
        let mut first = alert("a1", 0, "ws-12", "corp\\alice");
        first.entities = vec![name.clone(), sid.clone()];
        first.aliases = vec![(name.clone(), sid.clone())];
        let mut second = alert("a2", 5 * MIN, "db-01", "nobody");
        second.entities = vec![sid.clone()];

        let mut live = LiveCases::new(ClusterConfig::default());
        let stored = live.add(vec![first]).remove(0);
        let expected = live.add(vec![second.clone()]);

        // What the store keeps of the first alert, read back after a restart.
        let kept: Vec<Alert> = stored
            .new_alerts
            .iter()
            .map(|a| serde_json::from_value(serde_json::to_value(a).expect("json")).expect("alert"))
            .collect();
        let mut restarted = LiveCases::new(ClusterConfig::default());
        restarted.restore(&stored.case.id, kept);
        restarted.restored();
        let got = restarted.add(vec![second]);
        assert_eq!(got.len(), 1);
        assert!(got[0].case.alerts.iter().all(|a| !a.entities.contains(&sid)), "the SID reads as alice");
        assert_eq!(
            serde_json::to_value(&got[0].case).expect("json"),
            serde_json::to_value(&expected[0].case).expect("json")
        );
    }
}
