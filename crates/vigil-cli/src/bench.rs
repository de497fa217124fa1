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
    /// Decode, normalize and detect (single-threaded), after loading the rules once.
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
}

pub fn run(bench: Bench) -> Result<ExitCode> {
    match bench {
        Bench::Normalize { paths, runs } => normalize(&paths, runs.max(1)),
        Bench::Hunt { paths, rules, max_rules, runs } => hunt(&paths, &rules, max_rules, runs.max(1)),
    }
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
    let load_cpu = cpu_seconds();
    let load_wall = Instant::now();
    let (rules, _) = vigil_detect::RuleSet::load(&files, &vigil_detect::RuleSetConfig::default())
        .context("loading rules")?;
    let load_wall = load_wall.elapsed().as_secs_f64();
    let load_cpu = cpu_seconds() - load_cpu;
    let inputs = vigil_ingest::input::expand(paths).context("listing input files")?;
    let options = ReadOptions { format: None, evtx_threads: 1, views: true };
    let mut best: Option<(f64, f64)> = None;
    let (mut events, mut alerts) = (0u64, 0u64);
    for _ in 0..runs {
        let (mut e, mut a) = (0u64, 0u64);
        let wall = Instant::now();
        let cpu = cpu_seconds();
        for input in &inputs {
            read_file(input, &options, &mut |outcome| {
                if let Outcome::Event(_, views) = outcome {
                    e += 1;
                    for view in &views {
                        a += rules.evaluate(view).len() as u64;
                    }
                }
            });
        }
        let wall = wall.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        (events, alerts) = (e, a);
        if best.is_none_or(|(w, _)| wall < w) {
            best = Some((wall, cpu));
        }
    }
    let (wall, cpu) = best.unwrap_or((0.0, 0.0));
    println!("rules            {} loaded of {} files", rules.len(), files.len());
    println!("rule loading     {load_wall:.3} s wall, {load_cpu:.3} s cpu");
    println!("files            {}", inputs.len());
    println!("events           {events}");
    println!("alerts           {alerts}");
    println!("wall time        {wall:.3} s (best of {runs}, rule loading excluded)");
    println!("cpu time         {cpu:.3} s");
    println!("events / s       {:.0}", events as f64 / wall.max(1e-9));
    println!("events / cpu-s   {:.0}", events as f64 / cpu.max(1e-9));
    println!("peak memory      {} MiB", peak_rss_mib().map_or("unknown".to_owned(), |m| m.to_string()));
    Ok(ExitCode::SUCCESS)
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
