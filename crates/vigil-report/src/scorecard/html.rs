//! The scorecard as HTML: `body` is the fragment the server's page shows (classes only, no
//! inline style or script), `document` the same as one self-contained file. Every string that
//! came from rules, cases or people is escaped.

use std::fmt::Write;

use super::chart::{self, duration, share};
use super::{Scorecard, WeekPoint};
use crate::escape::html as esc;
use crate::metrics::Durations;
use crate::page::case_ref;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1d2230;padding:0 1em}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-top:2px solid #d9dde5;padding-top:.6em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #e4e7eb;vertical-align:top}\
th{color:#5b6475;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#5b6475}.bad{color:#a4161a;font-weight:600}\
.charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{border:1px solid #e4e7eb;background:#fff;max-width:100%;height:auto}";

fn durations(d: &Durations) -> String {
    match (d.mean_secs, d.median_secs) {
        (Some(mean), Some(median)) => {
            format!(
                "{} <span class=\"muted\">(median {}, {} cases)</span>",
                duration(mean),
                duration(median),
                d.cases
            )
        }
        _ => "<span class=\"muted\">no case</span>".to_owned(),
    }
}

fn ratio(value: Option<f64>, of: usize, total: usize) -> String {
    match value {
        Some(v) => format!("{} <span class=\"muted\">({of} of {total})</span>", share(v)),
        None => "<span class=\"muted\">none to count</span>".to_owned(),
    }
}

/// A trend chart: its title, a value a week, and how a value is said.
type Chart<'a> = (&'a str, Vec<(String, Option<f64>)>, &'a dyn Fn(f64) -> String);

fn series(trend: &[WeekPoint], value: impl Fn(&WeekPoint) -> Option<f64>) -> Vec<(String, Option<f64>)> {
    trend.iter().map(|p| (p.week.clone(), value(p))).collect()
}

/// The scorecard's content; `link_cases`: case ids link to their pages (on the server).
pub fn body(card: &Scorecard, link_cases: bool) -> String {
    let m = &card.metrics;
    let mut out = String::new();
    let _ = write!(
        out,
        "<h1>Scorecard {}</h1><p class=\"muted\">The cases made from {} to {} (UTC), as the audit trail stood at {}.</p>",
        esc(&card.week),
        esc(&card.from),
        esc(&card.to),
        esc(&card.generated_at)
    );
    let v = &m.verdicts;
    let a = &m.automation;
    let e = &m.evidence;
    let _ = write!(
        out,
        "<h2 id=\"metrics\">The week</h2><table><tbody>\
<tr><th>Cases</th><td>{} made, {} closed ({} auto-triaged, {} merged), {} reopened, {} open and untouched</td></tr>\
<tr><th>MTTD</th><td>{}</td></tr><tr><th>MTTA</th><td>{}</td></tr><tr><th>MTTR</th><td>{}</td></tr>\
<tr><th>Time to decision</th><td>{}</td></tr>\
<tr><th>Precision</th><td>{} <span class=\"muted\">true positives of judged alerts; {} benign</span></td></tr>\
<tr><th>Automation rate</th><td>{} <span class=\"muted\">steps run; {} failed, {} rolled back</span></td></tr>\
<tr><th>Evidence complete</th><td>{} <span class=\"muted\">closed cases</span></td></tr>\
</tbody></table><p class=\"muted\">Each figure is defined in docs/metrics.md and computed from the signed audit records and the stored events.</p>",
        m.cases,
        m.closed,
        m.auto_triaged,
        m.merged,
        m.reopened,
        m.unacknowledged,
        durations(&m.mttd),
        durations(&m.mtta),
        durations(&m.mttr),
        durations(&m.time_to_decision),
        ratio(v.precision, v.true_positives, v.true_positives + v.false_positives),
        v.benign,
        ratio(a.rate, a.automated, a.steps),
        a.failed,
        a.rolled_back,
        ratio(e.share, e.complete, e.closed_cases),
    );

    out.push_str("<h2 id=\"trends\">Trends</h2><div class=\"charts\">");
    let count = |v: f64| format!("{v:.0}");
    let charts: [Chart<'_>; 8] = [
        ("Cases", series(&card.trend, |p| Some(p.cases as f64)), &count),
        ("MTTD", series(&card.trend, |p| p.mttd_secs), &duration),
        ("MTTA", series(&card.trend, |p| p.mtta_secs), &duration),
        ("MTTR", series(&card.trend, |p| p.mttr_secs), &duration),
        ("Time to decision", series(&card.trend, |p| p.time_to_decision_secs), &duration),
        ("Precision", series(&card.trend, |p| p.precision), &share),
        ("Automation rate", series(&card.trend, |p| p.automation_rate), &share),
        ("Evidence complete", series(&card.trend, |p| p.evidence_share), &share),
    ];
    for (title, points, label) in charts {
        out.push_str(&chart::line(title, &points, label));
    }
    out.push_str("</div>");

    out.push_str("<h2 id=\"noisiest\">Noisiest rules</h2>");
    if card.noisiest_rules.is_empty() {
        out.push_str("<p class=\"muted\">No alert in the week's cases.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Rule</th><th class=\"num\">Alerts</th><th class=\"num\">True positive</th><th class=\"num\">False positive</th><th class=\"num\">Benign</th><th class=\"num\">False-positive rate</th></tr></thead><tbody>");
        for r in &card.noisiest_rules {
            let _ = write!(
                out,
                "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&r.title),
                esc(&r.rule_id),
                r.alerts,
                r.verdicts.true_positives,
                r.verdicts.false_positives,
                r.verdicts.benign,
                r.false_positive_rate
                    .map_or_else(|| "<span class=\"muted\">not judged</span>".to_owned(), share)
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h2 id=\"tuning\">Rules to tune</h2>");
    if card.tuning.is_empty() {
        out.push_str("<p class=\"muted\">None: no rule had two or more judged alerts, most of them false positives.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Rule</th><th class=\"num\">False positives</th><th class=\"num\">Judged</th><th class=\"num\">Rate</th></tr></thead><tbody>");
        for t in &card.tuning {
            let _ = write!(
                out,
                "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num bad\">{}</td></tr>",
                esc(&t.title),
                esc(&t.rule_id),
                t.false_positives,
                t.judged,
                share(t.false_positive_rate)
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h2 id=\"proposals\">Learning proposals waiting</h2>");
    if card.proposals_waiting.is_empty() {
        out.push_str("<p class=\"muted\">None: every proposal closed cases filed is decided.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Proposal</th><th>Case</th><th>Filed</th></tr></thead><tbody>");
        for p in &card.proposals_waiting {
            let _ = write!(
                out,
                "<tr><td>{}{} <span class=\"muted\"><code>{}</code></span></td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&p.title),
                if p.hides_malicious {
                    " <span class=\"bad\">(hides a malicious alert: two people)</span>"
                } else {
                    ""
                },
                esc(&p.id),
                esc(&p.case_id),
                esc(&p.filed_at)
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h2 id=\"silent\">Rules that never fired</h2>");
    match (&card.silent_rules, card.rules_running) {
        (Some(silent), Some(running)) => {
            let _ = write!(
                out,
                "<p>{} of the {running} rules running raised no alert in the week's cases.</p>",
                silent.len()
            );
            if !silent.is_empty() {
                out.push_str("<details><summary>The rules</summary><ul>");
                for r in silent {
                    let _ = write!(
                        out,
                        "<li>{} <span class=\"muted\"><code>{}</code></span></li>",
                        esc(&r.title),
                        esc(&r.id)
                    );
                }
                out.push_str("</ul></details>");
            }
        }
        _ => out.push_str("<p class=\"muted\">Not known: the scorecard was not given the rules running.</p>"),
    }

    out.push_str("<h2 id=\"sla\">SLA breaches</h2>");
    if card.sla_breaches.is_empty() {
        out.push_str("<p class=\"muted\">None recorded this week.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Case</th><th>Clock</th><th>Due</th><th>Recorded</th><th>Escalation</th></tr></thead><tbody>");
        for b in &card.sla_breaches {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                case_ref(&b.case_id, link_cases),
                esc(&b.clock),
                esc(&b.due_at),
                esc(&b.breached_at),
                esc(b.escalation.as_deref().unwrap_or("pending"))
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h2 id=\"actions\">Response steps</h2>");
    if card.actions.is_empty() {
        out.push_str("<p class=\"muted\">No step ran to an end in the week's cases.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Action</th><th class=\"num\">Succeeded</th><th class=\"num\">Failed</th><th class=\"num\">Rolled back</th><th class=\"num\">Run by Vigil</th></tr></thead><tbody>");
        for t in &card.actions {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&t.action),
                t.succeeded,
                t.failed,
                t.rolled_back,
                t.automated
            );
        }
        out.push_str("</tbody></table>");
    }

    if !e.incomplete.is_empty() {
        out.push_str("<h2 id=\"evidence\">Closed cases with evidence missing</h2><table><thead><tr><th>Case</th><th>What is missing</th></tr></thead><tbody>");
        for (case, gaps) in &e.incomplete {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                case_ref(case, link_cases),
                gaps.iter().map(|g| esc(g)).collect::<Vec<_>>().join("; ")
            );
        }
        out.push_str("</tbody></table>");
    }
    out
}

/// The scorecard as one self-contained HTML file.
pub fn document(card: &Scorecard) -> String {
    crate::page::document(&format!("Vigil scorecard {}", card.week), STYLE, &body(card, false))
}
