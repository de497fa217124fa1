//! Auto-triage: closing a case as benign without a human, which policy allows only when the
//! built-in analyst says benign with high confidence, no context was missing, and the case holds
//! no high or critical alert (unless the policy says otherwise). Every auto-close is a recorded
//! transition with its reasons, and a closed case can be reopened. Model text never closes a
//! case: only the built-in analyst's verdict is read here.

use serde::{Deserialize, Serialize};
use vigil_correlate::Case;
use vigil_model::{Actor, CaseState, Component, Severity};

use crate::recommend::{Recommendation, Verdict};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoClosePolicy {
    /// Off unless a SOC turns it on.
    pub enabled: bool,
    pub min_confidence: f64,
    /// Whether a case holding a high or critical alert may be closed without a human.
    pub allow_high_severity: bool,
}

impl Default for AutoClosePolicy {
    fn default() -> Self {
        AutoClosePolicy { enabled: false, min_confidence: 0.9, allow_high_severity: false }
    }
}

/// The actor auto-triage records on the transitions it makes.
pub const ACTOR: Actor = Actor::Vigil { component: Component::AutoTriage };

/// Why the policy closes `case`, or why it does not.
pub fn decide(policy: &AutoClosePolicy, case: &Case, r: &Recommendation) -> Result<String, Vec<String>> {
    let mut refusals = Vec::new();
    if !policy.enabled {
        refusals.push("auto-close is off".to_owned());
    }
    if r.verdict != Verdict::Benign {
        refusals.push(format!("the verdict is not benign ({:?})", r.verdict));
    }
    if r.confidence < policy.min_confidence {
        refusals.push(format!("confidence {:.2} is below {:.2}", r.confidence, policy.min_confidence));
    }
    if !r.unknowns.is_empty() {
        refusals.push(format!("context was missing: {}", r.unknowns.join("; ")));
    }
    let high = case.alerts.iter().any(|a| a.rule.level >= Severity::High);
    if high && !policy.allow_high_severity {
        refusals.push("the case holds a high or critical alert".to_owned());
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    Ok(format!("auto-closed as benign (confidence {:.2}): {}", r.confidence, r.hypothesis))
}

/// Closes `case` if the policy allows; returns whether it did.
pub fn apply(policy: &AutoClosePolicy, case: &mut Case, r: &Recommendation, at: i64) -> bool {
    match decide(policy, case, r) {
        Ok(reason) => case.lifecycle.transition(CaseState::Benign, &ACTOR, at, &reason).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use vigil_correlate::{Alert, ClusterConfig, RuleRef, cluster};
    use vigil_model::{Entity, EntityKind};

    use super::*;
    use crate::context::Context;
    use crate::features::FEATURES;
    use crate::model::{Model, Provenance};
    use crate::playbook;

    fn case(level: Severity) -> Case {
        let alert = Alert {
            tenant: None,
            id: "a1".into(),
            rule: std::sync::Arc::new(RuleRef {
                id: "r1".into(),
                title: "Backup".into(),
                level,
                tags: vec![],
                author: None,
                license: "x".into(),
            }),
            time: 0,
            entities: vec![Entity::new(EntityKind::Host, "ws-12").expect("host")],
            aliases: vec![],
            evidence: vec![],
            summary: None,
        };
        cluster(&[alert], &ClusterConfig::default()).remove(0)
    }

    fn recommendation(case: &Case, with_inventory: bool) -> Recommendation {
        let model = Model {
            features: FEATURES.iter().map(|(n, _)| (*n).to_owned()).collect(),
            weights: vec![0.0; FEATURES.len()],
            bias: -6.0,
            provenance: Provenance { data: vec![], malicious: 1, benign: 1, iterations: 0 },
        };
        let mut context = Context::default();
        if with_inventory {
            context
                .load_assets("a.yml", "as_of: 2026-11-30T00:00:00Z\nassets:\n  ws-12: {criticality: low}\n")
                .expect("assets");
        }
        crate::recommend(case, &context, &model, &playbook::library().expect("library"), 0)
    }

    #[test]
    fn a_confident_benign_case_with_full_context_closes_and_can_be_reopened() {
        let policy = AutoClosePolicy { enabled: true, ..AutoClosePolicy::default() };
        let mut c = case(Severity::Low);
        let r = recommendation(&c, true);
        assert_eq!(r.verdict, Verdict::Benign, "{r:#?}");
        assert!(apply(&policy, &mut c, &r, 1));
        assert_eq!(c.lifecycle.state(), CaseState::Benign);
        let last = c.lifecycle.history().last().expect("recorded");
        assert_eq!(last.actor, ACTOR);
        assert!(last.reason.starts_with("auto-closed as benign"));
        assert!(
            c.lifecycle
                .transition(CaseState::Correlated, &Actor::user("bob"), 2, "reopened: not our backup")
                .is_ok()
        );
    }

    #[test]
    fn missing_context_a_high_alert_or_the_default_policy_keep_the_case_open() {
        let on = AutoClosePolicy { enabled: true, ..AutoClosePolicy::default() };
        let mut c = case(Severity::Low);
        let r = recommendation(&c, false);
        assert!(!apply(&on, &mut c, &r, 1), "the asset inventory was missing");
        let mut high = case(Severity::High);
        let r = recommendation(&high, true);
        let why = decide(&on, &high, &r).expect_err("refused");
        assert!(why.iter().any(|w| w.contains("high or critical")), "{why:?}");
        assert!(!apply(&on, &mut high, &r, 1));
        let mut c = case(Severity::Low);
        let r = recommendation(&c, true);
        assert!(!apply(&AutoClosePolicy::default(), &mut c, &r, 1), "off by default");
        assert_eq!(c.lifecycle.state(), CaseState::Correlated);
    }
}
