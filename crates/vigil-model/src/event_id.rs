//! Content-derived event ids, so that re-reading or re-sending a record never stores it twice.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The id of a normalized event: the first 128 bits of SHA-256 over the source format and the raw
/// record, in lowercase hex. The same record read from the same format always gets the same id.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    pub fn from_content(format: &str, raw: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(format.as_bytes());
        hasher.update([0u8]);
        hasher.update(raw);
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(32);
        for byte in &digest[..16] {
            use fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        EventId(hex)
    }

    /// The id of the same record sent under `tenant` (by the sender, not read from the
    /// record): the same log line from two customers is two events.
    pub fn for_tenant(id: &str, tenant: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"tenant\0");
        hasher.update(tenant.as_bytes());
        hasher.update([0u8]);
        hasher.update(id.as_bytes());
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(32);
        for byte in &digest[..16] {
            use fmt::Write;
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        EventId(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_record_under_two_tenants_is_two_events() {
        let id = EventId::from_content("cloudtrail", b"{\"a\":1}");
        let acme = EventId::for_tenant(id.as_str(), "acme");
        assert_ne!(acme, EventId::for_tenant(id.as_str(), "globex"));
        assert_ne!(acme, id);
        assert_eq!(acme, EventId::for_tenant(id.as_str(), "acme"), "a retry keeps its id");
        assert_eq!(acme.as_str().len(), 32);
    }

    #[test]
    fn same_content_same_id_and_format_is_part_of_it() {
        let a = EventId::from_content("cloudtrail", b"{\"a\":1}");
        let b = EventId::from_content("cloudtrail", b"{\"a\":1}");
        let c = EventId::from_content("okta", b"{\"a\":1}");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
