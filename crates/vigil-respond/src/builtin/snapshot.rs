//! `snapshot_evidence`: the case's alerts and the raw records of the events they rest on,
//! sealed into the evidence vault as one JSON document addressed by its SHA-256.

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::case_of;
use crate::Result;
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};

pub struct SnapshotEvidence;

/// The event ids the case's alerts cite, in order, once each.
fn cited_events(alerts: &[vigil_store::AlertRow]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for alert in alerts {
        let cited = alert.finding["evidence"].as_array().into_iter().flatten();
        for uid in cited.filter_map(|e| e["event_uid"].as_str()) {
            if !ids.iter().any(|i| i == uid) {
                ids.push(uid.to_owned());
            }
        }
    }
    ids
}

impl Action for SnapshotEvidence {
    fn name(&self) -> &'static str {
        "snapshot_evidence"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn plan<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            let alerts = cx.store.case_alerts(&case.id).await?;
            let events = cited_events(&alerts);
            Ok(Plan {
                changes: vec![format!(
                    "copy case {}'s {} alerts and the raw records of the {} events they cite into the evidence vault",
                    case.id,
                    alerts.len(),
                    events.len()
                )],
                runnable: true,
                undo: self.undo(),
                facts: json!({"case": case.id, "alerts": alerts.len(), "events": events.len()}),
            })
        })
    }

    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            let snapshots = cx.store.case_evidence_count(&case.id).await?;
            Ok(json!({"case": case.id, "evidence_items": snapshots}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let case = case_of(cx, step.request).await?;
            let alerts = cx.store.case_alerts(&case.id).await?;
            let mut events = Vec::new();
            for id in cited_events(&alerts) {
                let Some(event) = cx.store.event(&id).await? else {
                    events.push(json!({"id": id, "missing": "not in the store (purged by retention?)"}));
                    continue;
                };
                // The raw record as it arrived: text when it is text, hex when it is not.
                let raw = match std::str::from_utf8(&event.raw) {
                    Ok(text) => json!({"raw": text}),
                    Err(_) => json!({"raw_hex": hex::encode(&event.raw)}),
                };
                let mut record = json!({
                    "id": event.id, "source": event.source, "format": event.format,
                    "received_at": event.received_at, "ocsf": event.ocsf,
                });
                if let (Some(record), Some(raw)) = (record.as_object_mut(), raw.as_object()) {
                    record.extend(raw.clone());
                }
                events.push(record);
            }
            let document = json!({
                "kind": "vigil.evidence_snapshot", "case": case.id, "run": step.key,
                "taken_at": cx.store.clock().stamp(), "alerts": alerts, "events": events,
            });
            let bytes = serde_json::to_vec_pretty(&document)?;
            let mut tx = cx.store.write().await?;
            let name = format!("snapshot-{}.json", case.id);
            let (sha256, _) = tx
                .add_evidence(&bytes, "application/json", &name, &format!("case:{}", case.id), &cx.by)
                .await?;
            let effect = json!({"evidence_sha256": sha256, "bytes": bytes.len(), "events": events.len()});
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(super::sealed_evidence_holds(cx, step.key))
    }
}
