//! Vigil's domain types, shared by every stage of the pipeline. Pure: no IO.

mod dead_letter;
mod event_id;
mod severity;

pub use dead_letter::{DeadLetter, EXCERPT_BYTES, Locator};
pub use event_id::EventId;
pub use severity::Severity;
