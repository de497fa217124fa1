//! The compliance report as HTML (a fragment for the server's page, or one file) and as text
//! for the terminal. Control titles come from catalogues and case titles from logs: every
//! string is escaped.

use std::fmt::Write;

use super::report::ComplianceReport;
use crate::escape::html as esc;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1d2230;padding:0 1em}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-top:2px solid #d9dde5;padding-top:.6em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #e4e7eb;vertical-align:top}\
th{color:#5b6475;font-weight:600}.muted{color:#5b6475}.bad{color:#a4161a;font-weight:600}.ok{color:#1e7b34;font-weight:600}\
code{font-size:.92em;word-break:break-all}";

/// The report's content; `link_cases`: case ids link to their pages (on the server).
pub fn body(report: &ComplianceReport, link_cases: bool) -> String {
    let mut out = String::new();
    let supported = report.controls.iter().filter(|c| c.supported).count();
    let _ = write!(
        out,
        "<h1>{} compliance</h1><p class=\"muted\">{}; control ids and titles from {}. From {} to {} (UTC), as the audit trail stood at {}.</p>\
<p>{supported} of {} controls have evidence in the period; {} rules running; {} cases made.</p>",
        esc(&report.title),
        esc(&report.version),
        esc(&report.source),
        esc(&report.from),
        esc(&report.to),
        esc(&report.generated_at),
        report.controls.len(),
        report.rules_running,
        report.cases
    );
    out.push_str("<h2 id=\"gaps\">Controls with no evidence</h2>");
    if report.without_evidence.is_empty() {
        out.push_str("<p class=\"ok\">None.</p>");
    } else {
        out.push_str("<ul>");
        for id in &report.without_evidence {
            let title = report.controls.iter().find(|c| &c.id == id).map_or("", |c| c.title.as_str());
            let _ = write!(out, "<li><strong>{}</strong> {}</li>", esc(id), esc(title));
        }
        out.push_str("</ul>");
    }
    out.push_str("<h2 id=\"controls\">Controls</h2><table><thead><tr><th>Control</th><th>Detections enabled</th><th>Cases</th><th>Response steps</th><th>Evidence</th></tr></thead><tbody>");
    for c in &report.controls {
        let _ = write!(
            out,
            "<tr id=\"control-{anchor}\"><td><strong>{id}</strong> <span class=\"{class}\">{state}</span><br>{title}</td><td>",
            anchor = esc(&c.id.replace(|ch: char| !ch.is_ascii_alphanumeric(), "-")),
            id = esc(&c.id),
            class = if c.supported { "ok" } else { "bad" },
            state = if c.supported { "evidenced" } else { "no evidence" },
            title = esc(&c.title)
        );
        if c.detections.is_empty() {
            out.push_str("<span class=\"muted\">none mapped</span>");
        } else {
            let _ = write!(out, "{}<details><summary>the rules</summary><ul>", c.detections.len());
            for (id, title) in &c.detections {
                let _ = write!(
                    out,
                    "<li>{} <span class=\"muted\"><code>{}</code></span></li>",
                    esc(title),
                    esc(id)
                );
            }
            out.push_str("</ul></details>");
        }
        out.push_str("</td><td>");
        if c.cases.is_empty() {
            out.push_str("<span class=\"muted\">none</span>");
        }
        for case in &c.cases {
            let id = crate::page::case_ref(&case.id, link_cases);
            let _ = write!(
                out,
                "<div>{id} {} <span class=\"muted\">({})</span></div>",
                esc(&case.title),
                esc(&case.through.join("; "))
            );
        }
        out.push_str("</td><td>");
        if c.steps.is_empty() {
            out.push_str("<span class=\"muted\">none</span>");
        }
        for s in &c.steps {
            let _ = write!(out, "<div><code>{}</code> {}</div>", esc(&s.action), esc(&s.status));
        }
        out.push_str("</td><td>");
        if c.evidence.is_empty() {
            out.push_str("<span class=\"muted\">none mapped</span>");
        }
        for e in &c.evidence {
            let _ = write!(out, "<div>{}: {}</div>", esc(e.kind.as_str()), e.count);
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The report as one self-contained HTML file.
pub fn document(report: &ComplianceReport) -> String {
    let title = format!("Vigil {} compliance {} to {}", report.framework, report.from, report.to);
    crate::page::document(&title, STYLE, &body(report, false))
}

/// The report for a terminal: a line per control, the gaps last. Titles from catalogues pass
/// through `clean` (the caller's terminal escaping).
pub fn text(report: &ComplianceReport, clean: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let supported = report.controls.iter().filter(|c| c.supported).count();
    let _ = writeln!(
        out,
        "{} ({}), {} to {}: {supported} of {} controls evidenced; {} rules running, {} cases",
        clean(&report.title),
        clean(&report.version),
        report.from,
        report.to,
        report.controls.len(),
        report.rules_running,
        report.cases
    );
    for c in &report.controls {
        let evidence: Vec<String> = c
            .evidence
            .iter()
            .filter(|e| e.count > 0)
            .map(|e| format!("{} {}", e.count, e.kind.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "  {:<24} {:<11} {:>4} rules {:>4} cases {:>4} steps  {}",
            clean(&c.id),
            if c.supported { "evidenced" } else { "NO EVIDENCE" },
            c.detections.len(),
            c.cases.len(),
            c.steps.len(),
            evidence.join(", ")
        );
    }
    if !report.without_evidence.is_empty() {
        let _ = writeln!(
            out,
            "controls with no evidence: {}",
            report.without_evidence.iter().map(|i| clean(i)).collect::<Vec<_>>().join(", ")
        );
    }
    out
}
