//! The recorded attack datasets (OTRF Security-Datasets) and the Stratus Red Team CloudTrail
//! detonations: 0 dead letters, every event valid OCSF, and events land in the classes their
//! source event types belong to.

use std::collections::BTreeMap;

use vigil_ingest::ReadOptions;
use vigil_ocsf::Event;

use crate::{data, files, read, violations};

/// (provider, event code) → the OCSF class the event belongs to.
const WINDOWS_CLASSES: &[(&str, &str, u32)] = &[
    ("Microsoft-Windows-Sysmon", "1", 1007),
    ("Microsoft-Windows-Sysmon", "3", 4001),
    ("Microsoft-Windows-Sysmon", "5", 1007),
    ("Microsoft-Windows-Sysmon", "10", 1007),
    ("Microsoft-Windows-Sysmon", "11", 1001),
    ("Microsoft-Windows-Sysmon", "13", 201002),
    ("Microsoft-Windows-Sysmon", "22", 4003),
    ("Microsoft-Windows-Security-Auditing", "4624", 3002),
    ("Microsoft-Windows-Security-Auditing", "4625", 3002),
    ("Microsoft-Windows-Security-Auditing", "4688", 1007),
    ("Microsoft-Windows-Security-Auditing", "4689", 1007),
    ("Microsoft-Windows-Security-Auditing", "4720", 3001),
    ("Microsoft-Windows-Security-Auditing", "4732", 3006),
    ("Microsoft-Windows-Security-Auditing", "4698", 1006),
    ("Microsoft-Windows-Security-Auditing", "5156", 4001),
    ("Microsoft-Windows-Security-Auditing", "5145", 1001),
    ("Microsoft-Windows-Sysmon", "7", 1005),
    ("Microsoft-Windows-PowerShell", "4104", 1009),
    ("Microsoft-Windows-Security-Auditing", "4658", 201003),
    ("Microsoft-Windows-Security-Auditing", "4661", 201003),
    ("Microsoft-Windows-Security-Auditing", "4674", 201003),
    ("Microsoft-Windows-Security-Auditing", "4690", 201003),
    ("Microsoft-Windows-Security-Auditing", "4672", 3003),
    ("Microsoft-Windows-Security-Auditing", "4703", 3005),
    ("Service Control Manager", "7045", 201004),
    ("Microsoft-Windows-Eventlog", "1102", 1008),
    ("Microsoft-Windows-Security-Auditing", "5136", 3004),
    ("Microsoft-Windows-Security-Auditing", "5447", 5019),
    ("Microsoft-Windows-RemoteDesktopServices-RdpCoreTS", "131", 4005),
    ("Microsoft-Windows-Windows Defender", "1151", 5002),
];

fn expected_class(event: &Event) -> Option<u32> {
    let provider = event.metadata.log_provider.as_deref()?;
    let code = event.metadata.event_code.as_deref()?;
    WINDOWS_CLASSES
        .iter()
        .find(|(p, c, _)| p.eq_ignore_ascii_case(provider) && *c == code)
        .map(|(_, _, class)| *class)
}

fn check(dir: &str, extensions: &[&str]) -> BTreeMap<u32, u64> {
    let mut classes = BTreeMap::new();
    let mut problems = Vec::new();
    for file in files(&data().join(dir), extensions) {
        let (events, dead) = read(&file, &ReadOptions::default());
        if !dead.is_empty() {
            problems.push(format!("{}: {} dead letters, first: {:?}", file.display(), dead.len(), dead[0]));
        }
        if events.is_empty() {
            problems.push(format!("{}: no events", file.display()));
        }
        for event in &events {
            *classes.entry(event.class_uid).or_default() += 1;
            let v = violations(event);
            if !v.is_empty() && problems.len() < 30 {
                problems.push(format!("{}: invalid OCSF {v:?}", file.display()));
            }
            if let Some(expected) = expected_class(event)
                && event.class_uid != expected
                && problems.len() < 30
            {
                problems.push(format!(
                    "{}: {} event {} became class {} ({:?}), expected {expected}",
                    file.display(),
                    event.metadata.log_provider.as_deref().unwrap_or(""),
                    event.metadata.event_code.as_deref().unwrap_or(""),
                    event.class_uid,
                    event.unmapped.get("vigil_class_fallback"),
                ));
            }
        }
    }
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
    classes
}

#[test]
fn otrf_datasets_normalize_with_no_dead_letters() {
    let classes = check("otrf-security-datasets", &[".json", ".json.gz", ".log", ".csv"]);
    for class in [1001, 1005, 1007, 1009, 3002, 4001, 4003, 6003, 201001, 201002, 201003] {
        assert!(classes.contains_key(&class), "no events of class {class}: {classes:?}");
    }
    let share = crate::base_event_share(&classes);
    eprintln!("OTRF: {:.1}% Base Events of {} ({classes:?})", share * 100.0, classes.values().sum::<u64>());
    assert!(share <= 0.10, "{:.1}% of OTRF's events are Base Events", share * 100.0);
}

#[test]
fn stratus_detonations_normalize_to_cloud_classes() {
    let classes = check("stratus-red-team/docs/detonation-logs", &[".json"]);
    assert_eq!(classes.get(&0), None, "CloudTrail records fell back to Base Event: {classes:?}");
    assert!(classes.contains_key(&6003) && classes.contains_key(&3002), "{classes:?}");
}

#[test]
fn repository_fixtures_are_valid_ocsf() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut problems = Vec::new();
    for file in files(&dir, &[".json", ".log", ".csv"]) {
        let (events, dead) = read(&file, &ReadOptions::default());
        assert!(dead.is_empty(), "{}: {dead:?}", file.display());
        for event in &events {
            let v = violations(event);
            if !v.is_empty() {
                problems.push(format!("{} ({}): {v:?}", file.display(), event.class_name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
