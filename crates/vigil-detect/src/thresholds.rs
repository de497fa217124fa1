//! Thresholds and windows of correlation rules, set from configuration without editing the
//! rule files (`detect.correlations` in `vigil.yml`, keyed by rule id or name).

use std::collections::BTreeMap;

use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationRule, Timespan};
use serde::Deserialize;

use crate::diagnostic::Diagnostic;

/// New values for one correlation rule; what is left out keeps the rule's own value.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// A Sigma timespan: `90s`, `15m`, `2h`, `7d`.
    pub timespan: Option<String>,
    pub gte: Option<u64>,
    pub gt: Option<u64>,
    pub lte: Option<u64>,
    pub lt: Option<u64>,
}

impl Threshold {
    fn predicates(&self) -> Vec<(ConditionOperator, u64)> {
        [
            (ConditionOperator::Gte, self.gte),
            (ConditionOperator::Gt, self.gt),
            (ConditionOperator::Lte, self.lte),
            (ConditionOperator::Lt, self.lt),
        ]
        .into_iter()
        .filter_map(|(op, v)| v.map(|v| (op, v)))
        .collect()
    }
}

/// Applies `thresholds` to the correlations they name; a threshold naming no loaded correlation,
/// or one that does not fit its rule, is a diagnostic.
pub fn apply(
    thresholds: &BTreeMap<String, Threshold>,
    correlations: &mut [(CorrelationRule, String)],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (key, threshold) in thresholds {
        let mut found = false;
        for (rule, file) in correlations.iter_mut() {
            if rule.id.as_deref() != Some(key) && rule.name.as_deref() != Some(key) {
                continue;
            }
            found = true;
            let mut problem = |message: String| {
                diagnostics.push(Diagnostic {
                    file: "configuration".into(),
                    rule: Some(key.clone()),
                    message,
                    skipped: false,
                });
            };
            if let Some(text) = &threshold.timespan {
                match Timespan::parse(text) {
                    Ok(span) => rule.timespan = span,
                    Err(e) => problem(format!(
                        "timespan {text:?} kept the rule's own ({}): {e}",
                        rule.timespan.original
                    )),
                }
            }
            let predicates = threshold.predicates();
            if predicates.is_empty() {
                continue;
            }
            match &mut rule.condition {
                CorrelationCondition::Threshold { predicates: own, .. } => *own = predicates,
                _ => problem(format!(
                    "{} in {file} is a temporal correlation and has no count threshold",
                    rule.title
                )),
            }
        }
        if !found {
            diagnostics.push(Diagnostic {
                file: "configuration".into(),
                rule: Some(key.clone()),
                message: "threshold names no loaded correlation rule".into(),
                skipped: false,
            });
        }
    }
}
