//! The engine's one error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
    #[error("stored alert {id} cannot be read: {reason}")]
    StoredAlert { id: String, reason: String },
    #[error("case {id} cannot be written as a document: {reason}")]
    CaseDocument { id: String, reason: String },
    #[error("the ingest queue is full; retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// The event stream (NATS JetStream) did not answer: nothing of the batch is acknowledged.
    #[error("{reason}; retry in {retry_after_secs} s")]
    StreamUnavailable { reason: String, retry_after_secs: u64 },
    #[error("the batch could not be stored: {0}")]
    NotDurable(String),
    #[error(transparent)]
    Respond(#[from] vigil_respond::Error),
    #[error("the engine has stopped")]
    Stopped,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
