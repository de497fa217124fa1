//! Detection over a stream, the one detection path `vigil serve` and `vigil hunt` share: Sigma
//! rules per record, correlation windows and behavioural detectors whose state carries from one
//! record to the next. A live source arrives in time order, so the server runs all three as each
//! record arrives ([`Order::Arrival`]); files do not, so a hunt runs Sigma as it reads and
//! replays correlations and behaviour in time order at the end ([`Order::Deferred`], then
//! [`Pipeline::finish`]).

use std::collections::HashMap;
use std::sync::Arc;

use vigil_correlate::Alert;
use vigil_detect::behaviour::{Behaviour, BehaviourAlert, BehaviourState, Observation};
use vigil_detect::{CorrelationAlert, Correlator, Detection, Level, RuleSet};
use vigil_ingest::Pending;
use vigil_model::view::SourceView;
use vigil_ocsf::Event;

use crate::alerts::{self, Record};

/// The detectors a pipeline runs; built once from configuration, swapped on reload.
#[derive(Clone)]
pub struct Detectors {
    pub rules: Arc<RuleSet>,
    pub behaviour: Behaviour,
    /// Alerts below this level are not raised.
    pub min_level: Level,
}

/// When correlations and behavioural detectors see the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// As they arrive: a live source, in time order.
    Arrival,
    /// In time order once every record is read ([`Pipeline::finish`]): files.
    Deferred,
}

/// What raised an alert, for callers that report more than the alert (a hunt's JSON lines).
pub enum Raised<'a> {
    /// `view` is the record as the rule saw it.
    Sigma {
        detection: &'a Detection,
        event: &'a Event,
        view: &'a SourceView,
        source: &'a str,
    },
    Correlation {
        alert: &'a CorrelationAlert,
        time: i64,
    },
    Behaviour {
        alert: &'a BehaviourAlert,
    },
}

/// A record that fired a rule, kept for a deferred correlation replay.
struct Fired {
    time: i64,
    view: SourceView,
    detections: Vec<Detection>,
    record: Record,
}

/// What correlations and behavioural detectors remember, for one tenant: two customers' events
/// never count towards one threshold, however alike their user and host names.
struct Scope {
    correlator: Correlator,
    behaviour_state: BehaviourState,
}

pub struct Pipeline {
    detectors: Detectors,
    /// The OCSF classes the behavioural detectors read (a record that cannot be one of them is
    /// not mapped for them).
    watched: Vec<u32>,
    /// By tenant (`None`: events that name none).
    scopes: HashMap<Option<String>, Scope>,
    /// Whether any correlation rule runs.
    correlating: bool,
    order: Order,
    fired: Vec<Fired>,
    observations: Vec<(Option<String>, Observation)>,
}

impl Pipeline {
    /// A pipeline for a live source.
    pub fn new(detectors: Detectors) -> Pipeline {
        Pipeline::with_order(detectors, Order::Arrival)
    }

    pub fn with_order(detectors: Detectors, order: Order) -> Pipeline {
        Pipeline {
            watched: detectors.behaviour.watched_classes(),
            correlating: detectors.rules.correlator().is_active(),
            detectors,
            scopes: HashMap::new(),
            order,
            fired: Vec::new(),
            observations: Vec::new(),
        }
    }

    /// The correlation and behaviour state of `tenant`, begun when its first event comes.
    fn scope(&mut self, tenant: Option<&str>) -> &mut Scope {
        let detectors = &self.detectors;
        self.scopes.entry(tenant.map(str::to_owned)).or_insert_with(|| Scope {
            correlator: detectors.rules.correlator(),
            behaviour_state: detectors.behaviour.state(),
        })
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
                description: r.description.clone(),
                level: r.level.as_str().to_owned(),
                tags: r.tags.clone(),
                author: r.author.clone(),
                license: r.license.clone(),
            })
            .collect()
    }

    /// The alerts one event raises, in order.
    pub fn detect(&mut self, event: &Event, views: &[SourceView], source: &str) -> Vec<Alert> {
        let mut out = Vec::new();
        self.detect_each(event, views, source, &mut |_, alert| out.push(alert));
        out
    }

    /// Runs one event through detection, handing `sink` each alert with what raised it.
    pub fn detect_each(
        &mut self,
        event: &Event,
        views: &[SourceView],
        source: &str,
        sink: &mut dyn FnMut(Raised<'_>, Alert),
    ) {
        let mut record: Option<Record> = None;
        for view in views {
            let detections = self.detectors.rules.evaluate(view);
            if !detections.is_empty() {
                self.raise(event, view, detections, source, &mut record, sink);
            }
        }
        if let Some(observation) = self.detectors.behaviour.observe(event) {
            self.observe(event.metadata.tenant_uid.as_deref(), observation, sink);
        }
    }

    /// Raises the alerts of one view's detections and feeds them to the correlations.
    fn raise(
        &mut self,
        event: &Event,
        view: &SourceView,
        detections: Vec<Detection>,
        source: &str,
        record: &mut Option<Record>,
        sink: &mut dyn FnMut(Raised<'_>, Alert),
    ) {
        let min_level = self.detectors.min_level;
        for detection in &detections {
            if detection.rule.building_block || detection.rule.level < min_level {
                continue;
            }
            let record = record.get_or_insert_with(|| Record::of(event, source));
            sink(Raised::Sigma { detection, event, view, source }, alerts::from_detection(detection, record));
        }
        if !self.correlating {
            return;
        }
        let record = record.get_or_insert_with(|| Record::of(event, source));
        match self.order {
            Order::Arrival => {
                let correlator = &mut self.scope(event.metadata.tenant_uid.as_deref()).correlator;
                correlate(correlator, min_level, view, event.time, &detections, record, sink)
            }
            Order::Deferred => self.fired.push(Fired {
                time: event.time,
                view: view.clone(),
                detections,
                record: record.clone(),
            }),
        }
    }

    fn observe(
        &mut self,
        tenant: Option<&str>,
        observation: Observation,
        sink: &mut dyn FnMut(Raised<'_>, Alert),
    ) {
        match self.order {
            Order::Arrival => {
                let min_level = self.detectors.min_level;
                behave(&mut self.scope(tenant).behaviour_state, min_level, tenant, &observation, sink)
            }
            Order::Deferred => self.observations.push((tenant.map(str::to_owned), observation)),
        }
    }

    /// Runs one record through detection as [`Pipeline::detect_each`] does, mapping it to OCSF
    /// only when a rule fires on it or the behavioural detectors may read it. `sink` sees the
    /// owned views of a record that raised an alert.
    pub fn detect_pending(
        &mut self,
        pending: &Pending<'_>,
        source: &str,
        sink: &mut dyn FnMut(Raised<'_>, Alert),
    ) {
        let mut record: Option<Record> = None;
        for (i, view) in pending.views().iter().enumerate() {
            let detections = self.detectors.rules.evaluate_view(view);
            if detections.is_empty() {
                continue;
            }
            // A record that cannot be mapped becomes a dead letter; its detections go with it.
            let Some(event) = pending.event() else { return };
            let Some(view) = pending.source_views().get(i) else { continue };
            self.raise(event, view, detections, source, &mut record, sink);
        }
        if !self.watched.iter().any(|class| pending.may_map_to(*class)) {
            return;
        }
        if let Some(event) = pending.event()
            && let Some(observation) = self.detectors.behaviour.observe(event)
        {
            self.observe(event.metadata.tenant_uid.as_deref(), observation, sink);
        }
    }

    /// Replays what a deferred pipeline kept, in time order: correlations over the records that
    /// fired a rule, then the behavioural detectors over every observation.
    pub fn finish(&mut self, sink: &mut dyn FnMut(Raised<'_>, Alert)) {
        let min_level = self.detectors.min_level;
        let mut fired = std::mem::take(&mut self.fired);
        fired.sort_by_key(|f| f.time);
        for f in &fired {
            let correlator = &mut self.scope(f.record.tenant()).correlator;
            correlate(correlator, min_level, &f.view, f.time, &f.detections, &f.record, sink);
        }
        let mut observations = std::mem::take(&mut self.observations);
        observations.sort_by(|(_, a), (_, b)| (a.time, &a.event_uid).cmp(&(b.time, &b.event_uid)));
        for (tenant, observation) in &observations {
            let tenant = tenant.as_deref();
            behave(&mut self.scope(tenant).behaviour_state, min_level, tenant, observation, sink);
        }
    }
}

fn correlate(
    correlator: &mut Correlator,
    min_level: Level,
    view: &SourceView,
    time: i64,
    detections: &[Detection],
    record: &Record,
    sink: &mut dyn FnMut(Raised<'_>, Alert),
) {
    for alert in correlator.process(view, time, detections) {
        if alert.rule.level >= min_level {
            let case_alert = alerts::from_correlation(&alert, time, record);
            sink(Raised::Correlation { alert: &alert, time }, case_alert);
        }
    }
}

fn behave(
    state: &mut BehaviourState,
    min_level: Level,
    tenant: Option<&str>,
    observation: &Observation,
    sink: &mut dyn FnMut(Raised<'_>, Alert),
) {
    let mut found = Vec::new();
    state.process(observation, &mut found);
    for alert in found.iter().filter(|a| a.rule.level >= min_level) {
        sink(Raised::Behaviour { alert }, alerts::from_behaviour(alert, tenant));
    }
}
