//! Windows events, whichever shipper carried them: one [`WinEvent`] that every Windows decoder
//! fills, and one mapping from it to OCSF.

mod mapping;

use serde_json::{Map, Value};

use crate::fields::{clean_field_name, text};

pub use mapping::to_ocsf;

/// A Windows event reduced to what every shipper keeps: the System header and the event's
/// data fields under the names Sigma rules use.
#[derive(Clone, Debug, Default)]
pub struct WinEvent {
    pub provider: Option<String>,
    pub channel: Option<String>,
    pub event_id: Option<u32>,
    pub computer: Option<String>,
    pub record_id: Option<u64>,
    /// Milliseconds since the epoch, when the shipper's time could be read.
    pub time: Option<i64>,
    pub original_time: Option<String>,
    pub level: Option<i64>,
    pub user_sid: Option<String>,
    /// EventData / UserData fields. The mapping takes what it maps; the rest is `unmapped`.
    pub data: Map<String, Value>,
    /// System or shipper fields no OCSF attribute takes, kept in `unmapped`.
    pub extra: Map<String, Value>,
}

impl WinEvent {
    /// Adds a data field under its Sigma name. Placeholder values are kept: Sigma rules test
    /// for them (`'-'`) as often as for real ones.
    pub fn put(&mut self, name: &str, value: Value) {
        self.data.insert(clean_field_name(name), value);
    }

    /// Fills `data` from an evtx-style `EventData`/`UserData` object: named fields directly,
    /// `UserData`'s single child element flattened, attributes (`#attributes`) dropped.
    pub fn put_event_data(&mut self, value: &Value) {
        let Value::Object(map) = value else {
            if let Some(t) = text(value) {
                self.put("Data", Value::String(t));
            }
            return;
        };
        for (key, field) in map {
            if key == "#attributes" || key == "xmlns" {
                continue;
            }
            match field {
                // UserData wraps its fields in one element named after the event.
                Value::Object(inner) if !inner.contains_key("#text") && map.len() == 1 => {
                    for (k, v) in inner {
                        if k != "#attributes" {
                            self.put(k, v.clone());
                        }
                    }
                }
                Value::Object(inner) if inner.contains_key("#text") => {
                    self.put(key, inner["#text"].clone());
                }
                other => self.put(key, other.clone()),
            }
        }
    }
}

/// Splits `DOMAIN\user` into (user, domain).
pub fn split_account(account: &str) -> (String, Option<String>) {
    match account.split_once('\\') {
        Some((domain, user)) if !domain.is_empty() => (user.to_owned(), Some(domain.to_owned())),
        _ => (account.to_owned(), None),
    }
}
