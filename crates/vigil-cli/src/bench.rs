//! `vigil bench`: throughput of Vigil's stages on the user's own data.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use vigil_ingest::{Outcome, ReadOptions, read_file};

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
}

pub fn run(bench: Bench) -> Result<ExitCode> {
    match bench {
        Bench::Normalize { paths, runs } => normalize(&paths, runs.max(1)),
    }
}

fn normalize(paths: &[PathBuf], runs: u32) -> Result<ExitCode> {
    let files = vigil_ingest::input::expand(paths).context("listing input files")?;
    // One EVTX thread: the figure is per core.
    let options = ReadOptions { format: None, evtx_threads: 1, views: false };
    let mut best: Option<(f64, f64)> = None;
    let (mut events, mut dead, mut bytes) = (0u64, 0u64, 0u64);
    for _ in 0..runs {
        let (mut e, mut d, mut b) = (0u64, 0u64, 0u64);
        let mut sink = Vec::with_capacity(64 * 1024);
        let wall = Instant::now();
        let cpu = cpu_seconds();
        for file in &files {
            let summary = read_file(file, &options, &mut |outcome| {
                if let Outcome::Event(event, _) = outcome {
                    sink.clear();
                    // Serializing is part of the job: the output is OCSF JSON.
                    let _ = serde_json::to_writer(&mut sink, &*event);
                }
            });
            e += summary.events;
            d += summary.dead_letters;
            b += summary.bytes;
        }
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        (events, dead, bytes) = (e, d, b);
        if best.is_none_or(|(w, _)| wall < w) {
            best = Some((wall, cpu));
        }
    }
    let (wall, cpu) = best.unwrap_or((0.0, 0.0));
    println!("files            {}", files.len());
    println!("events           {events}");
    println!("dead letters     {dead}");
    println!("input            {:.1} MiB (decoded records)", bytes as f64 / 1_048_576.0);
    println!("wall time        {wall:.3} s (best of {runs})");
    println!("cpu time         {cpu:.3} s");
    println!("events / s       {:.0}", events as f64 / wall.max(1e-9));
    println!("events / cpu-s   {:.0}", events as f64 / cpu.max(1e-9));
    println!("peak memory      {} MiB", peak_rss_mib().map_or("unknown".to_owned(), |m| m.to_string()));
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
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
