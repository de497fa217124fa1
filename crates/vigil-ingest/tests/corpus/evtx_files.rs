//! Every EVTX file decodes with no lost records: events read equal the records the chunk
//! headers say the file holds.

use vigil_ingest::ReadOptions;
use vigil_ingest::decoders::evtx::expected_records;

use crate::{data, files, read, violations};

/// The most of EVTX-to-MITRE's events that may fall back to Base Event.
const MAX_EVTX_TO_MITRE_BASE_SHARE: f64 = 0.10;

/// Reads every EVTX file under `dir`; returns the events by class.
fn check_dir(dir: &str) -> std::collections::BTreeMap<u32, u64> {
    let root = data().join(dir);
    let mut classes = std::collections::BTreeMap::new();
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
            *classes.entry(event.class_uid).or_default() += 1;
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
    classes
}

#[test]
fn evtx_to_mitre_attack_decodes_every_record() {
    let classes = check_dir("evtx-to-mitre-attack");
    let share = crate::base_event_share(&classes);
    eprintln!(
        "EVTX-to-MITRE: {:.1}% Base Events of {} ({classes:?})",
        share * 100.0,
        classes.values().sum::<u64>()
    );
    assert!(
        share <= MAX_EVTX_TO_MITRE_BASE_SHARE,
        "{:.1}% of EVTX-to-MITRE's events are Base Events",
        share * 100.0
    );
}

#[test]
fn sigma_regression_evtx_decodes_every_record() {
    check_dir("sigma/regression_data");
}

#[test]
fn damaged_evtx_keeps_every_readable_record_and_reports_the_rest() {
    let file = files(&data().join("evtx-to-mitre-attack"), &[".evtx"])
        .into_iter()
        .max_by_key(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .expect("an EVTX file");
    let bytes = std::fs::read(&file).expect("readable");
    let (whole, _) = read(&file, &ReadOptions::default());
    // Cut inside the last chunk and flip bytes in the first chunk's records.
    let mut damaged = bytes[..bytes.len() - 30_000].to_vec();
    for b in &mut damaged[4096 + 600..4096 + 700] {
        *b ^= 0x5a;
    }
    let dir = std::env::temp_dir().join(format!("vigil-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("damaged.evtx");
    std::fs::write(&path, &damaged).expect("scratch file");
    let (events, dead) = read(&path, &ReadOptions::default());
    assert!(!dead.is_empty(), "damage is reported");
    assert!(events.len() * 2 > whole.len(), "{} of {} records recovered", events.len(), whole.len());
    assert!(events.len() < whole.len());
}
