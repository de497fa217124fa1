//! The OCSF classes and objects Vigil emits, and a validator driven by a resolved OCSF schema.
//!
//! Vigil emits OCSF [`OCSF_VERSION`]. The schema itself is not embedded: the validator takes a
//! compiled schema document, so a deployment validates against exactly the schema it has.

mod class;
mod completeness;
mod error;
mod event;
pub mod objects;
mod schema;
mod validate;

pub use class::{CLASSES, Class};
pub use error::{Error, Result};
pub use event::{Event, Status};
pub use schema::{AttributeDef, Base, Constraints, Requirement, Schema, Shape, TypeDef};
pub use validate::{Problem, Violation};

/// The OCSF version written to `metadata.version`.
pub const OCSF_VERSION: &str = "1.5.0";
