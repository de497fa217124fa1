//! Every EVTX file decodes with no lost records: events read equal the records the chunk
//! headers say the file holds.

use vigil_ingest::ReadOptions;
use vigil_ingest::decoders::evtx::expected_records;

use crate::{data, files, read, violations};

fn check_dir(dir: &str) {
    let root = data().join(dir);
    let mut problems = Vec::new();
    let (mut total, mut invalid) = (0u64, 0u64);
    for file in files(&root, &[".evtx"]) {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (expected, bad_chunks) =
            expected_records(bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (events, dead) = read(&file, &ReadOptions::default());
        total += events.len() as u64;
        if bad_chunks > 0 || !dead.is_empty() || events.len() as u64 != expected {
            problems.push(format!(
                "{}: {} events, {expected} records in chunk headers, {bad_chunks} unreadable chunks, dead letters: {:?}",
                file.display(),
                events.len(),
                dead.iter().map(|d| &d.reason).take(3).collect::<Vec<_>>()
            ));
        }
        for event in &events {
            let v = violations(event);
            if !v.is_empty() {
                invalid += 1;
                if problems.len() < 20 {
                    problems.push(format!("{}: invalid OCSF: {v:?}", file.display()));
                }
            }
        }
    }
    assert!(total > 0, "no events read under {dir}");
    assert!(
        problems.is_empty() && invalid == 0,
        "{invalid} invalid events; problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn evtx_to_mitre_attack_decodes_every_record() {
    check_dir("evtx-to-mitre-attack");
}

#[test]
fn sigma_regression_evtx_decodes_every_record() {
    check_dir("sigma/regression_data");
}
