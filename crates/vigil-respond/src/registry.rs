//! The actions Vigil can run, by kind, and the plan of any request: an action's own, a
//! rollback's (undo what a run changed), or a note that nothing can run it yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use vigil_model::ActionRequest;
use vigil_store::RunStatus;

use crate::action::{Action, Cx, Plan, Undo};
use crate::builtin;
use crate::{Error, Result};

/// The parameter a rollback request names the request it undoes by.
pub const ROLLBACK_OF: &str = "rollback_of";

#[derive(Clone)]
pub struct Registry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::builtin()
    }
}

impl Registry {
    /// Vigil's own actions, which need no outside system.
    pub fn builtin() -> Registry {
        let empty = Registry { actions: BTreeMap::new() };
        empty
            .with(Arc::new(builtin::SnapshotEvidence))
            .with(Arc::new(builtin::OpenTicket))
            .with(Arc::new(builtin::RevokeVigilToken))
            .with(Arc::new(builtin::BlockIndicator))
            .with(Arc::new(builtin::MuteRule))
    }

    /// The registry with `action` added (a connector), replacing one of the same kind.
    pub fn with(mut self, action: Arc<dyn Action>) -> Registry {
        self.actions.insert(action.name(), action);
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(kind)
    }

    /// What running `request` would change now.
    pub async fn plan(&self, cx: &Cx, request: &ActionRequest) -> Result<Plan> {
        if let Some(of) = rollback_of(request)? {
            return self.rollback_plan(cx, request, of).await;
        }
        match self.get(&request.action) {
            Some(action) => action.plan(cx, request).await,
            None => {
                let kind = request.kind();
                let undo = match kind {
                    Some(k) if k.undo.is_some() => Undo::Rollback,
                    Some(k) if k.self_undoing => Undo::NothingToUndo,
                    _ => Undo::Irreversible,
                };
                let target = request
                    .target
                    .as_ref()
                    .map_or_else(|| "the case".to_owned(), |t| format!("{} {}", t.kind.as_str(), t.key));
                let change = match kind {
                    Some(k) => format!(
                        "{} on {target} (no connector for {} is configured: Vigil cannot run it yet)",
                        k.summary, k.name
                    ),
                    None => format!("Vigil has no action called {:?}", request.action),
                };
                Ok(Plan { changes: vec![change], runnable: false, undo, facts: json!({}) })
            }
        }
    }

    /// The plan, or when it cannot be made (the target is gone, a parameter is wrong) a plan
    /// that says so and cannot run: a playbook's proposal is kept either way.
    pub async fn plan_or_reason(&self, cx: &Cx, request: &ActionRequest) -> Plan {
        match self.plan(cx, request).await {
            Ok(plan) => plan,
            Err(e) => Plan {
                changes: vec![format!("cannot be planned: {e}")],
                runnable: false,
                undo: Undo::Irreversible,
                facts: json!({"error": e.to_string()}),
            },
        }
    }

    async fn rollback_plan(&self, cx: &Cx, request: &ActionRequest, of: &str) -> Result<Plan> {
        let original = cx
            .store
            .action_request(of)
            .await?
            .ok_or_else(|| Error::TargetGone(format!("there is no request {of} to roll back")))?;
        let kind = original
            .request
            .kind()
            .ok_or_else(|| Error::Failed(format!("{} is no action of Vigil's", original.request.action)))?;
        if kind.undo != Some(request.action.as_str()) || original.request.target != request.target {
            return Err(Error::Failed(format!(
                "{} on the same target undoes {}, not {}",
                kind.undo.unwrap_or("nothing"),
                kind.name,
                request.action
            )));
        }
        let action = self
            .get(kind.name)
            .filter(|a| a.undo() == Undo::Rollback)
            .ok_or_else(|| Error::Failed(format!("{} has no registered rollback", kind.name)))?;
        let run =
            cx.store.run_of(of).await?.filter(|r| r.status == RunStatus::Succeeded).ok_or_else(|| {
                Error::Failed(format!(
                    "request {of} has no run that succeeded: there is nothing to roll back"
                ))
            })?;
        let mut changes = vec![format!(
            "undo what run {} of {} changed, restoring the state captured before it",
            run.id,
            action.name()
        )];
        let undone = original.plan["changes"].as_array().into_iter().flatten().filter_map(|c| c.as_str());
        changes.extend(undone.map(|c| format!("put back: {c}")));
        Ok(Plan {
            changes,
            runnable: true,
            undo: Undo::Irreversible,
            facts: json!({"rollback_of": of, "run": run.id, "original_plan_sha256": original.plan_sha256}),
        })
    }
}

/// The request a rollback request undoes, if it is one.
pub fn rollback_of(request: &ActionRequest) -> Result<Option<&str>> {
    match request.parameters.get(ROLLBACK_OF) {
        None => Ok(None),
        Some(serde_json::Value::String(id)) => Ok(Some(id)),
        Some(other) => Err(Error::Failed(format!("parameter {ROLLBACK_OF}: a request id, not {other}"))),
    }
}
