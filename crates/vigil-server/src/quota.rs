//! Per-credential ingest quotas: events a minute and bytes (unpacked) a day, counted in memory
//! on the store's clock. Over either, an upload is refused whole with 429 and the seconds until
//! the window that refused it turns over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// What one credential may send; 0 is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaLimits {
    pub events_per_minute: u64,
    pub bytes_per_day: u64,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        QuotaLimits { events_per_minute: 2_000_000, bytes_per_day: 200 << 30 }
    }
}

#[derive(Clone, Copy, Default)]
struct Usage {
    minute_start: i64,
    minute_events: u64,
    day_start: i64,
    day_bytes: u64,
}

/// Why an upload is over quota, and when to try again.
#[derive(Debug, PartialEq, Eq)]
pub struct OverQuota {
    pub what: &'static str,
    pub retry_after_secs: u64,
}

#[derive(Clone, Default)]
pub struct Quotas {
    usage: Arc<Mutex<HashMap<String, Usage>>>,
}

impl Quotas {
    /// Counts an upload of `events` events and `bytes` unpacked bytes by `who` at `now_ms`, or
    /// refuses it (counting nothing) when it would pass a limit.
    pub fn admit(
        &self,
        limits: &QuotaLimits,
        who: &str,
        events: u64,
        bytes: u64,
        now_ms: i64,
    ) -> Result<(), OverQuota> {
        let mut all = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        if all.len() > 10_000 {
            all.retain(|_, u| now_ms - u.day_start < DAY_MS);
        }
        let usage = all.entry(who.to_owned()).or_default();
        if now_ms - usage.minute_start >= MINUTE_MS {
            usage.minute_start = now_ms;
            usage.minute_events = 0;
        }
        if now_ms - usage.day_start >= DAY_MS {
            usage.day_start = now_ms;
            usage.day_bytes = 0;
        }
        let retry =
            |start: i64, span: i64| u64::try_from(start + span - now_ms).unwrap_or(0).div_ceil(1000).max(1);
        if limits.events_per_minute > 0 && usage.minute_events + events > limits.events_per_minute {
            return Err(OverQuota {
                what: "events a minute",
                retry_after_secs: retry(usage.minute_start, MINUTE_MS),
            });
        }
        if limits.bytes_per_day > 0 && usage.day_bytes + bytes > limits.bytes_per_day {
            return Err(OverQuota { what: "bytes a day", retry_after_secs: retry(usage.day_start, DAY_MS) });
        }
        usage.minute_events += events;
        usage.day_bytes += bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_over_its_minute_waits_for_the_next_and_others_are_not_held_back() {
        let limits = QuotaLimits { events_per_minute: 100, bytes_per_day: 1_000 };
        let quotas = Quotas::default();
        assert!(quotas.admit(&limits, "svc", 60, 10, 0).is_ok());
        assert_eq!(
            quotas.admit(&limits, "svc", 60, 10, 15_000),
            Err(OverQuota { what: "events a minute", retry_after_secs: 45 })
        );
        assert!(quotas.admit(&limits, "other", 60, 10, 15_000).is_ok());
        assert!(quotas.admit(&limits, "svc", 60, 10, 60_000).is_ok(), "a new minute");
        assert_eq!(quotas.admit(&limits, "svc", 1, 990, 61_000).map_err(|e| e.what), Err("bytes a day"));
    }
}
