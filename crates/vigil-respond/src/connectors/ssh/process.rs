//! `kill_process`: one process on a host, named by its pid and its image (the executable's
//! file name), sent SIGKILL. The image is read back from `/proc/<pid>/exe` before the kill, so
//! a pid reused by another program since the alert is reported, not killed. A killed process
//! cannot be brought back: the action is irreversible.

use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Command, Ssh, target_host};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

pub struct KillProcess {
    ssh: Arc<Ssh>,
}

/// The pid and image a request names, checked.
fn named(request: &ActionRequest) -> Result<(u32, String)> {
    let pid = match request.parameters.get("pid") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|pid| *pid > 1)
    .ok_or_else(|| Error::Failed("kill_process needs the parameter pid: a process id above 1".into()))?;
    let image = crate::builtin::text_parameter(request, "image")?.ok_or_else(|| {
        Error::Failed("kill_process needs the parameter image: the executable's file name".into())
    })?;
    let base = image.rsplit(['/', '\\']).next().unwrap_or(image);
    let ok = !base.is_empty()
        && base.len() <= 255
        && base != "."
        && base != ".."
        && base.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if !ok {
        return Err(Error::Failed(format!(
            "image {image:?}: an executable's file name (letters, digits, ._+-)"
        )));
    }
    Ok((pid, base.to_owned()))
}

impl KillProcess {
    pub fn new(ssh: Arc<Ssh>) -> KillProcess {
        KillProcess { ssh }
    }

    /// The file name of the executable running as `pid`, or `None` when no process has it.
    async fn image_of(&self, host: &str, pid: u32) -> Result<Option<String>> {
        let exe = format!("/proc/{pid}/exe");
        let read = self.ssh.run(host, &Command::new("readlink", &[exe.as_str()])?).await?;
        if !read.ok() {
            return Ok(None);
        }
        let path = read.stdout_text();
        let path = path.trim().trim_end_matches(" (deleted)");
        Ok(Some(path.rsplit('/').next().unwrap_or(path).to_owned()))
    }

    async fn running(&self, request: &ActionRequest) -> Result<(String, u32, String)> {
        let (host, _) = self.ssh.host(target_host(request)?)?;
        let (pid, image) = named(request)?;
        match self.image_of(host, pid).await? {
            None => Err(Error::TargetGone(format!("no process {pid} is running on host {host}"))),
            Some(running) if running != image => Err(Error::TargetChanged(format!(
                "process {pid} on host {host} runs {running}, not {image}: the pid was reused; Vigil killed nothing"
            ))),
            Some(_) => Ok((host.to_owned(), pid, image)),
        }
    }
}

impl Action for KillProcess {
    fn name(&self) -> &'static str {
        "kill_process"
    }

    fn undo(&self) -> Undo {
        Undo::Irreversible
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.ssh.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (host, pid, image) = self.running(request).await?;
            Ok(Plan {
                changes: vec![format!(
                    "kill process {pid} ({image}) on host {host} with SIGKILL, after reading its image from /proc again; irreversible: the process and what it held in memory are gone (collect a triage bundle first)"
                )],
                runnable: true,
                undo: Undo::Irreversible,
                facts: json!({"host": host, "pid": pid, "image": image}),
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (host, pid, image) = self.running(request).await?;
            Ok(json!({"host": host, "pid": pid, "image": image}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (host, pid, image) = match self.running(step.request).await {
                Ok(found) => found,
                Err(Error::TargetGone(why)) => {
                    return Err(Error::TargetChanged(format!(
                        "{why} since the precheck; Vigil killed nothing"
                    )));
                }
                Err(e) => return Err(e),
            };
            let pid_text = pid.to_string();
            self.ssh.must(&host, &Command::new("kill", &["-KILL", pid_text.as_str()])?).await?;
            Ok(json!({"host": host, "pid": pid, "image": image, "signal": "KILL"}))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(step.request)?)?;
            let (pid, image) = named(step.request)?;
            let running = self.image_of(host, pid).await?;
            let holds = running.as_deref() != Some(image.as_str());
            Ok(Probe { holds, observed: json!({"host": host, "pid": pid, "running": running}) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::Requester;

    fn with(parameters: Value) -> ActionRequest {
        ActionRequest {
            action: "kill_process".into(),
            target: None,
            parameters: serde_json::from_value(parameters).expect("parameters"),
            case: None,
            requested_by: Requester::Person("rita".into()),
            plan_sha256: None,
        }
    }

    #[test]
    fn a_pid_and_an_image_are_checked_before_anything_reaches_a_host() {
        assert_eq!(
            named(&with(json!({"pid": 4242, "image": "/tmp/.x/miner"}))).ok(),
            Some((4242, "miner".into()))
        );
        assert_eq!(
            named(&with(json!({"pid": "77", "image": "C:\\Temp\\evil.exe"}))).ok(),
            Some((77, "evil.exe".into()))
        );
        for bad in [
            json!({"pid": 1, "image": "init"}),
            json!({"pid": "4 2", "image": "x"}),
            json!({"pid": 9, "image": "a;b"}),
            json!({"pid": 9}),
        ] {
            assert!(named(&with(bad.clone())).is_err(), "{bad}");
        }
    }
}
