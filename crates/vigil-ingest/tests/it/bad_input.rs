//! Damaged and hostile input: each bad record gets a dead letter with its reason and place,
//! the rest of the file is still read, and nothing panics.

use std::io::Write;

use vigil_model::Locator;

use crate::{fixture, read, scratch_file};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

fn okta_lines(n: usize) -> String {
    let line = std::fs::read_to_string(fixture("okta.json")).expect("fixture");
    let first = line.lines().next().expect("a line");
    (0..n).map(|i| first.replace("5f1e0000-0000-4000-8000-000000000001", &format!("id-{i}")) + "\n").collect()
}

#[test]
fn gzip_is_read_by_content_not_name() {
    let path = scratch_file("okta.log", &gzip(okta_lines(3).as_bytes()));
    let (summary, events, dead) = read(&path);
    assert_eq!((summary.format, events.len(), dead.len()), (Some("okta"), 3, 0));
}

#[test]
fn truncated_gzip_keeps_what_was_readable_and_reports_the_rest() {
    let full = gzip(okta_lines(2000).as_bytes());
    let path = scratch_file("cut.json.gz", &full[..full.len() / 2]);
    let (_, events, dead) = read(&path);
    assert!(events.len() > 100, "records before the cut are kept: {}", events.len());
    assert!(events.len() < 2000);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].reason.contains("gzip") || dead[0].reason.contains("truncated"), "{}", dead[0].reason);
}

#[test]
fn corrupt_gzip_header_is_a_dead_letter_for_the_file() {
    let mut bytes = gzip(b"{\"a\":1}\n");
    bytes[3] = 0xff; // reserved flag bits set: not a valid gzip header
    bytes.truncate(12);
    let path = scratch_file("corrupt.gz", &bytes);
    let (_, events, dead) = read(&path);
    assert!(events.is_empty());
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].locator, Locator::Source);
}

#[test]
fn bad_json_lines_are_dead_letters_with_line_numbers() {
    let mut text = okta_lines(1);
    text.push_str("{\"eventType\": \"user.session.start\", oops}\n");
    text.push_str(&okta_lines(1));
    let path = scratch_file("mixed.json", text.as_bytes());
    let (_, events, dead) = read(&path);
    assert_eq!(events.len(), 2);
    assert_eq!(dead.len(), 1);
    assert!(matches!(dead[0].locator, Locator::Line { line: 2, .. }), "{:?}", dead[0].locator);
    assert!(dead[0].reason.starts_with("invalid JSON"), "{}", dead[0].reason);
    assert!(dead[0].excerpt.contains("oops"));
}

#[test]
fn invalid_utf8_huge_and_deep_records_are_each_rejected() {
    let mut bytes = okta_lines(1).into_bytes();
    bytes.extend_from_slice(b"{\"eventType\": \"x\xff\xfe\"}\n");
    bytes.extend_from_slice(format!("{{\"eventType\": \"{}\"}}\n", "a".repeat(2 * 1024 * 1024)).as_bytes());
    bytes.extend_from_slice(
        format!("{{\"eventType\": {}1{}}}\n", "[".repeat(100), "]".repeat(100)).as_bytes(),
    );
    bytes.extend_from_slice(okta_lines(1).as_bytes());
    let path = scratch_file("hostile.json", &bytes);
    let (_, events, dead) = read(&path);
    assert_eq!(events.len(), 2);
    let reasons: Vec<&str> = dead.iter().map(|d| d.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("UTF-8"));
    assert!(reasons[1].contains("larger than"));
    assert!(reasons[2].contains("deeper than"));
    assert!(dead[1].excerpt.len() <= vigil_model::EXCERPT_BYTES);
}

#[test]
fn truncated_and_garbage_evtx_never_panic() {
    let mut header_only = b"ElfFile\0".to_vec();
    header_only.resize(4096, 0);
    for (name, bytes) in [("header.evtx", header_only), ("magic.evtx", b"ElfFile\0".to_vec())] {
        let path = scratch_file(name, &bytes);
        let (summary, events, dead) = read(&path);
        assert_eq!(summary.format, Some("evtx"));
        assert!(events.is_empty());
        assert!(!dead.is_empty(), "{name}: damage is reported");
    }
}

#[test]
fn unknown_formats_are_rejected_whole_with_a_hint() {
    let path = scratch_file("blob.bin", &[0u8, 159, 146, 150, 7, 7, 7, 0, 1, 2]);
    let (summary, events, dead) = read(&path);
    assert_eq!((summary.format, events.len(), dead.len()), (None, 0, 1));
    assert!(dead[0].reason.contains("--format"), "{}", dead[0].reason);
}

#[test]
fn empty_file_is_no_records_and_no_rejection() {
    let path = scratch_file("empty.json", b"");
    let (_, events, dead) = read(&path);
    assert!(events.is_empty() && dead.is_empty());
}

#[test]
fn thin_records_fall_back_to_base_event_and_keep_everything() {
    let path = scratch_file(
        "thin.json",
        b"{\"eventName\": \"ListBuckets\", \"eventSource\": \"s3.amazonaws.com\"}\n",
    );
    let (summary, events, dead) = read(&path);
    assert_eq!(summary.format, Some("cloudtrail"));
    assert!(dead.is_empty());
    assert_eq!(events[0].class_uid, 0);
    assert_eq!(events[0].unmapped["ocsf"]["api"]["operation"], "ListBuckets");
    assert!(events[0].raw_data.as_deref().is_some_and(|r| r.contains("ListBuckets")));
}

#[test]
fn csv_rows_may_span_lines_and_an_unclosed_quote_is_reported() {
    let text = "When,What\n2026-03-02T10:00:00Z,\"two\nlines\"\n2026-03-02T10:01:00Z,\"never closed\n";
    let path = scratch_file("rows.csv", text.as_bytes());
    let (summary, events, dead) = read(&path);
    assert_eq!(summary.format, Some("csv"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].unmapped["What"], "two\nlines");
    assert_eq!(dead.len(), 1);
    assert!(matches!(dead[0].locator, Locator::Line { line: 4, .. }), "{:?}", dead[0].locator);
    assert!(dead[0].reason.contains("truncated"));
}
