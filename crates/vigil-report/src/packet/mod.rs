//! Incident packets: one case as a signed, self-contained archive an auditor can check alone.
//! A packet is a ustar archive under `vigil-packet/`: the case document, its timeline, the raw
//! events, the alerts with their rules, the recommendation, the actions with their approvals
//! and run logs (state before and after), the evidence files, the case's audit records with the
//! signed checkpoints that seal them, and `manifest.json` (every file's SHA-256 and size) with
//! `manifest.sig`, the server's ed25519 signature over the manifest's bytes. `docs/packet.md`
//! is the format's specification.

mod gather;
#[cfg(test)]
mod packet_tests;
mod verify;
mod write;

use serde::{Deserialize, Serialize};

pub use gather::{Contents, gather};
pub use verify::{Problem, Verified, is_packet, verify};
pub use write::write;

/// The format's version: a reader refuses a packet of another.
pub const PACKET_VERSION: u32 = 1;
/// The folder every file of a packet is in.
pub const ROOT: &str = "vigil-packet";
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const AUDIT: &str = "audit.ndjson";
pub const CHECKPOINTS: &str = "checkpoints.json";

/// What the signature vouches for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub vigil_packet: u32,
    pub case: String,
    /// The period the packet was cut to, when one was asked for (RFC 3339).
    pub from: Option<String>,
    pub to: Option<String>,
    pub created_at: String,
    /// The signing key: its short id and its public half (hex).
    pub key_id: String,
    pub public_key: String,
    pub files: Vec<FileEntry>,
    pub audit: AuditSummary,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The path under `vigil-packet/`.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// The case's audit records in the packet and how far signed checkpoints seal them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSummary {
    pub records: usize,
    /// The newest record a checkpoint in the packet seals; records after it were written
    /// after the server's last checkpoint and are vouched for by the manifest's signature only.
    pub sealed_through: Option<i64>,
    pub unsealed: usize,
}

/// Whether `path` is a name a packet may hold: plain, relative, no `..`, no odd characters.
pub(crate) fn plain_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && !path.starts_with('/')
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && path.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}
