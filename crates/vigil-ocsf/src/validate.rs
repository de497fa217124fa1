//! Validation of an event (as JSON) against a resolved schema: required attributes, types,
//! enums, constraints, and profiles.

use std::fmt;

use serde_json::{Map, Value};

use crate::schema::{AttributeDef, Base, Requirement, Schema, Shape};

/// One way an event departs from the schema, at a dotted attribute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub problem: Problem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    NotAnObject,
    UnknownClass(String),
    UnknownObjectType(String),
    MissingRequired,
    UnknownAttribute,
    UndeclaredProfile(String),
    WrongType(&'static str),
    IllegalEnumValue(String),
    TooLong(usize),
    OutOfRange(i64, i64),
    AtLeastOne(Vec<String>),
    JustOne(Vec<String>),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "<event>" } else { &self.path };
        match &self.problem {
            Problem::NotAnObject => write!(f, "{path}: not a JSON object"),
            Problem::UnknownClass(uid) => write!(f, "{path}: no class with uid {uid}"),
            Problem::UnknownObjectType(t) => write!(f, "{path}: the schema has no object `{t}`"),
            Problem::MissingRequired => write!(f, "{path}: required attribute missing"),
            Problem::UnknownAttribute => write!(f, "{path}: not an attribute of its class or object"),
            Problem::UndeclaredProfile(p) => {
                write!(f, "{path}: belongs to profile `{p}`, not in metadata.profiles")
            }
            Problem::WrongType(expected) => write!(f, "{path}: expected {expected}"),
            Problem::IllegalEnumValue(v) => write!(f, "{path}: {v} is not a value of its enum"),
            Problem::TooLong(max) => write!(f, "{path}: longer than {max} characters"),
            Problem::OutOfRange(lo, hi) => write!(f, "{path}: outside {lo}..={hi}"),
            Problem::AtLeastOne(names) => write!(f, "{path}: needs at least one of {names:?}"),
            Problem::JustOne(names) => write!(f, "{path}: needs exactly one of {names:?}"),
        }
    }
}

impl Schema {
    /// Every violation in `event`; empty when the event is valid.
    pub fn validate(&self, event: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let Some(object) = event.as_object() else {
            out.push(Violation { path: String::new(), problem: Problem::NotAnObject });
            return out;
        };
        let uid = object.get("class_uid").and_then(Value::as_u64);
        let Some(class) = uid.and_then(|u| u32::try_from(u).ok()).and_then(|u| self.classes.get(&u)) else {
            let shown = object.get("class_uid").map(Value::to_string).unwrap_or_default();
            out.push(Violation { path: "class_uid".into(), problem: Problem::UnknownClass(shown) });
            return out;
        };
        let profiles: Vec<&str> = object
            .get("metadata")
            .and_then(|m| m.get("profiles"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let checker = Checker { schema: self, profiles: &profiles };
        checker.shape(class, object, "", &mut out);
        out
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    profiles: &'a [&'a str],
}

impl Checker<'_> {
    fn declared(&self, attr: &AttributeDef) -> bool {
        attr.profile.as_deref().is_none_or(|p| self.profiles.contains(&p))
    }

    fn shape(&self, shape: &Shape, value: &Map<String, Value>, prefix: &str, out: &mut Vec<Violation>) {
        let path = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        for (name, attr) in &shape.attributes {
            if attr.requirement == Requirement::Required
                && self.declared(attr)
                && value.get(name).is_none_or(Value::is_null)
            {
                out.push(Violation { path: path(name), problem: Problem::MissingRequired });
            }
        }
        for (name, field) in value {
            let Some(attr) = shape.attributes.get(name) else {
                out.push(Violation { path: path(name), problem: Problem::UnknownAttribute });
                continue;
            };
            if let Some(profile) = attr.profile.as_deref().filter(|_| !self.declared(attr)) {
                out.push(Violation {
                    path: path(name),
                    problem: Problem::UndeclaredProfile(profile.to_owned()),
                });
            }
            if field.is_null() {
                continue;
            }
            if attr.is_array {
                let Some(items) = field.as_array() else {
                    out.push(Violation { path: path(name), problem: Problem::WrongType("an array") });
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    self.attribute(attr, item, &format!("{}[{i}]", path(name)), out);
                }
            } else {
                self.attribute(attr, field, &path(name), out);
            }
        }
        let present = |n: &String| value.get(n).is_some_and(|v| !v.is_null());
        let c = &shape.constraints;
        if !c.at_least_one.is_empty() && !c.at_least_one.iter().any(present) {
            out.push(Violation {
                path: prefix.to_owned(),
                problem: Problem::AtLeastOne(c.at_least_one.clone()),
            });
        }
        if !c.just_one.is_empty() && c.just_one.iter().filter(|n| present(n)).count() != 1 {
            out.push(Violation { path: prefix.to_owned(), problem: Problem::JustOne(c.just_one.clone()) });
        }
    }

    fn attribute(&self, attr: &AttributeDef, value: &Value, path: &str, out: &mut Vec<Violation>) {
        if let Some(object_type) = &attr.object_type {
            let Some(map) = value.as_object() else {
                out.push(Violation { path: path.to_owned(), problem: Problem::WrongType("an object") });
                return;
            };
            // OCSF's generic `object` holds anything (it is what `unmapped` is).
            if object_type == "object" {
                return;
            }
            match self.schema.objects.get(object_type) {
                Some(shape) => self.shape(shape, map, path, out),
                None => out.push(Violation {
                    path: path.to_owned(),
                    problem: Problem::UnknownObjectType(object_type.clone()),
                }),
            }
            return;
        }
        let Some(def) = self.schema.types.get(&attr.type_name) else {
            out.push(Violation {
                path: path.to_owned(),
                problem: Problem::UnknownObjectType(attr.type_name.clone()),
            });
            return;
        };
        let ok = match def.base {
            Base::String => value.is_string(),
            Base::Integer => value.is_i64() || value.is_u64(),
            Base::Float => value.is_number(),
            Base::Boolean => value.is_boolean(),
            Base::Json => true,
        };
        if !ok {
            let expected = match def.base {
                Base::String => "a string",
                Base::Integer => "an integer",
                Base::Float => "a number",
                Base::Boolean => "a boolean",
                Base::Json => "JSON",
            };
            out.push(Violation { path: path.to_owned(), problem: Problem::WrongType(expected) });
            return;
        }
        if let (Some(max), Some(s)) = (def.max_len, value.as_str())
            && s.chars().count() > max
        {
            out.push(Violation { path: path.to_owned(), problem: Problem::TooLong(max) });
        }
        if let (Some((lo, hi)), Some(n)) = (def.range, value.as_i64())
            && (n < lo || n > hi)
        {
            out.push(Violation { path: path.to_owned(), problem: Problem::OutOfRange(lo, hi) });
        }
        if let Some(values) = &attr.enum_values {
            let key = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !values.contains(&key) {
                out.push(Violation { path: path.to_owned(), problem: Problem::IllegalEnumValue(key) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A schema of our own, shaped as `ocsf-lib` compiles one, just big enough to exercise
    /// every kind of check.
    fn schema() -> Schema {
        let doc = json!({
            "version": "1.5.0",
            "types": {
                "string_t": {}, "integer_t": {}, "long_t": {},
                "timestamp_t": {"type": "long_t"},
                "port_t": {"type": "integer_t", "range": [0, 65535]},
                "ip_t": {"type": "string_t", "max_len": 40}
            },
            "classes": {
                "authentication": {"uid": 3002, "attributes": {
                    "class_uid": {"type": "integer_t", "requirement": "required", "enum": {"3002": {}}},
                    "time": {"type": "timestamp_t", "requirement": "required"},
                    "user": {"type": "user", "object_type": "user", "requirement": "required"},
                    "dst_endpoint": {"type": "network_endpoint", "object_type": "network_endpoint", "requirement": "recommended"},
                    "service": {"type": "service", "object_type": "service", "requirement": "recommended"},
                    "cloud": {"type": "cloud", "object_type": "cloud", "requirement": "required", "profile": "cloud"},
                    "metadata": {"type": "metadata", "object_type": "metadata", "requirement": "required"},
                    "unmapped": {"type": "object", "object_type": "object", "requirement": "optional"}
                }, "constraints": {"at_least_one": ["service", "dst_endpoint"]}}
            },
            "objects": {
                "user": {"attributes": {"name": {"type": "string_t", "requirement": "optional"}}},
                "service": {"attributes": {"name": {"type": "string_t", "requirement": "optional"}}},
                "cloud": {"attributes": {"provider": {"type": "string_t", "requirement": "required"}}},
                "network_endpoint": {"attributes": {
                    "ip": {"type": "ip_t", "requirement": "optional"},
                    "port": {"type": "port_t", "requirement": "optional"}
                }},
                "metadata": {"attributes": {
                    "version": {"type": "string_t", "requirement": "required"},
                    "profiles": {"type": "string_t", "is_array": true, "requirement": "optional"}
                }}
            }
        });
        Schema::from_json(doc.to_string().as_bytes()).expect("test schema loads")
    }

    #[track_caller]
    fn check(event: Value, expect: &[&str]) {
        let found: Vec<String> = schema().validate(&event).iter().map(ToString::to_string).collect();
        let mut found = found;
        found.sort();
        assert_eq!(found, expect, "violations of {event}");
    }

    #[test]
    fn validation_cases() {
        let ok = json!({"class_uid": 3002, "time": 1, "user": {"name": "a"},
            "service": {"name": "s"}, "metadata": {"version": "1.5.0"},
            "unmapped": {"anything": {"goes": [1]}}});
        check(ok, &[]);
        check(json!([]), &["<event>: not a JSON object"]);
        check(json!({"class_uid": 9}), &["class_uid: no class with uid 9"]);
        check(
            json!({"class_uid": 3002, "time": "yesterday", "user": {"name": 5},
                "dst_endpoint": {"ip": "x".repeat(41), "port": 70000},
                "metadata": {"version": "1.5.0"}, "colour": "red"}),
            &[
                "colour: not an attribute of its class or object",
                "dst_endpoint.ip: longer than 40 characters",
                "dst_endpoint.port: outside 0..=65535",
                "time: expected an integer",
                "user.name: expected a string",
            ],
        );
        check(
            json!({"class_uid": 3002, "time": 1, "user": {}, "metadata": {"version": "1"}}),
            &["<event>: needs at least one of [\"service\", \"dst_endpoint\"]"],
        );
        check(
            json!({"class_uid": 3002, "time": 1, "user": {}, "service": {},
                "cloud": {"provider": "AWS"}, "metadata": {"version": "1"}}),
            &["cloud: belongs to profile `cloud`, not in metadata.profiles"],
        );
        check(
            json!({"class_uid": 3002, "time": 1, "user": {}, "service": {},
                "metadata": {"version": "1", "profiles": ["cloud"]}}),
            &["cloud: required attribute missing"],
        );
    }
}
