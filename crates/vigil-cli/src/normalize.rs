//! `vigil normalize`: log files in, OCSF JSON lines out, dead letters beside them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vigil_ingest::{Outcome, ReadOptions, by_name, read_file};
use vigil_ocsf::Schema;

use crate::progress;
use crate::summary::Counts;

#[derive(clap::Args)]
#[command(after_help = "Exit status: 0 when every record became an event, 1 when some were rejected \
(see the dead-letter file) or failed validation, 2 on an error that stopped the run.")]
pub struct Args {
    /// Files or directories (read recursively). Gzip files are recognised by content.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Read every file as this format instead of recognising it.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::output::format_names()))]
    pub format: Option<String>,
    /// Write OCSF events here (JSON lines) instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Write dead letters here (JSON lines). Default: `<out>.dead-letters.jsonl`, or
    /// `vigil-dead-letters.jsonl` when writing to standard output.
    #[arg(long)]
    pub dead_letters: Option<PathBuf>,
    /// Validate every event against this compiled OCSF schema (JSON) and report violations.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json_summary: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let format = args.format.as_deref().and_then(by_name);
    let schema = match &args.schema {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading OCSF schema {}", path.display()))?;
            Some(
                Schema::from_json(&bytes)
                    .with_context(|| format!("loading OCSF schema {}", path.display()))?,
            )
        }
        None => None,
    };
    let files = vigil_ingest::input::expand(&args.paths).context("listing input files")?;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = progress::bytes(total);

    let mut out = crate::output::open(args.out.as_ref())?;
    let dead_path = args.dead_letters.clone().unwrap_or_else(|| match &args.out {
        Some(out) => {
            let mut p = out.clone().into_os_string();
            p.push(".dead-letters.jsonl");
            PathBuf::from(p)
        }
        None => PathBuf::from("vigil-dead-letters.jsonl"),
    });
    let mut dead_out: Option<BufWriter<File>> = None;
    let options = ReadOptions { format, evtx_threads: 0, views: false };
    let mut counts = Counts::default();
    let mut invalid = 0u64;
    let mut first_violations: Vec<String> = Vec::new();
    let mut violation_kinds: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut write_error: Option<anyhow::Error> = None;

    for file in &files {
        bar.set_message(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let summary = read_file(file, &options, &mut |outcome| {
            if write_error.is_some() {
                return;
            }
            let written = match outcome {
                Outcome::Event(event, _) => {
                    counts.class(event.class_uid, &event.class_name);
                    if let Some(schema) = &schema {
                        let value = serde_json::to_value(&*event).unwrap_or_default();
                        let violations = schema.validate(&value);
                        if !violations.is_empty() {
                            invalid += 1;
                            for v in &violations {
                                *violation_kinds
                                    .entry(format!("class {}: {v}", event.class_uid))
                                    .or_default() += 1;
                            }
                            if first_violations.len() < 20 {
                                let id = event.metadata.uid.clone().unwrap_or_default();
                                first_violations.push(format!(
                                    "{} ({id}): {}",
                                    file.display(),
                                    violations[0]
                                ));
                            }
                        }
                    }
                    serde_json::to_writer(&mut out, &*event)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| Ok(out.write_all(b"\n")?))
                }
                Outcome::Dead(letter) => {
                    if dead_out.is_none() {
                        match File::create(&dead_path) {
                            Ok(f) => dead_out = Some(BufWriter::new(f)),
                            Err(e) => {
                                write_error = Some(
                                    anyhow::Error::from(e)
                                        .context(format!("creating {}", dead_path.display())),
                                );
                                return;
                            }
                        }
                    }
                    match dead_out.as_mut() {
                        Some(w) => serde_json::to_writer(&mut *w, &letter)
                            .map_err(anyhow::Error::from)
                            .and_then(|()| Ok(w.write_all(b"\n")?)),
                        None => Ok(()),
                    }
                }
            };
            if let Err(e) = written {
                write_error = Some(e.context("writing output"));
            }
        });
        if let Some(e) = write_error.take() {
            return Err(e);
        }
        counts.file(summary.format, summary.events, summary.dead_letters);
        bar.inc(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0));
    }
    bar.finish_and_clear();
    out.flush().context("writing output")?;
    if let Some(mut w) = dead_out {
        w.flush().with_context(|| format!("writing {}", dead_path.display()))?;
    }

    if args.json_summary {
        let by_format: serde_json::Map<String, serde_json::Value> = counts
            .by_format
            .iter()
            .map(|(f, (e, d))| (f.clone(), serde_json::json!({"events": e, "dead_letters": d})))
            .collect();
        let by_class: serde_json::Map<String, serde_json::Value> =
            counts.by_class.iter().map(|((uid, _), n)| (uid.to_string(), serde_json::json!(n))).collect();
        let summary = serde_json::json!({
            "files": counts.files, "events": counts.events, "dead_letters": counts.dead_letters,
            "invalid_events": invalid, "by_format": by_format, "by_class": by_class,
        });
        eprintln!("{summary}");
    } else {
        eprint!("{}", counts.render());
        if counts.dead_letters > 0 {
            eprintln!("\ndead letters written to {}", dead_path.display());
        }
        if schema.is_some() {
            eprintln!("\n{invalid} events failed OCSF validation");
            let mut kinds: Vec<_> = violation_kinds.iter().collect();
            kinds.sort_by(|a, b| b.1.cmp(a.1));
            for (kind, n) in kinds.iter().take(20) {
                eprintln!("  {n:>8}  {kind}");
            }
            for line in &first_violations {
                eprintln!("  {line}");
            }
        }
    }
    Ok(if counts.dead_letters > 0 || invalid > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
