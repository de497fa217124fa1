//! The compliance report of a small site framework over the week the metrics tests work out by
//! hand: a control met by detections, one by response steps, one by evidence counted from the
//! trail, and one nothing supports.

use super::*;
use crate::metrics::histories;
use crate::metrics::metrics_tests::{T0, week_trail};

const SITE: &str = "catalogue: 1
framework: site
title: Site controls
version: '2026'
source: the site's own policy
controls:
  - id: D.1
    title: Brute force is detected
    detections: {techniques: [T1110]}
  - id: R.1
    title: Compromised hosts and accounts are contained
    actions: [isolate_host]
    categories: [account_containment]
  - id: E.1
    title: Response is approved and recorded
    evidence: [approvals, run_logs]
  - id: G.1
    title: Ransomware is contained
    playbooks: [ransomware]
";

#[test]
fn a_site_framework_over_a_week_worked_out_by_hand() {
    let (trail, mut cases) = week_trail();
    for case in &mut cases {
        for alert in &mut case.alerts {
            alert.tags = if alert.rule_id == "brute" {
                vec!["attack.credential-access".into(), "attack.t1110.001".into()]
            } else {
                vec!["attack.discovery".into()]
            };
        }
    }
    let rules = vec![
        RunningRule {
            id: "brute".into(),
            title: "Brute force".into(),
            tags: vec!["attack.t1110.001".into()],
        },
        RunningRule { id: "noisy".into(), title: "Noisy".into(), tags: vec!["attack.discovery".into()] },
    ];
    let framework = Framework::parse(SITE).expect("the site framework");
    let from = vigil_store::time::from_millis(T0);
    let to = vigil_store::time::from_millis(T0 + 7 * 86_400_000);
    let report = assemble(
        &framework,
        &rules,
        &histories(cases, &trail.0),
        &trail.0,
        from,
        to,
        "2026-11-30T00:00:00Z".into(),
    );
    let control = |id: &str| report.controls.iter().find(|c| c.id == id).expect(id);

    let d1 = control("D.1");
    assert_eq!(d1.detections, [("brute".to_owned(), "Brute force".to_owned())]);
    let cases: Vec<&str> = d1.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(cases, ["A", "E"]);

    let r1 = control("R.1");
    let steps: Vec<(&str, &str, &str)> =
        r1.steps.iter().map(|s| (s.case.as_str(), s.action.as_str(), s.status.as_str())).collect();
    assert_eq!(steps, [("A", "isolate_host", "succeeded"), ("A", "disable_account", "rolled_back")]);

    // bob's two answers to a2 are two records; c1's and e1's logs were never sealed.
    let e1: Vec<(&str, usize)> = control("E.1").evidence.iter().map(|e| (e.kind.as_str(), e.count)).collect();
    assert_eq!(e1, [("approvals", 4), ("run_logs", 3)]);

    assert!(!control("G.1").supported);
    assert_eq!(report.without_evidence, ["G.1"]);
    let text = html::text(&report, &|s| s.to_owned());
    assert!(
        text.contains("3 of 4 controls evidenced") && text.contains("controls with no evidence: G.1"),
        "{text}"
    );
}
