//! Vigil's own response actions: they act on Vigil's store and need no outside system. Each
//! writes its change and its effect record (keyed by the run's idempotency key) in one
//! transaction, so executing again after a crash finds the effect and changes nothing twice.

mod blocklist;
mod mute;
mod snapshot;
mod ticket;
mod token;

pub use blocklist::BlockIndicator;
pub use mute::MuteRule;
pub use snapshot::SnapshotEvidence;
pub use ticket::OpenTicket;
pub(crate) use ticket::ticket_for;
pub use token::RevokeVigilToken;

use vigil_model::ActionRequest;
use vigil_store::CaseRow;

use crate::action::Cx;
use crate::{Error, Result};

/// The request's case, which an action on a case needs.
pub(crate) async fn case_of(cx: &Cx, request: &ActionRequest) -> Result<CaseRow> {
    let id = request.case.as_ref().ok_or_else(|| Error::Failed("the request names no case".into()))?;
    cx.store.case(id).await?.ok_or_else(|| Error::TargetGone(format!("case {id} is not in the store")))
}

/// The request's target key, which an action on an entity needs.
fn target_key(request: &ActionRequest) -> Result<&str> {
    request
        .target
        .as_ref()
        .map(|t| &*t.key)
        .ok_or_else(|| Error::Failed(format!("{} needs a target", request.action)))
}

/// A text parameter, if given; another JSON type is an error, not ignored.
pub(crate) fn text_parameter<'r>(request: &'r ActionRequest, name: &str) -> Result<Option<&'r str>> {
    match request.parameters.get(name) {
        None => Ok(None),
        Some(serde_json::Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(Error::Failed(format!("parameter {name}: a string, not {other}"))),
    }
}

/// The probe of an action whose effect is a document sealed into the evidence vault under its
/// key: it holds when the document is there and its bytes still hash to their address.
pub async fn sealed_evidence_holds(cx: &Cx, key: &str) -> Result<crate::Probe> {
    let sha = cx.store.effect(key).await?.and_then(|e| e["evidence_sha256"].as_str().map(str::to_owned));
    let readable = match &sha {
        Some(sha) => cx.store.evidence_content(sha).await?.is_some(),
        None => false,
    };
    Ok(crate::Probe {
        holds: readable,
        observed: serde_json::json!({"evidence_sha256": sha, "readable": readable}),
    })
}
