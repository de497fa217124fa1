//! Vigil's sources and decoders, and their mappings to OCSF.
//!
//! Start at [`read_file`]: it opens a file (plain or gzip), recognises its format from the
//! [`FORMATS`] registry (or takes the one given), splits it into records and maps each to an
//! OCSF [`vigil_ocsf::Event`]. A record that cannot be read or mapped becomes a
//! [`vigil_model::DeadLetter`] with its location and reason; the rest of the file goes on.

pub mod decoders;
mod error;
pub mod fields;
mod format;
pub mod inflate;
pub mod input;
pub mod json_records;
mod read;
pub mod time;
/// How Sigma rules see a record; the type lives in `vigil-model` so detection needs no IO crate.
pub use vigil_model::view;
pub mod windows;

pub use error::{Error, Reject, Result};
pub use format::{Container, FORMATS, Format, RawRecord, Sample, by_name, detect};
pub use read::{FileSummary, Outcome, Pending, ReadOptions, Scanned, read_file, read_stream, scan_file};
