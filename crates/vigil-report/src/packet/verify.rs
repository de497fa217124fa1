//! Checking a packet offline, with nothing but the archive and the server's public key: the
//! manifest's signature, every file against the manifest (nothing missing, changed or added),
//! every evidence file against its address, every audit record against its hash and the chain
//! links between neighbours, and every record sealed by a checkpoint the key signed. The first
//! thing wrong is named.

use std::collections::BTreeMap;
use std::io::Read;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use vigil_store::audit::chain::{AuditRecord, Checkpoint, key_id};

use super::{AUDIT, CHECKPOINTS, MANIFEST, Manifest, PACKET_VERSION, ROOT, SIGNATURE};

/// What an intact packet holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub case: String,
    pub files: usize,
    pub records: usize,
    pub checkpoints: usize,
    pub unsealed: usize,
    pub key_id: String,
    /// Whether the key was one the caller pinned (rather than the one the packet names).
    pub key_pinned: bool,
}

/// The first thing wrong with a packet.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Problem(pub String);

fn wrong(text: impl Into<String>) -> Problem {
    Problem(text.into())
}

/// Whether `bytes` look like a packet (a ustar archive whose first file is its manifest), so
/// `vigil verify` knows a packet from an audit export.
pub fn is_packet(bytes: &[u8]) -> bool {
    bytes.len() > 512
        && &bytes[257..262] == b"ustar"
        && bytes.starts_with(format!("{ROOT}/{MANIFEST}").as_bytes())
}

/// Checks `archive` against `keys` (the key the packet names when `keys` is empty: that proves
/// the packet is whole, not who made it).
pub fn verify(archive: &[u8], keys: &[VerifyingKey]) -> Result<Verified, Problem> {
    let files = entries(archive)?;
    let manifest_bytes = files.get(MANIFEST).ok_or_else(|| wrong("the packet has no manifest.json"))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| wrong(format!("manifest.json is not a packet manifest: {e}")))?;
    if manifest.vigil_packet != PACKET_VERSION {
        return Err(wrong(format!(
            "packet format {} (this Vigil reads {PACKET_VERSION})",
            manifest.vigil_packet
        )));
    }
    let named = hex::decode(&manifest.public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| wrong("the manifest's public_key is not an ed25519 key"))?;
    if key_id(&named) != manifest.key_id {
        return Err(wrong("the manifest's key_id is not its public_key's"));
    }
    let key_pinned = !keys.is_empty();
    let key = if key_pinned {
        *keys.iter().find(|k| key_id(k) == manifest.key_id).ok_or_else(|| {
            wrong(format!("the packet is signed by key {}, not by the key given", manifest.key_id))
        })?
    } else {
        named
    };
    let signature_file = files.get(SIGNATURE).ok_or_else(|| wrong("the packet has no manifest.sig"))?;
    let signature = hex::decode(String::from_utf8_lossy(signature_file).trim())
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| wrong("manifest.sig is not an ed25519 signature"))?;
    // Exactly as written (lower-case hex, one newline): a packet is checked byte for byte.
    if *signature_file != format!("{}\n", hex::encode(signature.to_bytes())).into_bytes() {
        return Err(wrong("manifest.sig is not as Vigil writes it"));
    }
    key.verify(manifest_bytes, &signature).map_err(|_| {
        wrong("manifest.sig does not verify: the manifest was changed or signed by another key")
    })?;

    // Every file the manifest names, as it names it; nothing else.
    for entry in &manifest.files {
        let bytes =
            files.get(entry.path.as_str()).ok_or_else(|| wrong(format!("{} is missing", entry.path)))?;
        if bytes.len() as u64 != entry.bytes || hex::encode(Sha256::digest(bytes)) != entry.sha256 {
            return Err(wrong(format!("{} is not the file the manifest signed", entry.path)));
        }
    }
    for path in files.keys() {
        if *path != MANIFEST && *path != SIGNATURE && !manifest.files.iter().any(|e| e.path == *path) {
            return Err(wrong(format!("{path} is not in the manifest")));
        }
    }
    for (path, bytes) in &files {
        if let Some(sha) = path.strip_prefix("evidence/")
            && hex::encode(Sha256::digest(bytes)) != sha
        {
            return Err(wrong(format!("{path} does not hash to its name")));
        }
    }

    // The audit records: each hashes to its hash, neighbours link, and each is sealed.
    let audit = files.get(AUDIT).ok_or_else(|| wrong("the packet has no audit.ndjson"))?;
    let mut records: Vec<AuditRecord> = Vec::new();
    for (n, line) in audit.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        let record: AuditRecord = serde_json::from_slice(line)
            .map_err(|e| wrong(format!("audit.ndjson line {}: not an audit record: {e}", n + 1)))?;
        if record.compute_hash() != record.hash {
            return Err(wrong(format!("audit record {} does not hash to its hash", record.seq)));
        }
        if let Some(before) = records.last() {
            if record.seq <= before.seq {
                return Err(wrong(format!("audit record {} is out of order", record.seq)));
            }
            if record.seq == before.seq + 1 && record.prev_hash != before.hash {
                return Err(wrong(format!(
                    "audit record {} does not follow record {}",
                    record.seq, before.seq
                )));
            }
        }
        records.push(record);
    }
    if records.len() != manifest.audit.records {
        return Err(wrong(format!(
            "{} audit records, the manifest says {}",
            records.len(),
            manifest.audit.records
        )));
    }
    let checkpoints: Vec<Checkpoint> = serde_json::from_slice(
        files.get(CHECKPOINTS).ok_or_else(|| wrong("the packet has no checkpoints.json"))?,
    )
    .map_err(|e| wrong(format!("checkpoints.json: {e}")))?;
    for cp in &checkpoints {
        if !cp.signature_holds(&[key]) {
            return Err(wrong(format!(
                "the checkpoint at record {} is not signed by key {}",
                cp.seq, manifest.key_id
            )));
        }
        // A checkpoint at a record the packet holds must name that record's hash.
        if let Some(record) = records.iter().find(|r| r.seq == cp.seq)
            && record.hash != cp.hash
        {
            return Err(wrong(format!("audit record {} is not the one its checkpoint signed", cp.seq)));
        }
    }
    let mut unsealed = 0;
    for record in &records {
        if !checkpoints.iter().any(|c| c.seq >= record.seq) {
            unsealed += 1;
            if manifest.audit.sealed_through.is_some_and(|s| record.seq <= s) {
                return Err(wrong(format!("audit record {} has no checkpoint that seals it", record.seq)));
            }
        }
    }
    if unsealed != manifest.audit.unsealed {
        return Err(wrong(format!(
            "{unsealed} unsealed audit records, the manifest says {}",
            manifest.audit.unsealed
        )));
    }
    Ok(Verified {
        case: manifest.case,
        files: manifest.files.len(),
        records: records.len(),
        checkpoints: checkpoints.len(),
        unsealed,
        key_id: manifest.key_id,
        key_pinned,
    })
}

/// The archive's files by path under `vigil-packet/`: regular files only, each once.
fn entries(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, Problem> {
    let mut files = BTreeMap::new();
    let mut tar = tar::Archive::new(archive);
    let iter = tar.entries().map_err(|e| wrong(format!("not a readable archive: {e}")))?;
    for entry in iter {
        let mut entry = entry.map_err(|e| wrong(format!("not a readable archive: {e}")))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(wrong("the archive holds something that is not a plain file"));
        }
        let path =
            entry.path().map_err(|e| wrong(format!("a file name: {e}")))?.to_string_lossy().into_owned();
        let inner = path
            .strip_prefix(&format!("{ROOT}/"))
            .filter(|p| super::plain_path(p))
            .ok_or_else(|| wrong(format!("{path:?} is not a file of a packet")))?
            .to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| wrong(format!("reading {path}: {e}")))?;
        if files.insert(inner, bytes).is_some() {
            return Err(wrong(format!("{path} is in the archive twice")));
        }
    }
    Ok(files)
}
