//! Vigil's domain types, shared by every stage of the pipeline. Pure: no IO.

pub mod address;
pub mod case;
mod dead_letter;
mod entity;
mod event_id;
mod severity;
pub mod view;

pub use case::{CaseState, IllegalTransition, Lifecycle, Transition};
pub use dead_letter::{DeadLetter, EXCERPT_BYTES, Locator};
pub use entity::{Entity, EntityKind};
pub use event_id::EventId;
pub use severity::Severity;
