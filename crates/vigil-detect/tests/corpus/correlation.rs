//! Correlation rules from the corpus: Hayabusa's three (user guessing, password guessing,
//! password spray) load and fire on records built to cross their thresholds, and stay silent
//! one record short; the specification's correlation examples parse.

use serde_json::json;
use vigil_detect::{RuleFile, RuleSet, RuleSetConfig};
use vigil_model::view::{LogSource, SourceView};

use crate::data;

fn hayabusa() -> RuleSet {
    let dir = data().join("hayabusa-correlation-rules");
    let files: Vec<RuleFile> = vigil_ingest::input::expand(&[dir])
        .expect("listing rules")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| RuleFile {
            name: p.display().to_string(),
            text: std::fs::read_to_string(&p).expect("readable"),
        })
        .collect();
    let (rules, diagnostics) = RuleSet::load(&files, &RuleSetConfig::default()).expect("default config");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(rules.correlation_count(), 3);
    rules
}

/// Feeds `n` Security events (one per 10 s) built by `fields(i)`; returns the correlation
/// titles that fired.
fn feed(rules: &RuleSet, n: usize, fields: impl Fn(usize) -> serde_json::Value) -> Vec<String> {
    let mut correlator = rules.correlator();
    let mut fired = Vec::new();
    for i in 0..n {
        let view = SourceView { logsource: LogSource::new("windows", Some("security")), fields: fields(i) };
        let detections = rules.evaluate(&view);
        for alert in correlator.process(&view, 1_772_442_000_000 + i as i64 * 10_000, &detections) {
            fired.push(alert.rule.title.clone());
        }
    }
    fired
}

fn failed_logon(user: String, sub_status: &str) -> serde_json::Value {
    json!({"Channel": "Security", "EventID": 4625, "SubStatus": sub_status, "TargetUserName": user,
        "TargetDomainName": "CORP", "IpAddress": "10.0.0.66", "LogonType": 3, "ProcessName": "-",
        "LogonProcessName": "NtLmSsp", "WorkstationName": "KALI"})
}

#[test]
fn hayabusa_user_guessing_fires_above_three_unknown_users_only() {
    let rules = hayabusa();
    let guess = |i: usize| failed_logon(format!("guess{i}"), "0xc0000064");
    assert_eq!(feed(&rules, 4, guess), vec!["User Guessing"]);
    assert!(feed(&rules, 3, guess).is_empty());
}

#[test]
fn hayabusa_password_guessing_fires_at_five_wrong_passwords() {
    let rules = hayabusa();
    let wrong = |_| failed_logon("alice".into(), "0xc000006a");
    assert_eq!(feed(&rules, 5, wrong).len(), 1);
    assert!(feed(&rules, 4, wrong).is_empty());
}

#[test]
fn hayabusa_password_spray_fires_at_five_target_users_from_one_source() {
    let rules = hayabusa();
    let spray = |i: usize| {
        json!({"Channel": "Security", "EventID": 4648, "TargetUserName": format!("user{i}"),
            "IpAddress": "10.0.0.66", "Computer": "dc-01.corp.example"})
    };
    assert_eq!(feed(&rules, 5, spray).len(), 1);
    assert!(feed(&rules, 4, spray).is_empty());
}

#[test]
fn specification_correlation_examples_parse() {
    let dir = data().join("sigma-specification/tests/schema/correlation");
    let mut parsed = 0;
    for path in vigil_ingest::input::expand(&[dir]).expect("listing examples") {
        let text = std::fs::read_to_string(&path).expect("readable");
        let collection =
            rsigma_parser::parse_sigma_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(collection.errors.is_empty(), "{}: {:?}", path.display(), collection.errors);
        assert_eq!(collection.correlations.len(), 1, "{}", path.display());
        parsed += 1;
    }
    assert_eq!(parsed, 8, "one example per correlation type (event_count twice)");
}
