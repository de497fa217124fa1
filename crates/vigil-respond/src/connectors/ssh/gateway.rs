//! `gateway_block_address`: an address added to a drop set in an nftables table on the
//! site's gateway host, so nothing it sends or is sent is forwarded; the rollback takes it out
//! of the set. The table (two sets, one forward chain) is created the first time it is needed.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Command, Ssh, nft_objects};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

/// The table the blocked addresses live in.
pub const BLOCK_TABLE: &str = "vigil_block";

const TABLE: &str = "table inet vigil_block {\n  set blocked4 { type ipv4_addr; }\n  set blocked6 { type ipv6_addr; }\n  chain forward {\n    type filter hook forward priority -300; policy accept;\n    ip saddr @blocked4 drop\n    ip daddr @blocked4 drop\n    ip6 saddr @blocked6 drop\n    ip6 daddr @blocked6 drop\n  }\n}\n";

pub struct GatewayBlock {
    ssh: Arc<Ssh>,
    gateway: String,
}

fn set_of(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "blocked4" } else { "blocked6" }
}

impl GatewayBlock {
    pub fn new(ssh: Arc<Ssh>) -> Result<GatewayBlock> {
        let gateway = ssh.gateway().map(str::to_owned).ok_or_else(|| {
            Error::Failed("gateway_block_address needs the gateway host (ssh gateway)".into())
        })?;
        Ok(GatewayBlock { ssh, gateway })
    }

    fn address(&self, request: &ActionRequest) -> Result<IpAddr> {
        let key = request
            .target
            .as_ref()
            .map(|t| &*t.key)
            .ok_or_else(|| Error::Failed("gateway_block_address needs an ip target".into()))?;
        let ip: IpAddr = key.parse().map_err(|_| Error::Failed(format!("{key:?} is not an IP address")))?;
        if ip == self.ssh.management() || ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
            return Err(Error::Failed(format!(
                "{ip} cannot be blocked at the gateway: it is Vigil's management address, loopback, unspecified or multicast"
            )));
        }
        Ok(ip)
    }

    /// Whether `ip` is in its drop set now; `None` when the table is not there yet.
    async fn blocked(&self, ip: IpAddr) -> Result<Option<bool>> {
        let listed = self
            .ssh
            .run(
                &self.gateway,
                &Command::new("nft", &["-j", "list", "set", "inet", BLOCK_TABLE, set_of(ip)])?,
            )
            .await?;
        if !listed.ok() {
            return Ok(None);
        }
        let doc: Value = serde_json::from_slice(&listed.stdout)
            .map_err(|e| Error::Failed(format!("host {}: nft's listing is not JSON: {e}", self.gateway)))?;
        let wanted = ip.to_string();
        Ok(Some(nft_objects(&doc, "set").iter().any(|s| {
            s["elem"].as_array().into_iter().flatten().any(|e| e.as_str() == Some(wanted.as_str()))
        })))
    }

    async fn change(&self, verb: &str, ip: IpAddr) -> Result<()> {
        let line = format!("{verb} element inet {BLOCK_TABLE} {} {{ {ip} }}\n", set_of(ip));
        self.ssh
            .must(&self.gateway, &Command::new("nft", &["-f", "-"])?.with_stdin(line.into_bytes()))
            .await
            .map(drop)
    }

    fn observed(&self, ip: IpAddr, blocked: Option<bool>) -> Value {
        json!({"gateway": self.gateway, "table": BLOCK_TABLE, "set": set_of(ip), "address": ip.to_string(),
               "table_present": blocked.is_some(), "blocked": blocked == Some(true)})
    }
}

impl Action for GatewayBlock {
    fn name(&self) -> &'static str {
        "gateway_block_address"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.ssh.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let ip = self.address(request)?;
            let blocked = self.blocked(ip).await?;
            let facts = json!({"gateway": self.gateway, "address": ip.to_string(), "table": BLOCK_TABLE});
            if blocked == Some(true) {
                return Ok(Plan {
                    changes: vec![format!(
                        "{ip} is already blocked at gateway {}: nothing to change",
                        self.gateway
                    )],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            let create = if blocked.is_none() {
                format!(" (creating the table inet {BLOCK_TABLE}: two drop sets and a forward chain)")
            } else {
                String::new()
            };
            Ok(Plan {
                changes: vec![format!(
                    "block {ip} at gateway {}: add it to the nftables set inet {BLOCK_TABLE} {}{create}, so nothing from or to it is forwarded; the rollback takes it out",
                    self.gateway,
                    set_of(ip)
                )],
                runnable: true,
                undo: Undo::Rollback,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let ip = self.address(request)?;
            if self.blocked(ip).await? == Some(true) {
                return Err(Error::TargetChanged(format!(
                    "{ip} is blocked at gateway {} since the plan was approved; Vigil changed nothing",
                    self.gateway
                )));
            }
            Ok(json!({"gateway": self.gateway, "address": ip.to_string(), "blocked": false}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let ip = self.address(step.request)?;
            match self.blocked(ip).await? {
                Some(true) => {
                    return Err(Error::TargetChanged(format!(
                        "{ip} was blocked at gateway {} by someone else after the precheck; Vigil changed nothing",
                        self.gateway
                    )));
                }
                Some(false) => {}
                None => {
                    let table = Command::new("nft", &["-f", "-"])?.with_stdin(TABLE.as_bytes().to_vec());
                    self.ssh.must(&self.gateway, &table).await?;
                }
            }
            self.change("add", ip).await?;
            Ok(self.observed(ip, Some(true)))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let ip = self.address(step.request)?;
            let blocked = self.blocked(ip).await?;
            Ok(Probe { holds: blocked == Some(true), observed: self.observed(ip, blocked) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let ip = self.address(step.request)?;
            if self.blocked(ip).await? != Some(true) {
                return Ok(json!({"address": ip.to_string(), "restored": "already as before"}));
            }
            self.change("delete", ip).await?;
            Ok(self.observed(ip, Some(false)))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let ip = self.address(step.request)?;
            let blocked = self.blocked(ip).await?;
            Ok(Probe { holds: blocked != Some(true), observed: self.observed(ip, blocked) })
        })
    }
}
