//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: {message}")]
    Context { file: String, message: String },
    #[error("playbook {file}: {message}")]
    Playbook { file: String, message: String },
    #[error("model: {0}")]
    Model(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
