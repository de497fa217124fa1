//! Windows events as NXLog writes them in JSON: one flat object per event, the EventData fields
//! beside NXLog's own (`EventID`, `SourceName`, `Channel`, `Hostname`, `EventTime`).

use serde_json::Value;

use crate::error::Reject;
use crate::fields::{int, text};
use crate::format::{Container, Format, RawRecord, Sample, borrowed_or_built, object};
use crate::view::{Overlay, SigmaView};
use crate::windows::{self, Header, WinEvent, text_value};

pub struct Nxlog;

/// Keys NXLog (and the shippers behind it) adds; everything else is EventData.
fn is_shipper_key(key: &str) -> bool {
    matches!(
        key,
        "@timestamp"
            | "@version"
            | "EventReceivedTime"
            | "EventTime"
            | "TimeCreated"
            | "ExecutionProcessID"
            | "Hostname"
            | "Keywords"
            | "RecordNumber"
            | "Severity"
            | "SeverityValue"
            | "SourceModuleName"
            | "SourceModuleType"
            | "SourceName"
            | "Channel"
            | "EventID"
            | "Task"
            | "ThreadID"
            | "host"
            | "port"
            | "tags"
            | "Opcode"
            | "OpcodeValue"
            | "Level"
            | "ProviderGuid"
            | "Version"
            | "ERROR_EVT_UNRESOLVED"
            | "Message"
            | "Category"
    )
}

/// Keys the Sigma view leaves out: NXLog's own, and the user SID the header carries.
fn not_in_view(key: &str) -> bool {
    key == "UserID" || is_shipper_key(key)
}

impl Format for Nxlog {
    fn name(&self) -> &'static str {
        "nxlog"
    }
    fn describe(&self) -> &'static str {
        "Windows events as NXLog flat JSON (EventID, SourceName, Channel, Hostname)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let has = |k: &str| o.contains_key(k);
        if has("EventID") && has("Hostname") && (has("Channel") || has("SourceName")) && !has("TenantId") {
            90
        } else {
            0
        }
    }
    fn map(&self, record: &RawRecord) -> Result<vigil_ocsf::Event, Reject> {
        Ok(windows::to_ocsf(win_event(object(record)?)?, "NXLog"))
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        object(record).ok().and_then(|o| win_event(o).ok()).map(|w| vec![w.view()]).unwrap_or_default()
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<SigmaView<'r>> {
        borrowed_or_built(record, overlay, || self.views(record))
    }
    fn may_map_to(&self, record: &RawRecord, class_uid: u32) -> bool {
        let id = object(record).ok().and_then(|o| o.get("EventID")).and_then(int);
        windows::may_map_to(id, class_uid)
    }
    fn fields_detection_skips(&self) -> &'static [&'static str] {
        // The rendered event text: the largest field, full of escapes, and a shipper field the
        // view leaves out.
        &["Message"]
    }
}

/// The view of [`win_event`]'s `view` over the record itself; `None` where that view must be
/// built (no event id, or a field name to clean).
fn overlay(value: &Value) -> Option<Overlay<'_>> {
    let o = value.as_object()?;
    let event_id = o.get("EventID").and_then(int)?;
    let header = Header {
        event_id: u32::try_from(event_id).ok(),
        channel: o.get("Channel").and_then(text_value),
        provider: o.get("SourceName").and_then(text_value),
        computer: o.get("Hostname").and_then(text_value),
        level: o.get("Level").and_then(int),
    };
    header.overlay(value, Some(not_in_view))
}

fn win_event(o: &serde_json::Map<String, Value>) -> Result<WinEvent, Reject> {
    let event_id = o.get("EventID").and_then(int).ok_or(Reject::Missing("EventID"))?;
    // NXLog's EventTime is local time without a zone and some exports mislabel it as UTC;
    // Sysmon's UtcTime is the one trustworthy clock, then @timestamp (shipper's UTC).
    let original_time =
        ["UtcTime", "@timestamp", "EventTime", "TimeCreated"].iter().find_map(|k| o.get(*k).and_then(text));
    let time = original_time.as_deref().and_then(crate::time::parse);
    let mut win = WinEvent {
        provider: o.get("SourceName").and_then(text),
        channel: o.get("Channel").and_then(text),
        event_id: u32::try_from(event_id).ok(),
        computer: o.get("Hostname").and_then(text),
        record_id: o.get("RecordNumber").and_then(int).and_then(|r| u64::try_from(r).ok()),
        time,
        original_time,
        level: o.get("Level").and_then(int),
        user_sid: o.get("UserID").and_then(text),
        ..WinEvent::default()
    };
    for (key, value) in o {
        if key == "UserID" {
            continue;
        }
        if is_shipper_key(key) {
            if !matches!(key.as_str(), "SourceName" | "Channel" | "EventID" | "Hostname" | "RecordNumber") {
                win.extra.insert(key.clone(), value.clone());
            }
        } else {
            win.put(key, value.clone());
        }
    }
    Ok(win)
}
