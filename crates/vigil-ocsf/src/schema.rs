//! A resolved OCSF schema (as `ocsf-lib` compiles it), reduced to what validation needs.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    Required,
    Recommended,
    Optional,
}

/// The JSON shape a scalar type must have on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    String,
    Integer,
    Float,
    Boolean,
    Json,
}

#[derive(Clone, Debug)]
pub struct TypeDef {
    pub base: Base,
    pub max_len: Option<usize>,
    pub range: Option<(i64, i64)>,
}

#[derive(Clone, Debug)]
pub struct AttributeDef {
    /// Scalar type name (`string_t`, `port_t`…) or, for objects, the object's name.
    pub type_name: String,
    pub object_type: Option<String>,
    pub is_array: bool,
    pub requirement: Requirement,
    /// Legal values of an enum attribute, as their string forms (`"1"`, `"99"`).
    pub enum_values: Option<HashSet<String>>,
    /// The profile that adds this attribute, if any: it is legal only when the event declares it.
    pub profile: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Constraints {
    pub at_least_one: Vec<String>,
    pub just_one: Vec<String>,
}

/// A class or an object: a named set of attributes with constraints.
#[derive(Clone, Debug)]
pub struct Shape {
    pub name: String,
    pub attributes: HashMap<String, AttributeDef>,
    pub constraints: Constraints,
}

/// The resolved schema: classes by uid, objects and scalar types by name.
#[derive(Clone, Debug)]
pub struct Schema {
    pub version: String,
    pub classes: HashMap<u32, Shape>,
    pub objects: HashMap<String, Shape>,
    pub types: HashMap<String, TypeDef>,
}

impl Schema {
    /// Parses a compiled schema document (the JSON `ocsf-lib` writes).
    pub fn from_json(bytes: &[u8]) -> Result<Schema> {
        let doc: Value = serde_json::from_slice(bytes).map_err(Error::SchemaJson)?;
        let version =
            doc.get("version").and_then(Value::as_str).ok_or(Error::SchemaSection("version"))?.to_owned();
        let types = section(&doc, "types")?
            .iter()
            .map(|(name, def)| (name.clone(), type_def(name, def)))
            .collect::<HashMap<_, _>>();
        let mut classes = HashMap::new();
        for (name, def) in section(&doc, "classes")? {
            let uid = def
                .get("uid")
                .and_then(Value::as_u64)
                .and_then(|u| u32::try_from(u).ok())
                .ok_or_else(|| shape_error("class", name, "no integer uid"))?;
            classes.insert(uid, shape("class", name, def)?);
        }
        if let Some(base) = doc.get("base_event") {
            classes.entry(0).or_insert(shape("class", "base_event", base)?);
        }
        let mut objects = HashMap::new();
        for (name, def) in section(&doc, "objects")? {
            objects.insert(name.clone(), shape("object", name, def)?);
        }
        Ok(Schema { version, classes, objects, types })
    }
}

fn section<'a>(doc: &'a Value, key: &'static str) -> Result<&'a Map<String, Value>> {
    doc.get(key).and_then(Value::as_object).ok_or(Error::SchemaSection(key))
}

fn shape_error(what: &'static str, name: &str, problem: &'static str) -> Error {
    Error::SchemaShape { what, name: name.to_owned(), problem }
}

fn type_def(name: &str, def: &Value) -> TypeDef {
    // A derived type (`port_t`) names its base in `type`; the base types name nothing.
    let base_name = def.get("type").and_then(Value::as_str).unwrap_or(name);
    let base = match base_name {
        "integer_t" | "long_t" => Base::Integer,
        "float_t" => Base::Float,
        "boolean_t" => Base::Boolean,
        "json_t" => Base::Json,
        _ => Base::String,
    };
    let max_len = def.get("max_len").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
    let range = def
        .get("range")
        .and_then(Value::as_array)
        .and_then(|r| Some((r.first()?.as_i64()?, r.get(1)?.as_i64()?)));
    TypeDef { base, max_len, range }
}

fn shape(what: &'static str, name: &str, def: &Value) -> Result<Shape> {
    let attrs = def
        .get("attributes")
        .and_then(Value::as_object)
        .ok_or_else(|| shape_error(what, name, "no attributes"))?;
    let mut attributes = HashMap::with_capacity(attrs.len());
    for (attr_name, attr) in attrs {
        let type_name = attr
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| shape_error(what, name, "an attribute has no type"))?
            .to_owned();
        let requirement = match attr.get("requirement").and_then(Value::as_str) {
            Some("required") => Requirement::Required,
            Some("recommended") => Requirement::Recommended,
            _ => Requirement::Optional,
        };
        let enum_values =
            attr.get("enum").and_then(Value::as_object).map(|e| e.keys().cloned().collect::<HashSet<_>>());
        attributes.insert(
            attr_name.clone(),
            AttributeDef {
                type_name,
                object_type: attr.get("object_type").and_then(Value::as_str).map(str::to_owned),
                is_array: attr.get("is_array").and_then(Value::as_bool).unwrap_or(false),
                requirement,
                enum_values,
                profile: attr.get("profile").and_then(Value::as_str).map(str::to_owned),
            },
        );
    }
    let list = |key: &str| -> Vec<String> {
        def.get("constraints")
            .and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    Ok(Shape {
        name: name.to_owned(),
        attributes,
        constraints: Constraints { at_least_one: list("at_least_one"), just_one: list("just_one") },
    })
}
