//! Vigil's blocklist, as firewalls read it: plain text, one indicator a line (what PAN-OS,
//! FortiGate and pfSense call an external dynamic list), and a STIX 2.1 bundle of indicators.
//! Both serve what is listed now: entries taken off or past their time are not served.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_store::BlockEntry;

use crate::auth::{Auth, perm};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn answer(media: &'static str, body: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (headers, body).into_response()
}

/// The indicators, one a line, each once.
pub async fn text(_: Auth<perm::FeedRead>, State(state): State<AppState>) -> ApiResult<Response> {
    let mut lines: Vec<String> =
        state.store.blocklist_live().await?.into_iter().map(|e| e.indicator).collect();
    lines.sort();
    lines.dedup();
    let mut body = lines.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    Ok(answer("text/plain; charset=utf-8", body.into_bytes()))
}

/// The indicators as a STIX 2.1 bundle.
pub async fn stix(_: Auth<perm::FeedRead>, State(state): State<AppState>) -> ApiResult<Response> {
    let entries = state.store.blocklist_live().await?;
    let objects: Vec<Value> = entries.iter().filter_map(indicator).collect();
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid_from(&ids.join("\n"))),
        "objects": objects,
    });
    let body = serde_json::to_vec(&bundle).map_err(ApiError::internal)?;
    Ok(answer("application/stix+json;version=2.1", body))
}

/// One entry as a STIX indicator; an indicator Vigil cannot write as a pattern is left out.
fn indicator(entry: &BlockEntry) -> Option<Value> {
    let pattern = match entry.indicator.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(ip) => format!("[ipv4-addr:value = '{ip}']"),
        std::net::IpAddr::V6(ip) => format!("[ipv6-addr:value = '{ip}']"),
    };
    Some(json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{}", uuid_from(&entry.id)),
        "created": entry.added_at,
        "modified": entry.added_at,
        "name": format!("Vigil blocklist: {}", entry.indicator),
        "description": entry.reason,
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": entry.added_at,
        "valid_until": entry.expires_at,
    }))
}

/// A UUID (version 5 layout) derived from `name`: the same entry keeps the same STIX id.
fn uuid_from(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stix_ids_are_stable_well_formed_uuids() {
        let id = uuid_from("run_act_1_1");
        assert_eq!(id, uuid_from("run_act_1_1"));
        assert_ne!(id, uuid_from("run_act_2_1"));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "5", "version 5 layout");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "RFC 4122 variant");
    }

    #[test]
    fn an_indicator_that_is_not_an_address_is_not_written_into_a_pattern() {
        let entry = |indicator: &str| BlockEntry {
            id: "k".into(),
            indicator: indicator.into(),
            kind: "ip".into(),
            case_id: None,
            reason: "C2".into(),
            added_at: "2026-12-02T10:00:00.000000Z".into(),
            expires_at: "2026-12-09T10:00:00.000000Z".into(),
            removed_at: None,
        };
        assert_eq!(
            indicator(&entry("203.0.113.7")).expect("v4")["pattern"],
            "[ipv4-addr:value = '203.0.113.7']"
        );
        assert_eq!(
            indicator(&entry("2001:db8::1")).expect("v6")["pattern"],
            "[ipv6-addr:value = '2001:db8::1']"
        );
        assert!(indicator(&entry("1.2.3.4'] OR [x:y = 'z")).is_none());
    }
}
