//! What goes into a case's packet, read from the store: the case and its comments and
//! tickets, its timeline, the raw events its alerts cite, the alerts, the recommendation, each
//! action request with its approvals and runs (and each run's log, the state before and after),
//! the evidence files, and the audit records about the case, its actions and its evidence, with
//! the checkpoints the trail holds. `from` and `to` cut events, alerts and records to a period.

use serde_json::{Value, json};
use vigil_model::CaseId;
use vigil_store::Store;
use vigil_store::audit::chain::{AuditRecord, Checkpoint};

use crate::{Error, Result};

/// A packet's contents before it is written.
#[derive(Clone, Debug, Default)]
pub struct Contents {
    pub case: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub created_at: String,
    /// Files by their path under `vigil-packet/`, in the order they are written.
    pub files: Vec<(String, Vec<u8>)>,
    pub audit: Vec<AuditRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

fn within(time: &str, from: Option<&str>, to: Option<&str>) -> bool {
    from.is_none_or(|f| time >= f) && to.is_none_or(|t| time <= t)
}

fn pretty(value: &Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads case `id` from `store` into a packet's contents.
pub async fn gather(store: &Store, id: &CaseId, from: Option<&str>, to: Option<&str>) -> Result<Contents> {
    let case = store.case(id).await?.ok_or_else(|| Error::NoCase(id.to_string()))?;
    let mut files = Vec::new();
    let comments = store.case_comments(id).await?;
    let tickets = store.case_tickets(id).await?;
    files.push((
        "case.json".to_owned(),
        pretty(&json!({"case": case, "comments": comments, "tickets": tickets}))?,
    ));
    let timeline: Vec<&Value> = case.body["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["time"].as_str().is_none_or(|t| within(t, from, to)))
        .collect();
    files.push(("timeline.json".to_owned(), pretty(&json!(timeline))?));

    let alerts: Vec<_> =
        store.case_alerts(id).await?.into_iter().filter(|a| within(&a.time, from, to)).collect();
    let mut cited: Vec<String> = Vec::new();
    for alert in &alerts {
        for uid in
            alert.finding["evidence"].as_array().into_iter().flatten().filter_map(|e| e["event_uid"].as_str())
        {
            if !cited.iter().any(|c| c == uid) {
                cited.push(uid.to_owned());
            }
        }
    }
    let mut events = Vec::new();
    for uid in &cited {
        let line = match store.event(uid).await? {
            Some(event) => {
                // The raw record as it arrived: text when it is text, hex when it is not.
                let raw = match std::str::from_utf8(&event.raw) {
                    Ok(text) => json!({"raw": text}),
                    Err(_) => json!({"raw_hex": hex::encode(&event.raw)}),
                };
                let mut line = json!({"id": event.id, "seq": event.seq, "received_at": event.received_at,
                    "source": event.source, "format": event.format, "time": event.time, "ocsf": event.ocsf});
                if let (Some(line), Some(raw)) = (line.as_object_mut(), raw.as_object()) {
                    line.extend(raw.clone());
                }
                line
            }
            None => json!({"id": uid, "missing": "not in the store (purged by retention?)"}),
        };
        events.extend_from_slice(serde_json::to_string(&line)?.as_bytes());
        events.push(b'\n');
    }
    files.push(("events.ndjson".to_owned(), events));
    files.push(("alerts.json".to_owned(), pretty(&json!(alerts))?));
    let recommendation = store
        .recommendation(id)
        .await?
        .map(|(version, body)| json!({"version": version, "recommendation": body}));
    files.push(("recommendation.json".to_owned(), pretty(&json!(recommendation))?));

    let mut actions = Vec::new();
    let mut targets = vec![format!("case:{id}")];
    for request in store.case_action_requests(id).await? {
        let approvals = store.approvals(&request.id).await?;
        let mut runs = Vec::new();
        for run in store.runs_of(&request.id).await? {
            let log = store.run_log(&run.id).await?;
            runs.push(json!({"run": run, "log": log}));
        }
        targets.push(format!("action:{}", request.id));
        actions.push(json!({"request": request, "approvals": approvals, "runs": runs}));
    }
    files.push(("actions.json".to_owned(), pretty(&json!(actions))?));

    let evidence = store.case_evidence(id).await?;
    files.push(("evidence.json".to_owned(), pretty(&json!(evidence))?));
    for meta in &evidence {
        let bytes = store.evidence_content(&meta.sha256).await?.ok_or_else(|| {
            Error::Packet(format!("evidence {} of case {id} is not in the vault", meta.sha256))
        })?;
        targets.push(format!("evidence:{}", meta.sha256));
        files.push((format!("evidence/{}", meta.sha256), bytes));
    }

    let audit: Vec<AuditRecord> =
        store.audit_records_for(&targets).await?.into_iter().filter(|r| within(&r.at, from, to)).collect();
    Ok(Contents {
        case: id.to_string(),
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
        created_at: store.clock().stamp(),
        files,
        audit,
        checkpoints: store.audit_checkpoints().await?,
    })
}
