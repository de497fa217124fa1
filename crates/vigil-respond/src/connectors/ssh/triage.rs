//! `collect_triage_bundle`: what is running on a host, what it is connected to, who signed
//! in and the recent authentication log, read by fixed commands and sealed into the evidence
//! vault as one JSON document. A command the host cannot run (no `last`, no auth log) is kept
//! with its status and error; the bundle is still taken.

use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Command, Ssh, target_host};
use crate::Result;
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};

/// What the bundle holds: a name and the fixed command that reads it.
const READS: &[(&str, &str, &[&str])] = &[
    ("processes", "ps", &["-eo", "pid,ppid,user,lstart,args", "--no-headers"]),
    ("sockets", "ss", &["-tunap"]),
    ("logged_in", "who", &["-a"]),
    ("logins", "last", &["-n", "50", "-F"]),
    ("auth_log", "tail", &["-n", "500", "/var/log/auth.log"]),
];

/// The largest piece of output kept per command.
const MAX_OUTPUT: usize = 4 << 20;

pub struct CollectTriageBundle {
    ssh: Arc<Ssh>,
}

impl CollectTriageBundle {
    pub fn new(ssh: Arc<Ssh>) -> CollectTriageBundle {
        CollectTriageBundle { ssh }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_OUTPUT)]).into_owned()
}

impl Action for CollectTriageBundle {
    fn name(&self) -> &'static str {
        "collect_triage_bundle"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.ssh.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (host, settings) = self.ssh.host(target_host(request)?)?;
            let commands: Vec<String> = READS
                .iter()
                .map(|(_, program, args)| {
                    std::iter::once(*program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ")
                })
                .collect();
            Ok(Plan {
                changes: vec![format!(
                    "read host {host} ({}) over SSH with `{}` and seal what they print into the evidence vault; nothing on the host changes",
                    settings.address,
                    commands.join("`, `")
                )],
                runnable: true,
                undo: Undo::NothingToUndo,
                facts: json!({"host": host, "commands": commands}),
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(request)?)?;
            Ok(json!({"host": host}))
        })
    }

    fn execute<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            if let Some(done) = cx.store.effect(step.key).await? {
                return Ok(done);
            }
            let (host, _) = self.ssh.host(target_host(step.request)?)?;
            let mut reads = serde_json::Map::new();
            for (name, program, args) in READS {
                let command = Command::new(program, args)?;
                let output = self.ssh.run(host, &command).await?;
                reads.insert(
                    (*name).to_owned(),
                    json!({"command": command.line(), "status": output.status,
                           "stdout": text(&output.stdout), "stderr": text(&output.stderr)}),
                );
            }
            let document = json!({"kind": "vigil.triage_bundle", "host": host, "run": step.key,
                                  "collected_at": cx.store.clock().stamp(), "reads": reads});
            let bytes = serde_json::to_vec_pretty(&document)?;
            let scope =
                step.request.case.as_ref().map_or_else(|| format!("host:{host}"), |c| format!("case:{c}"));
            let mut tx = cx.store.write().await?;
            let (sha256, _) = tx
                .add_evidence(&bytes, "application/json", &format!("triage-{host}.json"), &scope, &cx.by)
                .await?;
            let effect = json!({"evidence_sha256": sha256, "bytes": bytes.len(), "host": host});
            tx.record_effect(step.key, self.name(), &effect).await?;
            tx.commit().await?;
            Ok(effect)
        })
    }

    fn verify<'a>(&'a self, cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(crate::builtin::sealed_evidence_holds(cx, step.key))
    }
}
