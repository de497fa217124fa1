//! Counting what a run produced, per source format and per OCSF class, and printing it.

use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Default)]
pub struct Counts {
    pub files: u64,
    pub events: u64,
    pub dead_letters: u64,
    pub by_format: BTreeMap<String, (u64, u64)>,
    pub by_class: BTreeMap<(u32, String), u64>,
}

impl Counts {
    pub fn file(&mut self, format: Option<&str>, events: u64, dead: u64) {
        self.files += 1;
        self.events += events;
        self.dead_letters += dead;
        let entry = self.by_format.entry(format.unwrap_or("(unrecognised)").to_owned()).or_default();
        entry.0 += events;
        entry.1 += dead;
    }

    pub fn class(&mut self, uid: u32, name: &str) {
        *self.by_class.entry((uid, name.to_owned())).or_default() += 1;
    }

    /// The summary table printed at the end of a run.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ =
            writeln!(out, "{} files, {} events, {} dead letters", self.files, self.events, self.dead_letters);
        let _ = writeln!(out, "\n{:<16} {:>10} {:>12}", "format", "events", "dead letters");
        for (format, (events, dead)) in &self.by_format {
            let _ = writeln!(out, "{format:<16} {events:>10} {dead:>12}");
        }
        let _ = writeln!(out, "\n{:>7}  {:<26} {:>10}", "class", "OCSF class", "events");
        for ((uid, name), n) in &self.by_class {
            let _ = writeln!(out, "{uid:>7}  {name:<26} {n:>10}");
        }
        out
    }
}
