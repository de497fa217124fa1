//! The one timestamp format the store writes: UTC, RFC 3339, microseconds, `Z`. Every stored
//! time has the same width, so comparing the text compares the times.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn now() -> String {
    stamp(Utc::now())
}

/// A stored time back in ms since the epoch; `None` when it is not one.
pub fn to_millis(stamp: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(stamp).ok().map(|t| t.timestamp_millis())
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn from_millis(ms: i64) -> String {
    stamp(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_as_times() {
        let a = from_millis(999);
        let b = from_millis(1_000);
        let c = from_millis(10_000_000_000_000);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(b, "1970-01-01T00:00:01.000000Z");
    }
}
