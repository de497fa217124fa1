//! `vigil cluster status`: the nodes of a cluster and their roles, who holds each partition of
//! the event stream and how far behind it is, and the stream's own state. Read from the
//! cluster's PostgreSQL and NATS, so it answers from any machine that reaches them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;
use vigil_engine::cluster::stream::{self, StreamStatus};
use vigil_store::{NodeRow, PartitionRow, Store};

use crate::serve::Settings;
use crate::terminal::safe;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Nodes, partitions with their holders and lag, and the event stream.
    Status(StatusArgs),
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Vigil's configuration file, with its `cluster` section and `serve.database`.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// One JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Status {
    nodes: Vec<Node>,
    partitions: Vec<Partition>,
    /// `None` when NATS did not answer; `stream_error` says why.
    stream: Option<StreamStatus>,
    stream_error: Option<String>,
}

#[derive(Serialize)]
struct Node {
    #[serde(flatten)]
    row: NodeRow,
    /// Heard from within the lease time.
    alive: bool,
}

#[derive(Serialize)]
struct Partition {
    #[serde(flatten)]
    row: PartitionRow,
    /// Held under a lease that has not run out.
    held: bool,
    /// Messages of the partition not yet delivered to its worker, and delivered but not yet
    /// written (when the stream answered).
    pending: Option<u64>,
    in_flight: Option<usize>,
}

pub fn run(command: Command) -> Result<ExitCode> {
    let Command::Status(args) = command;
    let settings = Settings::load(Some(&args.config))?;
    let Some(cluster) = &settings.config.cluster else {
        anyhow::bail!("{} has no `cluster` section", args.config.display());
    };
    let Some(url) = settings.config.serve.database.clone() else {
        anyhow::bail!("{} names no serve.database", args.config.display());
    };
    // Any name: status takes no lease.
    let cluster = cluster.settings(Some("status"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let status = runtime.block_on(async {
        let store =
            Store::open_reader(&url).await.with_context(|| "opening the cluster's database to read")?;
        let now = store.clock().now_ms();
        let ttl = cluster.lease_ttl.as_millis() as i64;
        let nodes = store.cluster_nodes().await?;
        let partitions = store.partitions().await?;
        store.close().await;
        let (stream, stream_error) = match stream::status(&cluster).await {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let consumer = |p: u32| stream.as_ref().and_then(|s| s.consumers.iter().find(|c| c.partition == p));
        let partitions = partitions
            .into_iter()
            .map(|row| Partition {
                held: row.holder.is_some() && row.expires_ms >= now,
                pending: consumer(row.partition).map(|c| c.pending),
                in_flight: consumer(row.partition).map(|c| c.in_flight),
                row,
            })
            .collect();
        let nodes = nodes.into_iter().map(|row| Node { alive: row.seen_ms >= now - ttl, row }).collect();
        anyhow::Ok(Status { nodes, partitions, stream, stream_error })
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", table(&status));
    }
    Ok(ExitCode::SUCCESS)
}

fn table(status: &Status) -> String {
    let mut out = String::from("NODES\n");
    out.push_str(&format!("  {:<24} {:<20} {:<22} {}\n", "name", "roles", "address", "state"));
    for n in &status.nodes {
        out.push_str(&format!(
            "  {:<24} {:<20} {:<22} {}\n",
            safe(&n.row.name, 24),
            safe(&n.row.roles, 20),
            safe(&n.row.address, 22),
            if n.alive { "alive" } else { "silent" }
        ));
    }
    out.push_str("\nPARTITIONS\n");
    out.push_str(&format!(
        "  {:>4} {:<24} {:>6} {:>12} {:>10} {:>10}\n",
        "#", "holder", "epoch", "applied", "pending", "in flight"
    ));
    for p in &status.partitions {
        let holder = match (&p.row.holder, p.held) {
            (Some(h), true) => safe(h, 24),
            (Some(h), false) => format!("{} (lapsed)", safe(h, 14)),
            (None, _) => "-".into(),
        };
        let num = |v: Option<u64>| v.map_or("?".into(), |v| v.to_string());
        out.push_str(&format!(
            "  {:>4} {:<24} {:>6} {:>12} {:>10} {:>10}\n",
            p.row.partition,
            holder,
            p.row.epoch,
            p.row.applied,
            num(p.pending),
            num(p.in_flight.map(|v| v as u64))
        ));
    }
    out.push_str("\nSTREAM\n");
    match (&status.stream, &status.stream_error) {
        (Some(s), _) => out.push_str(&format!(
            "  {}: {} messages, {} bytes, sequences {}..{}, {} replica(s)\n",
            safe(&s.name, 40),
            s.messages,
            s.bytes,
            s.first_sequence,
            s.last_sequence,
            s.replicas
        )),
        (None, Some(e)) => out.push_str(&format!("  not reachable: {}\n", safe(e, 200))),
        (None, None) => {}
    }
    out
}
