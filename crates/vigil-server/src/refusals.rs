//! Refusals are audited, but a flood of them must not flood the trail: for each key (an address
//! refused sign-ins by the rate limit, a throttled account, a principal refused a route) the
//! first refusal in a minute is recorded, the rest are counted, and the count goes into the next
//! record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

const MINUTE_MS: i64 = 60_000;

#[derive(Clone, Default)]
pub struct Refusals {
    seen: Arc<Mutex<HashMap<String, (i64, u64)>>>,
}

impl Refusals {
    /// Notes a refusal for `key` at `now_ms`. `Some(n)`: audit this one, saying `n` more went
    /// unrecorded since the last record for the key; `None`: counted only.
    pub fn note(&self, key: &str, now_ms: i64) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() > 10_000 {
            seen.retain(|_, (start, _)| now_ms - *start < MINUTE_MS);
        }
        match seen.get_mut(key) {
            Some((start, unrecorded)) if now_ms - *start < MINUTE_MS => {
                *unrecorded += 1;
                None
            }
            Some((start, unrecorded)) => {
                let before = *unrecorded;
                (*start, *unrecorded) = (now_ms, 0);
                Some(before)
            }
            None => {
                seen.insert(key.to_owned(), (now_ms, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_a_minute_a_key_and_the_rest_counted_into_the_next() {
        let refusals = Refusals::default();
        assert_eq!(refusals.note("ip:10.0.0.1", 0), Some(0));
        for t in 1..50 {
            assert_eq!(refusals.note("ip:10.0.0.1", t * 100), None);
        }
        assert_eq!(refusals.note("ip:10.0.0.2", 500), Some(0), "another key is its own");
        assert_eq!(refusals.note("ip:10.0.0.1", 60_000), Some(49));
    }
}
