//! Detection over a stream: Sigma rules per record, correlation windows and behavioural
//! detectors whose state carries from one batch to the next.

use std::sync::Arc;

use vigil_correlate::Alert;
use vigil_detect::behaviour::{Behaviour, BehaviourState};
use vigil_detect::{Correlator, Level, RuleSet};
use vigil_ingest::view::SourceView;
use vigil_ocsf::Event;

use crate::alerts::{self, Record};

/// The detectors a pipeline runs; built once from configuration, swapped on reload.
pub struct Detectors {
    pub rules: Arc<RuleSet>,
    pub behaviour: Behaviour,
    /// Alerts below this level are not raised.
    pub min_level: Level,
}

pub struct Pipeline {
    detectors: Detectors,
    correlator: Correlator,
    behaviour_state: BehaviourState,
}

impl Pipeline {
    pub fn new(detectors: Detectors) -> Pipeline {
        let correlator = detectors.rules.correlator();
        let behaviour_state = detectors.behaviour.state();
        Pipeline { detectors, correlator, behaviour_state }
    }

    /// How far back (ms of event time) detection must be fed again after a restart for its
    /// correlation windows to hold what they held.
    pub fn replay_window_ms(&self) -> i64 {
        i64::try_from(self.detectors.rules.longest_correlation_secs()).unwrap_or(i64::MAX / 2_000) * 1_000
    }

    pub fn rule_count(&self) -> usize {
        self.detectors.rules.len()
    }

    /// The Sigma rules and behavioural detectors this pipeline runs.
    pub fn rule_summaries(&self) -> Vec<crate::runner::RuleSummary> {
        self.detectors
            .rules
            .rules()
            .into_iter()
            .map(|r| crate::runner::RuleSummary {
                id: r.id.clone(),
                title: r.title.clone(),
                level: r.level.as_str().to_owned(),
                tags: r.tags.clone(),
                author: r.author.clone(),
                license: r.license.clone(),
            })
            .collect()
    }

    /// The alerts one event raises, in arrival order. Correlations and behavioural detectors
    /// see events in the order they arrive, which is time order for a live source.
    pub fn detect(&mut self, event: &Event, views: &[SourceView], source: &str) -> Vec<Alert> {
        let min_level = self.detectors.min_level;
        let mut out = Vec::new();
        let mut record: Option<Record> = None;
        for view in views {
            let detections = self.detectors.rules.evaluate(view);
            if detections.is_empty() {
                continue;
            }
            for detection in &detections {
                if detection.rule.building_block || detection.rule.level < min_level {
                    continue;
                }
                let record = record.get_or_insert_with(|| Record::of(event, source));
                out.push(alerts::from_detection(detection, record));
            }
            for alert in self.correlator.process(view, event.time, &detections) {
                if alert.rule.level < min_level {
                    continue;
                }
                let record = record.get_or_insert_with(|| Record::of(event, source));
                out.push(alerts::from_correlation(&alert, event.time, record));
            }
        }
        if let Some(observation) = self.detectors.behaviour.observe(event) {
            let mut found = Vec::new();
            self.behaviour_state.process(&observation, &mut found);
            out.extend(found.iter().filter(|a| a.rule.level >= min_level).map(alerts::from_behaviour));
        }
        out
    }
}
