//! SigmaHQ's regression pairs: each rule fires on its own EVTX file (at least `match_count`
//! times where stated) when the file is hunted with the whole active rule set.

use std::collections::HashMap;

use vigil_ingest::{Outcome, ReadOptions, read_file};

use crate::{data, sigmahq};

struct Case {
    rule_id: String,
    evtx: String,
    match_count: usize,
}

/// The few fields of an `info.yml` this test needs, read line by line.
fn cases(info: &str) -> Vec<Case> {
    let mut rule_id = None;
    let mut out = Vec::new();
    let mut count = 1;
    let mut in_rules = false;
    for line in info.lines() {
        let t = line.trim();
        if t.starts_with("rule_metadata:") {
            in_rules = true;
        } else if t.starts_with("regression_tests_info:") {
            in_rules = false;
        } else if let Some(id) = t.strip_prefix("- id:").filter(|_| in_rules) {
            rule_id.get_or_insert_with(|| id.trim().to_owned());
        } else if let Some(n) = t.strip_prefix("match_count:") {
            count = n.trim().parse().unwrap_or(1);
        } else if let Some(path) = t.strip_prefix("path:") {
            if let Some(id) = &rule_id {
                out.push(Case { rule_id: id.clone(), evtx: path.trim().to_owned(), match_count: count });
            }
            count = 1;
        }
    }
    out
}

#[test]
fn every_regression_pair_fires_its_rule() {
    let (rules, _, _) = sigmahq();
    let root = data().join("sigma");
    let infos: Vec<_> = vigil_ingest::input::expand(&[root.join("regression_data")])
        .expect("listing regression data")
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "info.yml"))
        .collect();
    let options = ReadOptions { views: true, ..ReadOptions::default() };
    let (mut checked, mut misses) = (0, Vec::new());
    for info in infos {
        let text = std::fs::read_to_string(&info).unwrap_or_else(|e| panic!("{}: {e}", info.display()));
        for case in cases(&text) {
            let evtx = root.join(&case.evtx);
            let mut fired: HashMap<String, usize> = HashMap::new();
            read_file(&evtx, &options, &mut |outcome| {
                if let Outcome::Event(_, views) = outcome {
                    for view in &views {
                        for d in rules.evaluate(view) {
                            *fired.entry(d.rule.id.clone()).or_default() += 1;
                        }
                    }
                }
            });
            checked += 1;
            let got = fired.get(&case.rule_id).copied().unwrap_or(0);
            if got < case.match_count {
                misses.push(format!(
                    "{} on {}: {got} of {} matches",
                    case.rule_id, case.evtx, case.match_count
                ));
            }
        }
    }
    assert!(checked >= 202, "only {checked} regression pairs found");
    assert!(misses.is_empty(), "{} of {checked} pairs missed:\n{}", misses.len(), misses.join("\n"));
}
