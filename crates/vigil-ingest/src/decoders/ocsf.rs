//! OCSF events as another tool (or `vigil normalize`) emits them: one JSON object per record,
//! taken as they are. Attributes Vigil's event type does not carry are kept under
//! `unmapped.ocsf`; Sigma rules see the event under OCSF's own field names (`logsource:
//! product: ocsf`).

use serde_json::{Map, Value};
use vigil_ocsf::objects::Metadata;
use vigil_ocsf::{Class, Event};

use crate::error::Reject;
use crate::format::{Container, Format, RawRecord, Sample, object};

pub struct Ocsf;

const LOGSOURCE: crate::view::StaticLogSource = crate::view::StaticLogSource::new("ocsf", None);

impl Format for Ocsf {
    fn name(&self) -> &'static str {
        "ocsf"
    }
    fn describe(&self) -> &'static str {
        "OCSF events (JSON objects with class_uid, time, metadata)"
    }
    fn container(&self) -> Container {
        Container::Json
    }
    fn sniff(&self, sample: &Sample<'_>) -> u8 {
        let Some(Value::Object(o)) = sample.first_json else { return 0 };
        let ocsf = o.get("class_uid").is_some_and(Value::is_u64)
            && o.get("time").is_some_and(Value::is_i64)
            && o.get("metadata").is_some_and(Value::is_object);
        if ocsf { 95 } else { 0 }
    }
    fn map(&self, record: &RawRecord) -> Result<Event, Reject> {
        let o = object(record)?;
        let uid = o.get("class_uid").and_then(Value::as_u64).ok_or(Reject::Missing("class_uid"))?;
        let class = u32::try_from(uid).ok().and_then(Class::from_uid).ok_or(Reject::Shape {
            format: "ocsf",
            why: "its class is not one Vigil reads (see vigil_ocsf::Class)",
        })?;
        let time = o.get("time").and_then(Value::as_i64).ok_or(Reject::Missing("time"))?;
        let activity =
            o.get("activity_id").and_then(Value::as_u64).and_then(|a| u32::try_from(a).ok()).unwrap_or(99);
        // Start from a well-formed event of the class, then lay the record over it, so captions
        // the producer left out are filled and everything it sent wins.
        let template = Event::new(class, activity, time, Metadata::new("unknown", "unknown"));
        let Value::Object(mut merged) = serde_json::to_value(&template).map_err(Reject::Json)? else {
            return Err(Reject::NotAnObject { found: "non-object" });
        };
        for (key, value) in o {
            match (key.as_str(), merged.get_mut(key), value) {
                ("metadata", Some(Value::Object(base)), Value::Object(given)) => {
                    base.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                ("raw_data" | "unmapped", ..) => {}
                _ => {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        let mut event: Event = serde_json::from_value(Value::Object(merged)).map_err(Reject::Json)?;
        let kept = serde_json::to_value(&event).map_err(Reject::Json)?;
        let extra: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| kept.get(k.as_str()).is_none() && *k != "raw_data")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !extra.is_empty() {
            event.unmapped.insert("ocsf".into(), Value::Object(extra));
        }
        Ok(event)
    }
    fn views(&self, record: &RawRecord) -> Vec<crate::view::SourceView> {
        crate::format::json_view(record, LOGSOURCE)
    }
    fn sigma_views<'r>(&self, record: &'r RawRecord) -> Vec<crate::view::SigmaView<'r>> {
        crate::format::json_sigma_view(record, LOGSOURCE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::RawRecord;
    use vigil_model::Locator;

    fn raw(text: &str) -> RawRecord {
        RawRecord {
            locator: Locator::Line { line: 1, offset: 0 },
            text: text.into(),
            value: serde_json::from_str(text).ok(),
            source_time: None,
        }
    }

    #[test]
    fn an_event_from_another_producer_keeps_what_vigil_does_not_model() {
        let text = r#"{"class_uid":3002,"activity_id":1,"time":1772446200000,"severity_id":1,"metadata":{"version":"1.5.0","product":{"name":"IdP","vendor_name":"Example"}},"user":{"name":"alice"},"status_id":2,"enrichments":[{"name":"geo","value":"NL"}]}"#;
        let event = Ocsf.map(&raw(text)).expect("maps");
        assert_eq!(event.class_name, "Authentication");
        assert_eq!(event.user.as_ref().and_then(|u| u.name.as_deref()), Some("alice"));
        assert_eq!(event.metadata.product.name.as_deref(), Some("IdP"));
        assert_eq!(event.unmapped["ocsf"]["enrichments"][0]["value"], "NL");
    }

    #[test]
    fn an_unknown_class_or_a_missing_time_is_a_dead_letter_with_its_reason() {
        let unknown =
            Ocsf.map(&raw(r#"{"class_uid":9999,"time":1,"metadata":{}}"#)).expect_err("unknown class");
        assert!(unknown.to_string().contains("class"), "{unknown}");
        let untimed = Ocsf.map(&raw(r#"{"class_uid":3002,"metadata":{}}"#)).expect_err("no time");
        assert!(untimed.to_string().contains("time"), "{untimed}");
    }
}
