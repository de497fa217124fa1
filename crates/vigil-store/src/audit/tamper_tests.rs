//! The tamper suite: random edits, deletions and reorderings of audit records, each of which
//! `verify` must detect, and untouched chains it must accept.

use ed25519_dalek::SigningKey;

use super::chain::{AuditRecord, Checkpoint, GENESIS, sign_checkpoint, verify};

/// splitmix64: a seeded generator, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// A chain as the store writes it: records in transactions of 1 to 4, a checkpoint after each.
fn chain(rng: &mut Rng, len: usize) -> (Vec<AuditRecord>, Vec<Checkpoint>) {
    let key = key();
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    let mut prev = GENESIS.to_owned();
    while records.len() < len {
        let batch = 1 + rng.below(4);
        for _ in 0..batch.min(len - records.len()) {
            let seq = records.len() as i64 + 1;
            let mut r = AuditRecord {
                seq,
                at: format!("2026-12-01T10:{:02}:{:02}.000000Z", seq / 60 % 60, seq % 60),
                actor: ["alice", "bob", "vigil:triage"][rng.below(3)].into(),
                origin: "10.0.0.7".into(),
                action: ["case.transition", "user.create", "token.revoke"][rng.below(3)].into(),
                target: format!("case:{}", rng.below(50)),
                outcome: "ok".into(),
                detail: format!("{{\"n\":{}}}", rng.next() % 1000),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            r.hash = r.compute_hash();
            prev.clone_from(&r.hash);
            records.push(r);
        }
        let last = records.last().expect("a record was just pushed");
        checkpoints.push(sign_checkpoint(&key, last.seq, &last.hash, &last.at));
    }
    (records, checkpoints)
}

fn field(r: &mut AuditRecord, which: usize) -> &mut String {
    match which {
        0 => &mut r.at,
        1 => &mut r.actor,
        2 => &mut r.origin,
        3 => &mut r.action,
        4 => &mut r.target,
        5 => &mut r.outcome,
        6 => &mut r.detail,
        7 => &mut r.prev_hash,
        _ => &mut r.hash,
    }
}

fn rehash_from(records: &mut [AuditRecord], from: usize) {
    for i in from..records.len() {
        if i > 0 {
            records[i].prev_hash = records[i - 1].hash.clone();
        }
        records[i].hash = records[i].compute_hash();
    }
}

/// Applies one random tampering; returns what it did.
fn tamper(rng: &mut Rng, records: &mut Vec<AuditRecord>, checkpoints: &mut [Checkpoint]) -> String {
    let n = records.len();
    let i = rng.below(n);
    match rng.below(8) {
        0 => {
            let which = rng.below(9);
            let value = field(&mut records[i], which);
            value.push('x');
            format!("edit field {which} of record {}", i + 1)
        }
        1 => {
            records[i].seq += 1 + rng.below(3) as i64;
            format!("renumber record {}", i + 1)
        }
        2 => {
            records.remove(i);
            format!("delete record {}", i + 1)
        }
        3 => {
            let j = (i + 1 + rng.below(n - 1)) % n;
            records.swap(i, j);
            format!("swap records {} and {}", i + 1, j + 1)
        }
        4 => {
            let r = records.remove(i);
            let j = (i + 1 + rng.below(n - 1)) % n;
            records.insert(j.min(records.len()), r);
            format!("move record {} to {}", i + 1, j + 1)
        }
        5 => {
            let copy = records[i].clone();
            records.insert(i + 1, copy);
            format!("duplicate record {}", i + 1)
        }
        6 => {
            // Without the key: edit, then recompute every hash after it.
            records[i].actor = "mallory".into();
            records[i].detail.push(' ');
            rehash_from(records, i);
            format!("rewrite the chain from record {}", i + 1)
        }
        _ => {
            // Rewrite, and re-sign every checkpoint with a key of one's own.
            records[i].outcome = "denied".into();
            rehash_from(records, i);
            let forger = SigningKey::from_bytes(&[9; 32]);
            for cp in checkpoints.iter_mut() {
                if let Some(r) = records.iter().find(|r| r.seq == cp.seq) {
                    *cp = sign_checkpoint(&forger, r.seq, &r.hash, &cp.signed_at);
                }
            }
            format!("rewrite from record {} and re-sign with another key", i + 1)
        }
    }
}

#[test]
fn every_tampering_is_detected() {
    let trusted = [key().verifying_key()];
    let mut rng = Rng(0x5EED);
    let mut detected = 0;
    for case in 0..1_200 {
        let len = 2 + rng.below(60);
        let (mut records, mut checkpoints) = chain(&mut rng, len);
        let what = tamper(&mut rng, &mut records, &mut checkpoints);
        let outcome = verify(records, &checkpoints, &trusted);
        assert!(outcome.is_err(), "case {case}: {what} went unnoticed");
        detected += 1;
    }
    assert_eq!(detected, 1_200);
}

#[test]
fn untouched_chains_verify() {
    let trusted = [key().verifying_key()];
    let mut rng = Rng(7);
    for len in (0..200).step_by(7) {
        let (records, checkpoints) = chain(&mut rng, len);
        let head = records.last().map(|r| r.hash.clone());
        let verified = verify(records, &checkpoints, &trusted).expect("untouched chain");
        assert_eq!(verified.records, len as u64);
        assert_eq!(Some(verified.head_hash), head.or(Some(GENESIS.to_owned())));
    }
}

#[test]
fn the_first_bad_record_is_named() {
    let trusted = [key().verifying_key()];
    let mut rng = Rng(11);
    let (mut records, checkpoints) = chain(&mut rng, 40);
    records[16].actor = "mallory".into();
    records[30].actor = "mallory".into();
    let broken = verify(records, &checkpoints, &trusted).expect_err("edited");
    assert_eq!(broken.seq, 17);
    assert!(broken.reason.contains("edited"), "{}", broken.reason);
}

#[test]
fn records_after_the_last_checkpoint_are_refused() {
    let trusted = [key().verifying_key()];
    let mut rng = Rng(13);
    let (mut records, checkpoints) = chain(&mut rng, 10);
    let mut extra = records[9].clone();
    extra.seq = 11;
    extra.prev_hash = records[9].hash.clone();
    extra.hash = extra.compute_hash();
    records.push(extra);
    let broken = verify(records, &checkpoints, &trusted).expect_err("unsigned tail");
    assert_eq!(broken.seq, 11);
}
