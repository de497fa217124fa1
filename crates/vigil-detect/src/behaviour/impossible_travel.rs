//! Impossible travel: one account signs in successfully from two places further apart than it
//! could have travelled in between (faster than `max_speed_kmh`, further than
//! `min_distance_km`). With a country-only database, two countries within
//! `country_change_within` stand in for the speed test. ATT&CK T1078 (valid accounts).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::config;
use super::geo::{GeoLookup, Place, distance_km};
use super::{BehaviourAlert, Detector, Observation, ObservationKind, info};
use crate::rule::{Level, RuleInfo};

pub const ID: &str = "vigil-impossible-travel";

struct LastSignIn {
    time: i64,
    ip: IpAddr,
    place: Place,
    event_uid: String,
}

pub struct ImpossibleTravel {
    config: config::ImpossibleTravel,
    geo: Arc<dyn GeoLookup>,
    last: HashMap<String, LastSignIn>,
    rule: Arc<RuleInfo>,
}

impl ImpossibleTravel {
    pub fn new(config: config::ImpossibleTravel, geo: Arc<dyn GeoLookup>) -> ImpossibleTravel {
        let rule = info(
            ID,
            "Impossible Travel Between Sign-ins",
            Level::High,
            "One account signed in from two places further apart than anyone could travel in the time between (geo-IP).",
            &["attack.initial-access", "attack.t1078"],
        );
        ImpossibleTravel { config, geo, last: HashMap::new(), rule }
    }

    /// Why moving from `a` to `b` is impossible, if it is.
    fn verdict(&self, a: &LastSignIn, b: &Place, time: i64) -> Option<String> {
        let elapsed_ms = (time - a.time).max(0);
        let hours = elapsed_ms as f64 / 3_600_000.0;
        let minutes = elapsed_ms / 60_000;
        match (a.place.coordinates, b.coordinates) {
            (Some(from), Some(to)) => {
                let km = distance_km(from, to);
                if km < self.config.min_distance_km {
                    return None;
                }
                // Two sign-ins in the same instant from far apart are the limit of this test.
                let speed = if hours > 0.0 { km / hours } else { f64::INFINITY };
                (speed > self.config.max_speed_kmh).then(|| {
                    format!(
                        "{} then {} {minutes} min apart: {km:.0} km, {} km/h",
                        a.place.country,
                        b.country,
                        if speed.is_finite() { format!("{speed:.0}") } else { "∞".into() }
                    )
                })
            }
            _ => (a.place.country != b.country && elapsed_ms < self.config.country_change_within.millis)
                .then(|| {
                    format!(
                        "{} then {} {minutes} min apart (country-level geo-IP)",
                        a.place.country, b.country
                    )
                }),
        }
    }
}

impl Detector for ImpossibleTravel {
    fn process(&mut self, o: &Observation, out: &mut Vec<BehaviourAlert>) {
        let ObservationKind::Logon { user, success: true, ip: Some(ip), .. } = &o.kind else { return };
        let Some(place) = self.geo.locate(*ip) else { return };
        if let Some(previous) = self.last.get(user)
            && let Some(why) = self.verdict(previous, &place, o.time)
        {
            out.push(BehaviourAlert {
                rule: Arc::clone(&self.rule),
                time: o.time,
                group: vec![("user".into(), user.clone())],
                summary: format!("{user} signed in from {} then {ip}: {why}", previous.ip),
                events: vec![previous.event_uid.clone(), o.event_uid.clone()],
            });
        }
        self.last.insert(
            user.clone(),
            LastSignIn { time: o.time, ip: *ip, place, event_uid: o.event_uid.clone() },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::geo::tests::test_db;
    use super::super::test_support::*;
    use super::super::{Behaviour, BehaviourConfig};
    use super::*;

    fn behaviour() -> Behaviour {
        Behaviour::new(BehaviourConfig::default(), Some(Arc::new(test_db())))
    }

    #[test]
    fn berlin_then_san_francisco_an_hour_later_fires() {
        let alerts = run_one(
            ID,
            &behaviour(),
            vec![
                logon(MONDAY + 9 * HOUR, "alice", "198.51.100.7"),
                logon(MONDAY + 10 * HOUR, "alice", "203.0.113.20"),
            ],
        );
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].rule.id, ID);
        assert_eq!(alerts[0].events.len(), 2);
        assert!(alerts[0].summary.contains("DE then US 60 min apart"), "{}", alerts[0].summary);
    }

    #[test]
    fn the_same_trip_over_a_day_or_by_two_people_is_silent() {
        let slow = run_one(
            ID,
            &behaviour(),
            vec![logon(MONDAY, "alice", "198.51.100.7"), logon(MONDAY + 20 * HOUR, "alice", "203.0.113.20")],
        );
        assert!(slow.is_empty(), "{slow:?}");
        let two_people = run_one(
            ID,
            &behaviour(),
            vec![logon(MONDAY, "alice", "198.51.100.7"), logon(MONDAY + HOUR, "bob", "203.0.113.20")],
        );
        assert!(two_people.is_empty());
    }

    #[test]
    fn berlin_then_hamburg_is_too_close_to_judge() {
        let alerts = run_one(
            ID,
            &behaviour(),
            vec![logon(MONDAY, "alice", "198.51.100.7"), logon(MONDAY + 60_000, "alice", "192.0.2.8")],
        );
        assert!(alerts.is_empty(), "{alerts:?}");
    }

    #[test]
    fn with_a_country_only_database_a_quick_country_change_fires() {
        let alerts = run_one(
            ID,
            &behaviour(),
            vec![logon(MONDAY, "alice", "198.18.0.9"), logon(MONDAY + HOUR, "alice", "198.51.100.7")],
        );
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].summary.contains("country-level"), "{}", alerts[0].summary);
        let later = run_one(
            ID,
            &behaviour(),
            vec![logon(MONDAY, "alice", "198.18.0.9"), logon(MONDAY + 3 * HOUR, "alice", "198.51.100.7")],
        );
        assert!(later.is_empty());
    }

    #[test]
    fn private_and_unknown_addresses_are_skipped() {
        let alerts = run_one(
            ID,
            &behaviour(),
            vec![
                logon(MONDAY, "alice", "198.51.100.7"),
                logon(MONDAY + 60_000, "alice", "10.1.2.3"),
                logon(MONDAY + 120_000, "alice", "8.8.8.8"),
            ],
        );
        assert!(alerts.is_empty(), "{alerts:?}");
    }
}
