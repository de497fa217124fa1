//! `remove_privileged_groups`: an account taken out of the privileged groups the site names,
//! one group at a time. The precheck keeps the groups it was in; a removal refused part way
//! leaves the executor to put back the groups already done (the rollback), which it verifies.

use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::Directory;
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

pub struct RemovePrivilegedGroups {
    dir: Arc<Directory>,
}

impl RemovePrivilegedGroups {
    pub fn new(dir: Arc<Directory>) -> RemovePrivilegedGroups {
        RemovePrivilegedGroups { dir }
    }
}

/// The DN and groups a precheck kept.
fn kept(prior: &Value) -> Result<(&str, Vec<String>)> {
    let dn = prior["dn"]
        .as_str()
        .ok_or_else(|| Error::Failed("the precheck kept no account DN: nothing to act on".into()))?;
    let groups =
        prior["groups"].as_array().into_iter().flatten().filter_map(|g| g.as_str().map(str::to_owned));
    Ok((dn, groups.collect()))
}

impl Action for RemovePrivilegedGroups {
    fn name(&self) -> &'static str {
        "remove_privileged_groups"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.dir.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let account = self.dir.account(request).await?;
            let groups = self.dir.groups_of(&account.dn).await?;
            let facts = json!({"host": self.dir.host(), "dn": account.dn, "groups": groups});
            if groups.is_empty() {
                return Ok(Plan {
                    changes: vec![format!(
                        "{} is in none of the {} privileged groups: nothing to remove",
                        account.dn,
                        self.dir.privileged_groups().len()
                    )],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            let changes = groups
                .iter()
                .map(|g| format!("remove {} from the group {g} in {}", account.dn, self.dir.system()))
                .collect();
            Ok(Plan { changes, runnable: true, undo: Undo::Rollback, facts })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let account = self.dir.account(request).await?;
            let groups = self.dir.groups_of(&account.dn).await?;
            if groups.is_empty() {
                return Err(Error::TargetChanged(format!(
                    "{} was taken out of every privileged group since the plan was approved; Vigil changed nothing",
                    account.dn
                )));
            }
            Ok(json!({"dn": account.dn, "groups": groups}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (dn, before) = kept(step.prior)?;
            let now = self.dir.groups_of(dn).await?;
            let remove: Vec<String> = before.iter().filter(|g| now.contains(g)).cloned().collect();
            if remove.is_empty() {
                return Err(Error::TargetChanged(format!(
                    "{dn} was taken out of its privileged groups by someone else after the precheck; Vigil changed nothing"
                )));
            }
            match self.dir.change_memberships(dn, &remove, false).await {
                Ok(()) => Ok(json!({"dn": dn, "removed_from": remove})),
                Err((done, e)) => {
                    let done = if done.is_empty() { "none".to_owned() } else { done.join("; ") };
                    // Not worth retrying half done: the executor rolls back what was removed.
                    Err(Error::Failed(format!("removed from: {done}; then {e}")))
                }
            }
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (dn, before) = kept(step.prior)?;
            let now = self.dir.groups_of(dn).await?;
            let still: Vec<&String> = before.iter().filter(|g| now.contains(g)).collect();
            Ok(Probe { holds: still.is_empty(), observed: json!({"dn": dn, "member_of": now}) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (dn, before) = kept(step.prior)?;
            // Only the groups it is missing from: a group Vigil never got to is left untouched.
            let now = self.dir.groups_of(dn).await?;
            let missing: Vec<String> = before.into_iter().filter(|g| !now.contains(g)).collect();
            self.dir
                .change_memberships(dn, &missing, true)
                .await
                .map_err(|(done, e)| Error::Failed(format!("put back in: {}; then {e}", done.join("; "))))?;
            Ok(json!({"dn": dn, "put_back_in": missing}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (dn, before) = kept(step.prior)?;
            let now = self.dir.groups_of(dn).await?;
            let back = before.iter().all(|g| now.contains(g));
            Ok(Probe { holds: back, observed: json!({"dn": dn, "member_of": now}) })
        })
    }
}
