//! The crate's one error type. Problems with individual rules are [`crate::Diagnostic`]s, not
//! errors: one bad rule never stops the others.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("placeholder configuration is invalid: {0}")]
    Placeholders(String),
    #[error("field mapping {file} is invalid: {message}")]
    Mapping { file: String, message: String },
    #[error("geo-IP database is not a MaxMind-format database: {0}")]
    GeoDatabase(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
