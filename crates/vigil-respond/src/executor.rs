//! The executor: takes due runs from the store's outbox and carries each through authorize
//! (the policy in force now, the approvals given), plan (still what was approved), precheck
//! (state captured for rollback), execute (idempotent, keyed by the run), and verify. A run
//! cut off by a crash is taken up again when its lease runs out and verifies before it ever
//! executes again. Every step goes into the run log and the audit trail; a finished run's log
//! is sealed into the evidence vault with the run's end and the case's move, in one
//! transaction.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use vigil_model::{ActionCategory, ActionRequest, CaseState, Component, UserId};
use vigil_policy::{Approval, Approved, Authorization, Context, Policy, reauthorize};
use vigil_store::{
    ActionRequestRow, ActionRun, ActionStatus, ApprovalRow, By, RunStatus, RunStep, Store, WriteTx, time,
};

use crate::action::{Action, BoxFuture, Cx, Step, Undo};
use crate::registry::{Registry, rollback_of};
use crate::{Error, Result};

/// What the executor asks of the server before each run: the policy in force and what is
/// known of the request's target now (the same facts a person's approval was decided on).
pub trait Authority: Send + Sync {
    fn policy(&self) -> Arc<Policy>;
    fn context<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Context>>;
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a taken run is the taker's; past it, another executor recovers it.
    pub lease_ms: i64,
    /// The first retry's wait; each next one doubles, up to a minute.
    pub retry_base_ms: i64,
    pub max_attempts: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { lease_ms: 5 * 60_000, retry_base_ms: 1_000, max_attempts: 8 }
    }
}

#[derive(Clone)]
pub struct Executor {
    cx: Cx,
    registry: Arc<Registry>,
    authority: Arc<dyn Authority>,
    settings: Settings,
    /// The name leases are taken under: the cluster node's, empty for the single process.
    holder: String,
}

/// The stored answers as the policy counts them, with each approver's role and standing now
/// (a demoted or disabled approver no longer counts).
pub async fn approvals_now(store: &Store, rows: &[ApprovalRow]) -> Result<Vec<Approval>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let user = store.user(&UserId::from(row.approver.as_str())).await?;
        out.push(Approval {
            approver: row.approver.clone(),
            role: user.as_ref().map(|u| u.role.clone()).unwrap_or_default(),
            enabled: user.as_ref().is_some_and(|u| !u.disabled),
            // Only a credential carrying the approve permission could record it.
            may_approve: true,
            request_sha256: row.request_sha256.clone(),
            verdict: row.verdict,
            rationale: row.rationale.clone(),
            at_ms: row.at_ms,
        });
    }
    Ok(out)
}

/// How long after it is queued a run may still start an attempt (what callers of [`queue`]
/// give as its deadline, from now).
pub const RUN_DEADLINE_MS: i64 = 15 * 60_000;

/// Queues the run of an approved request (once, however often asked); `true` when new.
pub async fn queue(
    tx: &mut WriteTx<'_>,
    row: &ActionRequestRow,
    deadline_ms: i64,
    by: &By,
) -> Result<(ActionRun, bool)> {
    Ok(tx.queue_run(&row.id, row.request.case.as_ref(), deadline_ms, by).await?)
}

/// Categories that contain an incident: their runs are what moves a case to `executed`.
fn contains(category: ActionCategory) -> bool {
    !matches!(
        category,
        ActionCategory::Enrichment
            | ActionCategory::CaseSummary
            | ActionCategory::Ticket
            | ActionCategory::EvidenceSnapshot
            | ActionCategory::Notification
            | ActionCategory::Recovery
    )
}

/// How a run ends, before it is written.
struct End {
    status: RunStatus,
    code: Option<&'static str>,
    reason: String,
    outcome: Value,
    /// What the request becomes with it (sent back, forbidden, expired).
    request: Option<(ActionStatus, Option<Value>)>,
}

impl End {
    fn failed(code: &'static str, reason: impl Into<String>) -> End {
        End {
            status: RunStatus::Failed,
            code: Some(code),
            reason: reason.into(),
            outcome: Value::Null,
            request: None,
        }
    }
}

/// Undo of a run: the request it rolls back and that request's succeeded run.
struct Undoing {
    of: ActionRequestRow,
    run: ActionRun,
}

impl Executor {
    pub fn new(store: Store, registry: Arc<Registry>, authority: Arc<dyn Authority>) -> Executor {
        Executor {
            cx: Cx { store, by: By::vigil(Component::Executor) },
            registry,
            authority,
            settings: Settings::default(),
            holder: String::new(),
        }
    }

    /// Takes leases on runs under `holder` (a cluster node's name): at start it takes up only
    /// the runs its own previous process was in.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Executor {
        self.holder = holder.into();
        self
    }

    pub fn with_settings(mut self, settings: Settings) -> Executor {
        self.settings = settings;
        self
    }

    /// Runs every run due now, one after another; returns them as they ended (or were put
    /// back for a retry).
    pub async fn run_due(&self) -> Result<Vec<ActionRun>> {
        let mut done = Vec::new();
        while let Some(run) = self.cx.store.claim_run(self.settings.lease_ms, &self.holder).await? {
            let id = run.id.clone();
            if let Err(e) = self.run_one(run).await {
                // The store failed under the run: the lease runs out and the run is recovered.
                tracing::warn!(run = %id, error = %e, "a run stopped short; it is taken up again when its lease runs out");
            }
            if let Some(run) = self.cx.store.run(&id).await? {
                done.push(run);
            }
        }
        Ok(done)
    }

    /// Runs due runs until `stop` is told, woken by `wake` (a run queued) or by the next run
    /// falling due; `ended` is told after runs ended or were put back. It first takes up the runs
    /// its previous process (under the same holder name) was in.
    pub async fn serve(
        self,
        wake: Arc<tokio::sync::Notify>,
        ended: Arc<tokio::sync::Notify>,
        stop: Arc<tokio::sync::Notify>,
    ) {
        match self.cx.store.release_run_leases(&self.holder).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                runs = n,
                "runs cut off when Vigil last stopped are taken up again; each verifies before it acts"
            ),
            Err(e) => tracing::warn!(error = %e, "could not take up runs cut off when Vigil last stopped"),
        }
        loop {
            match self.run_due().await {
                Ok(runs) if !runs.is_empty() => ended.notify_waiters(),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the executor could not read its outbox; trying again"),
            }
            let now = self.cx.store.clock().now_ms();
            let next = self.cx.store.next_run_due_ms().await.ok().flatten();
            // A queued run is announced by `wake`; the timer covers retries and leases of
            // runs cut off by a crash.
            let wait = next.map_or(30_000, |due| (due - now).clamp(10, 30_000));
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                () = stop.notified() => return,
            }
        }
    }

    async fn log(
        &self,
        run: &ActionRun,
        step: &str,
        outcome: &str,
        started_ms: i64,
        detail: Value,
    ) -> Result<()> {
        let entry = RunStep {
            seq: 0,
            step: step.into(),
            outcome: outcome.into(),
            attempt: run.attempts,
            started_ms,
            ended_ms: self.cx.store.clock().now_ms(),
            detail,
        };
        let mut tx = self.cx.store.write().await?;
        // Each step renews the lease, so a run longer than one lease is not taken up twice.
        let until = entry.ended_ms.saturating_add(self.settings.lease_ms);
        tx.renew_run_lease(&run.id, &self.holder, until).await?;
        tx.log_step(run, &entry, &self.cx.by).await?;
        tx.commit().await?;
        Ok(())
    }

    fn now(&self) -> i64 {
        self.cx.store.clock().now_ms()
    }

    async fn run_one(&self, run: ActionRun) -> Result<()> {
        let store = &self.cx.store;
        let Some(row) = store.action_request(&run.request_id).await? else {
            return self
                .finish(&run, None, End::failed("request_gone", "the request is not in the store"))
                .await;
        };
        let started = self.now();
        let end = match self.authorize(&run, &row, started).await? {
            Ok(approved) => self.act(&run, &row, &approved).await?,
            Err(end) => end,
        };
        if end.status == RunStatus::Queued {
            return Ok(());
        }
        self.finish(&run, Some(&row), end).await
    }

    /// The policy in force now, over the approvals given for the request's hash: the proof that
    /// it may run (which only `vigil_policy` makes), or how the run ends.
    async fn authorize(
        &self,
        run: &ActionRun,
        row: &ActionRequestRow,
        started: i64,
    ) -> Result<std::result::Result<Box<Approved>, End>> {
        if row.status != ActionStatus::Approved {
            let code = if row.status == ActionStatus::Superseded { "superseded" } else { "not_approved" };
            let reason = format!("the request is {}", row.status.as_str());
            self.log(run, "authorize", "failed", started, json!({"status": row.status, "code": code}))
                .await?;
            return Ok(Err(End::failed(code, reason)));
        }
        let store = &self.cx.store;
        let approvals = approvals_now(store, &store.approvals(&row.id).await?).await?;
        let context = self.authority.context(&row.request).await?;
        let policy = self.authority.policy();
        let asked = time::to_millis(&row.requested_at).unwrap_or(i64::MIN);
        let now = self.now();
        let outcome =
            reauthorize(&policy, &row.request, &row.request_sha256, &context, &approvals, asked, now);
        let detail = json!({"policy_sha256": policy.sha256, "outcome": outcome.code()});
        let end = match outcome {
            Authorization::Approved(approved) => {
                let detail = json!({"policy_sha256": policy.sha256, "rule": approved.decision().rule,
                                    "approvers": approved.approvers()});
                self.log(run, "authorize", "ok", started, detail).await?;
                return Ok(Ok(approved));
            }
            Authorization::Pending { decision, need, .. } => End {
                status: RunStatus::Withdrawn,
                code: Some("policy_raised"),
                reason: format!(
                    "the policy in force asks {need} more approval(s) ({}); sent back for approval",
                    decision.why
                ),
                outcome: Value::Null,
                request: Some((ActionStatus::AwaitingApproval, Some(decision.summary()))),
            },
            Authorization::Expired { .. } => End {
                request: Some((ActionStatus::Expired, None)),
                ..End::failed("expired", "the request expired before its quorum")
            },
            Authorization::Forbidden { decision } => End {
                request: Some((ActionStatus::Forbidden, Some(decision.summary()))),
                ..End::failed(
                    "forbidden_by_policy",
                    format!("the policy in force forbids it: {}", decision.why),
                )
            },
            Authorization::Rejected { by, rationale, .. } => End {
                request: Some((ActionStatus::Rejected, None)),
                ..End::failed("rejected", format!("rejected by {by}: {rationale}"))
            },
        };
        self.log(run, "authorize", "failed", started, detail).await?;
        Ok(Err(end))
    }

    /// Plan, precheck, execute and verify (or the rollback of another run); after a crash,
    /// verify first.
    async fn act(&self, run: &ActionRun, row: &ActionRequestRow, approved: &Approved) -> Result<End> {
        let store = &self.cx.store;
        // What runs is what the policy approved, not what the row says.
        let request = approved.request();
        let undoing = match rollback_of(request) {
            Ok(Some(of)) => match self.undoing(of).await? {
                Ok(undoing) => Some(undoing),
                Err(end) => return Ok(end),
            },
            Ok(None) => None,
            Err(e) => return Ok(End::failed("bad_request", e.to_string())),
        };
        let kind = undoing.as_ref().map_or(request.action.as_str(), |u| u.of.request.action.as_str());
        let Some(action) = self.registry.get(kind).cloned() else {
            return Ok(End::failed(
                "no_connector",
                format!("no connector for {kind} is configured: Vigil cannot run it"),
            ));
        };
        let verb = if undoing.is_some() { "rollback" } else { "execute" };
        let log = store.run_log(&run.id).await?;
        let started_before = log.iter().any(|s| s.step == verb && s.outcome == "started");

        if !started_before {
            let t = self.now();
            match self.registry.plan(&self.cx, request).await {
                Ok(plan) if plan.sha256() == row.plan_sha256 => {
                    self.log(run, "plan", "ok", t, json!({"plan_sha256": row.plan_sha256})).await?;
                }
                Ok(plan) => {
                    self.log(run, "plan", "failed", t, json!({"approved": row.plan, "now": plan})).await?;
                    return Ok(End::failed(
                        "plan_changed",
                        "what it would change now is not what was approved; propose it again",
                    ));
                }
                Err(e) => return self.step_failed(run, "plan", t, e, "plan_failed").await,
            }
        }

        // The state a rollback restores: captured once, before the first attempt acts.
        let prior = match (&undoing, &run.prior) {
            (Some(u), _) => u.run.prior.clone().unwrap_or(Value::Null),
            (None, Some(prior)) => prior.clone(),
            (None, None) => {
                let t = self.now();
                match action.precheck(&self.cx, request).await {
                    Ok(prior) => {
                        let mut tx = store.write().await?;
                        tx.set_run_prior(&run.id, &prior).await?;
                        tx.log_step(
                            run,
                            &self.entry(run, "precheck", "ok", t, json!({"prior": prior})),
                            &self.cx.by,
                        )
                        .await?;
                        tx.commit().await?;
                        prior
                    }
                    Err(e) => return self.step_failed(run, "precheck", t, e, "precheck_failed").await,
                }
            }
        };
        let key = undoing.as_ref().map_or(run.id.as_str(), |u| u.run.id.as_str());
        let step = Step { request: undoing.as_ref().map_or(request, |u| &u.of.request), key, prior: &prior };
        let probe_name = if undoing.is_some() { "rollback_verify" } else { "verify" };

        if started_before {
            // Cut off after it began to act: what it did is read before anything is done again.
            let t = self.now();
            let probe = probe(&self.cx, &action, undoing.is_some(), step).await;
            match probe {
                Ok(probe) if probe.holds => {
                    let detail = json!({"observed": probe.observed, "after_restart": true});
                    self.log(run, probe_name, "ok", t, detail).await?;
                    return Ok(self.succeeded(
                        json!({"observed": probe.observed}),
                        "verified after a restart; not executed again",
                    ));
                }
                Ok(probe) => {
                    self.log(
                        run,
                        probe_name,
                        "failed",
                        t,
                        json!({"observed": probe.observed, "after_restart": true}),
                    )
                    .await?;
                }
                Err(e) if e.is_transient() => return self.retry(run, probe_name, t, &e).await,
                Err(e) => return Ok(End::failed("verify_failed", e.to_string())),
            }
        }
        if self.now() > run.deadline_ms {
            return Ok(End::failed("deadline_passed", "the run's deadline passed before it could act"));
        }

        let t = self.now();
        self.log(run, verb, "started", t, json!({"key": key})).await?;
        let did = if undoing.is_some() {
            action.rollback(&self.cx, step).await
        } else {
            action.execute(&self.cx, step).await
        };
        let did = match did {
            Ok(did) => {
                self.log(run, verb, "ok", t, json!({"changed": did})).await?;
                did
            }
            Err(e) if e.is_transient() => return self.retry(run, verb, t, &e).await,
            Err(e) => {
                self.log(run, verb, "failed", t, json!({"error": e.to_string()})).await?;
                // A target someone else changed was not touched: there is nothing of Vigil's to undo.
                let untouched = matches!(e, Error::TargetChanged(_));
                let undone = if undoing.is_none() && !untouched {
                    self.undo_partial(run, &action, step).await?
                } else {
                    None
                };
                let code = match e {
                    Error::TargetGone(_) => "target_gone",
                    Error::TargetChanged(_) => "target_changed",
                    _ => "execute_failed",
                };
                return Ok(End {
                    outcome: json!({"rolled_back": undone}),
                    ..End::failed(code, e.to_string())
                });
            }
        };

        let t = self.now();
        let probe = probe(&self.cx, &action, undoing.is_some(), step).await;
        match probe {
            Ok(probe) if probe.holds => {
                self.log(run, probe_name, "ok", t, json!({"observed": probe.observed})).await?;
                Ok(self
                    .succeeded(json!({"changed": did, "observed": probe.observed}), "executed and verified"))
            }
            Ok(probe) => {
                self.log(run, probe_name, "failed", t, json!({"observed": probe.observed})).await?;
                let undone =
                    if undoing.is_none() { self.undo_partial(run, &action, step).await? } else { None };
                let why = match undone {
                    Some(true) => {
                        "the effect did not hold after it ran; rolled back, and the rollback verified"
                    }
                    Some(false) => {
                        "the effect did not hold after it ran; the rollback did not verify either: check the target"
                    }
                    None => "the effect did not hold after it ran",
                };
                Ok(End {
                    outcome: json!({"changed": did, "observed": probe.observed, "rolled_back": undone}),
                    ..End::failed("verify_failed", why)
                })
            }
            Err(e) if e.is_transient() => self.retry(run, probe_name, t, &e).await,
            Err(e) => {
                self.log(run, probe_name, "failed", t, json!({"error": e.to_string()})).await?;
                Ok(End::failed("verify_failed", e.to_string()))
            }
        }
    }

    /// A step that failed: worth another attempt, the target gone, or failed for good (`failed`).
    async fn step_failed(
        &self,
        run: &ActionRun,
        step: &str,
        started: i64,
        error: Error,
        failed: &'static str,
    ) -> Result<End> {
        if error.is_transient() {
            return self.retry(run, step, started, &error).await;
        }
        let (code, why) = match error {
            Error::TargetGone(why) => ("target_gone", why),
            Error::TargetChanged(why) => ("target_changed", why),
            other => (failed, other.to_string()),
        };
        self.log(run, step, "failed", started, json!({"error": why})).await?;
        Ok(End::failed(code, why))
    }

    fn entry(&self, run: &ActionRun, step: &str, outcome: &str, started_ms: i64, detail: Value) -> RunStep {
        RunStep {
            seq: 0,
            step: step.into(),
            outcome: outcome.into(),
            attempt: run.attempts,
            started_ms,
            ended_ms: self.now(),
            detail,
        }
    }

    fn succeeded(&self, outcome: Value, reason: &str) -> End {
        End { status: RunStatus::Succeeded, code: None, reason: reason.into(), outcome, request: None }
    }

    /// What a rollback request undoes: the request and its succeeded run.
    async fn undoing(&self, of: &str) -> Result<std::result::Result<Undoing, End>> {
        let store = &self.cx.store;
        let Some(original) = store.action_request(of).await? else {
            return Ok(Err(End::failed("target_gone", format!("there is no request {of} to roll back"))));
        };
        match store.run_of(of).await? {
            Some(run) if run.status == RunStatus::Succeeded => Ok(Ok(Undoing { of: original, run })),
            Some(run) if run.status == RunStatus::RolledBack => {
                Ok(Err(End::failed("already_rolled_back", format!("run {} was rolled back already", run.id))))
            }
            _ => Ok(Err(End::failed(
                "nothing_to_roll_back",
                format!("request {of} has no run that succeeded"),
            ))),
        }
    }

    /// After a failed execute or verify: puts back what the attempt may have changed, when the
    /// action has a rollback. `Some(verified)` when it tried.
    async fn undo_partial(
        &self,
        run: &ActionRun,
        action: &Arc<dyn Action>,
        step: Step<'_>,
    ) -> Result<Option<bool>> {
        if action.undo() != Undo::Rollback {
            return Ok(None);
        }
        let t = self.now();
        if let Err(e) = action.rollback(&self.cx, step).await {
            self.log(run, "rollback", "failed", t, json!({"error": e.to_string()})).await?;
            return Ok(Some(false));
        }
        self.log(run, "rollback", "ok", t, json!({})).await?;
        let t = self.now();
        let verified = match action.verify_rollback(&self.cx, step).await {
            Ok(probe) => {
                self.log(
                    run,
                    "rollback_verify",
                    if probe.holds { "ok" } else { "failed" },
                    t,
                    json!({"observed": probe.observed}),
                )
                .await?;
                probe.holds
            }
            Err(e) => {
                self.log(run, "rollback_verify", "failed", t, json!({"error": e.to_string()})).await?;
                false
            }
        };
        Ok(Some(verified))
    }

    /// A transient failure: another attempt after a backoff, unless the deadline or the
    /// attempts run out.
    async fn retry(&self, run: &ActionRun, step: &str, started: i64, error: &Error) -> Result<End> {
        let shift = u32::try_from(run.attempts.saturating_sub(1).clamp(0, 6)).unwrap_or(6);
        let wait = (self.settings.retry_base_ms.saturating_mul(1 << shift)).min(60_000);
        let next = self.now().saturating_add(wait);
        if run.attempts >= self.settings.max_attempts || next > run.deadline_ms {
            self.log(
                run,
                step,
                "failed",
                started,
                json!({"error": error.to_string(), "attempts": run.attempts}),
            )
            .await?;
            return Ok(End::failed(
                "deadline_passed",
                format!("{step} kept failing ({error}); no attempt is left before the deadline"),
            ));
        }
        let mut tx = self.cx.store.write().await?;
        tx.log_step(
            run,
            &self.entry(
                run,
                step,
                "retry",
                started,
                json!({"error": error.to_string(), "next_attempt_ms": next}),
            ),
            &self.cx.by,
        )
        .await?;
        tx.retry_run(&run.id, next).await?;
        tx.commit().await?;
        Ok(End {
            status: RunStatus::Queued,
            code: None,
            reason: String::new(),
            outcome: Value::Null,
            request: None,
        })
    }

    /// Ends the run: its log sealed into the vault, its end, the request's new state and the
    /// case's move, in one transaction.
    async fn finish(&self, run: &ActionRun, row: Option<&ActionRequestRow>, end: End) -> Result<()> {
        let store = &self.cx.store;
        let log = store.run_log(&run.id).await?;
        let current = store.run(&run.id).await?;
        let prior = current.as_ref().and_then(|r| r.prior.clone());
        let sealed = json!({
            "kind": "vigil.action_run", "run": run.id, "request": row, "status": end.status,
            "code": end.code, "reason": end.reason, "prior": prior, "outcome": end.outcome, "log": log,
        });
        let bytes = serde_json::to_vec_pretty(&sealed)?;
        let scope = run.case_id.as_ref().map_or_else(|| "global".to_owned(), |c| format!("case:{c}"));
        let mut tx = store.write().await?;
        let (sha, _) = tx
            .add_evidence(&bytes, "application/json", &format!("{}.json", run.id), &scope, &self.cx.by)
            .await?;
        if !tx
            .finish_run(run, end.status, end.code, &end.reason, &end.outcome, Some(&sha), &self.cx.by)
            .await?
        {
            // Another executor ended it first; this one's transaction writes nothing.
            return Ok(());
        }
        if let (Some(row), Some((status, decision))) = (row, &end.request) {
            match decision {
                Some(decision) => {
                    tx.redecide_action(&row.id, *status, decision, &end.reason, &self.cx.by).await?
                }
                None => tx.set_action_status(&row.id, *status, &end.reason, &self.cx.by).await?,
            }
        }
        if end.status == RunStatus::Succeeded
            && let Some(row) = row
        {
            self.move_case(&mut tx, row, run).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a run succeeded: a rollback marks the run it undid and recovers the case, as does
    /// a recovery step; an action moves its approved case to `executed` once every approved
    /// containment action of the case has run and verified.
    async fn move_case(&self, tx: &mut WriteTx<'_>, row: &ActionRequestRow, run: &ActionRun) -> Result<()> {
        let store = &self.cx.store;
        let Some(case) = &row.request.case else { return Ok(()) };
        if let Ok(Some(of)) = rollback_of(&row.request) {
            if let Some(undone) = store.run_of(of).await? {
                let why = format!("rolled back by run {}", run.id);
                tx.finish_run(
                    &undone,
                    RunStatus::RolledBack,
                    None,
                    &why,
                    &undone.outcome.clone().unwrap_or(Value::Null),
                    None,
                    &self.cx.by,
                )
                .await?;
            }
            if tx.case_state(case).await? == CaseState::Executed {
                let reason = format!(
                    "{} on {} ran and verified (rollback of {of})",
                    row.request.action,
                    target_words(&row.request)
                );
                tx.transition_case(case, CaseState::Recovered, &reason, &self.cx.by).await?;
            }
            return Ok(());
        }
        let state = tx.case_state(case).await?;
        if state == CaseState::Executed
            && row.request.kind().is_some_and(|k| k.category == ActionCategory::Recovery)
        {
            let reason = format!(
                "recovery step {} on {} ran and verified",
                row.request.action,
                target_words(&row.request)
            );
            tx.transition_case(case, CaseState::Recovered, &reason, &self.cx.by).await?;
            return Ok(());
        }
        if state != CaseState::Approved {
            return Ok(());
        }
        let mut ran = Vec::new();
        for other in store.case_action_requests(case).await? {
            let containment = other.request.kind().is_some_and(|k| contains(k.category));
            if other.status != ActionStatus::Approved
                || !containment
                || rollback_of(&other.request).ok().flatten().is_some()
            {
                continue;
            }
            let done = other.id == row.id
                || store.run_of(&other.id).await?.is_some_and(|r| r.status == RunStatus::Succeeded);
            if !done {
                return Ok(());
            }
            ran.push(format!("{} on {}", other.request.action, target_words(&other.request)));
        }
        if ran.is_empty() {
            return Ok(());
        }
        let reason = format!("approved containment ran and verified: {}", ran.join(", "));
        tx.transition_case(case, CaseState::Executed, &reason, &self.cx.by).await?;
        Ok(())
    }
}

/// The action's verify probe, or its rollback's when the run undoes another.
async fn probe(
    cx: &Cx,
    action: &Arc<dyn Action>,
    undoing: bool,
    step: Step<'_>,
) -> Result<crate::action::Probe> {
    if undoing { action.verify_rollback(cx, step).await } else { action.verify(cx, step).await }
}

fn target_words(request: &ActionRequest) -> String {
    request
        .target
        .as_ref()
        .map_or_else(|| "the case".to_owned(), |t| format!("{} {}", t.kind.as_str(), t.key))
}
