//! Witnesses of the trail: every signed checkpoint is also sent where the data directory's
//! owner cannot rewrite it, an append-only file on another path or volume, or a syslog
//! collector. A trail rebuilt and re-signed with a stolen key, or cut short, no longer holds the
//! heads its witness saw; [`check`] says which.

use std::io::{BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use super::chain::{AuditRecord, Broken, Checkpoint, signature_holds};
use crate::{Error, Result};

/// Where checkpoints are witnessed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Witness {
    /// A file appended to, one JSON checkpoint a line (open it append-only for the server:
    /// `chattr +a`, or a volume the server cannot rewrite).
    File(PathBuf),
    /// A syslog collector over UDP (RFC 5424, the checkpoint as the message).
    Syslog(SocketAddr),
}

impl Witness {
    /// Sends one checkpoint.
    pub fn send(&self, cp: &Checkpoint) -> Result<()> {
        let line = serde_json::to_string(cp)?;
        match self {
            Witness::File(path) => {
                let io = |source| Error::Io { path: path.clone(), source };
                let mut file =
                    std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
                file.write_all(format!("{line}\n").as_bytes()).map_err(io)
            }
            Witness::Syslog(addr) => {
                let io = |source| Error::Io { path: PathBuf::from(addr.to_string()), source };
                let local: SocketAddr =
                    if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
                let socket = UdpSocket::bind(local).map_err(io)?;
                // <110>: facility security (13), severity informational (6).
                let message = format!("<110>1 {} - vigil - audit-checkpoint - {line}", cp.signed_at);
                socket.send_to(message.as_bytes(), addr).map(|_| ()).map_err(io)
            }
        }
    }
}

/// The checkpoints a witness file holds, in the order written. Lines that are not checkpoints
/// are errors: a witness is read to be believed.
pub fn read_file(path: &Path) -> Result<Vec<Checkpoint>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let bad = |reason: String| Error::Export { line: i + 1, reason };
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| bad(format!("not a witnessed checkpoint: {e}")))?);
    }
    Ok(out)
}

/// Checks a trail against what its witness saw: every witnessed head signed by a trusted key
/// must be in the trail as it was. `record(seq)` looks a record up; `last` is the trail's last
/// sequence number (0 when empty).
pub fn check(
    witnessed: &[Checkpoint],
    keys: &[VerifyingKey],
    last: i64,
    mut record: impl FnMut(i64) -> Result<Option<AuditRecord>>,
) -> Result<Result<usize, Broken>> {
    let mut checked = 0;
    for cp in witnessed.iter().filter(|cp| signature_holds(cp, keys)) {
        if cp.seq > last {
            return Ok(Err(Broken {
                seq: last + 1,
                reason: format!(
                    "the trail was cut short: it ends at record {last}, its witness saw record {} (hash {})",
                    cp.seq, cp.hash
                ),
            }));
        }
        match record(cp.seq)? {
            Some(r) if r.hash == cp.hash => checked += 1,
            Some(r) => {
                return Ok(Err(Broken {
                    seq: cp.seq,
                    reason: format!(
                        "the trail was rewritten: record {} hashes to {}, its witness saw {}",
                        cp.seq, r.hash, cp.hash
                    ),
                }));
            }
            None => {
                return Ok(Err(Broken {
                    seq: cp.seq,
                    reason: format!("the trail was rewritten: record {} its witness saw is gone", cp.seq),
                }));
            }
        }
    }
    Ok(Ok(checked))
}
