//! EC2 actions on an instance (a host target whose key is the instance id):
//! `quarantine_instance` swaps its security groups for the site's quarantine group (rollback:
//! the groups the precheck read), and `snapshot_instance_volumes` snapshots every EBS volume
//! attached to it as evidence, each snapshot tagged with the run's key so a run cut off by a
//! crash finds its snapshots instead of taking them twice.

use std::sync::Arc;

use serde_json::{Value, json};
use vigil_model::ActionRequest;

use super::{Aws, Node, Service, target_of};
use crate::action::{Action, BoxFuture, Cx, Plan, Probe, Step, Undo};
use crate::{Error, Result};

/// The tag each evidence snapshot carries: the run that took it.
const RUN_TAG: &str = "vigil-run";

pub(crate) fn is_group_id(text: &str) -> bool {
    is_id(text, "sg-")
}

fn is_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|hex| (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

fn instance_id(request: &ActionRequest) -> Result<String> {
    let id = target_of(request)?.to_ascii_lowercase();
    if is_id(&id, "i-") {
        Ok(id)
    } else {
        Err(Error::Failed(format!("{id:?} is not an EC2 instance id (i-…)")))
    }
}

/// An instance as DescribeInstances reads it.
#[derive(Debug)]
struct Instance {
    id: String,
    state: String,
    vpc: Option<String>,
    groups: Vec<String>,
    /// (volume id, device name).
    volumes: Vec<(String, String)>,
}

async fn describe(aws: &Aws, id: &str) -> Result<Instance> {
    let doc = aws.query(Service::Ec2, "DescribeInstances", &[("InstanceId.1", id.to_owned())]).await?;
    let item = doc
        .all("instancesSet")
        .into_iter()
        .flat_map(|set| set.children.iter())
        .find(|i| i.child_text("instanceId") == Some(id))
        .ok_or_else(|| Error::TargetGone(format!("{}: there is no instance {id}", aws.system())))?;
    let items = |set: Option<&Node>| set.map(|s| s.children.clone()).unwrap_or_default();
    Ok(Instance {
        id: id.to_owned(),
        state: item.child("instanceState").and_then(|s| s.child_text("name")).unwrap_or("unknown").to_owned(),
        vpc: item.child_text("vpcId").filter(|v| !v.is_empty()).map(str::to_owned),
        groups: items(item.child("groupSet"))
            .iter()
            .filter_map(|g| g.child_text("groupId").map(str::to_owned))
            .collect(),
        volumes: items(item.child("blockDeviceMapping"))
            .iter()
            .filter_map(|m| {
                let volume = m.child("ebs")?.child_text("volumeId")?.to_owned();
                Some((volume, m.child_text("deviceName").unwrap_or("").to_owned()))
            })
            .collect(),
    })
}

fn sorted(mut groups: Vec<String>) -> Vec<String> {
    groups.sort();
    groups
}

/// `quarantine_instance`: the instance in the quarantine group alone, so only what that group
/// allows (nothing, or the responders' address) reaches it or leaves it.
pub struct QuarantineInstance {
    aws: Arc<Aws>,
    group: String,
}

impl QuarantineInstance {
    pub fn new(aws: Arc<Aws>) -> Result<QuarantineInstance> {
        let group = aws.quarantine_group().map(str::to_owned).ok_or_else(|| {
            Error::Failed("quarantine_instance needs the quarantine security group (quarantine_group)".into())
        })?;
        Ok(QuarantineInstance { aws, group })
    }

    fn quarantined(&self, instance: &Instance) -> bool {
        instance.groups == [self.group.clone()]
    }

    async fn set_groups(&self, id: &str, groups: &[String]) -> Result<()> {
        let mut params = vec![("InstanceId", id.to_owned())];
        let names: Vec<String> = (1..=groups.len()).map(|n| format!("GroupId.{n}")).collect();
        params.extend(names.iter().map(String::as_str).zip(groups.iter().cloned()));
        self.aws.query(Service::Ec2, "ModifyInstanceAttribute", &params).await.map(drop)
    }

    fn observed(instance: &Instance) -> Value {
        json!({"instance": instance.id, "state": instance.state, "groups": instance.groups})
    }

    fn prior_groups(prior: &Value) -> Result<Vec<String>> {
        let groups: Vec<String> = prior["groups"]
            .as_array()
            .ok_or_else(|| Error::Failed("the precheck kept no security groups: nothing to restore".into()))?
            .iter()
            .filter_map(|g| g.as_str().filter(|g| is_group_id(g)).map(str::to_owned))
            .collect();
        if groups.is_empty() {
            return Err(Error::Failed("the precheck kept no security groups: nothing to restore".into()));
        }
        Ok(groups)
    }
}

impl Action for QuarantineInstance {
    fn name(&self) -> &'static str {
        "quarantine_instance"
    }

    fn undo(&self) -> Undo {
        Undo::Rollback
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            let mut found = self.aws.check().await?;
            let doc = self
                .aws
                .query(Service::Ec2, "DescribeSecurityGroups", &[("GroupId.1", self.group.clone())])
                .await?;
            found["quarantine_group"] = json!({"id": self.group, "vpc": doc.text_of("vpcId")});
            Ok(Some(found))
        })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(request)?).await?;
            let facts = json!({"system": self.aws.system(), "instance": instance.id, "vpc": instance.vpc,
                               "groups": instance.groups, "quarantine_group": self.group});
            let not = |why: String| Plan {
                changes: vec![why],
                runnable: false,
                undo: Undo::NothingToUndo,
                facts: facts.clone(),
            };
            if self.quarantined(&instance) {
                return Ok(not(format!(
                    "instance {} is already in {} alone: nothing to change",
                    instance.id, self.group
                )));
            }
            if instance.state == "terminated" || instance.state == "shutting-down" {
                return Ok(not(format!(
                    "instance {} is {}: nothing to quarantine",
                    instance.id, instance.state
                )));
            }
            Ok(Plan {
                changes: vec![format!(
                    "quarantine EC2 instance {} ({}) in {}: ModifyInstanceAttribute replaces its security groups {} with {} alone; the rollback puts {} back",
                    instance.id,
                    instance.vpc.as_deref().unwrap_or("no VPC"),
                    self.aws.system(),
                    instance.groups.join(", "),
                    self.group,
                    instance.groups.join(", ")
                )],
                runnable: true,
                undo: Undo::Rollback,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(request)?).await?;
            if self.quarantined(&instance) {
                return Err(Error::TargetChanged(format!(
                    "instance {} is in {} alone since the plan was approved; Vigil changed nothing",
                    instance.id, self.group
                )));
            }
            Ok(Self::observed(&instance))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(step.request)?).await?;
            let before = Self::prior_groups(step.prior)?;
            if sorted(instance.groups.clone()) != sorted(before.clone()) {
                return Err(Error::TargetChanged(format!(
                    "the security groups of instance {} changed after the precheck ({} then, {} now); Vigil changed nothing",
                    instance.id,
                    before.join(", "),
                    instance.groups.join(", ")
                )));
            }
            self.set_groups(&instance.id, std::slice::from_ref(&self.group)).await?;
            Ok(json!({"instance": instance.id, "groups": [self.group], "replaced": before}))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(step.request)?).await?;
            Ok(Probe { holds: self.quarantined(&instance), observed: Self::observed(&instance) })
        })
    }

    fn rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(step.request)?).await?;
            let before = Self::prior_groups(step.prior)?;
            if sorted(instance.groups.clone()) == sorted(before.clone()) {
                return Ok(json!({"instance": instance.id, "restored": "already as before"}));
            }
            self.set_groups(&instance.id, &before).await?;
            Ok(json!({"instance": instance.id, "groups": before}))
        })
    }

    fn verify_rollback<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(step.request)?).await?;
            let before = Self::prior_groups(step.prior)?;
            Ok(Probe {
                holds: sorted(instance.groups.clone()) == sorted(before),
                observed: Self::observed(&instance),
            })
        })
    }
}

/// `snapshot_instance_volumes`: an EBS snapshot of every volume of the instance, kept as
/// evidence. Nothing on the instance changes; nothing needs undoing.
pub struct SnapshotVolumes {
    aws: Arc<Aws>,
}

impl SnapshotVolumes {
    pub fn new(aws: Arc<Aws>) -> SnapshotVolumes {
        SnapshotVolumes { aws }
    }

    /// The snapshots this run took: (snapshot, volume, state).
    async fn taken(&self, key: &str) -> Result<Vec<(String, String, String)>> {
        let params = [
            ("Owner.1", "self".to_owned()),
            ("Filter.1.Name", format!("tag:{RUN_TAG}")),
            ("Filter.1.Value.1", key.to_owned()),
        ];
        let doc = self.aws.query(Service::Ec2, "DescribeSnapshots", &params).await?;
        Ok(doc
            .find("snapshotSet")
            .map(|s| s.children.clone())
            .unwrap_or_default()
            .iter()
            .filter_map(|s| {
                Some((
                    s.child_text("snapshotId")?.to_owned(),
                    s.child_text("volumeId")?.to_owned(),
                    s.child_text("status").unwrap_or("").to_owned(),
                ))
            })
            .collect())
    }
}

fn prior_volumes(prior: &Value) -> Vec<String> {
    prior["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["volume"].as_str().filter(|v| is_id(v, "vol-")).map(str::to_owned))
        .collect()
}

impl Action for SnapshotVolumes {
    fn name(&self) -> &'static str {
        "snapshot_instance_volumes"
    }

    fn undo(&self) -> Undo {
        Undo::NothingToUndo
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move { self.aws.check().await.map(Some) })
    }

    fn plan<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Plan>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(request)?).await?;
            let volumes: Vec<String> = instance.volumes.iter().map(|(v, d)| format!("{v} ({d})")).collect();
            let facts = json!({"system": self.aws.system(), "instance": instance.id, "volumes": volumes});
            if volumes.is_empty() {
                return Ok(Plan {
                    changes: vec![format!("instance {} has no EBS volume to snapshot", instance.id)],
                    runnable: false,
                    undo: Undo::NothingToUndo,
                    facts,
                });
            }
            Ok(Plan {
                changes: vec![format!(
                    "snapshot the EBS volumes {} of instance {} in {} (CreateSnapshot, each tagged {RUN_TAG} with the run): evidence; nothing on the instance changes",
                    volumes.join(", "),
                    instance.id,
                    self.aws.system()
                )],
                runnable: true,
                undo: Undo::NothingToUndo,
                facts,
            })
        })
    }

    fn precheck<'a>(&'a self, _cx: &'a Cx, request: &'a ActionRequest) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let instance = describe(&self.aws, &instance_id(request)?).await?;
            if instance.volumes.is_empty() {
                return Err(Error::TargetChanged(format!("instance {} has no EBS volume left", instance.id)));
            }
            let volumes: Vec<Value> =
                instance.volumes.iter().map(|(v, d)| json!({"volume": v, "device": d})).collect();
            Ok(json!({"instance": instance.id, "state": instance.state, "volumes": volumes}))
        })
    }

    fn execute<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Value>> {
        Box::pin(async move {
            let id = instance_id(step.request)?;
            let case = step.request.case.as_ref().map(|c| c.to_string()).unwrap_or_default();
            let taken = self.taken(step.key).await?;
            let mut snapshots = Vec::new();
            for volume in prior_volumes(step.prior) {
                if let Some((snapshot, ..)) = taken.iter().find(|(_, v, _)| *v == volume) {
                    snapshots.push(json!({"volume": volume, "snapshot": snapshot}));
                    continue;
                }
                let params = [
                    ("Description", format!("Vigil evidence: {id} for case {case}")),
                    ("VolumeId", volume.clone()),
                    ("TagSpecification.1.ResourceType", "snapshot".to_owned()),
                    ("TagSpecification.1.Tag.1.Key", RUN_TAG.to_owned()),
                    ("TagSpecification.1.Tag.1.Value", step.key.to_owned()),
                    ("TagSpecification.1.Tag.2.Key", "vigil-case".to_owned()),
                    ("TagSpecification.1.Tag.2.Value", case.clone()),
                ];
                let doc = self.aws.query(Service::Ec2, "CreateSnapshot", &params).await?;
                let snapshot = doc.text_of("snapshotId").unwrap_or("").to_owned();
                snapshots.push(json!({"volume": volume, "snapshot": snapshot}));
            }
            Ok(json!({"instance": id, "snapshots": snapshots}))
        })
    }

    fn verify<'a>(&'a self, _cx: &'a Cx, step: Step<'a>) -> BoxFuture<'a, Result<Probe>> {
        Box::pin(async move {
            let taken = self.taken(step.key).await?;
            let volumes = prior_volumes(step.prior);
            // A snapshot AWS is still copying (pending) is taken: its content is fixed at the
            // moment CreateSnapshot answered.
            let holds = !volumes.is_empty()
                && volumes.iter().all(|v| {
                    taken.iter().any(|(_, tv, state)| tv == v && (state == "pending" || state == "completed"))
                });
            let observed: Vec<Value> = taken
                .iter()
                .map(|(s, v, state)| json!({"snapshot": s, "volume": v, "state": state}))
                .collect();
            Ok(Probe { holds, observed: json!({"snapshots": observed}) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ec2s_shape_or_refused() {
        assert!(is_group_id("sg-0123456789abcdef0") && is_group_id("sg-12345678"));
        assert!(!is_group_id("sg-1234") && !is_group_id("sg-12345678&GroupId.2=sg-x"));
        assert!(is_id("i-0abc12345678def90", "i-") && !is_id("i-../etc", "i-"));
    }
}
