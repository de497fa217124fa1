//! `revoke_vigil_token`: revokes a user's live Vigil API tokens (or the one the `token`
//! parameter names) and ends their browser sessions. Nothing to undo: the owner signs in again
//! or is issued a new token.

use serde_json::{Value, json};
use vigil_model::{ActionRequest, TokenId, UserId};

use super::{target_key, text_parameter};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

pub struct RevokeVigilToken;

/// The live tokens the request revokes, by id.
async fn planned_tokens(cx: &Cx, request: &ActionRequest) -> Result<(UserId, Vec<String>)> {
    let user = UserId::from(target_key(request)?);
    if cx.store.user(&user).await?.is_none() {
        return Err(Error::TargetGone(format!("user {user} is not a Vigil user")));
    }
    let only = text_parameter(request, "token")?;
    let now = cx.store.clock().stamp();
    let tokens: Vec<String> = cx
        .store
        .tokens()
        .await?
        .into_iter()
        .filter(|t| t.owner == user && t.revoked_at.is_none() && t.expires_at > now)
        .map(|t| t.id.to_string())
        .filter(|id| only.is_none_or(|o| o == id))
        .collect();
    if let Some(only) = only
        && tokens.is_empty()
    {
        return Err(Error::TargetGone(format!("{user} has no live token {only}")));
    }
    Ok((user, tokens))
}

impl Action for RevokeVigilToken {
    fn name(&self) -> &'static str {
        "revoke_vigil_token"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn plan<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (user, tokens) = planned_tokens(cx, request).await?;
            let mut changes: Vec<String> =
                tokens.iter().map(|t| format!("revoke {user}'s API token {t}")).collect();
            if text_parameter(request, "token")?.is_none() {
                changes.push(format!("end every browser session of {user}"));
            }
            Ok(Plan {
                changes,
                runnable: true,
                undo: self.undo(),
                facts: json!({"user": user, "tokens": tokens}),
            })
        })
    }

    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (user, tokens) = planned_tokens(cx, request).await?;
            let sessions = cx.store.live_sessions_of(&user, None).await?;
            Ok(json!({"user": user, "live_tokens": tokens, "live_sessions": sessions}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let user = UserId::from(target_key(step.request)?);
            let tokens: Vec<String> = step.prior["live_tokens"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            let all_sessions = text_parameter(step.request, "token")?.is_none();
            let at = cx.store.clock().stamp();
            let mut tx = cx.store.write().await?;
            let mut revoked = Vec::new();
            for id in &tokens {
                match tx.revoke_token(&TokenId::from(id.as_str()), &cx.by).await {
                    Ok(()) => revoked.push(id.clone()),
                    // Revoked since the precheck, by someone else: the effect holds all the same.
                    Err(vigil_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let sessions = if all_sessions { tx.end_sessions_of(&user).await? } else { 0 };
            let effect = json!({"user": user, "revoked": revoked, "sessions_ended": sessions, "at": at});
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let user = UserId::from(target_key(step.request)?);
            let planned: Vec<&str> = step.prior["live_tokens"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .collect();
            let still_live: Vec<String> = cx
                .store
                .tokens()
                .await?
                .into_iter()
                .filter(|t| t.revoked_at.is_none() && planned.contains(&t.id.as_str()))
                .map(|t| t.id.to_string())
                .collect();
            // A session begun after the revocation is the owner signing in again, not a failure.
            let at = cx.store.effect(step.key).await?.and_then(|e| e["at"].as_str().map(str::to_owned));
            let sessions = match (&at, text_parameter(step.request, "token")?) {
                (Some(at), None) => cx.store.live_sessions_of(&user, Some(at)).await?,
                _ => 0,
            };
            Ok(Probe {
                holds: at.is_some() && still_live.is_empty() && sessions == 0,
                observed: json!({"still_live_tokens": still_live, "sessions_from_before": sessions}),
            })
        })
    }
}
