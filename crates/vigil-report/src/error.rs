//! What can go wrong making a report or a packet.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] vigil_store::Error),
    #[error("serializing: {0}")]
    Json(#[from] serde_json::Error),
    #[error("packet: {0}")]
    Packet(String),
    #[error("{0}")]
    Config(String),
    #[error("there is no case {0}")]
    NoCase(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
