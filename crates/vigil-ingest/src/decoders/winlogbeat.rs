//! Windows events as Winlogbeat ships them: the pre-ECS shape (`event_id`, `event_data`,
//! `log_name`, `computer_name`) and the ECS shape (`winlog.event_id`, `winlog.event_data`).

use serde_json::Value;

use crate::error::Reject;
use crate::fields::{get, int, text, text_at};
use crate::format::{Container, Format, RawRecord, Sample, borrowed_or_built, object};
use crate::view::{Overlay, SigmaView};
use crate::windows::{self, Header, WinEvent, text_value};

pub struct Winlogbeat;

impl Format for Winlogbeat {
    fn name(&self) -> &'static str {
        "winlogbeat"
    }
    fn describe(&self) -> &'static str {
        "Windows events as Winlogbeat JSON (event_id/event_data or winlog.*)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(v) = sample.first_json else { return 0 };
        if get(v, "winlog.event_id").is_some()
            || (v.get("event_id").is_some() && (v.get("event_data").is_some() || v.get("log_name").is_some()))
        {
            92
        } else {
            0
        }
    }
    fn map(&self, record: &RawRecord) -> Result<vigil_ocsf::Event, Reject> {
        Ok(windows::to_ocsf(win_event(record)?, "Winlogbeat"))
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        win_event(record).map(|w| vec![w.view()]).unwrap_or_default()
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<SigmaView<'r>> {
        borrowed_or_built(record, overlay, || self.views(record))
    }
    fn may_map_to(&self, record: &RawRecord, class_uid: u32) -> bool {
        let id = record.value.as_ref().map(winlog).and_then(|base| base.get("event_id")).and_then(int);
        windows::may_map_to(id, class_uid)
    }
}

/// Where the event's fields are: under `winlog` in the ECS shape, at the top before it.
fn winlog(value: &Value) -> &Value {
    match value.get("winlog") {
        Some(winlog) => winlog,
        None => value,
    }
}

/// The view of [`win_event`]'s `view` over the record itself; `None` where that view must be
/// built (no event id, `user_data` to merge, or a field name to clean).
fn overlay(value: &Value) -> Option<Overlay<'_>> {
    let base = winlog(value);
    let event_id = base.get("event_id").and_then(int)?;
    if let Some(Value::Object(_)) = base.get("user_data") {
        return None;
    }
    let data = match base.get("event_data") {
        Some(data @ Value::Object(_)) => data,
        _ => windows::no_data(),
    };
    let header = Header {
        event_id: u32::try_from(event_id).ok(),
        channel: base.get("channel").or_else(|| base.get("log_name")).and_then(text_value),
        provider: base.get("provider_name").or_else(|| base.get("source_name")).and_then(text_value),
        computer: base
            .get("computer_name")
            .and_then(text_value)
            .or_else(|| get(value, "host.name").and_then(text_value)),
        level: None,
    };
    header.overlay(data, None)
}

fn win_event(record: &RawRecord) -> Result<WinEvent, Reject> {
    let o = object(record)?;
    let value = record.value.as_ref().ok_or(Reject::Missing("event_id"))?;
    let ecs = o.contains_key("winlog");
    let base = if ecs { value.get("winlog").unwrap_or(value) } else { value };
    let event_id = base.get("event_id").and_then(int).ok_or(Reject::Missing("event_id"))?;
    let original_time = o.get("@timestamp").and_then(text);
    let mut win = WinEvent {
        provider: base.get("provider_name").or_else(|| base.get("source_name")).and_then(text),
        channel: base.get("channel").or_else(|| base.get("log_name")).and_then(text),
        event_id: u32::try_from(event_id).ok(),
        computer: base.get("computer_name").and_then(text).or_else(|| text_at(value, "host.name")),
        record_id: base
            .get("record_id")
            .or_else(|| base.get("record_number"))
            .and_then(int)
            .and_then(|r| u64::try_from(r).ok()),
        time: original_time.as_deref().and_then(crate::time::parse),
        original_time,
        level: None,
        user_sid: text_at(base, "user.identifier"),
        ..WinEvent::default()
    };
    for section in ["event_data", "user_data"] {
        if let Some(Value::Object(data)) = base.get(section) {
            for (k, v) in data {
                win.put(k, v.clone());
            }
        }
    }
    for (key, v) in o {
        if !matches!(
            key.as_str(),
            "event_data"
                | "user_data"
                | "winlog"
                | "event_id"
                | "computer_name"
                | "log_name"
                | "source_name"
                | "record_number"
                | "@timestamp"
        ) {
            win.extra.insert(key.clone(), v.clone());
        }
    }
    Ok(win)
}
