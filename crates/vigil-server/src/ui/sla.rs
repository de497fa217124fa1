//! A case's SLA clocks as a table: what each waits for, its target, when it is due, and whether
//! it was met, is running or is breached (and by how much).

use maud::{Markup, html};
use vigil_report::sla::{ClockState, Status};

use super::layout::when;
use crate::sla::target_words;

/// A span of milliseconds in minutes (rounded up), hours or days, as a person reads it.
fn lasting(ms: i64) -> String {
    let m = (ms.max(0) + 59_999) / 60_000;
    match m {
        m if m < 60 => format!("{m}m"),
        m if m < 48 * 60 => format!("{}h {}m", m / 60, m % 60),
        m => format!("{}d {}h", m / 1440, m % 1440 / 60),
    }
}

pub fn table(clocks: &[ClockState], now_ms: i64) -> Markup {
    html! {
        @if clocks.is_empty() { p.muted { "No SLA clock runs for this case." } } @else {
            table.sla {
                thead { tr { th { "Clock" } th { "Waits for" } th { "Target" } th { "Due" } th { "Status" } } }
                tbody {
                    @for c in clocks {
                        tr {
                            td { (c.clock.as_str()) }
                            td { (c.clock.waits_for()) }
                            td { (target_words(c.target_secs)) }
                            td { (when(c.due_ms)) }
                            td { @match (c.status, c.stopped_ms) {
                                (Status::Met, at) => span.ok { "met" @if let Some(at) = at { " at " (when(at)) } },
                                (Status::Running, _) => span { "running, due in " (lasting(c.due_ms - now_ms)) },
                                (Status::Breached, Some(at)) => span.error { "breached: " (lasting(at - c.due_ms)) " late, at " (when(at)) },
                                (Status::Breached, None) => span.error { "breached: " (lasting(now_ms - c.due_ms)) " overdue" },
                            } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_span_reads_in_minutes_hours_or_days() {
        let cases =
            [(1, "1m"), (60_000, "1m"), (60_001, "2m"), (239 * 60_000, "3h 59m"), (4319 * 60_000, "2d 23h")];
        for (ms, said) in cases {
            assert_eq!(super::lasting(ms), said);
        }
    }
}
