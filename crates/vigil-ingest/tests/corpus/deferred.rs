//! The deferred reader over the corpus: every borrowed view holds what the owned view holds and
//! what `read_file` gives the record (parsed whole), and `may_map_to` never says no to a class
//! a record maps to.

use vigil_ingest::view::SigmaView;
use vigil_ingest::{Outcome, ReadOptions, Scanned, read_file, scan_file};

use crate::{data, files};

/// Classes `may_map_to` decides on (what the behavioural detectors read).
const CLASSES: [u32; 2] = [3002, 1001];

/// Scans every file under `dir`; returns (records, borrowed views) and asserts no mismatch.
fn check(dir: &str, extensions: &[&str]) -> (usize, usize) {
    let (mut records, mut borrowed, mut problems) = (0usize, 0usize, Vec::new());
    for file in files(&data().join(dir), extensions) {
        let options = ReadOptions { evtx_threads: 1, views: true, ..ReadOptions::default() };
        let mut eager = std::collections::HashMap::new();
        read_file(&file, &options, &mut |o| {
            if let Outcome::Event(event, views) = o {
                eager.insert(event.metadata.uid.clone(), views);
            }
        });
        scan_file(&file, &options, &mut |scanned| {
            let Scanned::Record(pending) = scanned else { return };
            records += 1;
            let predicted: Vec<bool> = CLASSES.iter().map(|c| pending.may_map_to(*c)).collect();
            borrowed += pending.views().iter().filter(|v| matches!(v, SigmaView::Borrowed(_))).count();
            let views: Vec<_> = pending.views().iter().map(SigmaView::to_source_view).collect();
            if views != pending.source_views() && problems.len() < 10 {
                problems.push(format!("{}: record {records}: views differ: {views:?}", file.display()));
            }
            let Some(event) = pending.event() else { return };
            if eager.get(&event.metadata.uid).map(Vec::as_slice) != Some(&views[..]) && problems.len() < 10 {
                problems.push(format!("{}: record {records}: views differ from read_file's", file.display()));
            }
            for (class, predicted) in CLASSES.iter().zip(predicted) {
                if event.class_uid == *class && !predicted && problems.len() < 10 {
                    problems.push(format!("{}: record {records} maps to {class}", file.display()));
                }
            }
        });
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{dir}: {borrowed} of {records} records read through borrowed views");
    (records, borrowed)
}

#[test]
fn otrf_borrowed_views_match_and_class_hints_hold() {
    let (records, borrowed) = check("otrf-security-datasets", &[".json", ".json.gz", ".log", ".csv"]);
    assert!(borrowed * 10 >= records * 9, "{borrowed} of {records}");
}

#[test]
fn evtx_borrowed_views_match_and_class_hints_hold() {
    let (records, borrowed) = check("evtx-to-mitre-attack", &[".evtx"]);
    assert!(borrowed * 2 >= records, "{borrowed} of {records}");
}

#[test]
fn cloudtrail_borrowed_views_match_and_class_hints_hold() {
    let (records, borrowed) = check("stratus-red-team/docs/detonation-logs", &[".json"]);
    assert_eq!(borrowed, records);
}
