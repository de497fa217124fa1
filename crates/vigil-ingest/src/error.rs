//! The crate's errors: [`Error`] for what stops a whole source, [`Reject`] for one record.

use std::path::PathBuf;

/// A failure that stops reading a source (the rest of the run goes on).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one record was not turned into an event. Rendered into its dead letter.
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    #[error("record is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("JSON nests deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("record is not valid UTF-8 (first bad byte at {at})")]
    Utf8 { at: usize },
    #[error("record ends before it is complete (truncated input)")]
    Truncated,
    #[error("expected a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("record lacks `{0}`, which this format requires")]
    Missing(&'static str),
    #[error("not a {format} record: {why}")]
    Shape { format: &'static str, why: &'static str },
    #[error("EVTX: {0}")]
    Evtx(String),
    #[error("gzip stream is corrupt or truncated: {0}")]
    Gzip(#[source] std::io::Error),
    #[error("read error: {0}")]
    Read(#[source] std::io::Error),
    #[error("no decoder recognises this file (tried every format; use --format to choose one)")]
    UnknownFormat,
}

impl Reject {
    pub fn json_kind(v: &serde_json::Value) -> &'static str {
        match v {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Object(_) => "an object",
        }
    }
}
