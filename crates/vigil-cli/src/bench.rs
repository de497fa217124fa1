//! `vigil bench`: throughput of Vigil's stages on the user's own data.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use vigil_ingest::{Outcome, ReadOptions, Scanned, read_file, scan_file};

#[derive(clap::Subcommand)]
pub enum Bench {
    /// Decode and normalize files to OCSF (serializing each event), single-threaded.
    Normalize {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Read the input this many times and report the best run.
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
    /// Read and detect (single-threaded), after loading the rules once: records are read as
    /// rules see them and mapped to OCSF only when they alert; the same work mapping every
    /// record first is timed after it for comparison.
    Hunt {
        /// Files or directories of logs.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Rule directories (default: the built-in rules).
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
        /// Load only the first N rule files (to measure how time grows with the rule count).
        #[arg(long)]
        max_rules: Option<usize>,
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
    /// Triage one generated case of this many alerts with the built-in analyst: time per case.
    Triage {
        #[arg(long, default_value_t = 500)]
        alerts: usize,
        #[arg(long, default_value_t = 20)]
        runs: u32,
    },
    /// Run the server on loopback and load its bulk ingest API: durable events per second,
    /// acknowledgement latency, event-to-case latency, memory.
    Serve {
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Concurrent client connections.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Events per request.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Every Nth batch carries one alerting event (0: none).
        #[arg(long, default_value_t = 10)]
        trigger_every: u64,
        /// A PostgreSQL URL (an empty database) instead of SQLite in a temporary directory;
        /// with --cluster, the server (`postgres://user@host:port`), on which each run makes a
        /// database of its own.
        #[arg(long)]
        database: Option<String>,
        /// Run a cluster instead: one ingest node and --workers worker nodes (this binary, as
        /// `vigil serve --role …`) over --nats and --database.
        #[arg(long, requires_all = ["nats", "database"])]
        cluster: bool,
        /// The NATS server with JetStream a cluster run publishes to.
        #[arg(long)]
        nats: Option<String>,
        /// Worker counts to run, one after another.
        #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 3])]
        workers: Vec<usize>,
        /// Tenants the clients spread the events over (the cluster's partition key).
        #[arg(long, default_value_t = 12)]
        tenants: usize,
    },
    /// The queue page over HTTP on a store of this many open cases: time per page, by view.
    Queue {
        #[arg(long, default_value_t = 10_000)]
        cases: usize,
        /// Requests per view.
        #[arg(long, default_value_t = 50)]
        requests: usize,
    },
    /// Cluster generated alerts into cases: alerts per second and how time grows with the count.
    Cluster {
        /// Alert counts to generate and cluster.
        #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000, 1_000_000])]
        alerts: Vec<usize>,
        #[arg(long, default_value_t = 1)]
        runs: u32,
        /// Hold every case document at once, as `vigil hunt` does, instead of taking them one at
        /// a time as the live engine does.
        #[arg(long)]
        collect: bool,
    },
}

pub fn run(bench: Bench) -> Result<ExitCode> {
    match bench {
        Bench::Normalize { paths, runs } => normalize(&paths, runs.max(1)),
        Bench::Hunt { paths, rules, max_rules, runs } => hunt(&paths, &rules, max_rules, runs.max(1)),
        Bench::Serve {
            seconds,
            clients,
            batch,
            trigger_every,
            database,
            cluster,
            nats,
            workers,
            tenants,
        } => match (cluster, database, nats) {
            (true, Some(server), Some(nats)) => {
                let load = crate::bench_serve_cluster::Load {
                    seconds,
                    clients: clients.max(1),
                    batch: batch.max(1),
                    trigger_every,
                    tenants,
                };
                crate::bench_serve_cluster::run(&load, &server, &nats, &workers)
            }
            (_, database, _) => {
                crate::bench_serve::run(seconds, clients.max(1), batch.max(1), trigger_every, database)
            }
        },
        Bench::Queue { cases, requests } => crate::bench_queue::run(cases, requests),
        Bench::Triage { alerts, runs } => crate::bench_cluster::triage(alerts, runs),
        Bench::Cluster { alerts, runs, collect } => {
            crate::bench_cluster::run(&alerts, runs, collect);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What one pass over the input counted.
#[derive(Default)]
struct Counts {
    events: u64,
    dead_letters: u64,
    alerts: u64,
    bytes: u64,
}

/// Runs `pass` `runs` times; returns the counts and the (wall, cpu) seconds of the fastest run.
fn best_of(runs: u32, mut pass: impl FnMut(&mut Counts)) -> (Counts, f64, f64) {
    let mut best: Option<(Counts, f64, f64)> = None;
    for _ in 0..runs {
        let mut counts = Counts::default();
        let cpu = cpu_seconds();
        let wall = Instant::now();
        pass(&mut counts);
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        if best.as_ref().is_none_or(|(_, w, _)| wall < *w) {
            best = Some((counts, wall, cpu));
        }
    }
    best.unwrap_or_default()
}

/// The lines every benchmark ends with.
fn report(events: u64, wall: f64, cpu: f64, runs: u32) {
    println!("events           {events}");
    println!("wall time        {wall:.3} s (best of {runs})");
    println!("cpu time         {cpu:.3} s");
    println!("events / s       {:.0}", events as f64 / wall.max(1e-9));
    // /proc counts CPU time in 10 ms ticks: a shorter run has no meaningful per-CPU-second rate.
    if cpu >= 0.05 {
        println!("events / cpu-s   {:.0}", events as f64 / cpu);
    } else {
        println!("events / cpu-s   (run too short to measure; give more input)");
    }
    println!("peak memory      {} MiB", peak_rss_mib().map_or("unknown".to_owned(), |m| m.to_string()));
}

fn hunt(paths: &[PathBuf], rule_dirs: &[PathBuf], max_rules: Option<usize>, runs: u32) -> Result<ExitCode> {
    let mut files = Vec::new();
    for dir in rule_dirs {
        files.extend(crate::hunt::rule_files(dir)?);
    }
    if rule_dirs.is_empty() {
        files = vigil_detect::builtin::files();
    }
    if let Some(max) = max_rules {
        files.truncate(max);
    }
    // Loading is timed on its own, best of the runs like the hunt itself.
    let (mut load_wall, mut load_cpu, mut loaded) = (f64::INFINITY, 0.0, None);
    for _ in 0..runs.max(1) {
        drop(loaded.take());
        let cpu = cpu_seconds();
        let wall = Instant::now();
        let (rules, _) = vigil_detect::RuleSet::load(&files, &vigil_detect::RuleSetConfig::default())
            .context("loading rules")?;
        let wall = wall.elapsed().as_secs_f64();
        if wall < load_wall {
            (load_wall, load_cpu) = (wall, cpu_seconds() - cpu);
        }
        loaded = Some(rules);
    }
    let Some(rules) = loaded else { anyhow::bail!("no rules loaded") };
    let inputs = vigil_ingest::input::expand(paths).context("listing input files")?;
    // One EVTX thread: the figures are per core.
    let options = ReadOptions { format: None, evtx_threads: 1, views: true };
    let (counts, wall, cpu) = best_of(runs, |counts| {
        for input in &inputs {
            let summary = scan_file(input, &options, &mut |scanned| {
                if let Scanned::Record(pending) = scanned {
                    let mut fired = 0;
                    for view in pending.views() {
                        fired += rules.evaluate_view(view).len() as u64;
                    }
                    // A hunt maps what alerts to OCSF: its entities make the cases.
                    if fired > 0 && pending.event().is_some() {
                        counts.alerts += fired;
                    }
                }
            });
            counts.events += summary.events;
        }
    });
    // The same work mapping every record to OCSF first, as the reader did before detection
    // read records directly: the figure the detection-first path is measured against.
    let (mapped, mapped_wall, mapped_cpu) = best_of(runs, |counts| {
        for input in &inputs {
            read_file(input, &options, &mut |outcome| {
                if let Outcome::Event(_, views) = outcome {
                    counts.events += 1;
                    for view in &views {
                        counts.alerts += rules.evaluate(view).len() as u64;
                    }
                }
            });
        }
    });
    println!("rules            {} loaded of {} files", rules.len(), files.len());
    println!("rule loading     {load_wall:.3} s wall, {load_cpu:.3} s cpu, best of {runs} (excluded below)");
    println!("files            {}", inputs.len());
    println!("alerts           {}", counts.alerts);
    report(counts.events, wall, cpu, runs);
    println!(
        "mapping all      {:.3} s wall, {:.3} s cpu, {} alerts: every record mapped to OCSF first ({:.2}× the cpu time)",
        mapped_wall,
        mapped_cpu,
        mapped.alerts,
        mapped_cpu / cpu.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

fn normalize(paths: &[PathBuf], runs: u32) -> Result<ExitCode> {
    let files = vigil_ingest::input::expand(paths).context("listing input files")?;
    // One EVTX thread: the figures are per core.
    let options = ReadOptions { format: None, evtx_threads: 1, views: false };
    let mut sink = Vec::with_capacity(64 * 1024);
    let (counts, wall, cpu) = best_of(runs, |counts| {
        for file in &files {
            let summary = read_file(file, &options, &mut |outcome| {
                if let Outcome::Event(event, _) = outcome {
                    sink.clear();
                    // Serializing is part of the job: the output is OCSF JSON.
                    let _ = serde_json::to_writer(&mut sink, &*event);
                }
            });
            counts.events += summary.events;
            counts.dead_letters += summary.dead_letters;
            counts.bytes += summary.bytes;
        }
    });
    println!("files            {}", files.len());
    println!("dead letters     {}", counts.dead_letters);
    println!("input            {:.1} MiB (decoded records)", counts.bytes as f64 / 1_048_576.0);
    report(counts.events, wall, cpu, runs);
    Ok(ExitCode::SUCCESS)
}

/// User + system CPU time of this process, from /proc (Linux); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory (VmHWM) in MiB, from /proc (Linux).
/// The process's resident memory now, in MiB (Linux).
/// The value at fraction `p` of `sorted` (NaN when empty), as the benches report latencies.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get((sorted.len().saturating_sub(1) as f64 * p).round() as usize).copied().unwrap_or(f64::NAN)
}

pub fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

pub fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
