//! Privileged sign-in outside working hours: an account matching `privileged_accounts` signs in
//! successfully (interactively, remotely or over the network; not as a service or batch job)
//! on a day or at an hour outside the configured working time. One alert per account per day.
//! ATT&CK T1078.

use std::collections::HashSet;
use std::sync::Arc;

use super::accounts::AccountPatterns;
use super::config::{self, Weekday};
use super::{BehaviourAlert, Detector, Observation, ObservationKind, info};
use crate::rule::{Level, RuleInfo};

pub const ID: &str = "vigil-off-hours-privileged-sign-in";

const DAY_MS: i64 = 86_400_000;

pub struct OffHours {
    config: config::OffHours,
    privileged: Arc<AccountPatterns>,
    /// (account, local day) already reported.
    reported: HashSet<(String, i64)>,
    rule: Arc<RuleInfo>,
}

impl OffHours {
    pub fn new(config: config::OffHours, privileged: Arc<AccountPatterns>) -> OffHours {
        let rule = info(
            ID,
            "Privileged Sign-in Outside Working Hours",
            Level::Medium,
            "A privileged account signed in outside the SOC's configured working days and hours.",
            &["attack.initial-access", "attack.t1078"],
        );
        OffHours { config, privileged, reported: HashSet::new(), rule }
    }
}

/// OCSF logon types that are a person, not the system: interactive, network, unlock, new
/// credentials, remote interactive and their cached forms.
fn is_personal(logon_type: Option<u32>) -> bool {
    logon_type.is_none_or(|t| matches!(t, 2 | 3 | 7..=13 | 99))
}

impl Detector for OffHours {
    fn process(&mut self, o: &Observation, out: &mut Vec<BehaviourAlert>) {
        let ObservationKind::Logon { user, success: true, logon_type, host, .. } = &o.kind else { return };
        if !is_personal(*logon_type) || (self.config.privileged_only && !self.privileged.matches(user)) {
            return;
        }
        let local = o.time + i64::from(self.config.utc_offset.minutes) * 60_000;
        let day = local.div_euclid(DAY_MS);
        let minute = (local.rem_euclid(DAY_MS) / 60_000) as u32;
        let weekday = Weekday::of_day(day);
        let working_day = self.config.workdays.contains(&weekday);
        let working_hour = (self.config.start.minutes..self.config.end.minutes).contains(&minute);
        if working_day && working_hour {
            return;
        }
        if !self.reported.insert((user.clone(), day)) {
            return;
        }
        let on = host.as_deref().map(|h| format!(" on {h}")).unwrap_or_default();
        let when = format!("{weekday:?} {:02}:{:02}", minute / 60, minute % 60);
        out.push(BehaviourAlert {
            rule: Arc::clone(&self.rule),
            time: o.time,
            group: vec![("user".into(), user.clone())],
            summary: format!("{user} signed in{on} at {when} local time, outside working hours"),
            events: vec![o.event_uid.clone()],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Behaviour, BehaviourConfig};
    use super::*;

    #[test]
    fn an_admin_at_3am_and_on_sunday_fires_once_each_day() {
        let alerts = run_one(
            ID,
            &Behaviour::new(BehaviourConfig::default(), None),
            vec![
                logon(MONDAY + 3 * HOUR, "corp\\bob-adm", "10.0.0.5"),
                logon(MONDAY + 3 * HOUR + 60_000, "corp\\bob-adm", "10.0.0.5"),
                logon(MONDAY + 10 * HOUR, "corp\\bob-adm", "10.0.0.5"),
                logon(MONDAY - DAY + 11 * HOUR, "corp\\bob-adm", "10.0.0.5"),
            ],
        );
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert!(alerts.iter().any(|a| a.summary.contains("Sun 11:00")), "{alerts:?}");
        assert!(alerts.iter().any(|a| a.summary.contains("Mon 03:00")), "{alerts:?}");
    }

    #[test]
    fn the_utc_offset_moves_working_hours() {
        let mut config = BehaviourConfig::default();
        // 06:30 UTC is 08:30 in UTC+02:00: working time there.
        config.off_hours.utc_offset = config::UtcOffset { minutes: 120 };
        let alerts = run_one(
            ID,
            &Behaviour::new(config, None),
            vec![logon(MONDAY + 6 * HOUR + 30 * 60_000, "root", "10.0.0.5")],
        );
        assert!(alerts.is_empty(), "{alerts:?}");
        let utc = run_one(
            ID,
            &Behaviour::new(BehaviourConfig::default(), None),
            vec![logon(MONDAY + 6 * HOUR + 30 * 60_000, "root", "10.0.0.5")],
        );
        assert_eq!(utc.len(), 1);
    }

    #[test]
    fn service_logons_and_ordinary_accounts_are_ignored() {
        let mut service = logon(MONDAY + 3 * HOUR, "corp\\bob-adm", "10.0.0.5");
        if let ObservationKind::Logon { logon_type, .. } = &mut service.kind {
            *logon_type = Some(5);
        }
        let alerts = run_one(
            ID,
            &Behaviour::new(BehaviourConfig::default(), None),
            vec![service, logon(MONDAY + 3 * HOUR, "corp\\alice", "10.0.0.5")],
        );
        assert!(alerts.is_empty(), "{alerts:?}");
    }
}
