//! The store's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("audit signing key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("unsupported database {0:?}: expected a data directory, sqlite://… or postgres://…")]
    Url(String),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no {kind} {id:?}")]
    NotFound { kind: &'static str, id: String },
    #[error(transparent)]
    Transition(#[from] vigil_model::IllegalTransition),
    #[error("{0}")]
    Conflict(String),
    #[error("stored value {column} is not valid: {reason}")]
    Corrupt { column: &'static str, reason: String },
    #[error("audit export line {line}: {reason}")]
    Export { line: usize, reason: String },
    /// A store an older Vigil wrote, opened by a reader that does not migrate.
    #[error(
        "the store is at schema version {found}; this Vigil reads {expected}: start `vigil serve` on it once to bring it up to date"
    )]
    Outdated { found: i64, expected: i64 },
    /// A worker's commit under a partition lease another worker has since taken (or that it
    /// gave back): nothing of it was written.
    #[error("partition {partition} is no longer held under epoch {epoch}")]
    LeaseLost { partition: u32, epoch: i64 },
    #[error("migration {version}: {source}")]
    Migration { version: i64, source: sqlx::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the database could not be reached (down, restarting, no connection to be had)
    /// rather than the request being wrong: the same request may succeed later.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Error::Database(e) | Error::Migration { source: e, .. } => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // SQLSTATE class 08 (connection exception) and 57 (operator intervention: a
                // server shutting down or restarting).
                sqlx::Error::Database(db) => {
                    db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
                }
                _ => false,
            },
            _ => false,
        }
    }
}
