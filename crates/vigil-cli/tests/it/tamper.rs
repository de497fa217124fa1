//! `vigil verify` on 1,000 tampered exports of a real audit trail: every edit, deletion,
//! reordering, duplication and rewrite is reported (exit 1, naming a record), and the untouched
//! export verifies (exit 0).

use serde_json::Value;
use vigil_store::audit::AuditRecord;
use vigil_store::{By, CaseRow, Store};

use crate::{scratch, vigil};

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A trail of 60 audited changes in transactions of one to three, exported.
fn export(dir: &std::path::Path) -> (Vec<String>, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = Store::open_dir(&dir.join("data")).await.expect("store");
        let by = By::user("alice", "10.0.0.7");
        for i in 0..25 {
            let mut tx = store.write().await.expect("begin");
            let case = CaseRow {
                id: format!("c{i}").into(),
                title: format!("case {i}"),
                state: vigil_model::CaseState::New,
                severity: 3,
                assignee: None,
                first_seen: "2026-12-01T10:00:00.000000Z".into(),
                last_seen: "2026-12-01T10:00:00.000000Z".into(),
                updated_at: String::new(),
                body: serde_json::json!({}),
            };
            tx.save_case(&case, &by).await.expect("save");
            if i % 2 == 0 {
                tx.comment_case(&case.id, "looked", &by).await.expect("comment");
            }
            if i % 3 == 0 {
                tx.transition_case(&case.id, vigil_model::CaseState::Benign, "change window", &by)
                    .await
                    .expect("move");
            }
            tx.commit().await.expect("commit");
        }
        let mut out = Vec::new();
        store.export_audit(&mut out).await.expect("export");
        let key = hex::encode(store.public_key().as_bytes());
        let text = String::from_utf8(out).expect("utf-8");
        (text.lines().map(str::to_owned).collect(), key)
    })
}

fn record(line: &str) -> Option<AuditRecord> {
    let v: Value = serde_json::from_str(line).ok()?;
    serde_json::from_value(v.get("record")?.clone()).ok()
}

fn line_of(r: &AuditRecord) -> String {
    serde_json::json!({ "record": r }).to_string()
}

/// One random tampering of the export's record lines; returns what it did.
fn tamper(rng: &mut u64, lines: &mut Vec<String>) -> String {
    let records: Vec<usize> = (0..lines.len()).filter(|&i| record(&lines[i]).is_some()).collect();
    let pick = |rng: &mut u64| records[(next(rng) % records.len() as u64) as usize];
    let i = pick(rng);
    match next(rng) % 6 {
        0 => {
            let mut r = record(&lines[i]).expect("record");
            match next(rng) % 5 {
                0 => r.actor.push('x'),
                1 => r.detail = r.detail.replace('}', ",\"x\":1}"),
                2 => r.at = r.at.replace("Z", "1Z"),
                3 => r.outcome = "denied".into(),
                _ => r.target.push('0'),
            }
            lines[i] = line_of(&r);
            format!("edit line {i}")
        }
        1 => {
            lines.remove(i);
            format!("delete line {i}")
        }
        2 => {
            let j = pick(rng);
            if i == j {
                lines.remove(i);
                return format!("delete line {i}");
            }
            lines.swap(i, j);
            format!("swap lines {i} and {j}")
        }
        3 => {
            let copy = lines[i].clone();
            lines.insert(i, copy);
            format!("duplicate line {i}")
        }
        4 => {
            let mut r = record(&lines[i]).expect("record");
            r.seq += 1;
            lines[i] = line_of(&r);
            format!("renumber line {i}")
        }
        _ => {
            // Edit, then recompute every later hash as someone without the key would.
            let mut prev: Option<String> = None;
            for &at in &records {
                let mut r = record(&lines[at]).expect("record");
                if at == i {
                    r.actor = "mallory".into();
                }
                if at >= i {
                    if let Some(p) = &prev {
                        r.prev_hash = p.clone();
                    }
                    r.hash = r.compute_hash();
                    lines[at] = line_of(&r);
                }
                prev = Some(r.hash.clone());
            }
            format!("rewrite from line {i}")
        }
    }
}

#[test]
fn vigil_verify_detects_every_tampering_of_an_export() {
    let dir = scratch("tamper");
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let (lines, key) = export(&dir);
    let clean = dir.join("clean.ndjson");
    std::fs::write(&clean, lines.join("\n") + "\n").expect("write");
    let ok = vigil(&["verify", clean.to_str().expect("utf-8"), "--key", &key], &dir);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));

    let mut rng = 0x7A3F;
    let file = dir.join("tampered.ndjson");
    for case in 0..1_000 {
        let mut copy = lines.clone();
        let what = tamper(&mut rng, &mut copy);
        std::fs::write(&file, copy.join("\n") + "\n").expect("write");
        let run = vigil(&["verify", file.to_str().expect("utf-8"), "--key", &key], &dir);
        let out = String::from_utf8_lossy(&run.stdout);
        assert_eq!(run.status.code(), Some(1), "case {case}: {what} went unnoticed: {out}");
        assert!(out.contains("BROKEN at record"), "case {case}: {out}");
    }
}
