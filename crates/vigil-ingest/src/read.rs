//! Reading one file end to end: open, recognise the format, split into records, map each to
//! OCSF. Every record ends as an event or a dead letter; nothing is dropped.

use std::cell::OnceCell;
use std::io::BufRead;
use std::path::Path;

use serde_json::Value;
use vigil_model::{DeadLetter, EventId, Locator};
use vigil_ocsf::Event;

use crate::decoders::{auditd, csv_table, evtx};
use crate::error::Reject;
use crate::format::{Container, Format, RawRecord, Sample, detect};
use crate::input;
use crate::json_records::{JsonRecords, MAX_RECORD_BYTES, read_line_limited};
use crate::view::{SigmaView, SourceView};

/// Options for reading.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Read every file as this format instead of recognising it.
    pub format: Option<&'static dyn Format>,
    /// Threads the EVTX parser may use per file; 0 = one per core.
    pub evtx_threads: usize,
    /// Also produce each record's Sigma views (for detection).
    pub views: bool,
}

/// What came of one record.
#[derive(Debug)]
pub enum Outcome {
    /// The OCSF event, and the record as Sigma rules see it (empty unless asked for).
    Event(Box<Event>, Vec<SourceView>),
    Dead(DeadLetter),
}

/// What came of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub format: Option<&'static str>,
    pub events: u64,
    pub dead_letters: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Events whose own time could not be read or was not plausible, given the arrival time
    /// instead (the original and the reason are under `unmapped.vigil_time`).
    pub retimed: u64,
}

/// Where a reader hands what it read.
enum Sink<'a> {
    /// Every record mapped to OCSF as it is read.
    Events(&'a mut dyn FnMut(Outcome)),
    /// Every record as detection reads it, mapped only when the receiver asks.
    Deferred(&'a mut dyn FnMut(Scanned<'_, '_>)),
}

impl Sink<'_> {
    fn dead(&mut self, letter: DeadLetter) {
        match self {
            Sink::Events(sink) => sink(Outcome::Dead(letter)),
            Sink::Deferred(sink) => sink(Scanned::Dead(letter)),
        }
    }
}

struct Emitter<'a> {
    source: String,
    views: bool,
    format: &'static dyn Format,
    source_time: Option<i64>,
    summary: FileSummary,
    sink: Sink<'a>,
}

/// A record mapped to OCSF: the event before its `raw_data`, and whether it was given its
/// source's arrival time.
fn mapped(
    format: &dyn Format,
    source_time: Option<i64>,
    record: &RawRecord,
) -> Result<(Event, bool), Reject> {
    let mut event = format.map(record)?;
    let retimed = match implausible(event.time, source_time) {
        Some(reason) => {
            retime(&mut event, source_time, reason);
            true
        }
        None => false,
    };
    event.metadata.uid = Some(EventId::from_content(format.name(), record.text.as_bytes()).to_string());
    Ok((event, retimed))
}

impl Emitter<'_> {
    fn record(&mut self, record: RawRecord) {
        self.take(record, false);
    }

    /// Hands one record on; `partial` when its value lacks fields detection does not read.
    fn take(&mut self, record: RawRecord, partial: bool) {
        self.summary.bytes += record.text.len() as u64;
        if let Sink::Deferred(_) = self.sink {
            return self.deferred(record, partial);
        }
        match mapped(self.format, self.source_time, &record) {
            Ok((mut event, retimed)) => {
                self.summary.retimed += u64::from(retimed);
                let views = if self.views { self.format.views(&record) } else { Vec::new() };
                event.raw_data = Some(record.text);
                let event = event.finish();
                self.summary.events += 1;
                if let Sink::Events(sink) = &mut self.sink {
                    sink(Outcome::Event(Box::new(event), views));
                }
            }
            Err(reject) => self.dead(record.locator, &reject, record.text.as_bytes()),
        }
    }

    /// Hands the record over as detection reads it. One that yields no view is mapped at once,
    /// so a record that cannot be read is a dead letter as on the eager path; one mapped on
    /// request that cannot be is one too.
    fn deferred(&mut self, record: RawRecord, partial: bool) {
        let pending = Pending {
            record: &record,
            partial,
            format: self.format,
            source_time: self.source_time,
            views: self.format.sigma_views(&record),
            event: OnceCell::new(),
            source_views: OnceCell::new(),
        };
        if pending.views.is_empty() {
            pending.event();
        }
        if pending.event.get().is_none_or(Result::is_ok)
            && let Sink::Deferred(sink) = &mut self.sink
        {
            sink(Scanned::Record(&pending));
        }
        let mapped =
            pending.event.get().map(|m| m.as_ref().map(|(_, retimed)| *retimed).map_err(Reject::to_string));
        drop(pending);
        match mapped {
            Some(Err(reason)) => self.dead_because(record.locator, reason, record.text.as_bytes()),
            Some(Ok(retimed)) => {
                self.summary.retimed += u64::from(retimed);
                self.summary.events += 1;
            }
            None => self.summary.events += 1,
        }
    }

    fn dead(&mut self, locator: Locator, reject: &Reject, excerpt: &[u8]) {
        self.dead_because(locator, reject.to_string(), excerpt);
    }

    fn dead_because(&mut self, locator: Locator, reason: String, excerpt: &[u8]) {
        self.summary.dead_letters += 1;
        let letter = DeadLetter::new(&self.source, locator, reason)
            .with_format(self.format.name())
            .with_excerpt(excerpt);
        self.sink.dead(letter);
    }
}

/// What came of one record on the deferred path.
pub enum Scanned<'a, 'r> {
    Record(&'a Pending<'r>),
    Dead(DeadLetter),
}

/// A record read and not yet mapped: its Sigma views now, its OCSF event when asked for.
pub struct Pending<'r> {
    record: &'r RawRecord,
    /// Whether the record's value lacks fields its views never read
    /// ([`Format::fields_detection_skips`]); mapping parses its text again whole.
    partial: bool,
    format: &'static dyn Format,
    source_time: Option<i64>,
    views: Vec<SigmaView<'r>>,
    event: OnceCell<Result<(Event, bool), Reject>>,
    source_views: OnceCell<Vec<SourceView>>,
}

impl<'r> Pending<'r> {
    /// The record as Sigma rules read it.
    pub fn views(&self) -> &[SigmaView<'r>] {
        &self.views
    }

    /// The same views as owned values, the shape alerts and outputs carry (made once).
    pub fn source_views(&self) -> &[SourceView] {
        self.source_views.get_or_init(|| self.format.views(self.record))
    }

    /// The record mapped to OCSF (once); `None` when it cannot be, and the reader then makes
    /// it a dead letter.
    pub fn event(&self) -> Option<&Event> {
        let mapped = self.event.get_or_init(|| {
            let whole;
            let record = if self.partial {
                let value = serde_json::from_str(&self.record.text).map_err(Reject::Json)?;
                whole = RawRecord {
                    locator: self.record.locator.clone(),
                    text: self.record.text.clone(),
                    value: Some(value),
                    source_time: self.record.source_time,
                };
                &whole
            } else {
                self.record
            };
            mapped(self.format, self.source_time, record).map(|(mut event, retimed)| {
                event.raw_data = Some(self.record.text.clone());
                (event.finish(), retimed)
            })
        });
        mapped.as_ref().ok().map(|(event, _)| event)
    }

    /// Whether the record may map to OCSF class `class_uid` (true when its format cannot
    /// tell without mapping it).
    pub fn may_map_to(&self, class_uid: u32) -> bool {
        match self.event.get() {
            Some(Ok((event, _))) => event.class_uid == class_uid,
            Some(Err(_)) => false,
            None => self.format.may_map_to(self.record, class_uid),
        }
    }
}

fn whole_source_dead(source: &str, sink: &mut Sink<'_>, reason: String) -> FileSummary {
    sink.dead(DeadLetter::new(source, Locator::Source, reason));
    FileSummary { format: None, events: 0, dead_letters: 1, bytes: 0, retimed: 0 }
}

/// 1990-01-01T00:00:00Z: no log Vigil reads is older.
const EARLIEST_MS: i64 = 631_152_000_000;
/// 2100-01-01T00:00:00Z: the latest time believed when nothing says when the source arrived.
const LATEST_MS: i64 = 4_102_444_800_000;
/// How far past its arrival an event's time may be (clocks disagree a little).
const FUTURE_TOLERANCE_MS: i64 = 24 * 3_600_000;

/// Why an event's time is not to be believed, given when its source arrived (or was last
/// written); `None` when it is. A decoder that could not read a time leaves 0.
fn implausible(time: i64, arrival: Option<i64>) -> Option<&'static str> {
    let latest = arrival.filter(|a| *a >= EARLIEST_MS).map_or(LATEST_MS, |a| a + FUTURE_TOLERANCE_MS);
    if time == 0 {
        Some("the record's time could not be read")
    } else if time < EARLIEST_MS {
        Some("the record's time is before 1990")
    } else if time > latest {
        Some("the record's time is more than a day after it arrived")
    } else {
        None
    }
}

/// Gives `event` its source's arrival time, keeping what the record said and why in
/// `unmapped.vigil_time`, so a time-bounded search still finds it.
fn retime(event: &mut vigil_ocsf::Event, arrival: Option<i64>, reason: &str) {
    let mut note = serde_json::Map::new();
    note.insert("reason".into(), reason.into());
    let original =
        event.metadata.original_time.clone().map_or_else(|| serde_json::Value::from(event.time), Into::into);
    note.insert("original".into(), original);
    if let Some(previous) = event.unmapped.shift_remove("vigil_time") {
        note.insert("decoder".into(), previous);
    }
    match arrival {
        Some(at) => {
            event.time = at;
            note.insert("time_is".into(), "arrival".into());
        }
        None => {
            note.insert("time_is".into(), "as read (no arrival time known)".into());
        }
    }
    event.unmapped.insert("vigil_time".into(), serde_json::Value::Object(note));
}

/// Reads one file, handing every event and dead letter to `sink` in file order.
pub fn read_file(path: &Path, options: &ReadOptions, sink: &mut dyn FnMut(Outcome)) -> FileSummary {
    open_file(path, options, Sink::Events(sink))
}

/// Reads one file for detection: every record as Sigma rules read it, in file order, mapped to
/// OCSF only when the receiver asks ([`Pending::event`]). Dead letters as [`read_file`] gives
/// them, plus records that could not be mapped when asked. `options.views` is implied.
pub fn scan_file(path: &Path, options: &ReadOptions, sink: &mut dyn FnMut(Scanned<'_, '_>)) -> FileSummary {
    open_file(path, options, Sink::Deferred(sink))
}

fn open_file(path: &Path, options: &ReadOptions, mut sink: Sink<'_>) -> FileSummary {
    let source = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return whole_source_dead(&source, &mut sink, format!("cannot read {source}: {e}")),
    };
    let source_time = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    read_opened(&source, path, Some(path), Box::new(file), source_time, options, sink)
}

/// Reads one stream of records (a file's bytes, an upload). `source` names it in dead letters;
/// `name` is its file name for recognising the format; `source_time` is when it was written.
pub fn read_stream(
    source: &str,
    name: &Path,
    stream: Box<dyn std::io::Read + Send>,
    source_time: Option<i64>,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Outcome),
) -> FileSummary {
    read_opened(source, name, None, stream, source_time, options, Sink::Events(sink))
}

/// The read path; `file` is the stream's file on disk when it has one, so EVTX can seek in it
/// instead of holding it in memory.
fn read_opened(
    source: &str,
    name: &Path,
    file: Option<&Path>,
    stream: Box<dyn std::io::Read + Send>,
    source_time: Option<i64>,
    options: &ReadOptions,
    mut sink: Sink<'_>,
) -> FileSummary {
    let opened = match input::open_stream(stream) {
        Ok(o) => o,
        Err(e) => return whole_source_dead(source, &mut sink, format!("cannot read {source}: {e}")),
    };
    let path = name;
    if opened.head.is_empty() {
        // An empty file holds no records: nothing to read, nothing rejected.
        return FileSummary::default();
    }
    let format = match options.format {
        Some(f) => f,
        None => {
            let first_json = crate::json_records::looks_like_json(&opened.head)
                .then(|| {
                    JsonRecords::new(&opened.head, opened.head.as_slice())
                        .find_map(Result::ok)
                        .map(|r| r.value)
                })
                .flatten();
            let sample = Sample { path, head: &opened.head, first_json: first_json.as_ref() };
            match detect(&sample) {
                Some(f) => f,
                None => return whole_source_dead(source, &mut sink, Reject::UnknownFormat.to_string()),
            }
        }
    };
    let mut emitter = Emitter {
        source: source.to_owned(),
        views: options.views,
        format,
        source_time,
        summary: FileSummary::default(),
        sink,
    };
    emitter.summary.format = Some(format.name());
    let head = opened.head;
    let opened_gzip = opened.gzip;
    let mut reader = opened.reader;
    match format.container() {
        Container::Json => {
            let without = match emitter.sink {
                Sink::Deferred(_) => format.fields_detection_skips(),
                Sink::Events(_) => &[],
            };
            for item in JsonRecords::new(&head, &mut reader).without(without) {
                match item {
                    Ok(r) => emitter.take(
                        RawRecord { locator: r.locator, text: r.text, value: Some(r.value), source_time },
                        r.partial,
                    ),
                    Err(failed) => emitter.dead(failed.locator, &failed.reject, &failed.excerpt),
                }
            }
        }
        Container::Lines => read_lines(&mut reader, &mut emitter, |e, line, locator| {
            e.record(RawRecord { locator, text: line, value: None, source_time: e.source_time });
        }),
        Container::AuditLines => read_audit(&mut reader, &mut emitter),
        Container::Csv => read_csv(&mut reader, &mut emitter),
        Container::Evtx => match file.filter(|_| !opened_gzip) {
            Some(path) => match std::fs::File::open(path) {
                Ok(f) => match evtx::seekable_parser(f, options.evtx_threads) {
                    Ok(parser) => read_evtx_records(parser, &mut emitter),
                    Err(reject) => emitter.dead(Locator::Source, &reject, &[]),
                },
                Err(e) => emitter.dead(Locator::Source, &Reject::Read(e), &[]),
            },
            None => read_evtx(reader, options.evtx_threads, &mut emitter),
        },
    }
    emitter.summary
}

/// Calls `each` for every non-blank line; over-long and non-UTF-8 lines become dead letters.
fn read_lines(
    reader: &mut dyn BufRead,
    emitter: &mut Emitter<'_>,
    mut each: impl FnMut(&mut Emitter<'_>, String, Locator),
) {
    let (mut line_no, mut offset) = (0u64, 0u64);
    loop {
        let mut buf = Vec::new();
        let (read, overflow) = match read_line_limited(reader, &mut buf, MAX_RECORD_BYTES) {
            Ok(r) => r,
            Err(e) => {
                emitter.dead(Locator::Offset(offset), &Reject::Read(e), &buf);
                return;
            }
        };
        if read == 0 {
            return;
        }
        line_no += 1;
        let locator = Locator::Line { line: line_no, offset };
        offset += read as u64;
        if overflow {
            emitter.dead(locator, &Reject::TooLarge { limit: MAX_RECORD_BYTES }, &buf);
            continue;
        }
        match String::from_utf8(buf) {
            Ok(text) => {
                let text = text.trim_end_matches(['\r', '\n']);
                if !text.trim().is_empty() {
                    each(emitter, text.to_owned(), locator);
                }
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                emitter.dead(locator, &Reject::Utf8 { at }, e.as_bytes());
            }
        }
    }
}

/// Groups consecutive audit lines with the same serial into one record.
fn read_audit(reader: &mut dyn BufRead, emitter: &mut Emitter<'_>) {
    let mut group: Option<(String, Locator, String)> = None;
    // Bounded: a group never holds more than one record's worth of text.
    read_lines(reader, emitter, |e, line, locator| {
        let serial = auditd::serial(&line).map(str::to_owned).unwrap_or_default();
        match group.as_mut() {
            Some((s, _, text))
                if *s == serial && !serial.is_empty() && text.len() + line.len() < MAX_RECORD_BYTES =>
            {
                text.push('\n');
                text.push_str(&line);
            }
            _ => {
                if let Some((_, loc, text)) = group.take() {
                    e.record(RawRecord { locator: loc, text, value: None, source_time: e.source_time });
                }
                group = Some((serial, locator, line));
            }
        }
    });
    if let Some((_, locator, text)) = group {
        emitter.record(RawRecord { locator, text, value: None, source_time: emitter.source_time });
    }
}

/// Streams CSV rows: lines are joined while a quoted field is open (a field may hold line
/// breaks), so one record at a time is in memory.
fn read_csv(reader: &mut dyn BufRead, emitter: &mut Emitter<'_>) {
    let mut header: Option<Vec<String>> = None;
    let mut pending: Option<(String, Locator)> = None;
    read_lines(reader, emitter, |e, line, locator| {
        let (text, start) = match pending.take() {
            Some((mut text, start)) => {
                text.push('\n');
                text.push_str(&line);
                (text, start)
            }
            None => (line, locator),
        };
        if text.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
            if text.len() > MAX_RECORD_BYTES {
                e.dead(start, &Reject::TooLarge { limit: MAX_RECORD_BYTES }, text.as_bytes());
            } else {
                pending = Some((text, start));
            }
            return;
        }
        let fields = csv_table::records(&text).into_iter().next().map(|(_, f, _)| f).unwrap_or_default();
        let Some(names) = header.as_ref() else {
            header =
                Some(fields.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_owned()).collect());
            return;
        };
        let object: serde_json::Map<String, Value> = names
            .iter()
            .zip(fields)
            .map(|(name, value)| (name.clone(), Value::String(value.trim().to_owned())))
            .collect();
        e.record(RawRecord {
            locator: start,
            text,
            value: Some(Value::Object(object)),
            source_time: e.source_time,
        });
    });
    if let Some((text, start)) = pending {
        emitter.dead(start, &Reject::Truncated, text.as_bytes());
    }
}

fn read_evtx(reader: Box<dyn BufRead + Send>, threads: usize, emitter: &mut Emitter<'_>) {
    let bytes = match input::read_all(reader) {
        Ok(b) => b,
        Err(e) => return emitter.dead(Locator::Source, &Reject::Gzip(e), &[]),
    };
    match evtx::parser(bytes, threads) {
        Ok(parser) => read_evtx_records(parser, emitter),
        Err(reject) => emitter.dead(Locator::Source, &reject, &[]),
    }
}

fn read_evtx_records<T: std::io::Read + std::io::Seek>(
    mut parser: ::evtx::EvtxParser<T>,
    emitter: &mut Emitter<'_>,
) {
    let header_intact = parser.header().validate_checksum();
    let before = emitter.summary.events + emitter.summary.dead_letters;
    for (index, record) in parser.records_json().enumerate() {
        match record {
            Ok(r) => match serde_json::from_str::<Value>(&r.data) {
                Ok(value) => emitter.record(RawRecord {
                    locator: Locator::Record(r.event_record_id),
                    text: r.data,
                    value: Some(value),
                    source_time: emitter.source_time,
                }),
                Err(e) => {
                    emitter.dead(Locator::Record(r.event_record_id), &Reject::Json(e), r.data.as_bytes())
                }
            },
            Err(e) => emitter.dead(Locator::Record(index as u64 + 1), &Reject::Evtx(e.to_string()), &[]),
        }
    }
    if !header_intact && emitter.summary.events + emitter.summary.dead_letters == before {
        let reason = Reject::Evtx(
            "file header is damaged (checksum mismatch) and no readable chunk follows it".into(),
        );
        emitter.dead(Locator::Source, &reason, &[]);
    }
}
