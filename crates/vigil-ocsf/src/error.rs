//! The crate's one error type.

/// Errors from loading a schema. Validation findings are data ([`crate::Violation`]), not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the schema is not JSON")]
    SchemaJson(#[source] serde_json::Error),
    #[error("the schema has no `{0}` section")]
    SchemaSection(&'static str),
    #[error("schema {what} `{name}` is malformed: {problem}")]
    SchemaShape { what: &'static str, name: String, problem: &'static str },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
