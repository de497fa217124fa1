//! The `vigil` command: the only place Vigil prints to a terminal.

mod actions;
mod ask;
mod bench;
mod bench_cluster;
mod bench_queue;
mod bench_serve;
mod bench_serve_cluster;
mod cases;
mod cluster;
mod compliance;
mod config;
mod connectors;
mod demo;
mod demo_respond;
mod eval;
mod eval_tuning;
mod export;
mod hunt;
mod logging;
mod normalize;
mod output;
mod policy;
mod progress;
mod rules;
mod scorecard;
mod serve;
mod summary;
mod terminal;
mod train;
mod tune;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vigil", version, about = "Vigil: an open-source AI security operations center")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hunt through a folder of logs with Sigma rules: decode, normalize, detect, summarize.
    Hunt(hunt::Args),
    /// Turn log files into OCSF events (JSON lines), with a dead-letter file for what could not be read.
    Normalize(normalize::Args),
    /// Ask a question about one case of a hunt; answered from its evidence, with citations.
    Ask(ask::Args),
    /// Fit the built-in analyst's model to labelled cases (from `vigil hunt --json`).
    Train(train::Args),
    /// Measure Vigil's throughput on your data.
    #[command(subcommand)]
    Bench(bench::Bench),
    /// Measure Vigil's judgement on labelled public data.
    #[command(subcommand)]
    Eval(eval::Eval),
    /// Run the SOC server: ingest endpoints, the pipeline, the REST API, the audit trail.
    Serve(serve::Args),
    /// Start the server on a fresh data directory with demo users and a sample intrusion.
    Demo(demo::Args),
    /// Write self-contained files for auditors (the audit trail).
    #[command(subcommand)]
    Export(export::Export),
    /// Propose Sigma filters for a hunt's false positives from your verdicts, each replayed first.
    Tune(tune::Args),
    /// Test Sigma rules against regression data (SigmaHQ's layout).
    #[command(subcommand)]
    Rules(rules::Rules),
    /// Check, explain and test an approval policy.
    #[command(subcommand)]
    Policy(policy::Command),
    /// Response actions on a running server: list, inbox, show, propose, approve, reject, execute, run, rollback.
    Actions(actions::Args),
    /// The connectors to outside systems `vigil.yml` configures: check that each works.
    Connectors(connectors::Args),
    /// Check an audit trail offline (data directory, PostgreSQL URL or export) and name the first bad record.
    Verify(verify::Args),
    /// A week's scorecard: MTTD, MTTA, MTTR, precision, automation, evidence, SLA breaches, noisy and silent rules.
    Scorecard(scorecard::Args),
    /// A cluster's nodes, partitions (holder, lag) and event stream.
    #[command(subcommand)]
    Cluster(cluster::Command),
    /// Compliance: a framework's controls (SOC 2, ISO 27001, HIPAA, PCI DSS or your own) and what supported each.
    #[command(subcommand)]
    Compliance(compliance::Command),
}

fn closed_output(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(args) => hunt::run(args),
        Command::Connectors(args) => connectors::run(args),
        Command::Normalize(args) => normalize::run(args),
        Command::Bench(bench) => bench::run(bench),
        Command::Train(args) => train::run(args),
        Command::Ask(args) => ask::run(args),
        Command::Eval(eval) => eval::run(eval),
        Command::Verify(args) => verify::run(args),
        Command::Scorecard(args) => scorecard::run(args),
        Command::Compliance(command) => compliance::run(command),
        Command::Cluster(command) => cluster::run(command),
        Command::Export(export) => export::run(export),
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Policy(command) => policy::run(command),
        Command::Rules(rules) => rules::run(rules),
        Command::Tune(args) => tune::run(args),
        Command::Actions(args) => actions::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`vigil hunt --json | head -1`): what it wanted it has; end
        // quietly and successfully, as grep and ripgrep do.
        Err(error) if closed_output(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vigil: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
