//! `isolate_host`: an nftables table on the host that drops every packet in and out but
//! loopback and the management address Vigil reaches it from; the rollback deletes the table.
//! The ruleset goes to `nft -f -` on standard input, built from parsed addresses only.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Command, Ssh, nft_objects, target_host};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

/// The table isolation lives in: its name says whose it is.
pub const ISOLATION_TABLE: &str = "vigil_isolation";

pub struct IsolateHost {
    ssh: Arc<Ssh>,
}

/// The match for an address of either family.
fn saddr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip saddr {v4}"),
        IpAddr::V6(v6) => format!("ip6 saddr {v6}"),
    }
}

fn daddr(ip: IpAddr) -> String {
    saddr(ip).replace("saddr", "daddr")
}

/// The whole table: priority -300 runs before any other filter, so no accept elsewhere
/// undoes it.
pub(crate) fn ruleset(management: IpAddr) -> String {
    format!(
        "table inet {ISOLATION_TABLE} {{\n  chain input {{\n    type filter hook input priority -300; policy drop;\n    iif \"lo\" accept\n    {} accept\n  }}\n  chain output {{\n    type filter hook output priority -300; policy drop;\n    oif \"lo\" accept\n    {} accept\n  }}\n  chain forward {{\n    type filter hook forward priority -300; policy drop;\n  }}\n}}\n",
        saddr(management),
        daddr(management)
    )
}

impl IsolateHost {
    pub fn new(ssh: Arc<Ssh>) -> IsolateHost {
        IsolateHost { ssh }
    }

    /// The isolation table as the host's nftables holds it, if there is one.
    async fn table(&self, host: &str) -> Result<Option<Value>> {
        let listed = self
            .ssh
            .run(host, &Command::new("nft", &["-j", "list", "table", "inet", ISOLATION_TABLE])?)
            .await?;
        if !listed.ok() {
            // nft says the table does not exist; make sure nft itself answers.
            self.ssh.must(host, &Command::new("nft", &["-j", "list", "tables"])?).await?;
            return Ok(None);
        }
        serde_json::from_slice(&listed.stdout)
            .map(Some)
            .map_err(|e| Error::Failed(format!("host {host}: nft's listing is not JSON: {e}")))
    }

    /// Whether `table` drops everything but the management address, both ways.
    fn isolates(&self, table: &Value) -> bool {
        let management = self.ssh.management().to_string();
        let chains = nft_objects(table, "chain");
        let drops = |hook: &str| chains.iter().any(|c| c["hook"] == hook && c["policy"] == "drop");
        let rules = nft_objects(table, "rule");
        let lets_in = |chain: &str| {
            rules.iter().any(|r| r["chain"] == chain && r.to_string().contains(&format!("\"{management}\"")))
        };
        drops("input") && drops("output") && drops("forward") && lets_in("input") && lets_in("output")
    }

    fn observed(host: &str, table: &Option<Value>, isolated: bool) -> Value {
        json!({"host": host, "table": ISOLATION_TABLE, "present": table.is_some(), "isolates": isolated})
    }
}

impl Action for IsolateHost {
    fn name(&self) -> &'static str {
        "isolate_host"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.ssh.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let (host, settings) = self.ssh.host(target_host(request)?)?;
            let facts = json!({"host": host, "address": settings.address, "management": self.ssh.management().to_string(), "table": ISOLATION_TABLE});
            if self.table(host).await?.is_some() {
                return Ok(Plan {
                    changes: vec![format!(
                        "host {host} already has the nftables table {ISOLATION_TABLE}: nothing to change"
                    )],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan {
                changes: vec![format!(
                    "isolate host {host} ({}): add the nftables table inet {ISOLATION_TABLE}, which drops every packet in, out and through it but loopback and the management address {}; the rollback deletes the table",
                    settings.address,
                    self.ssh.management()
                )],
                runnable: true,
                undo: Undo::Rollback,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(request)?)?;
            if self.table(host).await?.is_some() {
                return Err(Error::TargetChanged(format!(
                    "host {host} has an nftables table {ISOLATION_TABLE} since the plan was approved; Vigil changed nothing"
                )));
            }
            Ok(json!({"host": host, "table_present": false}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(step.request)?)?;
            if self.table(host).await?.is_some() {
                return Err(Error::TargetChanged(format!(
                    "someone else added an nftables table {ISOLATION_TABLE} to host {host} after the precheck; Vigil changed nothing"
                )));
            }
            let rules = ruleset(self.ssh.management());
            self.ssh.must(host, &Command::new("nft", &["-f", "-"])?.with_stdin(rules.into_bytes())).await?;
            Ok(
                json!({"host": host, "added": ISOLATION_TABLE, "management": self.ssh.management().to_string()}),
            )
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(step.request)?)?;
            let table = self.table(host).await?;
            let isolated = table.as_ref().is_some_and(|t| self.isolates(t));
            Ok(Probe { holds: isolated, observed: Self::observed(host, &table, isolated) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(step.request)?)?;
            if self.table(host).await?.is_none() {
                return Ok(json!({"host": host, "restored": "already as before"}));
            }
            self.ssh.must(host, &Command::new("nft", &["delete", "table", "inet", ISOLATION_TABLE])?).await?;
            Ok(json!({"host": host, "deleted": ISOLATION_TABLE}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let (host, _) = self.ssh.host(target_host(step.request)?)?;
            let table = self.table(host).await?;
            Ok(Probe { holds: table.is_none(), observed: Self::observed(host, &table, false) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ruleset_lets_only_the_management_address_through() {
        let rules = ruleset("10.9.0.1".parse().expect("ip"));
        assert!(
            rules.contains("ip saddr 10.9.0.1 accept") && rules.contains("ip daddr 10.9.0.1 accept"),
            "{rules}"
        );
        assert_eq!(rules.matches("policy drop").count(), 3);
        let v6 = ruleset("fd00::1".parse().expect("ip"));
        assert!(v6.contains("ip6 saddr fd00::1 accept"), "{v6}");
    }
}
