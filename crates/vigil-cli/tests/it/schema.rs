//! A JSON Schema check of the parts the OpenAPI document uses (`$ref` into
//! `components/schemas`, types, properties, items, enums, `anyOf`/`oneOf`, bounds), strict in
//! one way the standard is not: an object whose schema names its properties may carry no other
//! field, so an answer that grows a field its schema does not name fails as one that lost one.

use serde_json::Value;

/// Every place `value` departs from `schema`, each with its JSON pointer.
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, "", &mut found);
    found
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    let rule = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return found.push(format!("{at}: no value is allowed here")),
        Value::Object(rule) => rule,
        other => return found.push(format!("{at}: the schema {other} is not a schema")),
    };
    if let Some(reference) = rule.get("$ref").and_then(Value::as_str) {
        match reference.strip_prefix('#').and_then(|pointer| doc.pointer(pointer)) {
            Some(target) => check(doc, target, value, at, found),
            None => found.push(format!("{at}: {reference} does not resolve")),
        }
    }
    if let Some(types) = rule.get("type") {
        let names: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.iter().any(|name| is_type(value, name)) {
            found.push(format!("{at}: {} is not {}", short(value), names.join(" or ")));
            return;
        }
    }
    if let Some(values) = rule.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        found.push(format!("{at}: {} is not one of {}", short(value), Value::Array(values.clone())));
    }
    if let Some(constant) = rule.get("const")
        && constant != value
    {
        found.push(format!("{at}: {} is not {constant}", short(value)));
    }
    for (name, bound, holds) in [
        ("minimum", rule.get("minimum"), (|v: f64, b: f64| v >= b) as fn(f64, f64) -> bool),
        ("maximum", rule.get("maximum"), |v, b| v <= b),
    ] {
        if let (Some(v), Some(b)) = (value.as_f64(), bound.and_then(Value::as_f64))
            && !holds(v, b)
        {
            found.push(format!("{at}: {v} is past the {name} {b}"));
        }
    }
    if let Some(all) = rule.get("allOf").and_then(Value::as_array) {
        for branch in all {
            check(doc, branch, value, at, found);
        }
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(branches) = rule.get(keyword).and_then(Value::as_array) {
            let fits = branches.iter().filter(|b| violations_at(doc, b, value, at).is_empty()).count();
            if fits == 0 || (exactly_one && fits > 1) {
                let why: Vec<String> =
                    branches.iter().flat_map(|b| violations_at(doc, b, value, at)).take(6).collect();
                found.push(format!("{at}: {fits} of the {keyword} branches fit ({})", why.join("; ")));
            }
        }
    }
    if let Value::Object(fields) = value {
        let properties = rule.get("properties").and_then(Value::as_object);
        for name in rule.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = name.as_str()
                && !fields.contains_key(name)
            {
                found.push(format!("{at}: the field {name:?} is missing"));
            }
        }
        for (name, field) in fields {
            let here = format!("{at}/{name}");
            match (properties.and_then(|p| p.get(name)), rule.get("additionalProperties")) {
                (Some(property), _) => check(doc, property, field, &here, found),
                (None, Some(extra)) => check(doc, extra, field, &here, found),
                (None, None) if properties.is_some() => {
                    found.push(format!("{here}: a field the schema does not name"));
                }
                (None, None) => {}
            }
        }
    }
    if let Value::Array(elements) = value {
        let prefix = rule.get("prefixItems").and_then(Value::as_array);
        for (i, element) in elements.iter().enumerate() {
            let here = format!("{at}/{i}");
            match prefix.and_then(|p| p.get(i)) {
                Some(item) => check(doc, item, element, &here, found),
                None => {
                    if let Some(items) = rule.get("items") {
                        check(doc, items, element, &here, found);
                    }
                }
            }
        }
        let count = elements.len() as u64;
        if rule.get("minItems").and_then(Value::as_u64).is_some_and(|min| count < min) {
            found.push(format!("{at}: {count} items, fewer than allowed"));
        }
        if rule.get("maxItems").and_then(Value::as_u64).is_some_and(|max| count > max) {
            found.push(format!("{at}: {count} items, more than allowed"));
        }
    }
}

fn violations_at(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, at, &mut found);
    found
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 { format!("{}…", text.chars().take(80).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::violations;

    #[test]
    fn the_check_finds_a_missing_field_a_wrong_type_an_unnamed_field_and_a_bad_reference() {
        let doc =
            json!({"components": {"schemas": {"State": {"type": "string", "enum": ["new", "closed"]}}}});
        let schema = json!({
            "type": "object",
            "required": ["id", "state"],
            "properties": {
                "id": {"type": "integer", "minimum": 0},
                "state": {"$ref": "#/components/schemas/State"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "owner": {"$ref": "#/components/schemas/Nobody"},
            },
        });
        assert!(violations(&doc, &schema, &json!({"id": 1, "state": "new", "tags": ["a"]})).is_empty());
        let found = violations(&doc, &schema, &json!({"id": -1, "tags": [2], "extra": true, "owner": 1}));
        let text = found.join("\n");
        for expected in [
            "\"state\" is missing",
            "/id: -1 is past",
            "/tags/0: 2 is not string",
            "/extra: a field",
            "Nobody does not resolve",
        ] {
            assert!(text.contains(expected), "{expected} in:\n{text}");
        }
        assert!(violations(&doc, &schema, &json!({"id": 1, "state": "gone"}))[0].contains("not one of"));
    }

    #[test]
    fn one_of_needs_exactly_one_branch_and_any_of_at_least_one() {
        let doc = json!({});
        let one = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
        assert_eq!(violations(&doc, &one, &json!(1)).len(), 1, "1 fits both branches");
        assert!(violations(&doc, &one, &json!(1.5)).is_empty());
        let any = json!({"anyOf": [{"type": "integer"}, {"type": "null"}]});
        assert!(violations(&doc, &any, &json!(null)).is_empty());
        assert_eq!(violations(&doc, &any, &json!("x")).len(), 1);
    }
}
