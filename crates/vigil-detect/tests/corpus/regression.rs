//! SigmaHQ's regression pairs: each rule fires on its own EVTX file (at least `match_count`
//! times where stated) when the file is hunted with the whole active rule set. The `info.yml`
//! files are read as `vigil rules test` reads them.

use std::collections::HashMap;

use vigil_detect::regression::RegressionInfo;
use vigil_ingest::{ReadOptions, Scanned, scan_file};

use crate::{data, sigmahq};

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
        let parsed = RegressionInfo::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", info.display()));
        let Some(rule_id) = parsed.rule_id() else { continue };
        for test in &parsed.regression_tests_info {
            let evtx = root.join(&test.path);
            let mut fired: HashMap<String, usize> = HashMap::new();
            // Read as a hunt reads: rules on the views borrowed from each record.
            scan_file(&evtx, &options, &mut |scanned| {
                if let Scanned::Record(pending) = scanned {
                    for view in pending.views() {
                        for d in rules.evaluate_view(view) {
                            *fired.entry(d.rule.id.clone()).or_default() += 1;
                        }
                    }
                }
            });
            checked += 1;
            let got = fired.get(rule_id).copied().unwrap_or(0);
            if !test.holds(got) {
                misses.push(format!(
                    "{rule_id} on {}: {got} matches, expected {}",
                    test.path,
                    test.expected()
                ));
            }
        }
    }
    assert!(checked >= 202, "only {checked} regression pairs found");
    assert!(misses.is_empty(), "{} of {checked} pairs missed:\n{}", misses.len(), misses.join("\n"));
}
