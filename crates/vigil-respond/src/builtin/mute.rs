//! `mute_rule`: mutes a rule for one entity (the `entity` parameter, `kind key`) for a time
//! (the `for` parameter, a day unless given, at most 30): the engine drops that rule's alerts
//! on that entity until then. Undo: the mute is lifted.

use serde_json::{Value, json};
use vigil_model::ActionRequest;
use vigil_store::RuleMute;

use super::{target_key, text_parameter};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

pub struct MuteRule;

const DEFAULT_SECS: u64 = 86_400;
const MAX_SECS: u64 = 30 * 86_400;

/// The rule, the entity as `kind key` (checked, and written as Vigil names it), the seconds.
fn what(request: &ActionRequest) -> Result<(String, String, u64)> {
    let rule = target_key(request)?.to_owned();
    let entity = text_parameter(request, "entity")?.ok_or_else(|| {
        Error::Failed("parameter entity: the entity to mute the rule for, as `kind key`".into())
    })?;
    let entity =
        vigil_policy::cases::entity(entity).map_err(|e| Error::Failed(format!("parameter entity: {e}")))?;
    let secs = match text_parameter(request, "for")? {
        None => DEFAULT_SECS,
        Some(text) => match vigil_policy::duration_secs(text) {
            Some(secs) if (60..=MAX_SECS).contains(&secs) => secs,
            _ => return Err(Error::Failed(format!("parameter for: {text:?} is not a time from 1m to 30d"))),
        },
    };
    Ok((rule, format!("{} {}", entity.kind.as_str(), entity.key), secs))
}

async fn muting(cx: &Cx, rule: &str, entity: &str) -> Result<Vec<String>> {
    let live = cx.store.live_mutes().await?;
    Ok(live.into_iter().filter(|m| m.rule_id == rule && m.entity == entity).map(|m| m.id).collect())
}

impl Action for MuteRule {
    fn name(&self) -> &'static str {
        "mute_rule"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (rule, entity, secs) = what(request)?;
            Ok(Plan {
                changes: vec![format!("drop rule {rule}'s alerts on {entity} for {} hours", secs / 3_600)],
                runnable: true,
                undo: self.undo(),
                facts: json!({"rule": rule, "entity": entity, "for_secs": secs}),
            })
        })
    }

    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (rule, entity, _) = what(request)?;
            Ok(json!({"rule": rule, "entity": entity, "muted_by": muting(cx, &rule, &entity).await?}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let (rule, entity, secs) = what(step.request)?;
            let now = cx.store.clock().now();
            let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2_000);
            let mute = RuleMute {
                id: step.key.to_owned(),
                rule_id: rule,
                entity,
                case_id: step.request.case.clone(),
                reason: format!("{} asked it", step.request.requested_by),
                muted_at: vigil_store::time::stamp(now),
                until: vigil_store::time::stamp(now + chrono::Duration::seconds(secs)),
                unmuted_at: None,
            };
            let effect = json!({"mute": mute.id, "until": mute.until});
            let mut tx = cx.store.write().await?;
            tx.mute_rule(&mute).await?;
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let live = cx.store.live_mutes().await?.iter().any(|m| m.id == step.key);
            Ok(Probe { holds: live, observed: json!({"muted": live}) })
        })
    }

    fn rollback<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let mut tx = cx.store.write().await?;
            let lifted = tx.unmute_rule(step.key).await?;
            tx.commit().await?;
            Ok(json!({"mute": step.key, "lifted": lifted}))
        })
    }

    fn verify_rollback<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let live = cx.store.live_mutes().await?.iter().any(|m| m.id == step.key);
            Ok(Probe { holds: !live, observed: json!({"muted": live}) })
        })
    }
}
