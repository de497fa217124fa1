//! A request as the policy decided it and as it is stored: its hash bound to the policy in
//! force, its plan, its starting status, and, when the policy lets it run without a person, its
//! run queued in the same transaction.

use vigil_model::ActionRequest;
use vigil_policy::{Decision, Policy, Tier};
use vigil_store::{ActionRequestRow, ActionStatus, By, WriteTx, time};

use crate::Result;
use crate::action::Plan;

/// Where a decided request starts.
pub fn status_for(tier: &Tier) -> ActionStatus {
    match tier {
        Tier::Automatic => ActionStatus::Approved,
        Tier::Approvals { .. } => ActionStatus::AwaitingApproval,
        Tier::Forbidden => ActionStatus::Forbidden,
    }
}

/// The row to store for `request` under `decision`, with the plan approvers are shown.
pub fn decided_row(
    id: String,
    policy: &Policy,
    request: ActionRequest,
    decision: &Decision,
    plan: &Plan,
    now: chrono::DateTime<chrono::Utc>,
) -> ActionRequestRow {
    // The approval binds to the plan: its hash is part of the request's.
    let request = ActionRequest { plan_sha256: Some(plan.sha256()), ..request };
    let lifetime = i64::try_from(decision.expires_in_secs).unwrap_or(i64::MAX).min(i64::MAX / 2_000);
    ActionRequestRow {
        id,
        request_sha256: request.hash(&policy.sha256),
        policy_sha256: policy.sha256.clone(),
        decision: decision.summary(),
        plan: serde_json::to_value(plan).unwrap_or_default(),
        plan_sha256: plan.sha256(),
        status: status_for(&decision.tier),
        request,
        requested_at: time::stamp(now),
        expires_at: time::stamp(now + chrono::Duration::seconds(lifetime)),
        updated_at: String::new(),
    }
}

/// Stores a decided request; one the policy lets run by itself, and that Vigil can run, is
/// queued for the executor at once. Returns the stored row and whether a run was queued.
pub async fn store_proposal(
    tx: &mut WriteTx<'_>,
    row: &ActionRequestRow,
    plan: &Plan,
    deadline_ms: i64,
    by: &By,
) -> Result<(ActionRequestRow, bool)> {
    let stored = tx.propose_action(row, by).await?;
    // Only the automatic tier stores a request approved: no person is waited for.
    if row.status == ActionStatus::Approved && plan.runnable {
        crate::executor::queue(tx, &stored, deadline_ms, &By::vigil(vigil_model::Component::Policy)).await?;
        return Ok((stored, true));
    }
    Ok((stored, false))
}
