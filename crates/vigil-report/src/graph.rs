//! A case's entity graph as an SVG picture, laid out by Vigil: alerts in a column on the left in
//! time order, the entities they name on the right grouped by kind, a line for each mention.
//! Large cases show their first alerts and key entities and say how many more there are.

use std::collections::BTreeMap;
use std::fmt::Write;

use vigil_correlate::Case;
use vigil_model::Entity;

use crate::escape;

const MAX_ALERTS: usize = 25;
const MAX_ENTITIES: usize = 30;
const ROW: i64 = 22;
const WIDTH: i64 = 900;

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut t: String = text.chars().take(max - 1).collect();
    t.push('…');
    t
}

pub fn svg(case: &Case) -> String {
    let alerts: Vec<(usize, &vigil_correlate::FoldedAlert)> =
        case.alerts.iter().enumerate().take(MAX_ALERTS).collect();
    let mut entities: Vec<&Entity> = case.key_entities(MAX_ENTITIES).into_iter().map(|e| &e.entity).collect();
    entities.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    let position: BTreeMap<&Entity, usize> = entities.iter().enumerate().map(|(i, e)| (*e, i)).collect();
    let rows = alerts.len().max(entities.len()).max(1) as i64;
    let height = rows * ROW + 40;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="entity graph">"#
    );
    let y = |i: usize| 24 + i as i64 * ROW;
    for (row, (_, alert)) in alerts.iter().enumerate() {
        for e in &alert.entities {
            if let Some(&col) = position.get(e) {
                let _ = write!(
                    out,
                    r##"<line x1="330" y1="{}" x2="560" y2="{}" stroke="#9aa5b1" stroke-width="1"/>"##,
                    y(row) - 4,
                    y(col) - 4
                );
            }
        }
    }
    for (row, (_, alert)) in alerts.iter().enumerate() {
        let label = truncate(&alert.rule.title, 48);
        let count = if alert.count > 1 { format!(" ×{}", alert.count) } else { String::new() };
        let _ = write!(
            out,
            r##"<circle cx="330" cy="{}" r="5" class="lvl-{}"/><text x="320" y="{}" text-anchor="end" font-size="12">{}{}</text>"##,
            y(row) - 4,
            escape::html(&format!("{:?}", alert.rule.level).to_ascii_lowercase()),
            y(row),
            escape::html(&label),
            escape::html(&count)
        );
    }
    for (i, e) in entities.iter().enumerate() {
        let _ = write!(
            out,
            r##"<rect x="556" y="{}" width="8" height="8" fill="#3e4c59"/><text x="572" y="{}" font-size="12"><tspan font-weight="bold">{}</tspan> {}</text>"##,
            y(i) - 8,
            y(i),
            escape::html(e.kind.as_str()),
            escape::html(&truncate(&e.key, 48))
        );
    }
    let hidden_alerts = case.alerts.len().saturating_sub(alerts.len());
    let hidden_entities =
        case.entities.iter().filter(|e| e.weight > 0.0).count().saturating_sub(entities.len());
    if hidden_alerts + hidden_entities > 0 {
        let _ = write!(
            out,
            r##"<text x="10" y="{}" font-size="11" fill="#52606d">and {hidden_alerts} more alerts, {hidden_entities} more entities (listed below)</text>"##,
            height - 6
        );
    }
    out.push_str("</svg>");
    out
}
