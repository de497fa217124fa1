//! `open_ticket`: an internal ticket for the case's work, with an owner (the parameter, else
//! the case's assignee), an SLA from the case's severity, the recommended playbook's steps and
//! how to reproduce what was seen (the alerts and the events they cite).

use std::fmt::Write;

use serde_json::{Value, json};
use vigil_model::ActionRequest;
use vigil_store::{CaseRow, Ticket};

use super::{case_of, text_parameter};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

pub struct OpenTicket;

/// Hours to the SLA by OCSF severity: critical and fatal within the hour, high in four,
/// medium in a day, the rest in three days.
pub fn sla_hours(severity: i64) -> i64 {
    match severity {
        5.. => 1,
        4 => 4,
        3 => 24,
        _ => 72,
    }
}

fn owner_of(request: &ActionRequest, case: &CaseRow) -> Result<String> {
    let named = text_parameter(request, "owner")?;
    if named.is_some_and(|o| o.trim().is_empty() || o.chars().count() > 64) {
        return Err(Error::Failed("parameter owner: 1 to 64 characters".into()));
    }
    Ok(named
        .map(str::to_owned)
        .or_else(|| case.assignee.as_ref().map(|a| a.as_str().to_owned()))
        .unwrap_or_else(|| "unassigned".into()))
}

/// The ticket a run opens for the case of `request` under `key`: its owner, its SLA, the
/// playbook's steps and how to reproduce what was seen (shared with the ticketing webhook).
pub(crate) async fn ticket_for(cx: &Cx, request: &ActionRequest, key: &str) -> Result<Ticket> {
    let case = case_of(cx, request).await?;
    let owner = owner_of(request, &case)?;
    let now = cx.store.clock().now();
    let due = now + chrono::Duration::hours(sla_hours(case.severity));
    let recommendation = cx.store.recommendation(&case.id).await?.map(|(_, body)| body);
    let playbook = recommendation.as_ref().and_then(|r| r.get("playbook")).filter(|p| !p.is_null());
    let mut body = format!("Case {}: {}\n", case.id, case.title);
    if let Some(hypothesis) = recommendation.as_ref().and_then(|r| r["hypothesis"].as_str()) {
        let _ = writeln!(body, "Hypothesis: {hypothesis}");
    }
    if let Some(steps) = playbook.and_then(|p| p["steps"].as_array()) {
        body.push_str("\nPlaybook steps:\n");
        for (n, s) in steps.iter().enumerate() {
            let _ = writeln!(
                body,
                "{}. [{}] {}: {}",
                n + 1,
                s["phase"].as_str().unwrap_or("?"),
                s["action"].as_str().unwrap_or("?"),
                s["description"].as_str().unwrap_or("")
            );
        }
    }
    body.push_str("\nTo reproduce, read these alerts and the events they cite:\n");
    for alert in cx.store.case_alerts(&case.id).await? {
        let cited: Vec<&str> = alert.finding["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["event_uid"].as_str())
            .collect();
        let _ = writeln!(
            body,
            "- {} ({}) at {}: events {}",
            alert.title,
            alert.rule_id,
            alert.time,
            cited.join(", ")
        );
    }
    let ticket = Ticket {
        id: key.to_owned(),
        case_id: case.id.clone(),
        title: format!("Respond to case {}: {}", case.id, case.title),
        owner,
        sla_due_at: vigil_store::time::stamp(due),
        playbook: playbook
            .map(|p| format!("{}@{}", p["id"].as_str().unwrap_or("?"), p["version"].as_u64().unwrap_or(0))),
        body,
        created_at: vigil_store::time::stamp(now),
        external_id: None,
        external_host: None,
    };
    Ok(ticket)
}

impl Action for OpenTicket {
    fn name(&self) -> &'static str {
        "open_ticket"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn plan<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            let owner = owner_of(request, &case)?;
            let hours = sla_hours(case.severity);
            Ok(Plan {
                changes: vec![format!(
                    "open an internal ticket for case {} owned by {owner}, due within {hours} h",
                    case.id
                )],
                runnable: true,
                undo: self.undo(),
                facts: json!({"case": case.id, "owner": owner, "sla_hours": hours}),
            })
        })
    }

    fn precheck<'a>(&'a self, cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let case = case_of(cx, request).await?;
            Ok(json!({"case": case.id, "tickets": cx.store.case_tickets(&case.id).await?.len()}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let ticket = ticket_for(cx, step.request, step.key).await?;
            let effect = json!({"ticket": ticket.id, "owner": ticket.owner, "sla_due_at": ticket.sla_due_at});
            let mut tx = cx.store.write().await?;
            tx.open_ticket(&ticket).await?;
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let ticket = cx.store.ticket(step.key).await?;
            Ok(Probe {
                holds: ticket.is_some(),
                observed: json!({"ticket": ticket.as_ref().map(|t| &t.id), "owner": ticket.as_ref().map(|t| &t.owner)}),
            })
        })
    }
}
