//! What can go wrong running an action, sorted by what the executor does about it.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target is not there (a deleted token, an unknown case): nothing to act on.
    #[error("the target is gone: {0}")]
    TargetGone(String),
    /// The target is no longer in the state the precheck or plan saw (someone else changed it):
    /// Vigil changed nothing and puts nothing back.
    #[error("the target changed: {0}")]
    TargetChanged(String),
    /// Worth another attempt (a busy database, a connector timing out), until the deadline.
    #[error("{0} (transient)")]
    Transient(String),
    /// The action cannot do what it was asked; trying again will not help.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
    #[error("serializing: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// A store failure is a database having a bad moment, not the action failing.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_) | Error::Store(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
