//! The audit chain itself, with no database: how a record is hashed, how a checkpoint is signed,
//! and the offline check that finds the first record that is not what was written.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a caller says happened; the store adds the sequence number, time and hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who: a person, one of their tokens, or one of Vigil's components.
    pub actor: vigil_model::Actor,
    /// From where: a client address, `cli`, or `engine`.
    pub origin: String,
    /// What: `case.transition`, `user.create`, `token.revoke`.
    pub action: vigil_model::AuditAction,
    /// Which object: `case:<id>`, `user:<name>`, `token:<id>`.
    pub target: String,
    /// Done, refused or failed; the reason for a refusal or failure goes in `detail`.
    pub outcome: vigil_model::Outcome,
    /// The change itself, as JSON.
    pub detail: serde_json::Value,
}

/// One stored audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    /// JSON text, hashed exactly as stored.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A signed statement that the chain had `hash` at `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    pub key_id: String,
    pub signature: String,
}

impl AuditRecord {
    /// SHA-256 over every field but `hash`, each length-prefixed so no two records encode alike.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"vigil-audit-v1");
        let seq = self.seq.to_string();
        for field in [
            seq.as_str(),
            &self.at,
            &self.actor,
            &self.origin,
            &self.action,
            &self.target,
            &self.outcome,
            &self.detail,
            &self.prev_hash,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

fn checkpoint_message(seq: i64, hash: &str, signed_at: &str, key_id: &str) -> Vec<u8> {
    let mut m = b"vigil-audit-checkpoint-v1".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    for field in [hash, signed_at, key_id] {
        m.extend_from_slice(&(field.len() as u64).to_be_bytes());
        m.extend_from_slice(field.as_bytes());
    }
    m
}

/// The short name of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

pub fn sign_checkpoint(key: &SigningKey, seq: i64, hash: &str, signed_at: &str) -> Checkpoint {
    let key_id = key_id(&key.verifying_key());
    let signature = key.sign(&checkpoint_message(seq, hash, signed_at, &key_id));
    Checkpoint {
        seq,
        hash: hash.to_owned(),
        signed_at: signed_at.to_owned(),
        key_id,
        signature: hex::encode(signature.to_bytes()),
    }
}

impl Checkpoint {
    /// Whether one of `keys` signed this checkpoint as it reads.
    pub fn signature_holds(&self, keys: &[VerifyingKey]) -> bool {
        signature_holds(self, keys)
    }
}

pub(crate) fn signature_holds(cp: &Checkpoint, keys: &[VerifyingKey]) -> bool {
    let Some(key) = keys.iter().find(|k| key_id(k) == cp.key_id) else {
        return false;
    };
    let Ok(bytes) = hex::decode(&cp.signature) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(&checkpoint_message(cp.seq, &cp.hash, &cp.signed_at, &cp.key_id), &signature).is_ok()
}

/// A chain that checked out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Verified {
    pub records: u64,
    pub checkpoints: u64,
    /// The last record's sequence number and hash; compare it with a head kept elsewhere to
    /// detect records cut from the end together with their checkpoint.
    pub head_seq: i64,
    pub head_hash: String,
}

/// The first thing that is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error, schemars::JsonSchema)]
#[error("audit record {seq}: {reason}")]
pub struct Broken {
    /// The sequence number of the first record that is not as written (or where one is missing).
    pub seq: i64,
    pub reason: String,
}

/// Checks a chain: records in the order they are stored, checkpoints in theirs, signatures
/// against `keys` only.
pub fn verify(
    records: impl IntoIterator<Item = AuditRecord>,
    checkpoints: &[Checkpoint],
    keys: &[VerifyingKey],
) -> Result<Verified, Broken> {
    let mut verifier = ChainVerifier::new(checkpoints, keys);
    for record in records {
        verifier.push(&record)?;
    }
    verifier.finish()
}

/// The check of [`verify`], fed one record at a time so a long chain is never held in memory.
pub struct ChainVerifier<'a> {
    keys: &'a [VerifyingKey],
    pending: std::iter::Peekable<std::slice::Iter<'a, Checkpoint>>,
    checkpoints: u64,
    expected: i64,
    prev_hash: String,
    last_signed: i64,
}

fn broken<T>(seq: i64, reason: String) -> Result<T, Broken> {
    Err(Broken { seq, reason })
}

impl<'a> ChainVerifier<'a> {
    pub fn new(checkpoints: &'a [Checkpoint], keys: &'a [VerifyingKey]) -> Self {
        ChainVerifier {
            keys,
            pending: checkpoints.iter().peekable(),
            checkpoints: checkpoints.len() as u64,
            expected: 1,
            prev_hash: GENESIS.to_owned(),
            last_signed: 0,
        }
    }

    pub fn push(&mut self, record: &AuditRecord) -> Result<(), Broken> {
        let expected = self.expected;
        if record.seq != expected {
            return broken(
                expected,
                format!(
                    "found record {} where {expected} belongs: records were deleted, inserted or reordered",
                    record.seq
                ),
            );
        }
        if record.prev_hash != self.prev_hash {
            return broken(
                expected,
                "does not link to the record before it: records were removed or reordered".into(),
            );
        }
        if record.compute_hash() != record.hash {
            return broken(expected, "its contents do not match its hash: it was edited".into());
        }
        while let Some(cp) = self.pending.next_if(|cp| cp.seq <= record.seq) {
            if cp.seq < record.seq || cp.seq <= self.last_signed {
                return broken(
                    cp.seq,
                    "a checkpoint is out of order or names a record that is missing".into(),
                );
            }
            if !signature_holds(cp, self.keys) {
                return broken(cp.seq, format!("checkpoint signature by key {} does not verify", cp.key_id));
            }
            if cp.hash != record.hash {
                let first = self.last_signed + 1;
                return broken(
                    first,
                    format!(
                        "records {first}..={} differ from what checkpoint {} signed: the chain was rewritten",
                        cp.seq, cp.seq
                    ),
                );
            }
            self.last_signed = cp.seq;
        }
        self.prev_hash.clone_from(&record.hash);
        self.expected += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Verified, Broken> {
        let head_seq = self.expected - 1;
        if let Some(cp) = self.pending.next() {
            return broken(
                head_seq + 1,
                format!(
                    "checkpoint {} signs a record that is missing: records were cut from the end",
                    cp.seq
                ),
            );
        }
        if self.last_signed != head_seq {
            let first = self.last_signed + 1;
            return broken(
                first,
                format!("records {first}..={head_seq} are not covered by a signed checkpoint"),
            );
        }
        Ok(Verified {
            records: head_seq as u64,
            checkpoints: self.checkpoints,
            head_seq,
            head_hash: self.prev_hash,
        })
    }
}
