//! A small SVG line chart of one metric over the weeks: a point per week that has a value, a
//! line through them, the newest value written out, the axis from zero to the largest value.
//! Presentation attributes only (no `style`), so the page's Content-Security-Policy holds.

use std::fmt::Write;

use crate::escape::html as esc;

const W: f64 = 300.0;
const H: f64 = 120.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 22.0;

/// The chart of `points` (week, value), each value shown by `label`.
pub fn line(title: &str, points: &[(String, Option<f64>)], label: &dyn Fn(f64) -> String) -> String {
    let max = points.iter().filter_map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let top = if max > 0.0 { max } else { 1.0 };
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / n;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / top);
    let mut svg = String::new();
    let newest = points.iter().rev().find_map(|(_, v)| *v).map_or_else(|| "no data".to_owned(), label);
    let _ = write!(
        svg,
        r##"<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}: {n} this week"><title>{t}</title><text x="4" y="14" font-size="12" font-weight="600" fill="#1d2230">{t}</text><text x="{rx}" y="14" font-size="12" text-anchor="end" fill="#1d2230">{n}</text>"##,
        t = esc(title),
        n = esc(&newest),
        rx = W - RIGHT,
    );
    // The axis: zero and the top value.
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#d9dde5"/><line x1="{LEFT}" y1="{TOP}" x2="{r}" y2="{TOP}" stroke="#eef0f4"/><text x="{lx}" y="{b}" font-size="10" text-anchor="end" fill="#5b6475">0</text><text x="{lx}" y="{ty}" font-size="10" text-anchor="end" fill="#5b6475">{top}</text>"##,
        b = H - BOTTOM,
        r = W - RIGHT,
        lx = LEFT - 4.0,
        ty = TOP + 4.0,
        top = esc(&if max > 0.0 { label(max) } else { "—".to_owned() }),
    );
    if let (Some((first, _)), Some((last, _))) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            r##"<text x="{LEFT}" y="{ly}" font-size="10" fill="#5b6475">{a}</text><text x="{r}" y="{ly}" font-size="10" text-anchor="end" fill="#5b6475">{b}</text>"##,
            ly = H - 6.0,
            r = W - RIGHT,
            a = esc(first),
            b = esc(last),
        );
    }
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
        .collect();
    if path.len() > 1 {
        let _ = write!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="#1f5fbf" stroke-width="2"/>"##,
            path.join(" ")
        );
    }
    for (i, (week, v)) in points.iter().enumerate() {
        if let Some(v) = v {
            let _ = write!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1f5fbf"><title>{}: {}</title></circle>"##,
                x(i),
                y(*v),
                esc(week),
                esc(&label(*v))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Seconds as the largest unit that says them.
pub fn duration(secs: f64) -> String {
    match secs {
        s if s < 90.0 => format!("{s:.0} s"),
        s if s < 90.0 * 60.0 => format!("{:.0} min", s / 60.0),
        s if s < 48.0 * 3600.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} d", s / 86_400.0),
    }
}

pub fn share(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}
