//! Scale-out over NATS JetStream and PostgreSQL. Ingest nodes publish each accepted event to
//! the stream, on the subject of its partition, and answer only once JetStream has it
//! ([`publish`]). Worker nodes lease partitions in the database and run one engine per
//! partition over a durable consumer ([`worker`]). The partition is the event's tenant: the
//! correlation over the entity graph is global within a tenant, so a tenant is the finest split
//! that keeps every case's alerts on one worker.

pub mod envelope;
pub mod publish;
pub mod stream;
pub mod worker;

use std::time::Duration;

use sha2::{Digest, Sha256};

/// How a node joins the cluster (the `cluster` section of `vigil.yml`).
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// This node's name, unique in the cluster: it holds leases under it.
    pub node: String,
    pub nats_url: String,
    /// The JetStream stream that carries events.
    pub stream: String,
    /// Events of partition `p` are published on `<subject>.<p>`.
    pub subject: String,
    /// Fixed for the stream's life: a tenant's partition must not move while its cases are open.
    pub partitions: u32,
    /// JetStream replicas of the stream (1 on a single NATS server; 3 on a NATS cluster).
    pub replicas: usize,
    /// How long the stream keeps events: at least the longest correlation window, so a worker
    /// taking a partition over can rebuild its windows from the stream.
    pub max_age: Duration,
    /// How long an ingest node waits for JetStream before answering 503.
    pub publish_timeout: Duration,
    /// A worker's partitions move to others this long after it was last heard from.
    pub lease_ttl: Duration,
}

impl ClusterSettings {
    pub fn new(node: impl Into<String>, nats_url: impl Into<String>) -> ClusterSettings {
        ClusterSettings {
            node: node.into(),
            nats_url: nats_url.into(),
            stream: "VIGIL_EVENTS".into(),
            subject: "vigil.events".into(),
            partitions: 16,
            replicas: 1,
            max_age: Duration::from_secs(7 * 24 * 3600),
            publish_timeout: Duration::from_secs(5),
            lease_ttl: Duration::from_secs(15),
        }
    }

    /// The subject partition `p`'s events are published on.
    pub fn subject_of(&self, partition: u32) -> String {
        format!("{}.{partition}", self.subject)
    }

    /// The durable consumer of partition `p`.
    pub fn consumer_of(&self, partition: u32) -> String {
        format!("vigil-partition-{partition}")
    }
}

/// The tenant an OCSF event belongs to (`metadata.tenant_uid`), or `None` for the default
/// tenant.
pub fn tenant_of(ocsf: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        metadata: Option<Metadata>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        tenant_uid: Option<String>,
    }
    serde_json::from_str::<Head>(ocsf).ok()?.metadata?.tenant_uid
}

/// The partition of a tenant: a hash that does not change between builds or machines.
pub fn partition_of(tenant: Option<&str>, partitions: u32) -> u32 {
    let digest = Sha256::digest(tenant.unwrap_or("").as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(head) % u64::from(partitions.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_always_lands_on_the_same_partition() {
        // Fixed values: a change here moves every tenant's events to another worker.
        assert_eq!(partition_of(None, 16), partition_of(Some(""), 16));
        let a = partition_of(Some("tenant-a"), 16);
        assert_eq!(a, partition_of(Some("tenant-a"), 16));
        assert!(a < 16);
        let spread: std::collections::HashSet<u32> =
            (0..200).map(|i| partition_of(Some(&format!("tenant-{i}")), 16)).collect();
        assert_eq!(spread.len(), 16, "200 tenants cover all 16 partitions");
        assert_eq!(partition_of(Some("anything"), 1), 0);
    }

    #[test]
    fn the_tenant_is_read_from_the_event_metadata() {
        assert_eq!(
            tenant_of(r#"{"class_uid":1,"metadata":{"tenant_uid":"t-1","version":"1"}}"#).as_deref(),
            Some("t-1")
        );
        assert_eq!(tenant_of(r#"{"class_uid":1,"metadata":{"version":"1"}}"#), None);
        assert_eq!(tenant_of(r#"{"class_uid":1}"#), None);
        assert_eq!(tenant_of("not json"), None);
    }
}
