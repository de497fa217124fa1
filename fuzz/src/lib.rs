//! What every fuzz target does: read arbitrary bytes as one format and check the invariants
//! that hold for any input.

use std::path::Path;

use vigil_ingest::{Outcome, ReadOptions, by_name, read_stream};

/// Reads `data` as `format` (or recognises it when `None`): must not panic, and every record
/// must end as an event or a dead letter that says why.
pub fn read_as(format: Option<&str>, data: &[u8]) {
    let options = ReadOptions { format: format.and_then(by_name), evtx_threads: 1, views: true };
    let mut outcomes = 0u64;
    let summary = read_stream(
        "fuzz",
        Path::new("fuzz.input"),
        Box::new(std::io::Cursor::new(data.to_vec())),
        Some(0),
        &options,
        &mut |outcome| {
            outcomes += 1;
            if let Outcome::Dead(letter) = outcome {
                assert!(!letter.reason.is_empty(), "a dead letter always says why");
            }
        },
    );
    assert_eq!(summary.events + summary.dead_letters, outcomes, "every outcome is counted");
}

/// Loads `text` as a rule file and evaluates what loaded against a few records: no panic, and
/// every problem is a diagnostic that says why.
pub fn load_rules(text: &str) {
    use vigil_detect::{RuleFile, RuleSet, RuleSetConfig};
    use vigil_ingest::view::{LogSource, SourceView};
    let file = RuleFile { name: "fuzz.yml".into(), text: text.to_owned() };
    let Ok((rules, diagnostics)) = RuleSet::load(&[file], &RuleSetConfig::default()) else { return };
    assert!(diagnostics.iter().all(|d| !d.message.is_empty()));
    let views = [
        SourceView {
            logsource: LogSource::new("windows", Some("sysmon")).with_category("process_creation"),
            fields: serde_json::json!({"EventID": 1, "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "User": "CORP\\alice"}),
        },
        SourceView {
            logsource: LogSource::new("aws", Some("cloudtrail")),
            fields: serde_json::json!({"eventName": "StopLogging", "userIdentity": {"type": "IAMUser", "userName": "a"}, "n": 7}),
        },
    ];
    for view in &views {
        let _ = rules.evaluate(view);
    }
}
