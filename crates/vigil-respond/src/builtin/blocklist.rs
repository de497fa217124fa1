//! `block_indicator`: adds an indicator to Vigil's blocklist feed for a time (the `for`
//! parameter, 7 days unless given, at most 90), which firewalls read as plain text or STIX 2.1.
//! Undo: the entry is taken off the feed.

use serde_json::{Value, json};
use vigil_model::ActionRequest;
use vigil_store::BlockEntry;

use super::{target_key, text_parameter};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

pub struct BlockIndicator;

const DEFAULT_SECS: u64 = 7 * 86_400;
const MAX_SECS: u64 = 90 * 86_400;

fn lifetime_secs(request: &ActionRequest) -> Result<u64> {
    let Some(text) = text_parameter(request, "for")? else { return Ok(DEFAULT_SECS) };
    match vigil_policy::duration_secs(text) {
        Some(secs) if (60..=MAX_SECS).contains(&secs) => Ok(secs),
        _ => {
            Err(Error::Failed(format!("parameter for: {text:?} is not a time from 1m to 90d (e.g. 24h, 7d)")))
        }
    }
}

async fn listed(cx: &Cx, indicator: &str) -> Result<Vec<String>> {
    Ok(cx
        .store
        .blocklist_live()
        .await?
        .into_iter()
        .filter(|e| e.indicator == indicator)
        .map(|e| e.id)
        .collect())
}

impl Action for BlockIndicator {
    fn name(&self) -> &'static str {
        "block_indicator"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let indicator = target_key(request)?;
            let secs = lifetime_secs(request)?;
            Ok(Plan {
                changes: vec![format!(
                    "add {indicator} to Vigil's blocklist feed (text and STIX) for {}",
                    words(secs)
                )],
                runnable: true,
                undo: self.undo(),
                facts: json!({"indicator": indicator, "for_secs": secs}),
            })
        })
    }

    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let indicator = target_key(request)?;
            Ok(json!({"indicator": indicator, "listed_by": listed(cx, indicator).await?}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let target = step
                .request
                .target
                .as_ref()
                .ok_or_else(|| Error::Failed("block_indicator needs a target".into()))?;
            let now = cx.store.clock().now();
            let secs = i64::try_from(lifetime_secs(step.request)?).unwrap_or(i64::MAX / 2_000);
            let entry = BlockEntry {
                id: step.key.to_owned(),
                indicator: target.key.to_string(),
                kind: target.kind.as_str().to_owned(),
                case_id: step.request.case.clone(),
                reason: format!(
                    "{} requested it for case {}",
                    step.request.requested_by,
                    step.request.case.as_ref().map_or("-", |c| c.as_str())
                ),
                added_at: vigil_store::time::stamp(now),
                expires_at: vigil_store::time::stamp(now + chrono::Duration::seconds(secs)),
                removed_at: None,
            };
            let effect =
                json!({"entry": entry.id, "indicator": entry.indicator, "expires_at": entry.expires_at});
            let mut tx = cx.store.write().await?;
            tx.block(&entry).await?;
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            // The probe reads the feed as a firewall would: the entry must be served.
            let served = cx.store.blocklist_live().await?.iter().any(|e| e.id == step.key);
            Ok(Probe { holds: served, observed: json!({"served_by_feed": served}) })
        })
    }

    fn rollback<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let mut tx = cx.store.write().await?;
            let removed = tx.unblock(step.key).await?;
            tx.commit().await?;
            Ok(json!({"entry": step.key, "taken_off": removed}))
        })
    }

    fn verify_rollback<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let served = cx.store.blocklist_live().await?.iter().any(|e| e.id == step.key);
            Ok(Probe { holds: !served, observed: json!({"served_by_feed": served}) })
        })
    }
}

fn words(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s => (s / 60, "minute"),
    };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}
