//! The demo's response step: the responder, signed in through the API like a person, asks for
//! an evidence snapshot and a ticket on the worst case (the policy runs both at once) and for a
//! block of the attacker's address (which waits for one approval); with the playbooks' own
//! proposals, every tier of the policy shows. The lead refuses one playbook step on the
//! CloudTrail case; the analyst then takes the worst case and closes two others (a false
//! positive and a true positive), so the week's scorecard and the learning queue have
//! something to say.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use vigil_store::{ActionRequestRow, ActionStatus, CaseFilter, RunStatus, Store};

use crate::terminal::safe;

/// The case the demo acts on (the most severe, then the one with most alerts) and an address
/// it names.
pub async fn target(store: &Store) -> Result<Option<(String, Option<String>)>> {
    let mut cases = store.cases(&CaseFilter::default()).await?;
    cases.sort_by_key(|c| {
        (std::cmp::Reverse(c.severity), std::cmp::Reverse(c.body["alerts"].as_array().map_or(0, Vec::len)))
    });
    let Some(case) = cases.first() else { return Ok(None) };
    let ip = case.body["entities"].as_array().into_iter().flatten().find_map(|e| {
        (e["entity"]["kind"] == "ip").then(|| e["entity"]["key"].as_str().map(str::to_owned)).flatten()
    });
    Ok(Some((case.id.as_str().to_owned(), ip)))
}

struct Session {
    agent: ureq::Agent,
    url: String,
    cookie: String,
    csrf: String,
}

impl Session {
    fn sign_in(url: &str, name: &str, password: &str) -> Result<Session> {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let body = json!({"name": name, "password": password}).to_string();
        let mut answer = agent
            .post(format!("{url}/api/v1/login"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .context("signing in")?;
        let cookie = answer
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("the sign-in set no session cookie")?
            .to_owned();
        let signed_in: Value = serde_json::from_str(&answer.body_mut().read_to_string()?)?;
        let csrf = signed_in["csrf_token"].as_str().context("the sign-in gave no CSRF token")?.to_owned();
        Ok(Session { agent, url: url.to_owned(), cookie, csrf })
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let mut answer = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Cookie", &self.cookie)
            .header("X-CSRF-Token", &self.csrf)
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string()?;
        if status != 200 && status != 202 {
            bail!("POST {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}

impl Session {
    fn get(&self, path: &str) -> Result<Value> {
        let mut answer =
            self.agent.get(format!("{}{path}", self.url)).header("Cookie", &self.cookie).call()?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string()?;
        if status != 200 {
            bail!("GET {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}

/// The lead's part: she refuses the playbook's revocation of the role's sessions on the
/// CloudTrail case (the role is shared), so the case's response departs from its playbook and
/// its closing proposes a playbook edit; and she grants the auditor the worst case for 30 days
/// (what an auditor reads: the case and its signed packet, nothing else of the queue). Returns
/// when the grant expires.
pub fn lead(
    url: &str,
    lead: &(String, String),
    cases: &[(String, String)],
    auditor: &str,
    worst: &str,
) -> Result<String> {
    let session = Session::sign_in(url, &lead.0, &lead.1)?;
    if let Some((case, _)) = cases.iter().find(|(_, t)| t.contains("CloudTrail Logging Stopped")) {
        refuse_revocation(&session, case)?;
    }
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let grant = json!({"auditor": auditor, "case": worst, "expires_at": expires,
                       "reason": "the demo: an auditor samples the intrusion"});
    let made = session.post("/api/v1/grants", &grant)?;
    Ok(made["expires_at"].as_str().unwrap_or_default().to_owned())
}

fn refuse_revocation(session: &Session, case: &str) -> Result<()> {
    let waiting = session.get("/api/v1/actions?status=awaiting_approval&limit=500")?;
    let refused = waiting["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["request"]["case"] == case && r["request"]["action"] == "revoke_role_sessions");
    for request in refused {
        let id = request["id"].as_str().context("a request id")?;
        let answer = json!({
            "request_sha256": request["request_sha256"],
            "rationale": "the ops role is shared by the deploy pipeline; the session key is deactivated instead",
        });
        session.post(&format!("/api/v1/actions/{id}/reject"), &answer)?;
    }
    Ok(())
}

/// Proposes the demo's actions as the responder; returns the automatic ones, which run at once.
pub fn act(url: &str, responder: &(String, String), case: &str, ip: Option<&str>) -> Result<Vec<String>> {
    let session = Session::sign_in(url, &responder.0, &responder.1)?;
    let path = format!("/api/v1/cases/{case}/actions");
    let mut automatic = Vec::new();
    for action in ["snapshot_evidence", "open_ticket"] {
        let proposed = session.post(&path, &json!({"action": action}))?;
        automatic.push(proposed["id"].as_str().context("a request id")?.to_owned());
    }
    if let Some(ip) = ip {
        session.post(
            &path,
            &json!({"action": "block_indicator", "target": format!("ip {ip}"), "parameters": {"for": "24h"}}),
        )?;
    }
    Ok(automatic)
}

/// The analyst's part, so the scorecard has closings to measure: she takes the worst case,
/// closes the SSH probe against an account that does not exist as a false positive, and
/// resolves the CloudTrail case (a true positive, contained by hand outside Vigil).
pub fn triage(url: &str, analyst: &(String, String), worst: &str, cases: &[(String, String)]) -> Result<()> {
    let session = Session::sign_in(url, &analyst.0, &analyst.1)?;
    session.post(&format!("/api/v1/cases/{worst}/assign"), &json!({"assignee": analyst.0}))?;
    let closing = [
        (
            "SSH Login Attempt",
            "false_positive",
            "the vulnerability scanner's nightly sweep: no such account exists",
        ),
        (
            "CloudTrail Logging Stopped",
            "resolved",
            "confirmed with ops: not their change; the trail is back on and the key rotated",
        ),
    ];
    for (title, to, reason) in closing {
        if let Some((id, _)) = cases.iter().find(|(_, t)| t.contains(title)) {
            session.post(&format!("/api/v1/cases/{id}/transition"), &json!({"to": to, "reason": reason}))?;
        }
    }
    Ok(())
}

/// Waits, woken by the executor as runs end, until every run in `ids` has ended.
pub async fn ran(store: &Store, ended: &tokio::sync::Notify, ids: &[String]) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let told = ended.notified();
        tokio::pin!(told);
        // Listening before looking: a run that ends between the two still wakes this.
        told.as_mut().enable();
        let mut open = 0;
        for id in ids {
            if store.run_of(id).await?.is_none_or(|r| !r.status.finished()) {
                open += 1;
            }
        }
        if open == 0 {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, told).await.is_err() {
            bail!("the executor did not finish the demo's {open} automatic actions within a minute");
        }
    }
}

fn target_words(row: &ActionRequestRow) -> String {
    let target = row.request.target.as_ref().map_or_else(
        || {
            format!(
                "case {}",
                row.request.case.as_ref().map_or("-", |c| &c.as_str()[..c.as_str().len().min(12)])
            )
        },
        |t| format!("{} {}", t.kind.as_str(), t.key),
    );
    safe(&target, 48)
}

/// The requests by tier, as the demo prints them.
pub async fn report(store: &Store, policy: &str, case: Option<&str>) -> Result<String> {
    use std::fmt::Write;
    let rows = store.action_requests(None, 1_000).await?;
    let mut out = format!("\nresponse actions, decided by the {policy}:\n");
    let mut ran = 0;
    for row in rows.iter().rev() {
        let Some(run) = store.run_of(&row.id).await? else { continue };
        ran += 1;
        let what = match run.status {
            RunStatus::Succeeded => "ran and verified".to_owned(),
            other => format!("run {}", other.as_str()),
        };
        let sealed = run
            .evidence_sha256
            .as_deref()
            .map_or(String::new(), |s| format!(", run log sealed as evidence {}", &s[..12]));
        let _ = writeln!(
            out,
            "  {what:<18} {:<22} {:<30} rule {}{sealed}",
            row.request.action,
            target_words(row),
            row.decision["rule"].as_str().unwrap_or("?")
        );
    }
    let waiting: Vec<&ActionRequestRow> =
        rows.iter().filter(|r| r.status == ActionStatus::AwaitingApproval).collect();
    for need in [1, 2] {
        let tier: Vec<&&ActionRequestRow> =
            waiting.iter().filter(|r| r.decision["required"] == need).collect();
        // Vigil's own actions first (they run as soon as they are approved), then the worst
        // case's.
        let mut shown: Vec<&&&ActionRequestRow> = tier.iter().collect();
        shown.sort_by_key(|r| {
            (r.plan["runnable"] != true, r.request.case.as_ref().map(|c| c.as_str()) != case)
        });
        for row in shown.iter().take(3) {
            let runs = if row.plan["runnable"] == true { "Vigil runs it" } else { "needs a connector" };
            let label = format!("waits for {need} {}", if need == 1 { "person" } else { "people" });
            let _ = writeln!(
                out,
                "  {label:<18} {:<22} {:<30} rule {} ({runs})",
                row.request.action,
                target_words(row),
                row.decision["rule"].as_str().unwrap_or("?")
            );
        }
        if tier.len() > 3 {
            let _ = writeln!(out, "  {:<18} and {} more", "", tier.len() - 3);
        }
    }
    let _ = writeln!(
        out,
        "  {ran} ran; {} wait for approval (GET /api/v1/actions/inbox, then POST /api/v1/actions/{{id}}/approve and /execute)",
        waiting.len()
    );
    Ok(out)
}
