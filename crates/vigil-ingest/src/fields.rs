//! Small helpers for reading source records: dotted paths, case-insensitive keys, and values
//! that sources write as strings or numbers interchangeably.

use serde_json::{Map, Value};

/// The value at a dotted path (`userIdentity.sessionContext.sessionIssuer.arn`).
pub fn get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// A top-level key looked up exactly, then ignoring ASCII case (some exports lowercase keys).
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Removes a top-level key, exactly or ignoring ASCII case.
pub fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if let Some(v) = map.shift_remove(key) {
        return Some(v);
    }
    let found = map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
    map.shift_remove(&found)
}

/// A value as text: strings as they are, numbers and booleans printed. Empty strings and the
/// placeholders sources use for "nothing" (`-`, `null`) are `None`.
pub fn text(value: &Value) -> Option<String> {
    let s = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s != "-" && s != "null").then_some(s)
}

pub fn text_at(value: &Value, path: &str) -> Option<String> {
    get(value, path).and_then(text)
}

/// An integer written as a number, a decimal string or a `0x` hex string.
pub fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}

/// A boolean written as JSON or as `"true"`/`"True"`/`"false"`.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A field name as Sigma rules spell it: Windows writes some EventData names with spaces
/// (Defender's `Threat Name`), rules write them without.
pub fn clean_field_name(name: &str) -> String {
    if name.contains(' ') { name.replace(' ', "") } else { name.to_owned() }
}

/// Whether text is an IP address. Accepts zero-padded IPv4 octets (`075.050.255.67`), which
/// CloudTrail writes and `std` rejects, normalizing them.
pub fn ip(text: &str) -> Option<String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<std::net::IpAddr>() {
        return Some(addr.to_string());
    }
    let octets: Vec<&str> = t.split('.').collect();
    if octets.len() == 4 && octets.iter().all(|o| !o.is_empty() && o.len() <= 3) {
        let parsed: Option<Vec<u8>> = octets.iter().map(|o| o.parse::<u8>().ok()).collect();
        if let Some(p) = parsed {
            return Some(format!("{}.{}.{}.{}", p[0], p[1], p[2], p[3]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn readers_accept_the_shapes_sources_use() {
        let v = json!({"a": {"b": "x"}, "Pid": "0x1a4", "n": 7, "flag": "True", "dash": "-"});
        assert_eq!(text_at(&v, "a.b").as_deref(), Some("x"));
        assert_eq!(int(&v["Pid"]), Some(420));
        assert_eq!(int(&v["n"]), Some(7));
        assert_eq!(boolean(&v["flag"]), Some(true));
        assert_eq!(text(&v["dash"]), None);
        let map = v.as_object().cloned().unwrap_or_default();
        assert_eq!(get_ci(&map, "pid"), Some(&json!("0x1a4")));
        assert_eq!(clean_field_name("Threat Name"), "ThreatName");
    }

    #[test]
    fn ip_accepts_zero_padded_octets_and_rejects_names() {
        assert_eq!(ip("075.050.255.67").as_deref(), Some("75.50.255.67"));
        assert_eq!(ip("::1").as_deref(), Some("::1"));
        assert_eq!(ip("ecs.amazonaws.com"), None);
        assert_eq!(ip("1.2.3.256"), None);
    }
}
