//! The hunt report as one HTML document: a summary, the case list, then each case with its
//! ATT&CK tactics along the kill chain, key entities, entity graph, merge reasons, alerts (with
//! each rule's author and licence) and timeline.

use std::fmt::Write;

use vigil_correlate::attack::Attack;
use vigil_correlate::{Case, TimelineKind};

use vigil_triage::Recommendation;

use crate::escape::html as esc;
use crate::graph;

/// What the report is about.
pub struct HuntReport<'a> {
    pub title: String,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    pub files: usize,
    pub events: u64,
    pub alerts: u64,
    pub cases: &'a [Case],
    /// The built-in analyst's recommendation for each case, in the same order.
    pub recommendations: &'a [Recommendation],
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1f2933;padding:0 1em}\
h1{font-size:1.6em}h2{margin-top:2.5em;border-top:2px solid #cbd2d9;padding-top:.8em}h3{font-size:1.05em;margin-top:1.4em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #e4e7eb;vertical-align:top}\
th{background:#f5f7fa}code{font-size:.92em;word-break:break-all}.sev{font-weight:bold;padding:0 .4em;border-radius:3px;color:#fff}\
.sev-critical,.lvl-critical{background:#7b1d1d;fill:#7b1d1d}.sev-high,.lvl-high{background:#c0392b;fill:#c0392b}.sev-medium,.lvl-medium{background:#d68910;fill:#d68910}\
.sev-low,.lvl-low{background:#2e86c1;fill:#2e86c1}.sev-informational,.lvl-informational,.sev-unknown,.lvl-unknown{background:#7b8794;fill:#7b8794}\
.chain{display:flex;flex-wrap:wrap;gap:4px;margin:.5em 0}.chain span{padding:.2em .5em;border-radius:3px;background:#e4e7eb;color:#616e7c;font-size:.85em}\
.chain span.hit{background:#1f2933;color:#fff}.muted{color:#616e7c}svg{max-width:100%;height:auto;border:1px solid #e4e7eb}";

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn severity(s: vigil_model::Severity) -> String {
    let name = s.name();
    format!(r#"<span class="sev sev-{}">{}</span>"#, name.to_ascii_lowercase(), esc(name))
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub fn render(report: &HuntReport<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&report.title)
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p class=\"muted\">Generated {} by Vigil. {} files, {} events, {} alerts, {} cases. ATT&amp;CK Enterprise {} (© The MITRE Corporation).</p>",
        esc(&report.title),
        esc(&report.generated_at),
        report.files,
        report.events,
        report.alerts,
        report.cases.len(),
        esc(Attack::get().version())
    );
    out.push_str("<h2 id=\"cases\">Cases</h2><table><tr><th>case</th><th>severity</th><th>alerts</th><th>first seen</th><th>last seen</th><th>tactics</th><th>title</th></tr>");
    for case in report.cases {
        let tactics: Vec<&str> = case.tactics.iter().map(|t| t.name.as_str()).collect();
        let _ = write!(
            out,
            "<tr><td><a href=\"#case-{id}\"><code>{short}</code></a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            severity(case.severity),
            case.alert_count(),
            time(case.first_seen),
            time(case.last_seen),
            esc(&tactics.join(", ")),
            esc(&case.title),
            id = esc(case.id.as_str()),
            short = esc(short_id(case.id.as_str())),
        );
    }
    out.push_str("</table>");
    for (i, case) in report.cases.iter().enumerate() {
        case_section(&mut out, case, report.recommendations.get(i));
    }
    out.push_str("</body></html>\n");
    out
}

fn recommendation_section(out: &mut String, r: &Recommendation) {
    let verdict = r.verdict.as_str().replace('_', " ");
    let _ = write!(
        out,
        "<h3>Recommendation</h3><p><b>{}</b>, confidence {:.2} (probability {:.3}). {}</p><p class=\"muted\">{}. Advisory only: nothing runs without policy and approval.</p>",
        esc(&verdict),
        r.confidence,
        r.probability,
        esc(&r.hypothesis),
        esc(&r.drafted_by)
    );
    if !r.unknowns.is_empty() {
        out.push_str("<p>What the analyst lacked:</p><ul>");
        for u in &r.unknowns {
            let _ = write!(out, "<li>{}</li>", esc(u));
        }
        out.push_str("</ul>");
    }
    out.push_str("<table><tr><th>context input</th><th>present</th><th>age (days)</th></tr>");
    for i in &r.inputs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.input),
            if i.present { "yes" } else { "no" },
            i.age_days.map(|a| format!("{a:.1}")).unwrap_or_else(|| "-".into())
        );
    }
    out.push_str(
        "</table><table><tr><th>feature</th><th>value</th><th>weight</th><th>contribution</th></tr>",
    );
    for c in r.contributions.iter().filter(|c| c.contribution != 0.0) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.2}</td><td>{:+.2}</td><td>{:+.2}</td></tr>",
            esc(&c.feature),
            c.value,
            c.weight,
            c.contribution
        );
    }
    out.push_str("</table>");
    if let Some(plan) = &r.playbook {
        let _ = write!(
            out,
            "<p>Playbook <b>{}</b> (v{}):</p><table><tr><th>phase</th><th>action</th><th>touches</th><th>blast radius</th></tr>",
            esc(&plan.title),
            plan.version
        );
        for s in &plan.steps {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td></tr>",
                esc(&serde_json_name(&s.phase)),
                esc(&s.action),
                esc(&s.description),
                esc(&s.touches.join(", ")),
                esc(&s.blast_radius.join("; "))
            );
        }
        out.push_str("</table>");
    }
}

/// A value's serde name (`insufficient_evidence`).
fn serde_json_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn case_section(out: &mut String, case: &Case, recommendation: Option<&Recommendation>) {
    let _ = write!(
        out,
        "<h2 id=\"case-{}\">{} {}</h2><p>Case <code>{}</code>, state <b>{}</b>; {} alerts from {} to {}.</p>",
        esc(case.id.as_str()),
        severity(case.severity),
        esc(&case.title),
        esc(case.id.as_str()),
        esc(case.lifecycle.state().as_str()),
        case.alert_count(),
        time(case.first_seen),
        time(case.last_seen)
    );
    for earlier in &case.continues {
        let _ = write!(
            out,
            "<p class=\"muted\">Continues case <a href=\"#case-{0}\"><code>{0}</code></a>, which reached its size cap.</p>",
            esc(earlier.as_str())
        );
    }
    if let Some(r) = recommendation {
        recommendation_section(out, r);
    }
    out.push_str("<h3>ATT&amp;CK tactics</h3><div class=\"chain\">");
    let used: Vec<&str> = case.tactics.iter().map(|t| t.short_name.as_str()).collect();
    for tactic in kill_chain() {
        let hit = if used.contains(&tactic.0.as_str()) { " class=\"hit\"" } else { "" };
        let _ = write!(out, "<span{hit}>{}</span>", esc(&tactic.1));
    }
    out.push_str("</div>");
    if !case.techniques.is_empty() {
        out.push_str("<table><tr><th>technique</th><th>name</th><th>alerts</th></tr>");
        for t in &case.techniques {
            let mut name = t.name.clone().unwrap_or_else(|| "(not in this ATT&CK release)".into());
            if let Some(old) = &t.previously {
                name.push_str(&format!(" (ATT&CK v19 id; {old} before)"));
            }
            let alerts: Vec<String> = t.alerts.iter().map(|i| format!("#{}", i + 1)).collect();
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                esc(&name),
                esc(&alerts.join(" "))
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<h3>Entity graph</h3>");
    out.push_str(&graph::svg(case));
    out.push_str(
        "<h3>Entities</h3><table><tr><th>kind</th><th>entity</th><th>alerts</th><th>weight</th></tr>",
    );
    let mut entities: Vec<&vigil_correlate::CaseEntity> = case.entities.iter().collect();
    entities.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.entity.cmp(&b.entity)));
    for e in entities.iter().take(100) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{:.2}</td></tr>",
            esc(e.entity.kind.as_str()),
            esc(&e.entity.key),
            e.alerts,
            e.weight
        );
    }
    out.push_str("</table>");
    if !case.merges.is_empty() {
        out.push_str("<h3>Why these alerts are one case</h3><ul>");
        for m in &case.merges {
            let _ = write!(
                out,
                "<li>Alert #{} ({}) {} alert #{} (score {:.2}).</li>",
                m.alert + 1,
                esc(&case.alerts[m.alert].rule.title),
                esc(&m.reason),
                m.joined_to + 1,
                m.score
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("<h3>Alerts</h3><table><tr><th>#</th><th>level</th><th>rule</th><th>count</th><th>first seen</th><th>author</th><th>licence</th></tr>");
    for (i, a) in case.alerts.iter().enumerate() {
        let summary = a
            .summary
            .as_deref()
            .map(|s| format!("<br><span class=\"muted\">{}</span>", esc(s)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}<br><code class=\"muted\">{}</code>{summary}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            severity(a.rule.level),
            esc(&a.rule.title),
            esc(&a.rule.id),
            a.count,
            time(a.first_seen),
            esc(a.rule.author.as_deref().unwrap_or("unknown")),
            esc(&a.rule.license)
        );
    }
    out.push_str("</table><h3>Timeline</h3><table><tr><th>time</th><th>what</th><th>source</th><th>reference</th></tr>");
    for t in case.timeline.iter().take(500) {
        let what = match t.kind {
            TimelineKind::Alert => format!("{} {}", t.level.map(severity).unwrap_or_default(), esc(&t.title)),
            TimelineKind::Event => format!("<span class=\"muted\">event</span> {}", esc(&t.title)),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{what}</td><td><code>{}</code></td><td><code>{}</code> (alert #{})</td></tr>",
            time(t.time),
            esc(t.source.as_deref().unwrap_or("")),
            esc(&t.reference),
            t.alert + 1
        );
    }
    if case.timeline.len() > 500 {
        let _ = write!(
            out,
            "<tr><td colspan=\"4\" class=\"muted\">and {} more lines (see the JSON output)</td></tr>",
            case.timeline.len() - 500
        );
    }
    out.push_str("</table>");
}

/// Every tactic in kill-chain order: (short name, name).
pub fn kill_chain() -> Vec<(String, String)> {
    Attack::get().tactics().iter().map(|t| (t.short_name.clone(), t.name.clone())).collect()
}
