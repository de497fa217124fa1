//! An upload (a request body, a syslog message, a file in the watched directory) decoded into
//! events ready to store and dead letters with their reasons. The OCSF event is stored without
//! `raw_data`; the raw record has a column of its own, so it is kept once.

use std::path::Path;

use serde::Serialize;
use vigil_ingest::view::{LogSource, SourceView};
use vigil_ingest::{Outcome, ReadOptions, by_name, read_stream};
use vigil_model::{DeadLetter, Locator};
use vigil_store::{NewEvent, time};

/// A record larger than this becomes a dead letter instead of an event.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct Decoded {
    pub events: Vec<NewEvent>,
    pub dead: Vec<DeadLetter>,
    /// Events whose own time could not be read or was not plausible, dated by their arrival
    /// instead (`unmapped.vigil_time` says what the record held and why).
    pub retimed: u64,
}

/// One rejected record, as an ingest response reports it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Rejected {
    /// 1-based line (or record) number within the upload, when known.
    pub line: Option<u64>,
    pub reason: String,
}

impl Decoded {
    pub fn rejected(&self) -> Vec<Rejected> {
        self.dead
            .iter()
            .map(|d| Rejected {
                line: match d.locator {
                    Locator::Line { line, .. } => Some(line),
                    Locator::Record(n) => Some(n),
                    _ => None,
                },
                reason: d.reason.clone(),
            })
            .collect()
    }
}

/// Names a format for `?format=`; `None` when no such format exists.
pub fn format_named(name: &str) -> Option<&'static str> {
    by_name(name).map(|f| f.name())
}

/// Decodes `body`. `source` names it in dead letters; `name` is a file name to recognise the
/// format by when `format` is not given; `received_at` (ms since the epoch) is when it arrived
/// (for a file, when it was last written), which gives a yearless syslog date its year.
pub fn decode(source: &str, name: &str, body: Vec<u8>, format: Option<&str>, received_at: i64) -> Decoded {
    decode_for_tenant(source, name, body, format, received_at, None)
}

/// [`decode`], with every event that names no tenant of its own put under `tenant` (an MSSP's
/// customer, say): the tenant is what a cluster partitions by, and no case spans two.
pub fn decode_for_tenant(
    source: &str,
    name: &str,
    body: Vec<u8>,
    format: Option<&str>,
    received_at: i64,
    tenant: Option<&str>,
) -> Decoded {
    let options = ReadOptions { format: format.and_then(by_name), evtx_threads: 1, views: true };
    let mut decoded = Decoded::default();
    let empty = body.iter().all(u8::is_ascii_whitespace);
    let head = body[..body.len().min(vigil_model::EXCERPT_BYTES)].to_vec();
    let stream: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(body));
    let summary =
        read_stream(
            source,
            Path::new(name),
            stream,
            Some(received_at),
            &options,
            &mut |outcome| match outcome {
                Outcome::Event(mut event, views) => match stored(
                    {
                        if let Some(tenant) = tenant.filter(|_| event.metadata.tenant_uid.is_none()) {
                            event.metadata.tenant_uid = Some(tenant.to_owned());
                            event.metadata.uid = event
                                .metadata
                                .uid
                                .take()
                                .map(|id| vigil_model::EventId::for_tenant(&id, tenant).to_string());
                        }
                        *event
                    },
                    &views,
                ) {
                    Ok(e) => decoded.events.push(e),
                    Err(dead) => decoded.dead.push(DeadLetter::new(source, Locator::Source, dead)),
                },
                Outcome::Dead(dead) => decoded.dead.push(dead),
            },
        );
    let format = summary.format.unwrap_or("unknown");
    decoded.retimed = summary.retimed;
    // A body that yields nothing at all (garbage read as EVTX, say) still leaves a trace.
    if decoded.events.is_empty() && decoded.dead.is_empty() && !empty {
        let reason = format!("the body yielded no records as {format}");
        decoded
            .dead
            .push(DeadLetter::new(source, Locator::Source, reason).with_format(format).with_excerpt(&head));
    }
    for e in &mut decoded.events {
        e.source = source.to_owned();
        if e.format.is_empty() {
            e.format = format.to_owned();
        }
    }
    decoded
}

/// The columns the store keeps for an event.
pub fn stored(
    mut event: vigil_ocsf::Event,
    views: &[vigil_ingest::view::SourceView],
) -> Result<NewEvent, String> {
    let raw = event.raw_data.take().unwrap_or_default().into_bytes();
    if raw.len() > MAX_RECORD_BYTES {
        return Err(format!("record of {} bytes exceeds the {MAX_RECORD_BYTES}-byte limit", raw.len()));
    }
    let id = event.metadata.uid.clone().ok_or("the event has no id")?;
    let ocsf = serde_json::to_string(&event).map_err(|e| e.to_string())?;
    let views = encode_views(views, &raw).map_err(|e| e.to_string())?;
    Ok(NewEvent {
        id,
        source: String::new(),
        format: String::new(),
        class_uid: i64::from(event.class_uid),
        time: time::from_millis(event.time),
        ocsf,
        views,
        raw,
    })
}

/// How a record's views are stored. Most records have one view whose fields are the record
/// itself; then only its logsource is kept (`{"same_as_raw": …}`) and the reader parses the raw
/// record, which saves a third of an event's bytes.
pub fn encode_views(views: &[SourceView], raw: &[u8]) -> serde_json::Result<String> {
    if let [only] = views
        && only.fields.is_object()
        && serde_json::to_vec(&only.fields)? == raw
    {
        return serde_json::to_string(&serde_json::json!({ "same_as_raw": only.logsource }));
    }
    serde_json::to_string(views)
}

/// The views `encode_views` stored, given the raw record.
pub fn decode_views(text: &str, raw: &[u8]) -> serde_json::Result<Vec<SourceView>> {
    #[derive(serde::Deserialize)]
    struct SameAsRaw {
        same_as_raw: LogSource,
    }
    if text.starts_with("{\"same_as_raw\"") {
        let SameAsRaw { same_as_raw } = serde_json::from_str(text)?;
        return Ok(vec![SourceView { logsource: same_as_raw, fields: serde_json::from_slice(raw)? }]);
    }
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_lines_are_told_apart() {
        let body = concat!(
            r#"{"eventVersion":"1.08","eventTime":"2026-11-30T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"}}"#,
            "\n",
            "{not json\n",
            r#"{"eventVersion":"1.08","eventTime":"2026-11-30T10:01:00Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"}}"#,
            "\n"
        );
        let decoded = decode("test", "upload.jsonl", body.as_bytes().to_vec(), Some("cloudtrail"), 0);
        assert_eq!(decoded.events.len(), 2, "{:?}", decoded.rejected());
        assert_eq!(decoded.rejected().iter().map(|r| r.line).collect::<Vec<_>>(), [Some(2)]);
        assert!(decoded.events.iter().all(|e| e.format == "cloudtrail" && e.source == "test"));
        assert!(decoded.events[0].raw.starts_with(b"{\"eventVersion\""));
        assert!(!decoded.events[0].ocsf.contains("raw_data"));
        let again = decode("test", "upload.jsonl", body.as_bytes().to_vec(), Some("cloudtrail"), 0);
        assert_eq!(again.events[1].id, decoded.events[1].id, "ids are content-derived");
    }

    #[test]
    fn views_equal_to_the_record_are_stored_by_reference_and_read_back_whole() {
        let raw = br#"{"eventName":"StopLogging","userIdentity":{"userName":"ops"}}"#;
        let view = SourceView {
            logsource: LogSource::new("aws", Some("cloudtrail")),
            fields: serde_json::from_slice(raw).expect("json"),
        };
        let text = encode_views(std::slice::from_ref(&view), raw).expect("encode");
        assert!(text.len() < 100, "{text}");
        assert_eq!(decode_views(&text, raw).expect("decode"), std::slice::from_ref(&view));
        // A record spelled differently (spaces) keeps its views in full.
        let spaced = br#"{ "eventName": "StopLogging", "userIdentity": {"userName": "ops"} }"#;
        let full = encode_views(std::slice::from_ref(&view), spaced).expect("encode");
        assert!(full.starts_with('['), "{full}");
        assert_eq!(decode_views(&full, spaced).expect("decode"), [view]);
    }
}
