//! The case table `vigil hunt` prints.

use std::fmt::Write;

use vigil_correlate::Case;
use vigil_triage::Recommendation;

use crate::terminal::safe;

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn span(case: &Case) -> String {
    let minutes = (case.last_seen - case.first_seen) / 60_000;
    match minutes {
        0 => time(case.first_seen),
        m if m < 120 => format!("{} +{m}m", time(case.first_seen)),
        m if m < 2 * 24 * 60 => format!("{} +{}h", time(case.first_seen), m / 60),
        m => format!("{} +{}d", time(case.first_seen), m / (24 * 60)),
    }
}

/// The case table: severity, alerts, time span, tactics, techniques and key entities per case,
/// then the built-in analyst's verdict, confidence and top reasons.
pub fn table(cases: &[Case], recommendations: &[Recommendation]) -> String {
    let mut out = String::new();
    if cases.is_empty() {
        return out;
    }
    let alerts: u64 = cases.iter().map(Case::alert_count).sum();
    let _ = writeln!(out, "{} cases from {alerts} alerts\n", cases.len());
    let _ = writeln!(
        out,
        "{:<9} {:<13} {:>6}  {:<22} {:<34} {:<24} key entities / title",
        "case", "severity", "alerts", "time span", "tactics", "techniques"
    );
    let mut ranked: Vec<(&Case, Option<&Recommendation>)> =
        cases.iter().enumerate().map(|(i, c)| (c, recommendations.get(i))).collect();
    ranked.sort_by(|(a, _), (b, _)| {
        b.severity
            .cmp(&a.severity)
            .then(b.alert_count().cmp(&a.alert_count()))
            .then(a.first_seen.cmp(&b.first_seen))
    });
    for &(case, recommendation) in ranked.iter().take(40) {
        let tactics: Vec<&str> = case.tactics.iter().map(|t| t.short_name.as_str()).collect();
        let techniques: Vec<&str> = case.techniques.iter().take(3).map(|t| t.id.as_str()).collect();
        let more = if case.techniques.len() > 3 {
            format!(" +{}", case.techniques.len() - 3)
        } else {
            String::new()
        };
        let entities: Vec<String> = case
            .key_entities(3)
            .iter()
            .map(|e| format!("{} {}", e.entity.kind.as_str(), e.entity.key))
            .collect();
        let _ = writeln!(
            out,
            "{:<9} {:<13} {:>6}  {:<22} {:<34} {:<24} {}",
            &case.id.as_str()[..8.min(case.id.as_str().len())],
            case.severity.name(),
            case.alert_count(),
            span(case),
            safe(&tactics.join(","), 34),
            format!("{}{more}", techniques.join(",")),
            safe(&entities.join(", "), 80)
        );
        let _ = writeln!(out, "{:<9} {}", "", safe(&case.title, 110));
        if let Some(r) = recommendation {
            let reasons: Vec<String> = r
                .contributions
                .iter()
                .filter(|c| c.contribution.abs() >= 0.05)
                .take(3)
                .map(|c| format!("{} {:+.1}", c.feature, c.contribution))
                .collect();
            let unknowns = if r.unknowns.is_empty() {
                String::new()
            } else {
                format!("; {} unknowns", r.unknowns.len())
            };
            let closed = if case.lifecycle.state().is_closed() {
                format!(" [{} by {}]", case.lifecycle.state(), vigil_triage::autotriage::ACTOR)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:<9} {} (confidence {:.2}): {}{unknowns}{closed}",
                "",
                r.verdict.as_str().replace('_', " "),
                r.confidence,
                reasons.join(", ")
            );
        }
    }
    if ranked.len() > 40 {
        let _ = writeln!(out, "… and {} more cases (--json or --report lists them all)", ranked.len() - 40);
    }
    out.push('\n');
    out
}

/// Now, in ms since the epoch: how old the context inputs are is measured against it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Now, as RFC 3339 UTC (for the report's header only; nothing else reads the clock).
pub fn now_rfc3339() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
