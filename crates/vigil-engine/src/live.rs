//! Cases kept up to date as alerts arrive. Every new alert re-clusters the alerts still able to
//! join a case (the same clustering `vigil hunt` uses); a case keeps the id it was first given,
//! whatever alerts join it later, and a case absorbed into another is named so it can be closed
//! as a duplicate. Memory is bounded by the clustering window: a case quiet for longer than it
//! is forgotten whole (its alerts, their homes, its birth order); the store remembers it. A case
//! that never goes quiet is bounded by its size cap, and a rule that keeps firing on the same
//! entities is held as the first alerts of the run, the last of them counting the rest.

use std::collections::{HashMap, HashSet};

use vigil_correlate::{
    Alert, Case, ClusterConfig, Clustered, IDS_PER_FOLDED_ALERT, Repeats, Shared, cluster_placed,
};
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
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
    /// The alerts in `open` that stand for later ones of their run as well (see `compact`).
    repeats: HashMap<AlertId, Repeats>,
    /// Stable case id → the order it was created in (the older case keeps its id on a merge),
    /// for the cases that have an alert in `open`.
    born: HashMap<CaseId, u64>,
    next_order: u64,
    /// The rules and entity keys of `open`, one copy each.
    shared: Shared,
}

impl LiveCases {
    pub fn new(config: ClusterConfig) -> LiveCases {
        LiveCases {
            config,
            open: Vec::new(),
            home: HashMap::new(),
            repeats: HashMap::new(),
            born: HashMap::new(),
            next_order: 0,
            shared: Shared::default(),
        }
    }

    /// Remembers alerts already filed under `case_id` (from the store, after a restart). Cases
    /// must be restored oldest first, so a merge keeps the id it kept before the restart.
    pub fn restore(&mut self, case_id: &CaseId, alerts: Vec<Alert>) {
        self.born_order(case_id);
        for alert in alerts {
            if !self.home.contains_key(&alert.id) {
                self.home.insert(alert.id.clone(), case_id.clone());
                self.open.push(self.shared.alert(alert));
            }
        }
    }

    /// Ends a restore: forgets what the live engine would already have forgotten. Long runs
    /// restored alert by alert are compacted by the first `add`, which clusters them.
    pub fn restored(&mut self) {
        self.prune();
    }

    /// When the latest alert `alert` stands for was raised.
    fn last_time(&self, alert: &Alert) -> i64 {
        self.repeats.get(&alert.id).map_or(alert.time, |r| r.last_seen.max(alert.time))
    }

    pub fn held(&self) -> Held {
        let mut per_case: HashMap<&CaseId, usize> = HashMap::new();
        for alert in &self.open {
            if let Some(case) = self.home.get(&alert.id) {
                *per_case.entry(case).or_default() += 1;
            }
        }
        let (oldest, newest) = self
            .open
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), a| (lo.min(a.time), hi.max(self.last_time(a))));
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
        let start = self.open.len();
        let mut taken: HashSet<AlertId> = HashSet::new();
        for alert in alerts {
            if !self.home.contains_key(&alert.id) && taken.insert(alert.id.clone()) {
                self.open.push(self.shared.alert(alert));
            }
        }
        if self.open.len() == start {
            return Vec::new();
        }
        let Clustered { cases, case_of, run_of } = cluster_placed(&self.open, &self.repeats, &self.config);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); cases.len()];
        for (i, &case) in case_of.iter().enumerate() {
            members[case].push(i);
        }
        // Only the cases this batch changed are built: the alerts after `start` are its.
        let changed = |case: usize| members[case].last().is_some_and(|&i| i >= start);
        let mut updates = Vec::new();
        for (index, mut case) in cases.built_where(changed) {
            let members = &members[index];
            let mut new_alerts: Vec<Alert> =
                members.iter().filter(|&&i| i >= start).map(|&i| self.open[i].clone()).collect();
            new_alerts.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
            let mut existing: Vec<CaseId> =
                members.iter().filter_map(|&i| self.home.get(&self.open[i].id)).cloned().collect();
            existing.sort_by_key(|c| (self.born.get(c).copied().unwrap_or(u64::MAX), c.clone()));
            existing.dedup();
            let (stable, created) = match existing.first() {
                Some(id) => (id.clone(), false),
                None => (case.id.clone(), true),
            };
            let absorbed: Vec<CaseId> = existing.iter().skip(1).cloned().collect();
            self.born_order(&stable);
            for &i in members {
                self.home.insert(self.open[i].id.clone(), stable.clone());
            }
            case.id = stable;
            updates.push(CaseUpdate { case, new_alerts, created, absorbed });
        }
        self.compact(&run_of);
        self.prune();
        updates
    }

    /// Forgets cases quiet for longer than the window, whole: no new alert can join them.
    fn prune(&mut self) {
        let Some(latest) = self.open.iter().map(|a| self.last_time(a)).max() else { return };
        let mut last_seen: HashMap<&CaseId, i64> = HashMap::new();
        for alert in &self.open {
            if let Some(case) = self.home.get(&alert.id) {
                let t = last_seen.entry(case).or_insert(i64::MIN);
                *t = (*t).max(self.last_time(alert));
            }
        }
        let active: HashSet<CaseId> = last_seen
            .into_iter()
            .filter(|(_, t)| *t >= latest - self.config.window_ms)
            .map(|(c, _)| c.clone())
            .collect();
        let (home, repeats) = (&mut self.home, &mut self.repeats);
        self.open.retain(|a| {
            let keep = home.get(&a.id).is_some_and(|c| active.contains(c));
            if !keep {
                home.remove(&a.id);
                repeats.remove(&a.id);
            }
            keep
        });
        self.born.retain(|case, _| active.contains(case));
        self.shared.forget_unused();
    }

    /// Counts the alerts of each run (`run_of`, from the clustering of `open` just done) past
    /// the first [`IDS_PER_FOLDED_ALERT`] into the last one kept whole. Clustering folds a run
    /// into one alert whose ids, times and count this keeps exactly; its evidence comes from the
    /// alerts kept whole.
    fn compact(&mut self, run_of: &[usize]) {
        let mut runs: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &run) in run_of.iter().enumerate() {
            runs.entry(run).or_default().push(i);
        }
        let mut gone = vec![false; self.open.len()];
        for mut members in runs.into_values().filter(|m| m.len() > IDS_PER_FOLDED_ALERT) {
            // The order clustering folds a run in (its rule is one).
            members.sort_by(|&a, &b| {
                let (a, b) = (&self.open[a], &self.open[b]);
                (a.time, &a.id).cmp(&(b.time, &b.id))
            });
            let (whole, counted) = members.split_at(IDS_PER_FOLDED_ALERT);
            let carrier = self.open[whole[IDS_PER_FOLDED_ALERT - 1]].id.clone();
            let mut tally = self.repeats.remove(&carrier).unwrap_or_default();
            for &i in counted {
                let alert = &self.open[i];
                let more = self.repeats.remove(&alert.id).unwrap_or_default();
                tally.count += 1 + more.count;
                tally.last_seen = tally.last_seen.max(alert.time).max(more.last_seen);
                gone[i] = true;
            }
            self.repeats.insert(carrier, tally);
        }
        let mut index = 0;
        let home = &mut self.home;
        self.open.retain(|a| {
            let keep = !gone[index];
            index += 1;
            if !keep {
                home.remove(&a.id);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigil_correlate::{Evidence, RuleRef};
    use vigil_model::{Entity, EntityKind, Severity};

    use super::*;

    fn alert(id: &str, time: i64, host: &str, user: &str) -> Alert {
        Alert {
            tenant: None,
            id: AlertId::from(id),
            rule: Arc::new(RuleRef {
                id: format!("rule-{id}"),
                title: format!("rule {id}"),
                level: Severity::High,
                tags: Vec::new(),
                author: None,
                license: String::new(),
            }),
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
    fn a_case_that_never_goes_quiet_is_not_held_forever() {
        // Three service identities each raise an alert every four minutes, each from an address
        // of its own, for eight days of event time; another identity stops logging now and then.
        // The busy cases never go quiet: they fill to the size cap and their continuations
        // carry on. What is held stays within about one window's worth of alerts and cases.
        let config = ClusterConfig::default();
        let cap = config.max_case_alerts;
        let mut live = LiveCases::new(config);
        let mut most = Held::default();
        let (mut n, mut filed) = (0u64, HashMap::<CaseId, u64>::new());
        for hour in 0..24 * 8 {
            let mut batch = Vec::new();
            for minute in (0..60).step_by(4) {
                let t = (hour * 60 + minute) * MIN;
                for app in 0..3 {
                    n += 1;
                    let mut a = alert(&format!("s{n}"), t, "", &format!("app{app}"));
                    a.entities.push(
                        Entity::new(EntityKind::Ip, &format!("10.{app}.{}.{}", n % 250, n / 250 % 250))
                            .expect("ip"),
                    );
                    a.entities.push(Entity::new(EntityKind::CloudAccount, "111122223333").expect("account"));
                    Arc::make_mut(&mut a.rule).id = "many-s3-objects".into();
                    batch.push(a);
                }
            }
            if hour % 3 == 0 {
                batch.push(alert(&format!("t{hour}"), hour * 60 * MIN, "", &format!("intruder{hour}")));
            }
            for update in live.add(batch) {
                *filed.entry(update.case.id.clone()).or_default() += update.new_alerts.len() as u64;
                assert!(update.case.alerts.len() <= cap, "a case past its cap");
            }
            let held = live.held();
            most = Held {
                alerts: most.alerts.max(held.alerts),
                cases: most.cases.max(held.cases),
                largest_case: most.largest_case.max(held.largest_case),
                span_ms: most.span_ms.max(held.span_ms),
            };
        }
        // Every alert was filed exactly once.
        assert_eq!(filed.values().sum::<u64>(), n + 24 * 8 / 3);
        // One window's alerts, and for each busy identity a full case and the continuation
        // filling after it: not the 8,640 alerts of the eight days.
        let day = 24 * 60 / 4 * 3;
        assert!(most.alerts <= 2 * day + 3 * cap && most.cases <= 20, "{most:?}");
    }

    #[test]
    fn alerts_past_the_twentieth_of_a_folded_run_are_filed() {
        // A folded alert lists its first twenty ids; the alerts after those were found in no
        // case, never filed, and forgotten.
        let mut live = LiveCases::new(ClusterConfig::default());
        let mut filed = Vec::new();
        for k in 0..30 {
            let mut a = alert(&format!("r{k:02}"), k * MIN, "ws-12", "alice");
            Arc::make_mut(&mut a.rule).id = "noisy".into();
            for update in live.add(vec![a]) {
                assert_eq!(update.case.alert_count(), k as u64 + 1);
                filed.extend(update.new_alerts.into_iter().map(|a| a.id.to_string()));
            }
        }
        assert_eq!(filed, (0..30).map(|k| format!("r{k:02}")).collect::<Vec<_>>());
    }

    #[test]
    fn a_rule_firing_on_one_host_for_months_is_held_as_a_few_alerts_and_counted_whole() {
        // Every ten minutes for sixty days the same rule on the same host and user: a case that
        // never goes quiet and never reaches its size cap. It was held alert by alert, without
        // end; now as the first alerts of the run, the last counting the rest, and the case
        // reads as clustering all of them at once does.
        let mut live = LiveCases::new(ClusterConfig::default());
        let (mut all, mut last, mut most) = (Vec::new(), None, 0);
        for hour in 0..24 * 60 {
            let batch: Vec<Alert> = (0..6)
                .map(|k| {
                    let mut a = alert(&format!("n{hour}-{k}"), (hour * 6 + k) * 10 * MIN, "ws-12", "alice");
                    Arc::make_mut(&mut a.rule).id = "noisy".into();
                    a
                })
                .collect();
            all.extend(batch.clone());
            if let Some(update) = live.add(batch).pop() {
                last = Some(update.case);
            }
            most = most.max(live.held().alerts);
        }
        assert!(most <= IDS_PER_FOLDED_ALERT + 6, "held {most} alerts");
        let whole = vigil_correlate::cluster(&all, &ClusterConfig::default());
        let last = last.expect("a case");
        assert_eq!(whole.len(), 1);
        assert_eq!(last.alert_count(), 24 * 60 * 6);
        assert_eq!(
            serde_json::to_value(&last.alerts).expect("json"),
            serde_json::to_value(&whole[0].alerts).expect("json")
        );
        assert_eq!((last.first_seen, last.last_seen), (whole[0].first_seen, whole[0].last_seen));
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
