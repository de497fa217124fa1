//! Sigma correlation rules (`event_count`, `value_count`, `value_sum`, `value_avg`,
//! `value_percentile`, `temporal`, `temporal_ordered`, chained): state over the detections of
//! the rules they name, in event-time order.

use std::collections::HashMap;
use std::sync::Arc;

use rsigma_eval::{CorrelationAction, CorrelationConfig, CorrelationEngine, JsonEvent, ResultBody};
use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, SigmaRule};
use serde::Serialize;
use vigil_model::view::SourceView;

use crate::diagnostic::Diagnostic;
use crate::rule::RuleInfo;
use crate::ruleset::Detection;

/// The correlation rules of a rule set and the detection rules they count.
pub(crate) struct CorrelationSet {
    rules: Vec<SigmaRule>,
    correlations: Vec<CorrelationRule>,
    infos: HashMap<(Option<String>, String), Arc<Loaded>>,
}

/// What Vigil keeps of a loaded correlation rule.
#[derive(Debug)]
struct Loaded {
    info: Arc<RuleInfo>,
    /// The threshold, re-checked for `value_percentile`: rsigma-eval 0.23 reports a percentile
    /// window without comparing it to the rule's condition.
    percentile_threshold: Option<Vec<(ConditionOperator, u64)>>,
}

impl Loaded {
    fn admits(&self, value: f64) -> bool {
        let Some(predicates) = &self.percentile_threshold else { return true };
        predicates.iter().all(|(op, limit)| {
            let limit = *limit as f64;
            match op {
                ConditionOperator::Lt => value < limit,
                ConditionOperator::Lte => value <= limit,
                ConditionOperator::Gt => value > limit,
                ConditionOperator::Gte => value >= limit,
                ConditionOperator::Eq => value == limit,
                ConditionOperator::Neq => value != limit,
            }
        })
    }
}

/// A correlation rule firing: which group, what value crossed its threshold, over what window.
#[derive(Clone, Debug, Serialize)]
pub struct CorrelationAlert {
    pub rule: Arc<RuleInfo>,
    pub correlation_type: String,
    /// The group-by fields and their values (`IpAddress = 10.0.0.5`).
    pub group: Vec<(String, String)>,
    /// The count, distinct count, sum, average or percentile that met the condition.
    pub value: f64,
    pub timespan_secs: u64,
}

fn engine() -> CorrelationEngine {
    // Times always come from the records (`process`), never the wall clock: hunting old logs
    // must give the same answer today as on the day they were written. A window resets when it
    // fires, so one burst is one alert, not one per record past the threshold.
    CorrelationEngine::new(CorrelationConfig {
        action_on_match: CorrelationAction::Reset,
        ..CorrelationConfig::default()
    })
}

impl CorrelationSet {
    /// Compiles each correlation on its own so a bad one (an unknown rule reference, a cycle)
    /// is a diagnostic and the others still load.
    pub(crate) fn load(
        rules: Vec<SigmaRule>,
        correlations: Vec<(CorrelationRule, String)>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> CorrelationSet {
        let mut probe = engine();
        for rule in &rules {
            // Failures here are already reported by the detection rule set.
            let _ = probe.add_rule(rule);
        }
        let known: std::collections::HashSet<&str> = rules
            .iter()
            .flat_map(|r| [r.id.as_deref(), r.name.as_deref()])
            .chain(correlations.iter().flat_map(|(c, _)| [c.id.as_deref(), c.name.as_deref()]))
            .flatten()
            .collect();
        let unknown: Vec<Vec<String>> = correlations
            .iter()
            .map(|(c, _)| c.rules.iter().filter(|r| !known.contains(r.as_str())).cloned().collect())
            .collect();
        let mut kept = Vec::new();
        let mut infos = HashMap::new();
        for ((correlation, file), unknown) in correlations.into_iter().zip(unknown) {
            let info = Arc::new(RuleInfo::from_correlation(&correlation, &file));
            if !unknown.is_empty() {
                diagnostics.push(Diagnostic {
                    file,
                    rule: Some(info.id.clone()),
                    message: format!("names rules that are not loaded: {}", unknown.join(", ")),
                    skipped: true,
                });
                continue;
            }
            match probe.add_correlation(&correlation) {
                Ok(()) => {
                    let percentile_threshold = match (&correlation.correlation_type, &correlation.condition) {
                        (
                            CorrelationType::ValuePercentile,
                            CorrelationCondition::Threshold { predicates, .. },
                        ) => Some(predicates.clone()),
                        _ => None,
                    };
                    let loaded = Arc::new(Loaded { info, percentile_threshold });
                    infos.insert((correlation.id.clone(), correlation.title.clone()), loaded);
                    kept.push(correlation);
                }
                Err(e) => diagnostics.push(Diagnostic {
                    file,
                    rule: Some(info.id.clone()),
                    message: e.to_string(),
                    skipped: true,
                }),
            }
        }
        CorrelationSet { rules, correlations: kept, infos }
    }

    pub(crate) fn len(&self) -> usize {
        self.correlations.len()
    }

    pub(crate) fn longest_timespan_secs(&self) -> u64 {
        self.correlations.iter().map(|c| c.timespan.seconds).max().unwrap_or(0)
    }

    pub(crate) fn correlator(&self) -> Correlator {
        let mut engine = engine();
        for rule in &self.rules {
            let _ = engine.add_rule(rule);
        }
        for correlation in &self.correlations {
            // Each was compiled successfully at load time against the same rules.
            let _ = engine.add_correlation(correlation);
        }
        Correlator { engine, infos: self.infos.clone(), active: !self.correlations.is_empty() }
    }
}

/// Correlation state for one stream of records. Feed it records in time order.
pub struct Correlator {
    engine: CorrelationEngine,
    infos: HashMap<(Option<String>, String), Arc<Loaded>>,
    active: bool,
}

impl Correlator {
    /// Whether any correlation rule is loaded (when not, `process` does nothing).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Advances the state with one record, its time (ms since the epoch) and the detections it
    /// produced; returns the correlations that fired.
    pub fn process(
        &mut self,
        view: &SourceView,
        time_ms: i64,
        detections: &[Detection],
    ) -> Vec<CorrelationAlert> {
        if !self.active || detections.is_empty() {
            return Vec::new();
        }
        let results = detections.iter().map(|d| d.result.clone()).collect();
        let event = JsonEvent::borrow(&view.fields);
        let out = self.engine.process_with_detections(&event, results, time_ms.div_euclid(1000));
        out.into_iter()
            .filter_map(|result| {
                let ResultBody::Correlation(body) = &result.body else { return None };
                let loaded =
                    self.infos.get(&(result.header.rule_id.clone(), result.header.rule_title.clone()))?;
                if !loaded.admits(body.aggregated_value) {
                    return None;
                }
                Some(CorrelationAlert {
                    rule: Arc::clone(&loaded.info),
                    correlation_type: format!("{:?}", body.correlation_type),
                    group: body.group_key.clone(),
                    value: body.aggregated_value,
                    timespan_secs: body.timespan_secs,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_model::view::LogSource;

    use crate::ruleset::{RuleFile, RuleSet, RuleSetConfig};

    const BASE_RULES: &str = r#"
title: Failed Logon
name: failed_logon
id: 00000000-0000-4000-8000-00000000c001
author: Vigil tests
logsource: {product: windows, service: security}
detection:
  s: {EventID: 4625}
  condition: s
level: low
---
title: Successful Logon
name: successful_logon
id: 00000000-0000-4000-8000-00000000c002
author: Vigil tests
logsource: {product: windows, service: security}
detection:
  s: {EventID: 4624}
  condition: s
level: low
---
title: Upload
name: upload
id: 00000000-0000-4000-8000-00000000c003
author: Vigil tests
logsource: {product: windows, service: security}
detection:
  s: {EventID: 5156}
  condition: s
level: low
"#;

    fn correlation(kind: &str, rules: &str, group: &str, condition: &str) -> String {
        format!(
            "title: Correlation {kind}\nid: 00000000-0000-4000-8000-00000000c0ff\nauthor: Vigil tests\nlevel: high\ncorrelation:\n  type: {kind}\n  rules: [{rules}]\n  group-by: [{group}]\n  timespan: 10m\n  condition: {condition}\n"
        )
    }

    /// (event id, user, ip, bytes, seconds from the start)
    type Record = (u32, &'static str, &'static str, u64, i64);

    #[track_caller]
    fn check(correlation: &str, records: &[Record], expect_fires: bool) {
        let files = [
            RuleFile { name: "base.yml".into(), text: BASE_RULES.into() },
            RuleFile { name: "correlation.yml".into(), text: correlation.into() },
        ];
        let (rules, diagnostics) = RuleSet::load(&files, &RuleSetConfig::default()).expect("valid config");
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(rules.correlation_count(), 1);
        let mut correlator = rules.correlator();
        let mut fired = Vec::new();
        for (event_id, user, ip, bytes, second) in records {
            let view = vigil_model::view::SourceView {
                logsource: LogSource::new("windows", Some("security")),
                fields: json!({"EventID": event_id, "TargetUserName": user, "IpAddress": ip, "Bytes": bytes}),
            };
            let detections = rules.evaluate(&view);
            fired.extend(correlator.process(&view, 1_772_442_000_000 + second * 1000, &detections));
        }
        assert_eq!(!fired.is_empty(), expect_fires, "{correlation}\nfired: {fired:#?}");
        if let Some(alert) = fired.first() {
            assert_eq!(alert.rule.author.as_deref(), Some("Vigil tests"));
            assert!(!alert.group.is_empty());
        }
    }

    fn failures(n: usize, users: &[&'static str]) -> Vec<Record> {
        (0..n).map(|i| (4625, users[i % users.len()], "10.0.0.9", 0, i as i64 * 10)).collect()
    }

    #[test]
    fn each_correlation_type_fires_at_its_threshold_and_not_below() {
        let count = correlation("event_count", "failed_logon", "TargetUserName", "{gte: 5}");
        check(&count, &failures(5, &["alice"]), true);
        check(&count, &failures(4, &["alice"]), false);
        // Outside the window: 5 failures over 50 minutes never have 5 in 10 minutes.
        let spread: Vec<Record> = (0..5).map(|i| (4625, "alice", "10.0.0.9", 0, i * 600)).collect();
        check(&count, &spread, false);

        let spray =
            correlation("value_count", "failed_logon", "IpAddress", "{field: TargetUserName, gte: 3}");
        check(&spray, &failures(3, &["alice", "bob", "carol"]), true);
        check(&spray, &failures(6, &["alice", "bob"]), false);

        let upload = |bytes: &[u64]| -> Vec<Record> {
            bytes.iter().enumerate().map(|(i, b)| (5156, "alice", "10.0.0.9", *b, i as i64)).collect()
        };
        let sum = correlation("value_sum", "upload", "TargetUserName", "{field: Bytes, gte: 1000}");
        check(&sum, &upload(&[400, 600]), true);
        check(&sum, &upload(&[400, 599]), false);
        let avg = correlation("value_avg", "upload", "TargetUserName", "{field: Bytes, gte: 500}");
        check(&avg, &upload(&[400, 600]), true);
        check(&avg, &upload(&[400, 598]), false);
        let percentile =
            correlation("value_percentile", "upload", "TargetUserName", "{field: Bytes, gte: 900}");
        check(&percentile, &upload(&[900, 950, 990]), true);

        let temporal =
            correlation("temporal", "failed_logon, successful_logon", "TargetUserName", "{gte: 2}");
        check(&temporal, &[(4625, "alice", "10.0.0.9", 0, 0), (4624, "alice", "10.0.0.9", 0, 30)], true);
        check(&temporal, &[(4625, "alice", "10.0.0.9", 0, 0), (4624, "bob", "10.0.0.9", 0, 30)], false);
        let ordered =
            correlation("temporal_ordered", "failed_logon, successful_logon", "TargetUserName", "{gte: 2}");
        check(&ordered, &[(4625, "alice", "10.0.0.9", 0, 0), (4624, "alice", "10.0.0.9", 0, 30)], true);
        check(&ordered, &[(4624, "alice", "10.0.0.9", 0, 0), (4625, "alice", "10.0.0.9", 0, 30)], false);
    }

    #[test]
    fn value_percentile_respects_its_threshold() {
        // rsigma-eval 0.23 fires value_percentile whatever the percentile is; Vigil re-checks.
        let upload = |bytes: &[u64]| -> Vec<Record> {
            bytes.iter().enumerate().map(|(i, b)| (5156, "alice", "10.0.0.9", *b, i as i64)).collect()
        };
        let percentile =
            correlation("value_percentile", "upload", "TargetUserName", "{field: Bytes, gte: 900}");
        check(&percentile, &upload(&[100, 120, 140]), false);
        let median_under =
            correlation("value_percentile", "upload", "TargetUserName", "{field: Bytes, lte: 130}");
        check(&median_under, &upload(&[100, 120, 140]), true);
    }

    #[test]
    fn a_correlation_naming_an_unknown_rule_is_a_diagnostic() {
        let files = [RuleFile {
            name: "c.yml".into(),
            text: correlation("event_count", "nobody", "User", "{gte: 2}"),
        }];
        let (rules, diagnostics) = RuleSet::load(&files, &RuleSetConfig::default()).expect("valid config");
        assert_eq!(rules.correlation_count(), 0);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }
}
