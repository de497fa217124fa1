//! A packet verifies untouched, with nothing but its bytes and the public key; and 1,000 random
//! edits, deletions, additions and re-signings are each caught by `verify`.

use ed25519_dalek::SigningKey;
use ed25519_dalek::ed25519::signature::Signer;
use vigil_store::audit::chain::{AuditRecord, GENESIS, sign_checkpoint};

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Seven audit records (the case's are 2, 3, 5, 6 and 7), a checkpoint at 4 and one at 6.
fn contents(server: &SigningKey) -> Contents {
    let mut chain: Vec<AuditRecord> = Vec::new();
    for seq in 1..=7 {
        let mut record = AuditRecord {
            seq,
            at: format!("2026-11-30T10:00:0{seq}.000Z"),
            actor: "user:rita".into(),
            origin: "cli".into(),
            action: "case.transition".into(),
            target: if seq == 1 || seq == 4 { "case:other".into() } else { "case:c1".into() },
            outcome: "done".into(),
            detail: format!("{{\"step\":{seq}}}"),
            prev_hash: chain.last().map_or(GENESIS.to_owned(), |r| r.hash.clone()),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        chain.push(record);
    }
    let checkpoints = vec![
        sign_checkpoint(server, 4, &chain[3].hash, "2026-11-30T10:00:10.000Z"),
        sign_checkpoint(server, 6, &chain[5].hash, "2026-11-30T10:00:11.000Z"),
    ];
    let evidence = b"ps -ef as it was".to_vec();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&evidence));
    Contents {
        case: "c1".into(),
        from: None,
        to: None,
        created_at: "2026-12-01T09:00:00.000Z".into(),
        files: vec![
            ("case.json".into(), br#"{"case": {"id": "c1", "title": "Beaconing"}}"#.to_vec()),
            ("timeline.json".into(), b"[]\n".to_vec()),
            ("events.ndjson".into(), b"{\"id\":\"e1\",\"raw\":\"4625 failed logon\"}\n".to_vec()),
            (format!("evidence/{sha}"), evidence),
        ],
        audit: chain.into_iter().filter(|r| r.target == "case:c1").collect(),
        checkpoints,
    }
}

fn packet(server: &SigningKey) -> Vec<u8> {
    write(&contents(server), &server.verifying_key(), &|m| server.sign(m)).expect("packet")
}

fn unpack(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read");
        out.push((path, data));
    }
    out
}

fn pack(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, path, data.as_slice()).expect("append");
    }
    tar.into_inner().expect("archive")
}

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn an_untouched_packet_verifies_with_only_the_public_key() {
    let server = key(7);
    let bytes = packet(&server);
    assert!(is_packet(&bytes));
    let verified = verify(&bytes, &[server.verifying_key()]).expect("intact");
    assert_eq!((verified.case.as_str(), verified.records, verified.checkpoints), ("c1", 5, 2));
    assert_eq!(verified.unsealed, 1, "record 7 is newer than the last checkpoint");
    assert!(verified.key_pinned);
    assert!(verify(&bytes, &[]).is_ok_and(|v| !v.key_pinned));
    assert!(verify(&bytes, &[key(8).verifying_key()]).is_err(), "another server's key");
}

#[test]
fn a_thousand_edits_deletions_additions_and_re_signings_are_each_caught() {
    let server = key(7);
    let attacker = key(9);
    let original = unpack(&packet(&server));
    let mut state = 0x5eed_u64;
    let mut kinds = [0usize; 6];
    for round in 0..1_000 {
        let mut files = original.clone();
        let pick = |state: &mut u64, len: usize| (next(state) % len as u64) as usize;
        let kind = (next(&mut state) % 6) as usize;
        kinds[kind] += 1;
        match kind {
            // One byte of one file changed.
            0 => {
                let f = pick(&mut state, files.len());
                let data = &mut files[f].1;
                if data.is_empty() {
                    data.push(b'x');
                } else {
                    let at = pick(&mut state, data.len());
                    data[at] ^= (next(&mut state) % 255 + 1) as u8;
                }
            }
            // One file gone.
            1 => {
                let f = pick(&mut state, files.len());
                files.remove(f);
            }
            // One file more.
            2 => {
                let names =
                    ["vigil-packet/notes.txt", "vigil-packet/evidence/0000", "vigil-packet/events2.ndjson"];
                let name = names[pick(&mut state, names.len())];
                files.insert(
                    pick(&mut state, files.len() + 1),
                    (name.to_owned(), format!("added {round}").into_bytes()),
                );
            }
            // One file duplicated.
            3 => {
                let f = pick(&mut state, files.len());
                let copy = files[f].clone();
                files.push(copy);
            }
            // A file changed and the manifest re-signed with another key to match.
            4 | 5 => {
                let f = 2 + pick(&mut state, files.len() - 2);
                let data = &mut files[f].1;
                if kind == 4 || data.is_empty() {
                    data.extend_from_slice(b"\n");
                } else {
                    data.truncate(data.len() - 1);
                }
                let path = files[f].0.trim_start_matches("vigil-packet/").to_owned();
                let new_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&files[f].1));
                let new_len = files[f].1.len() as u64;
                let mut manifest: Manifest = serde_json::from_slice(&files[0].1).expect("manifest");
                for entry in &mut manifest.files {
                    if entry.path == path {
                        entry.sha256 = new_sha.clone();
                        entry.bytes = new_len;
                    }
                }
                manifest.public_key = hex::encode(attacker.verifying_key().as_bytes());
                manifest.key_id = vigil_store::audit::chain::key_id(&attacker.verifying_key());
                let bytes = serde_json::to_vec_pretty(&manifest).expect("json");
                files[1].1 = format!("{}\n", hex::encode(attacker.sign(&bytes).to_bytes())).into_bytes();
                files[0].1 = bytes;
            }
            _ => unreachable!(),
        }
        let tampered = pack(&files);
        assert!(
            verify(&tampered, &[server.verifying_key()]).is_err(),
            "round {round} (kind {kind}) went unnoticed"
        );
    }
    assert!(kinds.iter().all(|k| *k > 100), "every kind of change was tried: {kinds:?}");
}

#[test]
fn an_audit_record_changed_and_rehashed_is_caught_by_its_checkpoint_or_its_neighbour() {
    let server = key(7);
    let mut contents = contents(&server);
    // Record 6 is sealed by the checkpoint at 6: rewriting it, even with a fresh hash, breaks
    // the checkpoint; the server's own signature over such a manifest does not help.
    contents.audit[3].detail = "{\"step\":\"rewritten\"}".into();
    contents.audit[3].hash = contents.audit[3].compute_hash();
    let bytes = write(&contents, &server.verifying_key(), &|m| server.sign(m)).expect("packet");
    let problem = verify(&bytes, &[server.verifying_key()]).expect_err("caught");
    assert!(problem.0.contains("record 6"), "{problem}");
}
