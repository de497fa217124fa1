//! Comma-separated exports with a header row (security tools' CSV reports). Each row is kept
//! whole as a Base Event; its time is the first column whose name says time or date and whose
//! value parses as one.

use serde_json::Value;
use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use crate::error::Reject;
use crate::fields::text;
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct CsvTable;

impl Format for CsvTable {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn describe(&self) -> &'static str {
        "CSV with a header row (each row kept as a Base Event)"
    }
    fn container(&self) -> Container {
        Container::Csv
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let csv_name = sample.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let header = sample.head.split(|&b| b == b'\n').next().unwrap_or_default();
        let looks_tabular = header.contains(&b',') && !header.starts_with(b"{") && !header.starts_with(b"[");
        match (csv_name, looks_tabular) {
            (true, true) => 60,
            (false, true) if header.iter().filter(|&&b| b == b',').count() >= 3 => 10,
            _ => 0,
        }
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        // A CSV export says nothing of its source: only rules without a logsource apply.
        crate::format::json_view(record, crate::view::StaticLogSource::default())
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        crate::format::json_sigma_view(record, crate::view::StaticLogSource::default())
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let o = object(record)?;
        let time = o
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                k.contains("time") || k.contains("date")
            })
            .find_map(|(_, v)| crate::time::from_value(v))
            .unwrap_or(0);
        let metadata = Metadata::new("unknown", "CSV export");
        let mut e = Event::new(Class::BaseEvent, 99, time, metadata);
        e.activity_name =
            o.iter().find(|(k, _)| k.to_ascii_lowercase().contains("name")).and_then(|(_, v)| text(v));
        if time == 0 {
            e.unmapped.insert("vigil_time".into(), Value::String("no time column".into()));
        }
        e.unmapped.extend(o.clone());
        Ok(e)
    }
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes
/// doubled, and line breaks).
pub fn records(text: &str) -> Vec<(u64, Vec<String>, &str)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut i, mut line) = (0usize, 1u64);
    while i < bytes.len() {
        let start = i;
        let start_line = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut field_start = i;
        loop {
            if i >= bytes.len() {
                fields.push(std::mem::take(&mut field));
                break;
            }
            let b = bytes[i];
            if quoted {
                if b == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        field.push('"');
                        i += 2;
                        continue;
                    }
                    quoted = false;
                } else {
                    if b == b'\n' {
                        line += 1;
                    }
                    let ch_len = utf8_len(b);
                    field.push_str(&text[i..(i + ch_len).min(bytes.len())]);
                    i += ch_len;
                    continue;
                }
                i += 1;
                continue;
            }
            match b {
                b'"' if i == field_start => quoted = true,
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    field_start = i + 1;
                }
                b'\n' => {
                    line += 1;
                    if field.ends_with('\r') {
                        field.pop();
                    }
                    fields.push(std::mem::take(&mut field));
                    i += 1;
                    break;
                }
                _ => {
                    let ch_len = utf8_len(b);
                    field.push_str(&text[i..(i + ch_len).min(bytes.len())]);
                    i += ch_len;
                    continue;
                }
            }
            i += 1;
        }
        let raw = text[start..i].trim_end_matches(['\r', '\n']);
        if !raw.trim().is_empty() {
            out.push((start_line, fields, raw));
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_commas_quotes_and_newlines() {
        let rows = records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\nlast,é\n");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].1, vec!["x, y".to_owned(), "say \"hi\"\nthere".to_owned()]);
        assert_eq!(rows[2].0, 4);
        assert_eq!(rows[2].1, vec!["last".to_owned(), "é".to_owned()]);
    }
}
