//! Windows EVTX files, read with the `evtx` crate. Damaged chunks and records become dead
//! letters; every readable record is still read.

use evtx::{EvtxParser, ParserSettings};

use crate::error::Reject;
use crate::format::{Container, Format, RawRecord, Sample};
use crate::windows;

pub struct Evtx;

const MAGIC: &[u8] = b"ElfFile\0";

impl Format for Evtx {
    fn name(&self) -> &'static str {
        "evtx"
    }
    fn describe(&self) -> &'static str {
        "Windows EVTX event log files (binary)"
    }
    fn container(&self) -> Container {
        Container::Evtx
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        if sample.head.starts_with(MAGIC) { 100 } else { 0 }
    }
    fn map(&self, record: &RawRecord) -> Result<vigil_ocsf::Event, Reject> {
        let value = record.value.as_ref().ok_or(Reject::Missing("Event"))?;
        Ok(windows::to_ocsf(super::evtx_json::win_event(value)?, "evtx"))
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        super::evtx_json::views(record)
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        super::evtx_json::sigma_views(record)
    }
    fn may_map_to(&self, record: &RawRecord, class_uid: u32) -> bool {
        super::evtx_json::may_map_to(record, class_uid)
    }
}

/// A parser over an in-memory EVTX file. `threads` = 0 uses every core.
pub fn parser(bytes: Vec<u8>, threads: usize) -> Result<EvtxParser<std::io::Cursor<Vec<u8>>>, Reject> {
    seekable_parser(std::io::Cursor::new(bytes), threads)
}

/// A parser reading chunks from a seekable source (a file on disk), holding only the chunks in
/// flight in memory.
pub fn seekable_parser<T: std::io::Read + std::io::Seek>(
    source: T,
    threads: usize,
) -> Result<EvtxParser<T>, Reject> {
    let settings = ParserSettings::new().num_threads(threads);
    EvtxParser::from_read_seek(source)
        .map(|p| p.with_configuration(settings))
        .map_err(|e| Reject::Evtx(e.to_string()))
}

/// How many records the file's chunk headers say it holds (the count a complete read must
/// reach), and how many chunks could not even be read.
pub fn expected_records(bytes: Vec<u8>) -> Result<(u64, u64), Reject> {
    let mut parser = parser(bytes, 1)?;
    let (mut records, mut bad_chunks) = (0u64, 0u64);
    for chunk in parser.chunks() {
        match chunk {
            Ok(chunk) => {
                let h = &chunk.header;
                records += (h.last_event_record_number + 1).saturating_sub(h.first_event_record_number);
            }
            Err(_) => bad_chunks += 1,
        }
    }
    Ok((records, bad_chunks))
}
