//! SLA clocks: per severity, how long a case may take to get an owner, to be acknowledged by a
//! person, to be recommended, to have its actions decided, to be contained and to be closed.
//! Each clock runs from the case's creation and stops at the audited moment it measures (from
//! [`CaseHistory`], so a clock can be checked against the trail); closing the case stops every
//! clock. A clock past its target, running or stopped late, is breached.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::CaseHistory;
use crate::{Error, Result};

/// The clocks, in the order a case meets them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Created → first given an owner.
    Own,
    /// Created → the first thing a person did on it.
    Acknowledge,
    /// Created → the first recommendation.
    Recommend,
    /// Created → the first approval or rejection, for a case with a request that needs people.
    Decide,
    /// Created → first executed, for a case recommended as malicious.
    Contain,
    /// Created → closed.
    Close,
}

impl Clock {
    pub const ALL: [Clock; 6] =
        [Clock::Own, Clock::Acknowledge, Clock::Recommend, Clock::Decide, Clock::Contain, Clock::Close];

    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Own => "own",
            Clock::Acknowledge => "acknowledge",
            Clock::Recommend => "recommend",
            Clock::Decide => "decide",
            Clock::Contain => "contain",
            Clock::Close => "close",
        }
    }

    /// What the clock waits for, in words.
    pub fn waits_for(self) -> &'static str {
        match self {
            Clock::Own => "an owner",
            Clock::Acknowledge => "a person to act",
            Clock::Recommend => "a recommendation",
            Clock::Decide => "an approval decision",
            Clock::Contain => "containment",
            Clock::Close => "closing",
        }
    }
}

/// The targets of one severity: each clock's in seconds, a clock without one not running.
pub type Targets = BTreeMap<Clock, u64>;

/// `sla` in `vigil.yml`: targets by severity name (`critical`, `high`, `medium`, `low`,
/// `informational`), each a duration like `15m`, `4h` or `1d`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SlaPolicy {
    pub targets: BTreeMap<String, Targets>,
}

/// The severities targets are given for; fatal is held to critical's, unknown and other to
/// informational's.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

impl Default for SlaPolicy {
    /// Vigil's defaults: minutes for critical cases, days for low ones.
    fn default() -> SlaPolicy {
        let row = |own: u64, ack: u64, rec: u64, decide: u64, contain: u64, close: u64| {
            Targets::from([
                (Clock::Own, own),
                (Clock::Acknowledge, ack),
                (Clock::Recommend, rec),
                (Clock::Decide, decide),
                (Clock::Contain, contain),
                (Clock::Close, close),
            ])
        };
        const M: u64 = 60;
        const H: u64 = 3600;
        const D: u64 = 86_400;
        SlaPolicy {
            targets: BTreeMap::from([
                ("critical".to_owned(), row(15 * M, 15 * M, 30 * M, H, 4 * H, D)),
                ("high".to_owned(), row(30 * M, H, 2 * H, 4 * H, 8 * H, 3 * D)),
                ("medium".to_owned(), row(4 * H, 4 * H, 8 * H, D, 2 * D, 7 * D)),
                ("low".to_owned(), row(D, D, 2 * D, 3 * D, 7 * D, 30 * D)),
                (
                    "informational".to_owned(),
                    Targets::from([(Clock::Acknowledge, 3 * D), (Clock::Close, 30 * D)]),
                ),
            ]),
        }
    }
}

impl SlaPolicy {
    /// From `vigil.yml`'s text form: `{severity: {clock: "15m", …}, …}`. A severity not named
    /// keeps Vigil's default targets; a clock given as `off` has none.
    pub fn from_text(text: &BTreeMap<String, BTreeMap<String, String>>) -> Result<SlaPolicy> {
        let mut policy = SlaPolicy::default();
        for (severity, clocks) in text {
            if !SEVERITIES.contains(&severity.as_str()) {
                return Err(Error::Config(format!(
                    "sla.targets: no severity is called {severity:?} ({})",
                    SEVERITIES.join(", ")
                )));
            }
            let targets = policy.targets.entry(severity.clone()).or_default();
            for (clock, duration) in clocks {
                let clock = Clock::ALL.into_iter().find(|c| c.as_str() == clock).ok_or_else(|| {
                    Error::Config(format!(
                        "sla.targets.{severity}: no clock is called {clock:?} (own, acknowledge, recommend, decide, contain, close)"
                    ))
                })?;
                if duration == "off" {
                    targets.remove(&clock);
                    continue;
                }
                let secs = vigil_policy::duration_secs(duration).filter(|s| *s > 0).ok_or_else(|| {
                    Error::Config(format!(
                        "sla.targets.{severity}.{}: {duration:?} is not a duration like 15m, 4h or 1d",
                        clock.as_str()
                    ))
                })?;
                targets.insert(clock, secs);
            }
        }
        Ok(policy)
    }

    /// The targets a case of OCSF severity `id` is held to.
    pub fn for_severity(&self, id: i64) -> Targets {
        let name = match id {
            5 | 6 => "critical",
            4 => "high",
            3 => "medium",
            2 => "low",
            _ => "informational",
        };
        self.targets.get(name).cloned().unwrap_or_default()
    }
}

/// Where a clock stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Stopped in time.
    Met,
    /// Still running, not yet due.
    Running,
    /// Past its target: still running, or stopped late.
    Breached,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ClockState {
    pub clock: Clock,
    pub target_secs: u64,
    pub started_ms: i64,
    pub due_ms: i64,
    pub status: Status,
    /// When it stopped, if it has.
    pub stopped_ms: Option<i64>,
}

impl ClockState {
    pub fn breached(&self) -> bool {
        self.status == Status::Breached
    }
}

/// Where each of the case's clocks stands at `now_ms`. A clock the case never needs (no
/// request waiting on people: no decide clock; not recommended as malicious: no contain clock)
/// is left out, as is every clock of a case with no creation record.
pub fn clocks(case: &CaseHistory, policy: &SlaPolicy, now_ms: i64) -> Vec<ClockState> {
    let Some(started) = case.created_ms else { return Vec::new() };
    let closed = case.closed_ms();
    let mut states = Vec::new();
    for (clock, target) in policy.for_severity(case.facts.severity) {
        let stop = match clock {
            Clock::Own => case.owned_ms,
            Clock::Acknowledge => case.acknowledged_ms,
            Clock::Recommend => case.recommended_ms,
            Clock::Decide if case.awaits_decision => case.decided_ms,
            Clock::Contain if case.verdict.as_deref() == Some("malicious") => case.contained_ms,
            Clock::Close => closed,
            Clock::Decide | Clock::Contain => continue,
        };
        // Closing stops every clock: a case closed before it was owned is not waiting for one.
        let stop = match (stop, closed) {
            (Some(s), Some(c)) => Some(s.min(c)),
            (s, c) => s.or(c),
        };
        let due = started.saturating_add(i64::try_from(target.saturating_mul(1000)).unwrap_or(i64::MAX));
        let status = match stop {
            Some(at) if at <= due => Status::Met,
            Some(_) => Status::Breached,
            None if now_ms > due => Status::Breached,
            None => Status::Running,
        };
        states.push(ClockState {
            clock,
            target_secs: target,
            started_ms: started,
            due_ms: due,
            status,
            stopped_ms: stop,
        });
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CaseFacts, Closing};

    const MIN: i64 = 60_000;

    fn case(severity: i64) -> CaseHistory {
        CaseHistory {
            facts: CaseFacts { id: "c".into(), severity, ..CaseFacts::default() },
            created_ms: Some(0),
            ..CaseHistory::default()
        }
    }

    fn status(states: &[ClockState], clock: Clock) -> Option<(Status, Option<i64>)> {
        states.iter().find(|s| s.clock == clock).map(|s| (s.status, s.stopped_ms))
    }

    #[test]
    fn a_critical_case_breaches_acknowledge_at_fifteen_minutes_and_closing_stops_the_rest() {
        let policy = SlaPolicy::default();
        let mut c = case(5);
        c.recommended_ms = Some(MIN);
        let at_14 = clocks(&c, &policy, 14 * MIN);
        assert_eq!(status(&at_14, Clock::Acknowledge), Some((Status::Running, None)));
        assert_eq!(status(&at_14, Clock::Recommend), Some((Status::Met, Some(MIN))));
        // No request waits on people and no malicious verdict: no decide or contain clock.
        assert_eq!(status(&at_14, Clock::Decide), None);
        assert_eq!(status(&at_14, Clock::Contain), None);
        let at_16 = clocks(&c, &policy, 16 * MIN);
        assert_eq!(status(&at_16, Clock::Acknowledge), Some((Status::Breached, None)));
        assert_eq!(status(&at_16, Clock::Own), Some((Status::Breached, None)));
        // Acknowledged late, then closed: the breach stays, closing met its own target.
        c.acknowledged_ms = Some(20 * MIN);
        c.closing = Some((Closing::FalsePositive, 25 * MIN, false));
        let later = clocks(&c, &policy, 100 * MIN);
        assert_eq!(status(&later, Clock::Acknowledge), Some((Status::Breached, Some(20 * MIN))));
        assert_eq!(status(&later, Clock::Close), Some((Status::Met, Some(25 * MIN))));
        // Never owned, but closed: the owner clock stopped at the closing, late.
        assert_eq!(status(&later, Clock::Own), Some((Status::Breached, Some(25 * MIN))));
    }

    #[test]
    fn decide_and_contain_run_only_for_cases_that_need_them() {
        let policy = SlaPolicy::default();
        let mut c = case(4);
        c.awaits_decision = true;
        c.verdict = Some("malicious".into());
        c.decided_ms = Some(3 * 60 * MIN);
        let states = clocks(&c, &policy, 9 * 60 * MIN);
        assert_eq!(status(&states, Clock::Decide), Some((Status::Met, Some(3 * 60 * MIN))));
        assert_eq!(status(&states, Clock::Contain), Some((Status::Breached, None)));
    }

    #[test]
    fn targets_from_vigil_yml_override_one_severity_and_refuse_what_they_do_not_know() {
        let text = BTreeMap::from([(
            "high".to_owned(),
            BTreeMap::from([
                ("acknowledge".to_owned(), "10m".to_owned()),
                ("own".to_owned(), "off".to_owned()),
            ]),
        )]);
        let policy = SlaPolicy::from_text(&text).expect("policy");
        let high = policy.for_severity(4);
        assert_eq!(high.get(&Clock::Acknowledge), Some(&600));
        assert_eq!(high.get(&Clock::Own), None);
        assert_eq!(policy.for_severity(5).get(&Clock::Acknowledge), Some(&900));
        for (severity, clock, value) in
            [("urgent", "close", "1h"), ("high", "respond", "1h"), ("high", "close", "soon")]
        {
            let text = BTreeMap::from([(
                severity.to_owned(),
                BTreeMap::from([(clock.to_owned(), value.to_owned())]),
            )]);
            assert!(SlaPolicy::from_text(&text).is_err(), "{severity} {clock} {value}");
        }
    }
}
