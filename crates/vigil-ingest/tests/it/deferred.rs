//! The deferred reader detection uses: borrowed views hold what the owned views hold, a record
//! is mapped only when asked, and `may_map_to` never says no to a class a record maps to.

use std::path::Path;

use vigil_ingest::view::SigmaView;
use vigil_ingest::{Outcome, ReadOptions, Scanned, read_file, scan_file};

use crate::fixture;

/// Classes `may_map_to` decides on, and one it must leave open.
const CLASSES: [u32; 3] = [3002, 1001, 1007];

/// What scanning a file saw: records, borrowed views, records mapped, and problems found.
#[derive(Debug, Default)]
struct Scan {
    records: usize,
    borrowed: usize,
    problems: Vec<String>,
}

/// Scans `path`, mapping every record, and checks each against its own owned views and the
/// views `read_file` gives the same record (parsed whole).
fn scan(path: &Path) -> Scan {
    let mut eager = std::collections::HashMap::new();
    read_file(path, &ReadOptions { views: true, ..ReadOptions::default() }, &mut |o| {
        if let Outcome::Event(event, views) = o {
            eager.insert(event.metadata.uid.clone(), views);
        }
    });
    let mut scan = Scan::default();
    scan_file(path, &ReadOptions::default(), &mut |scanned| {
        let Scanned::Record(pending) = scanned else { return };
        scan.records += 1;
        let predicted: Vec<bool> = CLASSES.iter().map(|c| pending.may_map_to(*c)).collect();
        let borrowed: Vec<_> = pending.views().iter().map(SigmaView::to_source_view).collect();
        scan.borrowed += pending.views().iter().filter(|v| matches!(v, SigmaView::Borrowed(_))).count();
        if borrowed != pending.source_views() {
            scan.problems.push(format!(
                "record {}: borrowed {borrowed:?}\nowned {:?}",
                scan.records,
                pending.source_views()
            ));
        }
        let Some(event) = pending.event() else { return };
        for (class, predicted) in CLASSES.iter().zip(predicted) {
            if event.class_uid == *class && !predicted {
                scan.problems.push(format!("record {} maps to {class}, may_map_to said no", scan.records));
            }
        }
        if eager.get(&event.metadata.uid).map(Vec::as_slice) != Some(&borrowed[..]) {
            scan.problems.push(format!("record {}: views differ from read_file's", scan.records));
        }
    });
    scan
}

#[test]
fn borrowed_views_hold_what_owned_views_hold_in_every_fixture() {
    let dir = fixture("");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("fixtures").flatten().map(|e| e.path()).collect();
    names.sort();
    let mut borrowed_by_file = Vec::new();
    for path in names {
        let scan = scan(&path);
        assert!(scan.problems.is_empty(), "{}:\n{}", path.display(), scan.problems.join("\n"));
        borrowed_by_file.push((path.file_name().map(|n| n.to_string_lossy().into_owned()), scan));
    }
    // The Windows and cloud decoders lend their records (nxlog.json's Defender event, whose
    // field names have spaces, is built); a regression to copying shows here.
    for name in ["nxlog.json", "winlogbeat.json", "evtx_dump.json", "cloudtrail.json", "okta.json"] {
        let (_, scan) = borrowed_by_file
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(scan.records > 0, "{name}: no records");
        assert!(
            scan.borrowed * 3 >= scan.records * 2,
            "{name}: {} of {} borrowed",
            scan.borrowed,
            scan.records
        );
    }
}

#[test]
fn a_scanned_record_is_mapped_only_when_asked_and_then_as_read_file_maps_it() {
    let path = fixture("nxlog.json");
    let mut eager = Vec::new();
    read_file(&path, &ReadOptions::default(), &mut |o| {
        if let Outcome::Event(e, _) = o {
            eager.push(*e);
        }
    });
    let (mut asked, mut seen) = (Vec::new(), 0);
    let summary = scan_file(&path, &ReadOptions::default(), &mut |scanned| {
        let Scanned::Record(pending) = scanned else { return };
        seen += 1;
        // Every second record only: the others are never mapped.
        if seen % 2 == 0 {
            asked.extend(pending.event().cloned());
        }
    });
    assert_eq!(summary.events as usize, eager.len());
    assert_eq!(asked.len(), eager.len() / 2);
    for (got, want) in asked.iter().zip(eager.iter().skip(1).step_by(2)) {
        assert_eq!(got, want);
    }
}

#[test]
fn a_record_that_yields_no_view_is_a_dead_letter_when_scanned() {
    let path = crate::scratch_file(
        "nxlog-no-id.json",
        br#"{"EventID":4688,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"WS1","NewProcessName":"C:\\x.exe"}
{"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"WS1"}
"#,
    );
    let (mut records, mut dead) = (0, Vec::new());
    let summary = scan_file(
        &path,
        &ReadOptions { format: vigil_ingest::by_name("nxlog"), ..ReadOptions::default() },
        &mut |s| match s {
            Scanned::Record(_) => records += 1,
            Scanned::Dead(d) => dead.push(d),
        },
    );
    assert_eq!((records, summary.events, summary.dead_letters), (1, 1, 1));
    assert!(dead[0].reason.contains("EventID"), "{}", dead[0].reason);
}

#[test]
fn an_nxlog_record_read_without_its_message_maps_as_read_file_maps_it() {
    let path = crate::scratch_file(
        "nxlog-message.json",
        br#"{"EventID":800,"SourceName":"PowerShell","Channel":"Windows PowerShell","Hostname":"WS1","Message":"Pipeline execution details for command line: IEX (New-Object Net.WebClient)\r\n\tDetails:\r\n\tCommandInvocation(Invoke-Expression)","HostApplication":"powershell.exe -nop"}
{"EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"WS1","Message":"An account was successfully logged on.\r\n\"quoted\" \\ \u00e9","TargetUserName":"alice","LogonType":"3","IpAddress":"203.0.113.9"}
"#,
    );
    let mut eager = Vec::new();
    read_file(&path, &ReadOptions { views: true, ..ReadOptions::default() }, &mut |o| {
        if let Outcome::Event(e, views) = o {
            eager.push((*e, views));
        }
    });
    let mut scanned = Vec::new();
    scan_file(&path, &ReadOptions::default(), &mut |s| {
        if let Scanned::Record(pending) = s {
            let views: Vec<_> = pending.views().iter().map(SigmaView::to_source_view).collect();
            scanned.push((pending.event().cloned(), views));
        }
    });
    assert_eq!(scanned.len(), 2);
    for ((event, views), (want_event, want_views)) in scanned.into_iter().zip(eager) {
        assert_eq!(event.as_ref(), Some(&want_event));
        assert_eq!(views, want_views);
    }
}
