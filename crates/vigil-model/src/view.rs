//! How Sigma rules see a record: its fields under the source's own names, and the Sigma
//! logsource (product, service, categories) it belongs to. The detection stage evaluates rules
//! against this view; the OCSF event is what later stages use.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Sigma logsource as an event carries it. An event may belong to several categories
/// (a Sysmon registry value set is both `registry_set` and `registry_event`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogSource {
    pub product: Option<String>,
    pub service: Option<String>,
    pub categories: Vec<String>,
}

impl LogSource {
    pub fn new(product: &str, service: Option<&str>) -> Self {
        LogSource {
            product: Some(product.to_owned()),
            service: service.map(str::to_owned),
            categories: Vec::new(),
        }
    }

    pub fn with_category(mut self, category: &str) -> Self {
        self.categories.push(category.to_owned());
        self
    }
}

/// One record as Sigma rules read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceView {
    pub logsource: LogSource,
    /// A JSON object; nested objects are reached by dotted paths (`userIdentity.type`).
    pub fields: Value,
}

/// A logsource whose names are fixed when Vigil is built, as every decoder's are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StaticLogSource {
    pub product: Option<&'static str>,
    pub service: Option<&'static str>,
    pub categories: &'static [&'static str],
}

impl StaticLogSource {
    pub const fn new(product: &'static str, service: Option<&'static str>) -> Self {
        StaticLogSource { product: Some(product), service, categories: &[] }
    }

    pub fn to_owned_logsource(&self) -> LogSource {
        LogSource {
            product: self.product.map(str::to_owned),
            service: self.service.map(str::to_owned),
            categories: self.categories.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

/// A value a borrowed view adds to its record's fields.
pub type Added<'a> = (&'static str, std::borrow::Cow<'a, Value>);

/// A record's JSON object read as Sigma rules name its fields, without copying it: the object's
/// own fields (less those `hidden` says the view leaves out), then the `added` ones where the
/// object has no visible field of that name. Detection runs on this; the owned
/// [`SourceView`] is made only for a record that raised something.
#[derive(Clone, Debug)]
pub struct Overlay<'a> {
    pub logsource: StaticLogSource,
    /// A JSON object (anything else reads as one without fields).
    base: &'a Value,
    /// Only those the object has no visible field for.
    added: Vec<Added<'a>>,
    /// Whether the view leaves out the object's field of this name (none when `None`).
    hidden: Option<fn(&str) -> bool>,
}

impl<'a> Overlay<'a> {
    /// The object as it is.
    pub fn object(logsource: StaticLogSource, base: &'a Value) -> Self {
        Overlay { logsource, base, added: Vec::new(), hidden: None }
    }

    /// The object less what `hidden` names, plus the `added` fields it has no visible field for.
    pub fn new(
        logsource: StaticLogSource,
        base: &'a Value,
        mut added: Vec<Added<'a>>,
        hidden: Option<fn(&str) -> bool>,
    ) -> Self {
        let visible = |key: &str| {
            base.as_object().is_some_and(|m| m.contains_key(key)) && !hidden.is_some_and(|h| h(key))
        };
        added.retain(|(key, _)| !visible(key));
        Overlay { logsource, base, added, hidden }
    }

    /// The record's object the view reads through.
    pub fn base(&self) -> &'a Value {
        self.base
    }

    /// Whether the view is the object as it is, with nothing added or left out.
    pub fn is_plain(&self) -> bool {
        self.added.is_empty() && self.hidden.is_none()
    }

    pub fn is_hidden(&self, key: &str) -> bool {
        self.hidden.is_some_and(|hidden| hidden(key))
    }

    fn base_map(&self) -> Option<&'a serde_json::Map<String, Value>> {
        self.base.as_object()
    }

    /// The value of a top-level field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.base_map().and_then(|m| m.get(key)) {
            Some(v) if !self.is_hidden(key) => Some(v),
            _ => self.added.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_ref()),
        }
    }

    /// Every visible top-level field, the object's first.
    pub fn for_each(&self, mut visit: impl FnMut(&str, &Value)) {
        let base = self.base_map();
        for (k, v) in base.into_iter().flatten() {
            if !self.is_hidden(k) {
                visit(k, v);
            }
        }
        for (k, v) in &self.added {
            visit(k, v);
        }
    }

    /// The fields as one JSON object (what the owned view holds).
    pub fn to_value(&self) -> Value {
        let len = self.base_map().map_or(0, serde_json::Map::len);
        let mut map = serde_json::Map::with_capacity(len + self.added.len());
        self.for_each(|k, v| {
            map.insert(k.to_owned(), v.clone());
        });
        Value::Object(map)
    }
}

/// One record as detection reads it: borrowed from the record where the decoder can, owned
/// where it had to build the fields.
#[derive(Clone, Debug)]
pub enum SigmaView<'a> {
    Borrowed(Overlay<'a>),
    Owned(SourceView),
}

impl SigmaView<'_> {
    /// The view as the owned type alerts and the hunt's output carry.
    pub fn to_source_view(&self) -> SourceView {
        match self {
            SigmaView::Borrowed(o) => {
                SourceView { logsource: o.logsource.to_owned_logsource(), fields: o.to_value() }
            }
            SigmaView::Owned(v) => v.clone(),
        }
    }
}
