//! A borrowed view ([`Overlay`]) as the rule engine reads events: top-level fields through the
//! overlay, dotted paths into the record's own object as for any JSON event.

use std::borrow::Cow;

use rsigma_eval::{Event, EventValue, JsonEvent};
use serde_json::Value;
use vigil_model::view::Overlay;

pub(crate) struct OverlayEvent<'v, 'a>(pub &'v Overlay<'a>);

impl OverlayEvent<'_, '_> {
    /// Every visible top-level value.
    fn values(&self, mut visit: impl FnMut(&Value)) {
        self.0.for_each(|_, v| visit(v));
    }
}

/// The first object key of a field path (`actor.id` → `actor`, `name[0]` → `name`).
fn root_key(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

impl Event for OverlayEvent<'_, '_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(v) = self.0.get(path) {
            return Some(EventValue::from(v));
        }
        if !(path.contains('.') || path.contains('[') || path.contains('\\'))
            || self.0.is_hidden(root_key(path))
        {
            return None;
        }
        // The added fields are single values: a path into one finds nothing, as in the owned view.
        JsonEvent::borrow(self.0.base()).get_field(path).map(into_owned)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut found = false;
        self.values(|v| found = found || JsonEvent::borrow(v).any_string_value(pred));
        found
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        self.values(|v| {
            out.extend(
                JsonEvent::borrow(v).all_string_values().into_iter().map(|s| Cow::Owned(s.into_owned())),
            )
        });
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.values(|v| JsonEvent::borrow(v).visit_string_values(visit));
    }

    fn to_json(&self) -> Value {
        self.0.to_value()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let mut keys = Vec::new();
        self.0.for_each(|k, _| keys.push(Cow::Owned(k.to_owned())));
        Some(keys)
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.0.for_each(|k, _| visit(k));
        true
    }
}

/// A value read through a temporary event, detached from it.
fn into_owned(value: EventValue<'_>) -> EventValue<'static> {
    match value {
        EventValue::Str(s) => EventValue::Str(Cow::Owned(s.into_owned())),
        EventValue::Int(n) => EventValue::Int(n),
        EventValue::Float(f) => EventValue::Float(f),
        EventValue::Bool(b) => EventValue::Bool(b),
        EventValue::Null => EventValue::Null,
        EventValue::Array(a) => EventValue::Array(a.into_iter().map(into_owned).collect()),
        EventValue::Map(m) => {
            EventValue::Map(m.into_iter().map(|(k, v)| (Cow::Owned(k.into_owned()), into_owned(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::{Value, json};
    use vigil_model::view::{Overlay, SigmaView, StaticLogSource};

    use crate::{RuleFile, RuleSet, RuleSetConfig};

    fn rules(texts: &[&str]) -> RuleSet {
        let files: Vec<RuleFile> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| RuleFile { name: format!("r{i}.yml"), text: (*t).to_owned() })
            .collect();
        RuleSet::load(&files, &RuleSetConfig::default()).expect("rules load").0
    }

    fn hidden(key: &str) -> bool {
        key == "Shipper"
    }

    /// A record whose `Shipper` field the view leaves out and whose `Computer` it adds.
    fn overlay(record: &Value) -> SigmaView<'_> {
        let added =
            vec![("Computer", Cow::Owned(json!("WS-7"))), ("Image", Cow::Owned(json!("C:\\shadowed.exe")))];
        let logsource = StaticLogSource::new("windows", Some("security"));
        SigmaView::Borrowed(Overlay::new(logsource, record, added, Some(hidden)))
    }

    #[test]
    fn rules_read_added_fields_and_never_hidden_ones() {
        let record = json!({"Image": "C:\\tools\\x.exe", "Shipper": "nxlog", "Nested": {"Path": "a\\b"}});
        let set = rules(&[
            "title: Host\nid: h\nlogsource: {product: windows, service: security}\ndetection:\n  s: {Computer: WS-7}\n  condition: s\n",
            "title: Hidden\nid: x\nlogsource: {product: windows, service: security}\ndetection:\n  s: {Shipper: nxlog}\n  condition: s\n",
            "title: Base Wins\nid: b\nlogsource: {product: windows, service: security}\ndetection:\n  s: {Image|endswith: '\\x.exe'}\n  condition: s\n",
            "title: Nested\nid: n\nlogsource: {product: windows, service: security}\ndetection:\n  s: {Nested.Path|endswith: '\\b'}\n  condition: s\n",
            "title: Keyword\nid: k\nlogsource: {product: windows, service: security}\ndetection:\n  k: ['WS-7']\n  condition: k\n",
            "title: Hidden Keyword\nid: hk\nlogsource: {product: windows, service: security}\ndetection:\n  k: ['nxlog']\n  condition: k\n",
        ]);
        let view = overlay(&record);
        let mut fired: Vec<String> = set.evaluate_view(&view).iter().map(|d| d.rule.id.clone()).collect();
        fired.sort();
        assert_eq!(fired, ["b", "h", "k", "n"]);
        // The owned view the alert carries holds the same fields.
        let owned = view.to_source_view();
        let mut owned_fired: Vec<String> = set.evaluate(&owned).iter().map(|d| d.rule.id.clone()).collect();
        owned_fired.sort();
        assert_eq!(owned_fired, fired);
        assert_eq!(owned.fields["Image"], json!("C:\\tools\\x.exe"));
        assert!(owned.fields.get("Shipper").is_none());
    }
}
