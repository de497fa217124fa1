//! `vigil actions`: response actions from a terminal, through a running server's API with a
//! token (`VIGIL_TOKEN`): list, my inbox, one request with its plan and answers, propose on a
//! case, approve or reject with a rationale (bound to the hash the request is shown with),
//! execute, the run log, and roll back. The server decides and records everything; this only
//! asks and prints (every field from the server is text from logs and people: it is escaped).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::terminal::safe;

#[derive(clap::Args)]
pub struct Args {
    /// The server (`vigil serve` prints it).
    #[arg(long, env = "VIGIL_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API token (`vgl_…`) holding the permissions the command needs.
    #[arg(long, env = "VIGIL_TOKEN", hide_env_values = true)]
    token: String,
    /// Print the server's JSON answer instead of the summary.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Requests, newest first.
    List {
        /// Only those in this state (`awaiting_approval`, `approved`, …).
        #[arg(long)]
        status: Option<String>,
    },
    /// What you may approve: awaiting, not yours, your role named, not answered by you.
    Inbox,
    /// One request: its plan, the policy's decision, its hash and the answers given.
    Show { id: String },
    /// Propose an action on a case; the policy decides at once what it needs.
    Propose {
        case: String,
        action: String,
        /// What it acts on, as `kind key`: `ip 203.0.113.7`, `host ws-12`.
        #[arg(long)]
        target: Option<String>,
        /// A parameter as `name=value` (repeat): `for=24h`.
        #[arg(long = "param")]
        parameters: Vec<String>,
    },
    /// Approve a request as it is now (the request's current hash is read and bound).
    Approve {
        id: String,
        #[arg(long)]
        rationale: String,
    },
    /// Reject a request.
    Reject {
        id: String,
        #[arg(long)]
        rationale: String,
    },
    /// Run an approved request (once; asked again, the same run).
    Execute { id: String },
    /// A request's run and its log, step by step.
    Run { id: String },
    /// Ask to undo what a request's run changed (a request under the policy too).
    Rollback {
        id: String,
        #[arg(long)]
        rationale: String,
    },
}

struct Api {
    agent: ureq::Agent,
    url: String,
    bearer: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let mut answer = match body {
            None => self.agent.get(&url).header("Authorization", &self.bearer).call(),
            Some(body) => self
                .agent
                .post(&url)
                .header("Authorization", &self.bearer)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        }
        .with_context(|| format!("{method} {url}"))?;
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string()?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !(200..300).contains(&status) {
            let code = value["error"]["code"].as_str().unwrap_or("error");
            let message = value["error"]["message"].as_str().unwrap_or("");
            bail!("{method} {path}: {status} {code}: {}", safe(message, 2_000));
        }
        Ok(value)
    }
}

/// Encodes one path segment: ids come from the user's command line.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn text(v: &Value) -> String {
    safe(v.as_str().unwrap_or(""), 200)
}

fn target(request: &Value) -> String {
    match request["request"]["target"].as_object() {
        Some(t) => {
            safe(&format!("{} {}", t["kind"].as_str().unwrap_or(""), t["key"].as_str().unwrap_or("")), 80)
        }
        None => format!("case {}", text(&request["request"]["case"])),
    }
}

fn line(request: &Value) -> String {
    format!(
        "{:<30} {:<18} {:<22} {:<32} {}",
        text(&request["id"]),
        text(&request["status"]),
        text(&request["request"]["action"]),
        target(request),
        safe(request["decision"]["in_words"].as_str().unwrap_or(""), 60)
    )
}

fn show(request: &Value) -> String {
    let mut out = format!("{}\n", line(request));
    out += &format!("  rule {}: {}\n", text(&request["decision"]["rule"]), text(&request["decision"]["why"]));
    out += &format!("  request hash {}\n", text(&request["request_sha256"]));
    out += &format!("  expires {}\n  plan:\n", text(&request["expires_at"]));
    for change in request["plan"]["changes"].as_array().into_iter().flatten() {
        out += &format!("    - {}\n", text(change));
    }
    if request["plan"]["runnable"] != true {
        out += "    (Vigil has no action or connector that runs it)\n";
    }
    for a in request["approvals"].as_array().into_iter().flatten() {
        out += &format!("  {} by {}: {}\n", text(&a["verdict"]), text(&a["approver"]), text(&a["rationale"]));
    }
    out
}

fn run_log(view: &Value) -> String {
    let run = &view["run"];
    let mut out = format!("run {} {}", text(&run["id"]), text(&run["status"]));
    if let Some(code) = run["code"].as_str() {
        out += &format!(" ({}): {}", safe(code, 40), text(&run["reason"]));
    }
    out.push('\n');
    for step in view["log"].as_array().into_iter().flatten() {
        let ms = step["ended_ms"].as_i64().unwrap_or(0) - step["started_ms"].as_i64().unwrap_or(0);
        out += &format!(
            "  {:>3}. {:<16} {:<8} attempt {} {ms} ms\n",
            step["seq"],
            text(&step["step"]),
            text(&step["outcome"]),
            step["attempt"]
        );
    }
    if let Some(sha) = run["evidence_sha256"].as_str() {
        out += &format!("  sealed as evidence {}\n", safe(sha, 64));
    }
    out
}

fn parameters(pairs: &[String]) -> Result<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    for pair in pairs {
        let (name, value) =
            pair.split_once('=').with_context(|| format!("--param {pair:?}: write name=value"))?;
        out.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    Ok(out)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let api = Api {
        agent: ureq::Agent::config_builder().http_status_as_error(false).build().into(),
        url: args.url.clone(),
        bearer: format!("Bearer {}", args.token),
    };
    let (answer, summary): (Value, fn(&Value) -> String) = match &args.command {
        Command::List { status } => {
            let query = status.as_deref().map_or(String::new(), |s| format!("?status={}", segment(s)));
            (api.call("GET", &format!("/api/v1/actions{query}"), None)?, list)
        }
        Command::Inbox => (api.call("GET", "/api/v1/actions/inbox", None)?, list),
        Command::Show { id } => (api.call("GET", &format!("/api/v1/actions/{}", segment(id)), None)?, show),
        Command::Propose { case, action, target, parameters: pairs } => {
            let body = json!({"action": action, "target": target, "parameters": parameters(pairs)?});
            (api.call("POST", &format!("/api/v1/cases/{}/actions", segment(case)), Some(&body))?, show)
        }
        Command::Approve { id, rationale } | Command::Reject { id, rationale } => {
            let verb = if matches!(args.command, Command::Approve { .. }) { "approve" } else { "reject" };
            let request = api.call("GET", &format!("/api/v1/actions/{}", segment(id)), None)?;
            let body = json!({"request_sha256": request["request_sha256"], "rationale": rationale});
            (api.call("POST", &format!("/api/v1/actions/{}/{verb}", segment(id)), Some(&body))?, answered)
        }
        Command::Execute { id } => (
            api.call("POST", &format!("/api/v1/actions/{}/execute", segment(id)), Some(&json!({})))?,
            run_log,
        ),
        Command::Run { id } => {
            (api.call("GET", &format!("/api/v1/actions/{}/run", segment(id)), None)?, run_log)
        }
        Command::Rollback { id, rationale } => {
            let body = json!({"rationale": rationale});
            (api.call("POST", &format!("/api/v1/actions/{}/rollback", segment(id)), Some(&body))?, show)
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", summary(&answer));
    }
    Ok(ExitCode::SUCCESS)
}

fn list(answer: &Value) -> String {
    let actions = answer["actions"].as_array().cloned().unwrap_or_default();
    if actions.is_empty() {
        return "no requests\n".into();
    }
    actions.iter().map(|a| line(a) + "\n").collect()
}

fn answered(answer: &Value) -> String {
    let mut out = show(answer);
    out += &format!("outcome: {}", text(&answer["outcome"]));
    if let Some(need) = answer["need"].as_u64() {
        out += &format!(" ({need} more approval(s) needed)");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_the_command_line_cannot_leave_their_path_segment() {
        assert_eq!(segment("act_1f"), "act_1f");
        assert_eq!(segment("../users?x=1"), "%2E%2E%2Fusers%3Fx%3D1", "not even `..` stays a segment");
    }

    #[test]
    fn text_from_the_server_cannot_drive_the_terminal() {
        let request =
            json!({"id": "a", "status": "approved", "request": {"action": "x\u{1b}[2J", "case": "c"}});
        assert!(!line(&request).contains('\u{1b}'));
    }
}
