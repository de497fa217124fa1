//! A dormant privileged account signs in again: an account matching `privileged_accounts`, not
//! seen signing in for `dormant_after`, signs in successfully. History is what the detector has
//! seen: the first sign-in of an account is never "reactivated". ATT&CK T1078.002/.003.

use std::collections::HashMap;
use std::sync::Arc;

use super::accounts::AccountPatterns;
use super::config;
use super::{BehaviourAlert, Detector, Observation, ObservationKind, info};
use crate::rule::{Level, RuleInfo};

pub const ID: &str = "vigil-dormant-privileged-account";

pub struct DormantAccount {
    config: config::DormantAccount,
    privileged: Arc<AccountPatterns>,
    /// Account → (time, event uid) of its last successful sign-in.
    last_seen: HashMap<String, (i64, String)>,
    rule: Arc<RuleInfo>,
}

impl DormantAccount {
    pub fn new(config: config::DormantAccount, privileged: Arc<AccountPatterns>) -> DormantAccount {
        let rule = info(
            ID,
            "Dormant Privileged Account Signed In Again",
            Level::High,
            "A privileged account that had not signed in for a long time signed in successfully.",
            &["attack.persistence", "attack.privilege-escalation", "attack.t1078.002", "attack.t1078.003"],
        );
        DormantAccount { config, privileged, last_seen: HashMap::new(), rule }
    }
}

impl Detector for DormantAccount {
    fn process(&mut self, o: &Observation, out: &mut Vec<BehaviourAlert>) {
        let ObservationKind::Logon { user, success: true, host, .. } = &o.kind else { return };
        let watched = !self.config.privileged_only || self.privileged.matches(user);
        if !watched {
            return;
        }
        if let Some((previous, previous_uid)) = self.last_seen.get(user)
            && o.time - previous >= self.config.dormant_after.millis
        {
            let days = (o.time - previous) / 86_400_000;
            let on = host.as_deref().map(|h| format!(" on {h}")).unwrap_or_default();
            out.push(BehaviourAlert {
                rule: Arc::clone(&self.rule),
                time: o.time,
                group: vec![("user".into(), user.clone())],
                summary: format!(
                    "{user} signed in{on} after {days} days without a sign-in (dormant after {})",
                    self.config.dormant_after
                ),
                events: vec![previous_uid.clone(), o.event_uid.clone()],
            });
        }
        self.last_seen.insert(user.clone(), (o.time, o.event_uid.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Behaviour, BehaviourConfig};
    use super::ID;

    #[test]
    fn an_admin_back_after_45_days_fires_and_one_back_after_10_does_not() {
        let behaviour = Behaviour::new(BehaviourConfig::default(), None);
        let alerts = run_one(
            ID,
            &behaviour,
            vec![
                logon(MONDAY, "corp\\bob-adm", "10.0.0.5"),
                logon(MONDAY + 10 * DAY, "corp\\carol-adm", "10.0.0.5"),
                logon(MONDAY + 20 * DAY, "corp\\carol-adm", "10.0.0.5"),
                logon(MONDAY + 45 * DAY, "corp\\bob-adm", "10.0.0.6"),
            ],
        );
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].group, vec![("user".to_owned(), "corp\\bob-adm".to_owned())]);
        assert!(alerts[0].summary.contains("after 45 days"), "{}", alerts[0].summary);
    }

    #[test]
    fn ordinary_accounts_are_not_watched_unless_configured() {
        let sequence = || {
            vec![
                logon(MONDAY, "corp\\alice", "10.0.0.5"),
                logon(MONDAY + 60 * DAY, "corp\\alice", "10.0.0.5"),
            ]
        };
        assert!(run_one(ID, &Behaviour::new(BehaviourConfig::default(), None), sequence()).is_empty());
        let mut config = BehaviourConfig::default();
        config.dormant_account.privileged_only = false;
        assert_eq!(run_one(ID, &Behaviour::new(config, None), sequence()).len(), 1);
    }
}
