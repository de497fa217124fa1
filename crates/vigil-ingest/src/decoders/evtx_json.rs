//! Windows events as evtx_dump writes them in JSON (`Event.System`, `Event.EventData`): one
//! per line, or pretty-printed objects one after another.

use serde_json::Value;

use crate::error::Reject;
use crate::fields::{get, int, text};
use crate::format::{Container, Format, RawRecord, Sample, borrowed_or_built, object};
use crate::view::{Overlay, SigmaView};
use crate::windows::{self, Header, WinEvent, text_value};

pub struct EvtxJson;

impl Format for EvtxJson {
    fn name(&self) -> &'static str {
        "evtx_json"
    }
    fn describe(&self) -> &'static str {
        "Windows events as evtx_dump JSON (Event.System / Event.EventData)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        match sample.first_json.and_then(|v| v.get("Event")) {
            Some(event) if event.get("System").is_some() => 95,
            _ => 0,
        }
    }
    fn map(&self, record: &RawRecord) -> Result<vigil_ocsf::Event, Reject> {
        object(record)?;
        let value = record.value.as_ref().ok_or(Reject::Missing("Event"))?;
        Ok(windows::to_ocsf(win_event(value)?, "evtx_dump JSON"))
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        views(record)
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<SigmaView<'r>> {
        sigma_views(record)
    }
    fn may_map_to(&self, record: &RawRecord, class_uid: u32) -> bool {
        may_map_to(record, class_uid)
    }
}

/// The Sigma view of an evtx-rendered record.
pub fn views(record: &RawRecord) -> Vec<crate::view::SourceView> {
    record.value.as_ref().and_then(|v| win_event(v).ok()).map(|w| vec![w.view()]).unwrap_or_default()
}

/// [`views`], borrowed from the record where its data fields are plain values.
pub fn sigma_views(record: &RawRecord) -> Vec<SigmaView<'_>> {
    borrowed_or_built(record, overlay, || views(record))
}

/// [`Format::may_map_to`] for an evtx-rendered record.
pub fn may_map_to(record: &RawRecord, class_uid: u32) -> bool {
    let system = record.value.as_ref().and_then(|v| get(v, "Event.System"));
    windows::may_map_to(system.and_then(event_id), class_uid)
}

/// EventID, a number or an element with attributes and `#text`.
fn event_id(system: &Value) -> Option<i64> {
    system.get("EventID").and_then(|v| match v {
        Value::Object(o) => o.get("#text").and_then(int),
        other => int(other),
    })
}

/// Keys of `EventData` that are the element's, not the event's.
fn not_in_view(key: &str) -> bool {
    key == "#attributes" || key == "xmlns"
}

/// The view of [`win_event`]'s `view` over the record itself; `None` where that view must be
/// built (`UserData`, nested or text data, a field name to clean) or cannot be (no `System`).
fn overlay(value: &Value) -> Option<Overlay<'_>> {
    let event = value.get("Event")?;
    let system = event.get("System")?;
    if event.get("UserData").is_some_and(|v| !v.is_null()) {
        return None;
    }
    let data = match event.get("EventData") {
        None | Some(Value::Null) => windows::no_data(),
        Some(data @ Value::Object(fields)) if fields.values().all(|v| !v.is_object()) => data,
        Some(_) => return None,
    };
    let attr = |path: &str, name: &str| {
        system.get(path).and_then(|v| v.get("#attributes")).and_then(|a| a.get(name)).and_then(text_value)
    };
    let header = Header {
        event_id: event_id(system).and_then(|e| u32::try_from(e).ok()),
        channel: system.get("Channel").and_then(text_value),
        provider: attr("Provider", "Name").or_else(|| attr("Provider", "EventSourceName")),
        computer: system.get("Computer").and_then(text_value),
        level: system.get("Level").and_then(int),
    };
    header.overlay(data, Some(not_in_view))
}

/// Reads the evtx JSON rendering (as the `evtx` crate and evtx_dump produce it).
pub fn win_event(value: &Value) -> Result<WinEvent, Reject> {
    let event = value.get("Event").ok_or(Reject::Missing("Event"))?;
    let system = event.get("System").ok_or(Reject::Missing("Event.System"))?;
    let attr = |path: &str, name: &str| {
        get(system, path).and_then(|v| v.get("#attributes")).and_then(|a| a.get(name)).and_then(text)
    };
    let event_id = event_id(system);
    let original_time = attr("TimeCreated", "SystemTime");
    let mut win = WinEvent {
        provider: attr("Provider", "Name").or_else(|| attr("Provider", "EventSourceName")),
        channel: system.get("Channel").and_then(text),
        event_id: event_id.and_then(|e| u32::try_from(e).ok()),
        computer: system.get("Computer").and_then(text),
        record_id: system.get("EventRecordID").and_then(int).and_then(|r| u64::try_from(r).ok()),
        time: original_time.as_deref().and_then(crate::time::parse),
        original_time,
        level: system.get("Level").and_then(int),
        user_sid: attr("Security", "UserID"),
        ..WinEvent::default()
    };
    for key in ["Version", "Task", "Opcode", "Keywords"] {
        if let Some(v) = system.get(key).filter(|v| !v.is_null()) {
            win.extra.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(data) = event.get("EventData").filter(|v| !v.is_null()) {
        win.put_event_data(data);
    }
    if let Some(data) = event.get("UserData").filter(|v| !v.is_null()) {
        win.put_event_data(data);
    }
    Ok(win)
}
