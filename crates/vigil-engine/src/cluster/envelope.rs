//! An event as it travels on the stream: the stored event's fields, the raw record among
//! them, so a worker writes exactly what the ingest node accepted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use vigil_store::NewEvent;

/// Written borrowing the event's fields.
#[derive(Serialize)]
struct Outgoing<'a> {
    id: &'a str,
    source: &'a str,
    format: &'a str,
    class_uid: i64,
    time: &'a str,
    ocsf: &'a str,
    views: &'a str,
    /// Base64: a record need not be UTF-8.
    raw: String,
}

/// Read into owned fields: JSON text with escapes cannot be borrowed.
#[derive(Deserialize)]
struct Incoming {
    id: String,
    source: String,
    format: String,
    class_uid: i64,
    time: String,
    ocsf: String,
    views: String,
    raw: String,
}

pub fn encode(event: &NewEvent) -> Vec<u8> {
    let envelope = Outgoing {
        id: &event.id,
        source: &event.source,
        format: &event.format,
        class_uid: event.class_uid,
        time: &event.time,
        ocsf: &event.ocsf,
        views: &event.views,
        raw: STANDARD.encode(&event.raw),
    };
    // Strings and integers only: serialising cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// The event a message carries, or why it carries none.
pub fn decode(payload: &[u8]) -> Result<NewEvent, String> {
    let envelope: Incoming =
        serde_json::from_slice(payload).map_err(|e| format!("the message is not an event envelope: {e}"))?;
    let raw =
        STANDARD.decode(envelope.raw.as_bytes()).map_err(|e| format!("its raw record is not base64: {e}"))?;
    Ok(NewEvent {
        id: envelope.id,
        source: envelope.source,
        format: envelope.format,
        class_uid: envelope.class_uid,
        time: envelope.time,
        ocsf: envelope.ocsf,
        views: envelope.views,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_comes_off_the_stream_as_it_went_on() {
        let event = NewEvent {
            id: "ab12".into(),
            source: "http".into(),
            format: "jsonl".into(),
            class_uid: 3002,
            time: "2026-01-01T00:00:00.000Z".into(),
            // Quotes and escapes, as every real event has.
            ocsf: r#"{"class_uid":3002,"message":"a \"quoted\" word\n"}"#.into(),
            views: r#"[{"same_as_raw":"windows"}]"#.into(),
            raw: vec![0xff, 0x00, b'"', b'\n'],
        };
        assert_eq!(decode(&encode(&event)), Ok(event));
    }

    #[test]
    fn a_message_that_is_not_an_envelope_says_why() {
        assert!(decode(b"{}").is_err_and(|e| e.contains("not an event envelope")));
        let bad = br#"{"id":"a","source":"s","format":"f","class_uid":1,"time":"t","ocsf":"{}","views":"[]","raw":"!!"}"#;
        assert!(decode(bad).is_err_and(|e| e.contains("not base64")));
    }
}
