//! A case as numbers the scorer weighs, each named and bounded to [0, 1], and the context the
//! case needed but did not have.

use serde::Serialize;
use vigil_correlate::Case;
use vigil_model::{EntityKind, Severity};

use crate::context::Context;
use crate::history::Precedent;

/// The features, in the order a model's weights follow: (name, what it measures).
pub const FEATURES: &[(&str, &str)] = &[
    ("max_level", "the highest alert level (informational 0 … critical 1)"),
    ("alert_volume", "how many alerts, on a log scale (100 or more is 1)"),
    ("distinct_rules", "how many different rules fired (10 or more is 1)"),
    ("tactics", "how many ATT&CK tactics the case reaches (6 or more is 1)"),
    ("late_stage", "credential access, lateral movement, collection, C2, exfiltration or impact reached"),
    ("correlated", "a correlation or behavioural detector fired, not only single-record rules"),
    ("hosts", "how many hosts (5 or more is 1)"),
    ("users", "how many user accounts (5 or more is 1)"),
    ("privileged_user", "an account the identity inventory lists in a privileged group"),
    ("critical_asset", "a host the asset inventory rates high or critical"),
    ("exposed_asset", "a host the asset inventory lists as exposed to the internet"),
    ("allow_listed", "the share of alerts an allow-list entry explains"),
    ("ioc_match", "an entity on an IOC list"),
    (
        "prior_benign",
        "the share of alerts whose rule analysts judged benign before on one of the same entities, and never malicious",
    ),
    ("prior_malicious", "an alert whose rule analysts judged malicious before on one of the same entities"),
];

/// Which way a feature may push the score, whatever the training data says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Only towards malicious (a weight ≥ 0).
    Raises,
    /// Only towards benign (a weight ≤ 0).
    Lowers,
    /// Learned either way.
    Either,
}

/// A feature's direction: context an analyst would read one way only is fixed, the shape of
/// the case is learned.
pub fn direction(feature: &str) -> Direction {
    match feature {
        "privileged_user" | "critical_asset" | "exposed_asset" | "ioc_match" | "prior_malicious" => {
            Direction::Raises
        }
        "allow_listed" | "prior_benign" => Direction::Lowers,
        _ => Direction::Either,
    }
}

const LATE: &[&str] =
    &["credential-access", "lateral-movement", "collection", "command-and-control", "exfiltration", "impact"];

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Features {
    pub values: Vec<f64>,
    /// Alerts (indices) an allow-list entry explains, with its reason.
    #[serde(skip)]
    pub allowed: Vec<(usize, String)>,
    /// Entities found on an IOC list.
    #[serde(skip)]
    pub iocs: Vec<String>,
    /// Alerts (indices) analysts judged benign before, on the same rule and entity, and never
    /// malicious; and alerts judged malicious before.
    #[serde(skip)]
    pub prior_benign: Vec<usize>,
    #[serde(skip)]
    pub prior_malicious: Vec<usize>,
    /// The earlier cases those verdicts were given on.
    #[serde(skip)]
    pub precedents: Vec<Precedent>,
}

fn level(s: Severity) -> f64 {
    match s {
        Severity::Critical | Severity::Fatal => 1.0,
        Severity::High => 0.75,
        Severity::Medium => 0.5,
        Severity::Low => 0.25,
        _ => 0.0,
    }
}

fn capped(n: usize, cap: usize) -> f64 {
    n.min(cap) as f64 / cap as f64
}

/// The features of `case` under `context`, and what the case lacked (`unknowns`).
pub fn extract(case: &Case, context: &Context) -> (Features, Vec<String>) {
    let mut unknowns = Vec::new();
    let entities = |kind: EntityKind| -> Vec<&str> {
        case.entities
            .iter()
            .filter(|e| e.entity.kind == kind && e.weight > 0.0)
            .map(|e| &*e.entity.key)
            .collect()
    };
    let hosts = entities(EntityKind::Host);
    let users = entities(EntityKind::User);

    let mut privileged = 0.0;
    match &context.identities {
        None if !users.is_empty() => {
            unknowns.push("no identity inventory: whether the accounts are privileged is unknown".into())
        }
        None => {}
        Some(ids) => {
            for u in &users {
                match ids.entries.get(*u) {
                    Some(identity) if !identity.privileged_groups.is_empty() => privileged = 1.0,
                    Some(_) => {}
                    None => unknowns.push(format!("no identity context for {u}")),
                }
            }
        }
    }
    let (mut critical, mut exposed) = (0.0, 0.0);
    match &context.assets {
        None if !hosts.is_empty() => {
            unknowns.push("no asset inventory: how critical the hosts are is unknown".into())
        }
        None => {}
        Some(assets) => {
            for h in &hosts {
                match assets.entries.get(*h) {
                    Some(a) => {
                        if matches!(a.criticality.as_deref(), Some("high" | "critical")) {
                            critical = 1.0;
                        }
                        if a.exposure.as_deref() == Some("internet") {
                            exposed = 1.0;
                        }
                    }
                    None => unknowns.push(format!("no asset context for host {h}")),
                }
            }
        }
    }
    let mut allowed = Vec::new();
    if let Some(allow) = &context.allow {
        for (i, alert) in case.alerts.iter().enumerate() {
            let hit = allow.entries.iter().find(|rule| {
                rule.rule.as_ref().is_none_or(|r| *r == alert.rule.id)
                    && rule.entity.as_ref().is_none_or(|want| {
                        alert
                            .entities
                            .iter()
                            .any(|e| format!("{} {}", e.kind.as_str(), e.key) == want.to_lowercase())
                    })
                    && (rule.rule.is_some() || rule.entity.is_some())
            });
            if let Some(rule) = hit {
                allowed.push((i, rule.reason.clone()));
            }
        }
    }
    let iocs: Vec<String> = match &context.iocs {
        Some(list) => case
            .entities
            .iter()
            .filter(|e| list.entries.iter().any(|i| *i == *e.entity.key))
            .map(|e| e.entity.to_string())
            .collect(),
        None => Vec::new(),
    };
    let (mut prior_benign, mut prior_malicious, mut precedents) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(history) = &context.history {
        for (i, alert) in case.alerts.iter().enumerate() {
            let (tally, cases) = history.entries.judge(alert);
            if tally.malicious > 0 {
                prior_malicious.push(i);
            } else if tally.benign > 0 {
                prior_benign.push(i);
            }
            // A case is not its own precedent (it was judged, then grew or was reopened).
            precedents.extend(cases.into_iter().filter(|p| p.case != case.id));
        }
        precedents.sort();
        precedents.dedup();
    }
    let share = |n: usize| if case.alerts.is_empty() { 0.0 } else { n as f64 / case.alerts.len() as f64 };
    let rules = {
        let mut ids: Vec<&str> = case.alerts.iter().map(|a| a.rule.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let count = case.alert_count() as f64;
    let values = vec![
        level(case.severity),
        ((1.0 + count).ln() / 101f64.ln()).min(1.0),
        capped(rules, 10),
        capped(case.tactics.len(), 6),
        f64::from(u8::from(case.tactics.iter().any(|t| LATE.contains(&t.short_name.as_str())))),
        f64::from(u8::from(case.alerts.iter().any(|a| a.summary.is_some()))),
        capped(hosts.len(), 5),
        capped(users.len(), 5),
        privileged,
        critical,
        exposed,
        share(allowed.len()),
        f64::from(u8::from(!iocs.is_empty())),
        share(prior_benign.len()),
        f64::from(u8::from(!prior_malicious.is_empty())),
    ];
    (Features { values, allowed, iocs, prior_benign, prior_malicious, precedents }, unknowns)
}
