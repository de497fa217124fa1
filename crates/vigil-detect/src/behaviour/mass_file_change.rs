//! Mass file change (ransomware, wipers): one process on one host updates, deletes or renames
//! at least `min_files` distinct files within `window`. One burst is one alert: the window
//! starts over once it fires. ATT&CK T1486 (data encrypted for impact), T1485 (data destruction).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::config;
use super::{BehaviourAlert, Detector, Observation, ObservationKind, info};
use crate::rule::{Level, RuleInfo};

pub const ID: &str = "vigil-mass-file-change";

/// How many of a burst's events an alert cites (the count says how many there were).
const CITED: usize = 20;

#[derive(Default)]
struct Window {
    /// (time, path, event uid), oldest first.
    changes: VecDeque<(i64, String, String)>,
    /// Distinct paths in the window, with how many changes each.
    paths: HashMap<String, usize>,
}

pub struct MassFileChange {
    config: config::MassFileChange,
    windows: HashMap<(String, String), Window>,
    rule: Arc<RuleInfo>,
}

impl MassFileChange {
    pub fn new(config: config::MassFileChange) -> MassFileChange {
        let rule = info(
            ID,
            "Mass File Modification Or Deletion By One Process",
            Level::Critical,
            "One process changed, deleted or renamed many distinct files in a short time, as ransomware and wipers do.",
            &["attack.impact", "attack.t1486", "attack.t1485"],
        );
        MassFileChange { config, windows: HashMap::new(), rule }
    }
}

impl Detector for MassFileChange {
    fn process(&mut self, o: &Observation, out: &mut Vec<BehaviourAlert>) {
        let ObservationKind::FileChange { host, process, path, .. } = &o.kind else { return };
        let window = self.windows.entry((host.clone(), process.clone())).or_default();
        while let Some((time, old, _)) = window.changes.front() {
            if o.time - time < self.config.window.millis {
                break;
            }
            if let Some(n) = window.paths.get_mut(old) {
                *n -= 1;
                if *n == 0 {
                    window.paths.remove(old);
                }
            }
            window.changes.pop_front();
        }
        window.changes.push_back((o.time, path.clone(), o.event_uid.clone()));
        *window.paths.entry(path.clone()).or_default() += 1;
        if window.paths.len() < self.config.min_files {
            return;
        }
        let first = window.changes.front().map_or(o.time, |c| c.0);
        let seconds = (o.time - first) / 1000;
        let on = if host.is_empty() { String::new() } else { format!(" on {host}") };
        out.push(BehaviourAlert {
            rule: Arc::clone(&self.rule),
            time: o.time,
            group: vec![("host".into(), host.clone()), ("process".into(), process.clone())],
            summary: format!(
                "{process}{on} changed {} distinct files in {seconds} s ({} changes; threshold {} in {})",
                window.paths.len(),
                window.changes.len(),
                self.config.min_files,
                self.config.window
            ),
            events: window.changes.iter().take(CITED).map(|c| c.2.clone()).collect(),
        });
        *window = Window::default();
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Behaviour, BehaviourConfig};
    use super::*;

    fn change(time: i64, process: &str, path: String) -> Observation {
        Observation {
            time,
            event_uid: format!("ev-{time}-{path}"),
            kind: ObservationKind::FileChange {
                host: "ws-12".into(),
                process: process.into(),
                path,
                created: false,
            },
        }
    }

    fn burst(process: &str, files: usize, every_ms: i64) -> Vec<Observation> {
        (0..files)
            .map(|i| change(MONDAY + i as i64 * every_ms, process, format!("C:\\Users\\a\\doc{i}.docx")))
            .collect()
    }

    #[test]
    fn two_hundred_files_in_a_minute_fire_once() {
        let alerts = run_one(
            ID,
            &Behaviour::new(BehaviourConfig::default(), None),
            burst("C:\\x\\locker.exe", 450, 100),
        );
        assert_eq!(alerts.len(), 2, "450 changes are two bursts of 200 and a remainder");
        assert!(alerts[0].summary.contains("changed 200 distinct files"), "{}", alerts[0].summary);
        assert_eq!(alerts[0].events.len(), CITED);
        assert_eq!(alerts[0].group[1], ("process".to_owned(), "C:\\x\\locker.exe".to_owned()));
    }

    #[test]
    fn just_under_the_threshold_or_spread_out_is_silent() {
        let behaviour = Behaviour::new(BehaviourConfig::default(), None);
        assert!(run_one(ID, &behaviour, burst("backup.exe", 199, 100)).is_empty());
        // 400 files, one every second: never 200 in one minute.
        assert!(run_one(ID, &behaviour, burst("backup.exe", 400, 1000)).is_empty());
        // The same file saved 300 times is one file.
        let same: Vec<_> = (0..300).map(|i| change(MONDAY + i, "word.exe", "C:\\a.docx".into())).collect();
        assert!(run_one(ID, &behaviour, same).is_empty());
    }
}
