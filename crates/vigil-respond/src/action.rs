//! The [`Action`] trait every response action implements, Vigil's own and the connectors'
//! alike: a plan shown before approval, a precheck that captures what a rollback restores, an
//! idempotent execute, a verify probe (an action is done only when verified), and a registered
//! undo or an explicit mark that there is none.

use std::future::Future;
use std::pin::Pin;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use vigil_model::ActionRequest;
use vigil_store::{By, Store};

use crate::Result;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Exactly what running a request will change, in words and as the facts it rests on. The
/// executor computes it again before it acts and refuses when it no longer reads the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Each change, in words.
    pub changes: Vec<String>,
    /// Whether Vigil can run it: it has a built-in action or a connector for it.
    pub runnable: bool,
    /// `rollback` (a registered undo), `nothing_to_undo` or `irreversible`.
    pub undo: Undo,
    /// What the plan was read from (token ids, counts of events), as data.
    pub facts: Value,
}

impl Plan {
    pub fn sha256(&self) -> String {
        // serde_json keeps field order and `facts` is built in a fixed order: the same plan,
        // the same bytes.
        let text = serde_json::to_string(self).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// How an action's change is put back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Undo {
    /// A rollback restores the state the precheck captured, verified like the action.
    Rollback,
    /// It changes nothing that needs putting back (a snapshot, a ticket, a revoked session).
    NothingToUndo,
    /// What it changes cannot be put back.
    Irreversible,
}

impl Undo {
    pub fn as_str(self) -> &'static str {
        match self {
            Undo::Rollback => "rollback",
            Undo::NothingToUndo => "nothing_to_undo",
            Undo::Irreversible => "irreversible",
        }
    }
}

/// What a verify probe saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Probe {
    /// The effect holds (after a rollback: the prior state is back).
    pub holds: bool,
    /// What the probe read, kept in the run log as the state after the step.
    pub observed: Value,
}

/// What an action runs with: the store, and the executor as the actor of what it writes.
#[derive(Clone)]
pub struct Cx {
    pub store: Store,
    pub by: By,
}

/// One run of an action on one request.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub request: &'a ActionRequest,
    /// The idempotency key: the same key, the same effect, however often it is executed.
    pub key: &'a str,
    /// The target's state the precheck captured before the first attempt.
    pub prior: &'a Value,
}

/// A response action. Every method may be called again after a crash: `execute` and
/// `rollback` with the same key change nothing twice.
pub trait Action: Send + Sync {
    /// The action kind it implements, as the catalog names it.
    fn name(&self) -> &'static str;

    fn undo(&self) -> Undo;

    /// What running `request` would change now.
    fn plan<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>>;

    /// The target exists; returns its state now (what a rollback restores).
    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>>;

    /// Makes the change; returns what it changed.
    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>>;

    /// Whether the change holds.
    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>>;

    /// Puts back the state `step.prior` holds; only for [`Undo::Rollback`].
    fn rollback<'a>(&'a self, _cx: &'a Cx, _step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        let undo = self.undo();
        Box::pin(async move {
            Err(crate::Error::Failed(format!("{} has no rollback ({})", self.name(), undo.as_str())))
        })
    }

    /// A read-only check that the system it drives answers and takes Vigil's credentials (what
    /// `vigil connectors check` reports); `None` for an action on Vigil's own store.
    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async { Ok(None) })
    }

    /// Whether the prior state is back.
    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, _step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move { Err(crate::Error::Failed(format!("{} has no rollback", self.name()))) })
    }
}
