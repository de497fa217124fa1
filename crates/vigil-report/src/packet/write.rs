//! Writing a packet: the files in a fixed order, the manifest of their hashes, its signature.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use vigil_store::audit::chain::key_id;

use super::{
    AUDIT, AuditSummary, CHECKPOINTS, Contents, FileEntry, MANIFEST, Manifest, PACKET_VERSION, ROOT,
    SIGNATURE,
};
use crate::{Error, Result};

/// The packet of `contents` as archive bytes, its manifest signed by `sign` (the server's key,
/// whose public half is `public_key`).
pub fn write(
    contents: &Contents,
    public_key: &VerifyingKey,
    sign: &dyn Fn(&[u8]) -> Signature,
) -> Result<Vec<u8>> {
    let mut files: Vec<(String, Vec<u8>)> = contents.files.clone();
    // The audit records, and for each the first checkpoint at or after it: the one that seals it.
    let mut audit = Vec::new();
    for record in &contents.audit {
        audit.extend_from_slice(serde_json::to_string(record)?.as_bytes());
        audit.push(b'\n');
    }
    let mut sealing: Vec<&vigil_store::audit::chain::Checkpoint> = Vec::new();
    let mut unsealed = 0;
    let mut sealed_through = None;
    for record in &contents.audit {
        match contents.checkpoints.iter().find(|c| c.seq >= record.seq) {
            Some(cp) => {
                if !sealing.iter().any(|s| s.seq == cp.seq) {
                    sealing.push(cp);
                }
                sealed_through = Some(record.seq);
            }
            None => unsealed += 1,
        }
    }
    files.push((AUDIT.to_owned(), audit));
    files.push((CHECKPOINTS.to_owned(), serde_json::to_vec_pretty(&sealing)?));
    let mut seen = std::collections::HashSet::new();
    for (path, _) in &files {
        if !super::plain_path(path) || path == MANIFEST || path == SIGNATURE || !seen.insert(path.clone()) {
            return Err(Error::Packet(format!("{path:?} cannot be a file of a packet")));
        }
    }
    let manifest = Manifest {
        vigil_packet: PACKET_VERSION,
        case: contents.case.clone(),
        from: contents.from.clone(),
        to: contents.to.clone(),
        created_at: contents.created_at.clone(),
        key_id: key_id(public_key),
        public_key: hex::encode(public_key.as_bytes()),
        files: files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: path.clone(),
                sha256: hex::encode(Sha256::digest(bytes)),
                bytes: bytes.len() as u64,
            })
            .collect(),
        audit: AuditSummary { records: contents.audit.len(), sealed_through, unsealed },
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    let signature = hex::encode(sign(&manifest_bytes).to_bytes());

    let mut tar = tar::Builder::new(Vec::new());
    let mtime =
        chrono::DateTime::parse_from_rfc3339(&contents.created_at).map(|t| t.timestamp()).unwrap_or(0);
    let mut append = |path: &str, bytes: &[u8]| -> Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(u64::try_from(mtime).unwrap_or(0));
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, format!("{ROOT}/{path}"), bytes)
            .map_err(|e| Error::Packet(format!("writing {path}: {e}")))
    };
    append(MANIFEST, &manifest_bytes)?;
    append(SIGNATURE, format!("{signature}\n").as_bytes())?;
    for (path, bytes) in &files {
        append(path, bytes)?;
    }
    tar.into_inner().map_err(|e| Error::Packet(format!("finishing the archive: {e}")))
}
