//! Timestamp parsing for the formats sources write: RFC 3339, naive date-times (taken as UTC),
//! and epoch seconds or milliseconds.

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// Milliseconds since the epoch from a string timestamp, or `None` if it is not one.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    // "2024-06-02 19:41:40Z" and friends: a space instead of the T.
    if t.len() > 10 && t.as_bytes()[10] == b' ' {
        let with_t = format!("{}T{}", &t[..10], &t[11..]);
        if let Ok(dt) = DateTime::parse_from_rfc3339(&with_t) {
            return Some(dt.timestamp_millis());
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return t.parse::<f64>().ok().and_then(epoch);
    }
    None
}

/// Milliseconds since the epoch from a JSON value: a timestamp string or an epoch number.
pub fn from_value(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => parse(s),
        Value::Number(n) => n.as_f64().and_then(epoch),
        _ => None,
    }
}

/// Epoch seconds or milliseconds (told apart by magnitude: 1e11 s is the year 5138).
fn epoch(n: f64) -> Option<i64> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let ms = if n >= 1e11 { n } else { n * 1000.0 };
    // The cast saturates; values this large are rejected by the range check first.
    (ms < 1e15).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Option<i64>) {
        assert_eq!(parse(input), expect, "{input}");
    }

    #[test]
    fn formats() {
        check("2023-09-21T22:22:52Z", Some(1_695_334_972_000));
        check("2023-09-21T22:22:52.123456789Z", Some(1_695_334_972_123));
        check("2023-09-21T18:22:52-04:00", Some(1_695_334_972_000));
        check("2023-09-21 22:22:52Z", Some(1_695_334_972_000));
        check("2023-09-21 22:22:52", Some(1_695_334_972_000));
        check("2023-09-21 22:22:52.500000000", Some(1_695_334_972_500));
        check("2023-09-21T22:22:52.5", Some(1_695_334_972_500));
        check("1695334972", Some(1_695_334_972_000));
        check("1695334972123", Some(1_695_334_972_123));
        check("1604996384.965", Some(1_604_996_384_965));
        check("redacted", None);
        check("", None);
    }
}
