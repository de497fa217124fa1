//! Dead letters: records Vigil accepted but could not decode or map, kept with the reason.

use serde::{Deserialize, Serialize};

/// Where in its source a record stood, precise enough to find it again by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Locator {
    /// Byte offset into the (decompressed) stream.
    Offset(u64),
    /// 1-based line number, with the byte offset of the line's start.
    Line { line: u64, offset: u64 },
    /// Record number as the container counts it (EVTX record id, array index).
    Record(u64),
    /// The whole source (e.g. an unreadable or unrecognised file).
    Source,
    /// A stored event (its id and arrival number) that the pipeline could not process.
    Event { id: String, seq: u64 },
}

/// A record that could not be turned into an event, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadLetter {
    /// The file, URL or listener the record came from.
    pub source: String,
    pub locator: Locator,
    /// The format the record was read as, when one was chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub reason: String,
    /// The start of the record, lossily decoded, so a reader can see what it was.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub excerpt: String,
}

/// How much of a rejected record a dead letter keeps.
pub const EXCERPT_BYTES: usize = 512;

impl DeadLetter {
    pub fn new(source: impl Into<String>, locator: Locator, reason: impl Into<String>) -> Self {
        DeadLetter {
            source: source.into(),
            locator,
            format: None,
            reason: reason.into(),
            excerpt: String::new(),
        }
    }

    pub fn with_format(mut self, format: &str) -> Self {
        self.format = Some(format.to_owned());
        self
    }

    pub fn with_excerpt(mut self, bytes: &[u8]) -> Self {
        let end = bytes.len().min(EXCERPT_BYTES);
        self.excerpt = String::from_utf8_lossy(&bytes[..end]).into_owned();
        self
    }
}
