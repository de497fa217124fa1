//! The scorecard of the week the metrics tests work out by hand, with a case the week before
//! and a second false positive of the noisy rule: its trend, the rule to tune, the rules that
//! never fired, the steps run, the document as JSON (a snapshot) and as escaped HTML.

use serde_json::json;

use super::*;
use crate::metrics::histories;
use crate::metrics::metrics_tests::{T0, facts, week_trail};

fn scorecard() -> Scorecard {
    let (mut t, mut cases) = week_trail();
    // The week before: one case, resolved in an hour.
    t.add(-3 * 24 * 60, "vigil:engine", "case.create", "case:P", json!({}))
        .add(-3 * 24 * 60 + 10, "ann", "case.assign", "case:P", json!({"assignee": "ann"}))
        .moved(-3 * 24 * 60 + 60, "ann", "P", "recommended", "resolved");
    cases.push(facts("P", -3 * 24 * 60 - 5, &[("brute", &["p1"])], &[("p1", -3 * 24 * 60 - 5)]));
    // The noisy rule's second false positive this week.
    t.add(500, "vigil:engine", "case.create", "case:F", json!({})).moved(
        520,
        "dave",
        "F",
        "recommended",
        "false_positive",
    );
    cases.push(facts("F", 499, &[("noisy", &["e6"])], &[("e6", 499)]));
    let rules = [
        RuleInfo { id: "brute".into(), title: "Brute force".into() },
        RuleInfo { id: "noisy".into(), title: "Noisy".into() },
        RuleInfo { id: "quiet".into(), title: "<script>alert(1)</script> never fires".into() },
    ];
    let week = Week::parse("2026-W48").expect("week");
    assert_eq!(week.start_ms(), T0);
    assemble(week, &histories(cases, &t.0), Vec::new(), Some(&rules), "2026-11-30T08:00:00.000000Z".into())
}

#[test]
fn the_scorecard_of_a_week_worked_out_by_hand() {
    let card = scorecard();
    let trend: Vec<(&str, usize)> = card.trend.iter().map(|p| (p.week.as_str(), p.cases)).collect();
    assert_eq!(
        trend,
        [
            ("2026-W41", 0),
            ("2026-W42", 0),
            ("2026-W43", 0),
            ("2026-W44", 0),
            ("2026-W45", 0),
            ("2026-W46", 0),
            ("2026-W47", 1),
            ("2026-W48", 6)
        ]
    );
    assert_eq!(card.trend[6].mtta_secs, Some(600.0));
    let tuning: Vec<(&str, usize, usize)> =
        card.tuning.iter().map(|t| (t.rule_id.as_str(), t.false_positives, t.judged)).collect();
    assert_eq!(tuning, [("noisy", 2, 2)]);
    let silent: Vec<&str> = card.silent_rules.iter().flatten().map(|r| r.id.as_str()).collect();
    assert_eq!(silent, ["quiet"]);
    let actions: Vec<(&str, usize, usize, usize, usize)> = card
        .actions
        .iter()
        .map(|a| (a.action.as_str(), a.succeeded, a.failed, a.rolled_back, a.automated))
        .collect();
    assert_eq!(
        actions,
        [
            ("block_indicator", 0, 1, 0, 0),
            ("disable_account", 0, 0, 1, 0),
            ("isolate_host", 1, 0, 0, 1),
            ("snapshot_evidence", 1, 0, 0, 1)
        ]
    );
    insta::assert_json_snapshot!("scorecard_2026_w48", card);
}

#[test]
fn the_scorecard_page_escapes_what_rules_and_cases_say_and_draws_every_trend() {
    let card = scorecard();
    let html = html::document(&card);
    assert!(!html.contains("<script>"), "a rule title reached the page as markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; never fires"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 8);
    assert!(html.contains("Scorecard 2026-W48"));
}

#[test]
fn weeks_parse_iso_and_step_back_across_years() {
    let w1 = Week::parse("2027-W01").expect("week");
    assert_eq!(w1.back(1).to_string(), "2026-W53");
    assert_eq!(Week::parse("2026-W48").expect("week").back(7).to_string(), "2026-W41");
    for bad in ["2026-48", "2026-W54", "W48", "2026-W", "2026-W00"] {
        assert!(Week::parse(bad).is_err(), "{bad}");
    }
}
