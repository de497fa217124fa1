//! The one source of "now" for a store and everything that writes through it: the system clock
//! in a server, a clock the test moves by hand when a state machine (sessions, tokens, lockouts,
//! case transitions, retention) must be checked without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    /// Microseconds since the epoch, moved by [`ManualClock`].
    Manual(Arc<AtomicI64>),
}

/// The hand that moves a manual clock.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Source::System => "Clock::system",
            Source::Manual(_) => "Clock::manual",
        })
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock standing at `start` until its hand moves it.
    pub fn manual(start: DateTime<Utc>) -> (Clock, ManualClock) {
        let micros = Arc::new(AtomicI64::new(start.timestamp_micros()));
        (Clock(Source::Manual(Arc::clone(&micros))), ManualClock(micros))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Manual(micros) => {
                DateTime::from_timestamp_micros(micros.load(Ordering::SeqCst)).unwrap_or_default()
            }
        }
    }

    /// Now, in ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Now, as the store writes times.
    pub fn stamp(&self) -> String {
        crate::time::stamp(self.now())
    }
}

impl ManualClock {
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let (clock, hand) = Clock::manual(start);
        assert_eq!(clock.now(), start);
        hand.advance(std::time::Duration::from_secs(90));
        assert_eq!(clock.now_ms(), start.timestamp_millis() + 90_000);
        assert_eq!(clock.clone().stamp(), "2027-01-15T08:01:30.000000Z");
    }
}
