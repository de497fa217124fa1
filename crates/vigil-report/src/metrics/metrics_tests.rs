//! Every metric on one week worked out by hand: a case contained and resolved, a false positive
//! closed, reopened and closed again, a case auto-triaged benign with a missing event and an
//! unsealed run, a case merged into another, and an open case nobody has touched.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vigil_store::audit::chain::AuditRecord;

use super::*;

pub(crate) const T0: i64 = 1_795_392_000_000; // 2026-11-23T00:00:00Z, the Monday of 2026-W48
pub(crate) const MIN: i64 = 60_000;

pub(crate) struct Trail(pub(crate) Vec<AuditRecord>);

impl Trail {
    pub(crate) fn add(
        &mut self,
        minute: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: Value,
    ) -> &mut Trail {
        let at = vigil_store::time::from_millis(T0 + minute * MIN);
        self.0.push(AuditRecord {
            seq: self.0.len() as i64 + 1,
            at,
            actor: actor.into(),
            origin: "test".into(),
            action: action.into(),
            target: target.into(),
            outcome: "ok".into(),
            detail: detail.to_string(),
            prev_hash: String::new(),
            hash: String::new(),
        });
        self
    }

    pub(crate) fn moved(&mut self, minute: i64, actor: &str, case: &str, from: &str, to: &str) -> &mut Trail {
        self.add(minute, actor, "case.transition", &format!("case:{case}"), json!({"from": from, "to": to}))
    }

    pub(crate) fn proposed(
        &mut self,
        minute: i64,
        case: &str,
        request: &str,
        action: &str,
        by: &str,
        (tier, required): (&str, u32),
    ) -> &mut Trail {
        let (actor, kind) = if by == "playbook" { ("vigil:triage", "playbook") } else { (by, "person") };
        self.add(
            minute,
            actor,
            "action.propose",
            &format!("action:{request}"),
            json!({"request": {"action": action, "case": case, "requested_by": {"kind": kind, "name": by}},
                   "decision": {"tier": tier, "required": required}}),
        )
    }

    pub(crate) fn ended(&mut self, minute: i64, request: &str, status: &str, sealed: bool) -> &mut Trail {
        let evidence = if sealed { json!("ab12") } else { Value::Null };
        self.add(
            minute,
            "vigil:executor",
            "action.run",
            &format!("action:{request}"),
            json!({"run": format!("run_{request}_1"), "status": status, "evidence_sha256": evidence}),
        )
    }
}

pub(crate) fn facts(
    id: &str,
    first_event_minute: i64,
    alerts: &[(&str, &[&str])],
    events: &[(&str, i64)],
) -> CaseFacts {
    CaseFacts {
        id: id.into(),
        title: id.into(),
        severity: 3,
        owner: None,
        first_event_ms: Some(T0 + first_event_minute * MIN),
        alerts: alerts
            .iter()
            .map(|(rule, cites)| AlertFacts {
                rule_id: (*rule).into(),
                title: (*rule).into(),
                tags: Vec::new(),
                cites: cites.iter().map(|c| (*c).to_owned()).collect(),
            })
            .collect(),
        events: events.iter().map(|(id, m)| ((*id).to_owned(), T0 + m * MIN)).collect::<BTreeMap<_, _>>(),
        recommended: true,
    }
}

pub(crate) fn week_trail() -> (Trail, Vec<CaseFacts>) {
    let mut t = Trail(Vec::new());
    // A: contained by an isolation a playbook proposed and bob approved, resolved by alice.
    t.add(0, "vigil:engine", "case.create", "case:A", json!({}))
        .moved(0, "vigil:engine", "A", "new", "correlated")
        .moved(1, "vigil:engine", "A", "correlated", "recommended")
        .proposed(1, "A", "a1", "isolate_host", "playbook", ("approvals", 1))
        .add(5, "alice", "case.assign", "case:A", json!({"assignee": "alice"}))
        .add(20, "bob", "action.approve", "action:a1", json!({}))
        .moved(20, "vigil:policy", "A", "recommended", "approved")
        .ended(22, "a1", "succeeded", true)
        .moved(22, "vigil:executor", "A", "approved", "executed")
        // A second step alice asked for herself, which two people approved (bob twice counts once).
        .proposed(23, "A", "a2", "disable_account", "alice", ("approvals", 2))
        .add(25, "bob", "action.approve", "action:a2", json!({}))
        .add(25, "bob", "action.approve", "action:a2", json!({}))
        .add(26, "carol (token t1)", "action.approve", "action:a2", json!({}))
        .ended(30, "a2", "succeeded", true)
        .ended(40, "a2", "rolled_back", true)
        .moved(60, "alice", "A", "executed", "resolved");
    // B: a false positive, closed, reopened by new alerts, closed again.
    t.add(60, "vigil:engine", "case.create", "case:B", json!({}))
        .add(90, "carol", "case.comment", "case:B", json!({}))
        .moved(120, "carol", "B", "recommended", "false_positive")
        .moved(200, "vigil:engine", "B", "false_positive", "correlated")
        .moved(300, "dave", "B", "recommended", "false_positive");
    // C: auto-triaged benign; its event was purged and its snapshot's log never sealed.
    t.add(100, "vigil:engine", "case.create", "case:C", json!({}))
        .moved(100, "vigil:engine", "C", "correlated", "recommended")
        .proposed(100, "C", "c1", "snapshot_evidence", "playbook", ("automatic", 0))
        .ended(100, "c1", "succeeded", false)
        .moved(101, "vigil:auto-triage", "C", "recommended", "benign");
    // D: merged into another case.
    t.add(30, "vigil:engine", "case.create", "case:D", json!({})).moved(
        40,
        "vigil:engine",
        "D",
        "correlated",
        "duplicate",
    );
    // E: open, untouched; its automatic block failed.
    t.add(400, "vigil:engine", "case.create", "case:E", json!({}))
        .moved(401, "vigil:engine", "E", "correlated", "recommended")
        .proposed(401, "E", "e1", "block_indicator", "playbook", ("automatic", 0))
        .ended(402, "e1", "failed", false);
    let cases = vec![
        facts("A", -10, &[("brute", &["e1"]), ("brute", &["e2"])], &[("e1", -10), ("e2", -5)]),
        facts("B", 50, &[("noisy", &["e3"])], &[("e3", 50)]),
        facts("C", 99, &[("noisy", &["e4"])], &[]),
        facts("D", 29, &[], &[]),
        facts("E", 390, &[("brute", &["e5"])], &[("e5", 390)]),
    ];
    (t, cases)
}

fn week() -> Vec<CaseHistory> {
    let (t, cases) = week_trail();
    histories(cases, &t.0)
}

fn secs(d: &Durations) -> (usize, Option<f64>, Option<f64>) {
    (d.cases, d.mean_secs, d.median_secs)
}

#[test]
fn each_metric_on_a_week_worked_out_by_hand() {
    let m = compute(&week());
    assert_eq!(
        (m.cases, m.closed, m.auto_triaged, m.merged, m.reopened, m.unacknowledged),
        (5, 4, 1, 1, 1, 1)
    );
    // Detect: A 10 min, B 10, C 1, E 10 (D merged, counted in its survivor).
    assert_eq!(secs(&m.mttd), (4, Some(465.0), Some(600.0)));
    // Acknowledge: A 5 min (assigned), B 30 (a comment). C never needed anyone; E nobody yet.
    assert_eq!(secs(&m.mtta), (2, Some(1050.0), Some(1050.0)));
    // Respond: A contained at 22 min; B closed for good at 240 min (its reopening undid 60).
    assert_eq!(secs(&m.mttr), (2, Some(7860.0), Some(7860.0)));
    // Decision: A's first approval, 20 min.
    assert_eq!(secs(&m.time_to_decision), (1, Some(1200.0), Some(1200.0)));
    // Alerts: A's two true positives, B's false positive; C's benign is not a false positive.
    assert_eq!((m.verdicts.true_positives, m.verdicts.false_positives, m.verdicts.benign), (2, 1, 1));
    assert_eq!(m.verdicts.precision, Some(2.0 / 3.0));
    let rules: Vec<(&str, usize, Option<f64>)> =
        m.rules.iter().map(|r| (r.rule_id.as_str(), r.alerts, r.false_positive_rate)).collect();
    assert_eq!(rules, [("noisy", 2, Some(1.0)), ("brute", 3, Some(0.0))]);
    // Steps that executed: A's isolation (a playbook's), A's disable (a person's, rolled back),
    // C's snapshot (automatic). E's block failed and changed nothing.
    assert_eq!(
        (m.automation.steps, m.automation.automated, m.automation.failed, m.automation.rolled_back),
        (3, 2, 1, 1)
    );
    assert_eq!(m.automation.rate, Some(2.0 / 3.0));
    // Evidence: A and B complete; C lacks its event and its sealed run log.
    assert_eq!((m.evidence.closed_cases, m.evidence.complete), (3, 2));
    assert_eq!(
        m.evidence.incomplete,
        [(
            "C".to_owned(),
            vec![
                "event e4 is not in the store".to_owned(),
                "snapshot_evidence (c1): run log not sealed".to_owned()
            ]
        )]
    );
}

#[test]
fn a_step_short_of_its_approvals_and_evidence_later_than_the_closing_are_gaps() {
    let mut t = Trail(Vec::new());
    t.add(0, "vigil:engine", "case.create", "case:A", json!({}))
        .proposed(1, "A", "a1", "disable_account", "alice", ("approvals", 2))
        .add(2, "bob", "action.approve", "action:a1", json!({}))
        .ended(3, "a1", "succeeded", true)
        .moved(10, "alice", "A", "executed", "resolved");
    let case = &histories(vec![facts("A", 0, &[("r", &["late"])], &[("late", 11)])], &t.0)[0];
    assert_eq!(
        evidence_gaps(case),
        ["event late is later than the closing", "disable_account (a1): 1 of 2 approvals recorded"]
    );
}

#[test]
fn a_case_reopened_and_still_open_has_no_closing_and_learned_keeps_it_closed() {
    let mut t = Trail(Vec::new());
    t.add(0, "vigil:engine", "case.create", "case:A", json!({}))
        .moved(1, "ann", "A", "recommended", "resolved")
        .moved(2, "ann", "A", "resolved", "learned")
        .add(0, "vigil:engine", "case.create", "case:B", json!({}))
        .moved(1, "ann", "B", "recommended", "benign")
        .moved(2, "ann", "B", "benign", "learned")
        .moved(3, "vigil:engine", "B", "learned", "correlated");
    let h = histories(vec![facts("A", 0, &[], &[]), facts("B", 0, &[], &[])], &t.0);
    assert_eq!(h[0].closing.map(|(c, at, _)| (c, at)), Some((Closing::Resolved, T0 + MIN)));
    assert_eq!((h[1].closing, h[1].reopened), (None, 1));
}
