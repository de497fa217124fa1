//! The decoder contract and the registry of every format Vigil reads.

use std::path::Path;

use serde_json::Value;
use vigil_model::Locator;
use vigil_ocsf::Event;

use crate::decoders;
use crate::error::Reject;
use crate::view::{Overlay, SigmaView, SourceView, StaticLogSource};

/// How a format's records are laid out in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// Binary Windows event log.
    Evtx,
    /// JSON: lines, concatenated objects, an array, or a `Records` wrapper.
    Json,
    /// One record per text line.
    Lines,
    /// Linux audit lines, grouped into events by their serial number.
    AuditLines,
    /// Comma-separated values with a header row.
    Csv,
}

/// One record as read from its container, before mapping.
#[derive(Debug)]
pub struct RawRecord {
    pub locator: Locator,
    /// The record exactly as read (for EVTX, the record rendered as JSON). Kept as `raw_data`.
    pub text: String,
    /// The parsed record, for containers that hold structured data.
    pub value: Option<Value>,
    /// When the source was last written (ms since the epoch), for formats whose timestamps
    /// lack a year: a yearless date is placed in the latest year not after this.
    pub source_time: Option<i64>,
}

/// What a format sees of a file when asked whether it is one of its own.
pub struct Sample<'a> {
    pub path: &'a Path,
    /// The first bytes of the (decompressed) file.
    pub head: &'a [u8],
    /// The first record, when the head parses as JSON.
    pub first_json: Option<&'a Value>,
}

/// A source format: how to recognise it and how to map one of its records to OCSF.
///
/// MUST: `map` never panics on any input; a record it cannot map is a [`Reject`] with a reason
/// a person can act on; the event it returns carries everything the record held (mapped
/// attributes plus `unmapped`). The reader sets `raw_data` and `metadata.uid`.
pub trait Format: Sync {
    /// The name users pass to `--format`.
    fn name(&self) -> &'static str;
    /// One line for `--help` and documentation.
    fn describe(&self) -> &'static str;
    fn container(&self) -> Container;
    /// How sure this format is that the sample is its own: 0 = not at all, 100 = certain.
    fn sniff(&self, sample: &Sample<'_>) -> u8;
    fn map(&self, record: &RawRecord) -> Result<Event, Reject>;
    /// The record as Sigma rules read it (several views when the record holds several source
    /// events, as an auditd group does). Empty when the record cannot be read.
    fn views(&self, record: &RawRecord) -> Vec<SourceView>;
    /// The same views borrowing from the record where the format can, which detection reads
    /// for every record (it maps to OCSF only what it needs).
    ///
    /// MUST: the same views as [`Format::views`], in the same order, with the same fields.
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<SigmaView<'r>> {
        self.views(record).into_iter().map(SigmaView::Owned).collect()
    }
    /// Top-level fields of a JSON record that none of its views hold, so the detection path may
    /// leave them unparsed (a record it maps is parsed again whole).
    ///
    /// MUST: no view of the format reads them.
    fn fields_detection_skips(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether [`Format::map`] may give this record OCSF class `class_uid`, read without
    /// mapping it (to skip mapping records no one downstream needs).
    ///
    /// MUST: `true` for every record that maps to that class; `true` when unsure.
    fn may_map_to(&self, record: &RawRecord, class_uid: u32) -> bool {
        let _ = (record, class_uid);
        true
    }
}

/// The view of a JSON record whose fields Sigma rules name as the source does.
pub fn json_view(record: &RawRecord, logsource: StaticLogSource) -> Vec<SourceView> {
    match &record.value {
        Some(value @ Value::Object(_)) => {
            vec![SourceView { logsource: logsource.to_owned_logsource(), fields: value.clone() }]
        }
        _ => Vec::new(),
    }
}

/// The record's one view borrowed through `overlay`, or, where that cannot be, the views
/// `built` makes; none for a record that is not a JSON object.
pub fn borrowed_or_built<'r>(
    record: &'r RawRecord,
    overlay: impl FnOnce(&'r Value) -> Option<Overlay<'r>>,
    built: impl FnOnce() -> Vec<SourceView>,
) -> Vec<SigmaView<'r>> {
    if !matches!(record.value, Some(Value::Object(_))) {
        return Vec::new();
    }
    match record.value.as_ref().and_then(overlay) {
        Some(view) => vec![SigmaView::Borrowed(view)],
        None => built().into_iter().map(SigmaView::Owned).collect(),
    }
}

/// [`json_view`] borrowed from the record.
pub fn json_sigma_view(record: &RawRecord, logsource: StaticLogSource) -> Vec<SigmaView<'_>> {
    match &record.value {
        Some(value @ Value::Object(_)) => vec![SigmaView::Borrowed(Overlay::object(logsource, value))],
        _ => Vec::new(),
    }
}

impl std::fmt::Debug for dyn Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every format, in the order ties are broken when sniffing.
pub const FORMATS: &[&dyn Format] = &[
    &decoders::evtx::Evtx,
    &decoders::evtx_json::EvtxJson,
    &decoders::winlogbeat::Winlogbeat,
    &decoders::nxlog::Nxlog,
    &decoders::sentinel::Sentinel,
    &decoders::cloudtrail::CloudTrail,
    &decoders::okta::Okta,
    &decoders::entra::Entra,
    &decoders::azure_activity::AzureActivity,
    &decoders::gcp_audit::GcpAudit,
    &decoders::github_audit::GithubAudit,
    &decoders::auditd::Auditd,
    &decoders::syslog::Syslog,
    &decoders::csv_table::CsvTable,
    &decoders::ocsf::Ocsf,
];

pub fn by_name(name: &str) -> Option<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| f.name().eq_ignore_ascii_case(name))
}

/// The format that claims the sample most surely, if any claims it at all.
pub fn detect(sample: &Sample<'_>) -> Option<&'static dyn Format> {
    let mut best: Option<(u8, &'static dyn Format)> = None;
    for format in FORMATS.iter().copied() {
        let score = format.sniff(sample);
        if score > 0 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, format));
        }
    }
    best.map(|(_, f)| f)
}

/// The JSON object of a record, or the reason it is not one.
pub fn object(record: &RawRecord) -> Result<&serde_json::Map<String, Value>, Reject> {
    match &record.value {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(Reject::NotAnObject { found: Reject::json_kind(other) }),
        None => Err(Reject::NotAnObject { found: "text" }),
    }
}
