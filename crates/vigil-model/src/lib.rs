//! Vigil's domain types, shared by every stage of the pipeline. Pure: no IO.

pub mod action;
pub mod actor;
pub mod address;
pub mod audit;
pub mod case;
mod dead_letter;
mod entity;
mod event_id;
mod ids;
mod severity;
pub mod view;

pub use action::{ACTIONS, ActionCategory, ActionKind, ActionRequest, Requester, Verdict};
pub use actor::{Actor, Cause, Component};
pub use audit::{AuditAction, Outcome};
pub use case::{CaseState, IllegalTransition, Lifecycle, Move, Transition, close_needs_second_person, step};
pub use dead_letter::{DeadLetter, EXCERPT_BYTES, Locator};
pub use entity::{Entity, EntityKind};
pub use event_id::EventId;
pub use ids::{AlertId, CaseId, TokenId, UserId};
pub use severity::Severity;
