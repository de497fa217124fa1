//! The OCSF project's raw → OCSF example pairs for OCSF 1.5: where Vigil reads the raw format,
//! its event agrees with the example on class, activity, time and the key fields.
//!
//! The examples for sources Vigil does not ingest (EKS audit, Route 53 resolver, VPC flow,
//! WAF) are listed, not compared.

use serde_json::Value;
use vigil_ingest::{ReadOptions, Sample, detect};

use crate::{data, read};

/// Paths compared when the example has a value there.
const KEY_FIELDS: &[&str] = &[
    "class_uid",
    "category_uid",
    "activity_id",
    "type_uid",
    "time",
    "severity_id",
    "api.operation",
    "api.service.name",
    "api.request.uid",
    "api.version",
    "src_endpoint.ip",
    "src_endpoint.domain",
    "cloud.provider",
    "cloud.region",
    "cloud.account.uid",
    "actor.user.uid",
    "actor.user.credential_uid",
    "actor.user.account.uid",
    "actor.session.issuer",
];

const NOT_INGESTED: &[&str] = &["EKS Audit Logs", "Route53", "VPC Flowlogs", "WAF"];

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// The examples ship some expected outputs with trailing commas; strip them before parsing.
fn lenient_json(text: &str) -> Value {
    let mut cleaned = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut in_str = false;
    let mut esc = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            cleaned.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        cleaned.push(c);
    }
    serde_json::from_str(&cleaned).unwrap_or_else(|e| panic!("example output does not parse: {e}"))
}

#[test]
fn ocsf_1_5_examples_agree_on_key_fields() {
    let root = data().join("ocsf-examples/mappings/markdown/AWS/v1.5.0");
    let raws = crate::files(&root, &[".raw"]);
    let mut compared = 0;
    let mut problems = Vec::new();
    for raw in raws {
        let expected_path = raw.with_extension("ocsf");
        let expected = lenient_json(
            &std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display())),
        );
        assert_eq!(
            at(&expected, "metadata.version").and_then(Value::as_str),
            Some("1.5.0"),
            "{}",
            expected_path.display()
        );
        let product = raw
            .components()
            .rev()
            .nth(2)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let head = std::fs::read(&raw).unwrap_or_else(|e| panic!("{}: {e}", raw.display()));
        let first = serde_json::from_slice::<Value>(&head).ok();
        let detected = detect(&Sample { path: &raw, head: &head, first_json: first.as_ref() });
        let raw_product = raw
            .components()
            .rev()
            .nth(3)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        if NOT_INGESTED.iter().any(|n| *n == product || *n == raw_product) {
            continue;
        }
        assert!(detected.is_some(), "{}: no decoder recognised it", raw.display());
        let (events, dead) = read(&raw, &ReadOptions::default());
        assert!(dead.is_empty(), "{}: {dead:?}", raw.display());
        assert_eq!(events.len(), 1, "{}", raw.display());
        let ours = serde_json::to_value(&events[0]).unwrap_or_default();
        for path in KEY_FIELDS {
            if let Some(want) = at(&expected, path) {
                let got = at(&ours, path);
                if got != Some(want) {
                    problems.push(format!("{}: {path}: expected {want}, got {got:?}", raw.display()));
                }
            }
        }
        compared += 1;
    }
    assert_eq!(compared, 3, "the three CloudTrail examples are compared");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
