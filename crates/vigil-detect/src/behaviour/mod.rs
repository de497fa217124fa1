//! Behavioural detections that Sigma cannot say, written in Rust: impossible travel, a dormant
//! privileged account signing in again, one process changing files en masse, and privileged
//! sign-ins outside working hours. Each detector is a small state machine in its own file, fed
//! [`Observation`]s (the few facts it needs from an OCSF event) in time order; thresholds and
//! windows come from [`BehaviourConfig`]. Shipped in the binary as part of Vigil's default pack.

pub mod config;
pub mod geo;

mod accounts;
mod dormant_account;
mod impossible_travel;
mod mass_file_change;
mod off_hours;

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use vigil_ocsf::Event;

pub use config::{BehaviourConfig, Span};
pub use geo::{GeoLookup, MaxMind, Place};

use crate::rule::{Level, RuleInfo};

/// The facts of one event that the behavioural detectors read.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Milliseconds since the epoch.
    pub time: i64,
    /// The OCSF event's uid, cited by the alerts it contributes to.
    pub event_uid: String,
    pub kind: ObservationKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ObservationKind {
    /// A sign-in attempt by a person's account.
    Logon {
        user: String,
        success: bool,
        ip: Option<IpAddr>,
        host: Option<String>,
        /// OCSF logon type id, where the source has one (Windows).
        logon_type: Option<u32>,
    },
    /// A file changed (updated, deleted, renamed; created when so configured).
    FileChange { host: String, process: String, path: String, created: bool },
}

/// A behavioural detector firing.
#[derive(Clone, Debug, Serialize)]
pub struct BehaviourAlert {
    pub rule: Arc<RuleInfo>,
    pub time: i64,
    /// The entities the alert is about (`user = corp\alice`).
    pub group: Vec<(String, String)>,
    /// What was seen, in one sentence, with the figures that crossed the threshold.
    pub summary: String,
    /// The events the alert rests on.
    pub events: Vec<String>,
}

/// One detector's state over a stream of observations in time order.
trait Detector: Send {
    fn process(&mut self, observation: &Observation, out: &mut Vec<BehaviourAlert>);
}

/// The behavioural detectors, configured.
#[derive(Clone)]
pub struct Behaviour {
    config: BehaviourConfig,
    geo: Option<Arc<dyn GeoLookup>>,
}

fn info(id: &str, title: &str, level: Level, description: &str, tags: &[&str]) -> Arc<RuleInfo> {
    Arc::new(RuleInfo {
        id: id.to_owned(),
        title: title.to_owned(),
        level,
        status: Some("experimental".into()),
        description: Some(description.to_owned()),
        author: Some("Vigil".into()),
        license: "Apache-2.0".into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        file: format!("vigil:behaviour/{id}"),
        building_block: false,
    })
}

impl Behaviour {
    /// Without a geo-IP database, impossible travel cannot run and is left out.
    pub fn new(config: BehaviourConfig, geo: Option<Arc<dyn GeoLookup>>) -> Behaviour {
        Behaviour { config, geo }
    }

    /// The detectors that will run, by rule id.
    pub fn detectors(&self) -> Vec<&'static str> {
        let c = &self.config;
        let mut ids = Vec::new();
        if c.impossible_travel.enabled && self.geo.is_some() {
            ids.push(impossible_travel::ID);
        }
        if c.dormant_account.enabled {
            ids.push(dormant_account::ID);
        }
        if c.mass_file_change.enabled {
            ids.push(mass_file_change::ID);
        }
        if c.off_hours.enabled {
            ids.push(off_hours::ID);
        }
        ids
    }

    /// The OCSF classes whose events the running detectors read: Authentication for the
    /// sign-in detectors, File System Activity for mass file change.
    pub fn watched_classes(&self) -> Vec<u32> {
        let c = &self.config;
        let mut classes = Vec::new();
        let sign_ins = (c.impossible_travel.enabled && self.geo.is_some())
            || c.dormant_account.enabled
            || c.off_hours.enabled;
        if sign_ins {
            classes.push(3002);
        }
        if c.mass_file_change.enabled {
            classes.push(1001);
        }
        classes
    }

    /// The facts of `event` the detectors read, if it is one they watch.
    pub fn observe(&self, event: &Event) -> Option<Observation> {
        let kind = match event.class_uid {
            3002 if event.activity_id == 1 => {
                let user = event.user.as_ref().or(event.actor.as_ref().and_then(|a| a.user.as_ref()))?;
                let name = user.name.as_deref().or(user.email_addr.as_deref())?;
                let name = match user.domain.as_deref() {
                    Some(domain) if !domain.is_empty() && !name.contains('\\') && !name.contains('@') => {
                        format!("{domain}\\{name}")
                    }
                    _ => name.to_owned(),
                };
                if accounts::is_machine_or_builtin(&accounts::user_key(&name)) {
                    return None;
                }
                ObservationKind::Logon {
                    user: accounts::user_key(&name),
                    success: event.status_id == Some(1),
                    ip: event
                        .src_endpoint
                        .as_ref()
                        .and_then(|e| e.ip.as_deref())
                        .and_then(|ip| ip.parse().ok()),
                    host: event.device.as_ref().and_then(|d| d.hostname.clone()),
                    logon_type: event.logon_type_id,
                }
            }
            1001 if matches!(event.activity_id, 1 | 3 | 4 | 5) => {
                let created = event.activity_id == 1;
                if created && !self.config.mass_file_change.count_creates {
                    return None;
                }
                let file = event.file.as_ref()?;
                let process = event.actor.as_ref().and_then(|a| a.process.as_ref());
                let process = process
                    .and_then(|p| p.file.as_ref().and_then(|f| f.path.clone()).or(p.name.clone()))
                    .or_else(|| process.and_then(|p| p.pid).map(|pid| format!("pid {pid}")))?;
                ObservationKind::FileChange {
                    host: event.device.as_ref().and_then(|d| d.hostname.clone()).unwrap_or_default(),
                    process,
                    path: file.path.clone().unwrap_or_else(|| file.name.clone()),
                    created,
                }
            }
            _ => return None,
        };
        Some(Observation {
            time: event.time,
            event_uid: event.metadata.uid.clone().unwrap_or_default(),
            kind,
        })
    }

    /// Fresh state for one stream of observations in time order.
    pub fn state(&self) -> BehaviourState {
        let c = &self.config;
        let privileged = Arc::new(accounts::AccountPatterns::new(&c.privileged_accounts));
        let mut detectors: Vec<Box<dyn Detector>> = Vec::new();
        if let (true, Some(geo)) = (c.impossible_travel.enabled, &self.geo) {
            detectors.push(Box::new(impossible_travel::ImpossibleTravel::new(
                c.impossible_travel.clone(),
                Arc::clone(geo),
            )));
        }
        if c.dormant_account.enabled {
            detectors.push(Box::new(dormant_account::DormantAccount::new(
                c.dormant_account.clone(),
                Arc::clone(&privileged),
            )));
        }
        if c.mass_file_change.enabled {
            detectors.push(Box::new(mass_file_change::MassFileChange::new(c.mass_file_change.clone())));
        }
        if c.off_hours.enabled {
            detectors.push(Box::new(off_hours::OffHours::new(c.off_hours.clone(), privileged)));
        }
        BehaviourState { detectors }
    }

    /// Runs every detector over `observations`, sorting them into time order first.
    pub fn detect(&self, observations: &mut [Observation]) -> Vec<BehaviourAlert> {
        observations.sort_by(|a, b| (a.time, &a.event_uid).cmp(&(b.time, &b.event_uid)));
        let mut state = self.state();
        let mut out = Vec::new();
        for o in observations.iter() {
            state.process(o, &mut out);
        }
        out
    }
}

/// The detectors' state over one stream.
pub struct BehaviourState {
    detectors: Vec<Box<dyn Detector>>,
}

impl BehaviourState {
    pub fn process(&mut self, observation: &Observation, out: &mut Vec<BehaviourAlert>) {
        for d in &mut self.detectors {
            d.process(observation, out);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub const HOUR: i64 = 3_600_000;
    pub const DAY: i64 = 24 * HOUR;
    /// 2026-11-02, a Monday, 00:00 UTC.
    pub const MONDAY: i64 = 20_759 * DAY;

    pub fn logon(time: i64, user: &str, ip: &str) -> Observation {
        Observation {
            time,
            event_uid: format!("ev-{time}-{user}"),
            kind: ObservationKind::Logon {
                user: user.to_owned(),
                success: true,
                ip: ip.parse().ok(),
                host: None,
                logon_type: None,
            },
        }
    }

    /// The alerts of detector `id` alone.
    pub fn run_one(
        id: &str,
        behaviour: &Behaviour,
        mut observations: Vec<Observation>,
    ) -> Vec<BehaviourAlert> {
        let mut alerts = behaviour.detect(&mut observations);
        alerts.retain(|a| a.rule.id == id);
        alerts
    }
}

#[cfg(test)]
mod tests {
    use vigil_ocsf::Class;
    use vigil_ocsf::objects::{Actor, Endpoint, Metadata, User};

    use super::*;

    #[test]
    fn a_windows_sign_in_is_observed_under_its_domain_and_machine_accounts_are_not() {
        let behaviour = Behaviour::new(BehaviourConfig::default(), None);
        let mut e = Event::new(Class::Authentication, 1, 1_000, Metadata::new("Microsoft", "Windows"));
        e.status_id = Some(1);
        e.user = Some(User { name: Some("Alice".into()), domain: Some("CORP".into()), ..User::default() });
        e.src_endpoint = Some(Endpoint { ip: Some("203.0.113.9".into()), ..Endpoint::default() });
        let o = behaviour.observe(&e).expect("observed");
        assert!(
            matches!(&o.kind, ObservationKind::Logon { user, success: true, ip: Some(_), .. } if user == "corp\\alice")
        );

        e.user = None;
        e.actor = Some(Actor::user(User { name: Some("WS-12$".into()), ..User::default() }));
        assert_eq!(behaviour.observe(&e), None);
    }

    #[test]
    fn impossible_travel_is_left_out_without_a_geo_database() {
        let behaviour = Behaviour::new(BehaviourConfig::default(), None);
        assert!(!behaviour.detectors().contains(&impossible_travel::ID));
        let with_geo = Behaviour::new(BehaviourConfig::default(), Some(Arc::new(geo::tests::test_db())));
        assert!(with_geo.detectors().contains(&impossible_travel::ID));
    }
}
