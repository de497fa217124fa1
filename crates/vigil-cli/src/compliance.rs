//! `vigil compliance`: the report of a framework (one Vigil ships, or a catalogue file) over a
//! period of a store, per control: the detections enabled, the cases, response steps and
//! evidence that support it, and the controls with no evidence.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vigil_report::compliance::{Framework, RunningRule, SHIPPED, build, html};

use crate::serve::{Settings, detectors};

#[derive(clap::Subcommand)]
pub enum Command {
    /// A framework's controls and what supported each in a period.
    Report(ReportArgs),
    /// The frameworks Vigil ships, with their versions and how many controls each maps.
    Frameworks,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A data directory (`vigil serve --data`) or a `postgres://` URL; by default the one the
    /// configuration names.
    pub location: Option<String>,
    /// A framework Vigil ships (soc2, iso27001, hipaa, pci-dss), or a catalogue file of your own.
    #[arg(long)]
    pub framework: String,
    /// The period's start (RFC 3339); 30 days before its end by default.
    #[arg(long)]
    pub from: Option<String>,
    /// The period's end (RFC 3339); now by default.
    #[arg(long)]
    pub to: Option<String>,
    /// text (the default), json or html.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Where to write it (standard output by default).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Vigil's configuration file (the rules running, the store).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn time(flag: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("{flag} {text}: a time like 2026-11-01T00:00:00Z"))?
        .to_utc())
}

pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Frameworks => {
            for (name, _) in SHIPPED {
                let framework = Framework::shipped(name)?;
                println!(
                    "{name:<10} {} ({}): {} controls",
                    framework.title,
                    framework.version,
                    framework.controls.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => report(args),
    }
}

fn report(args: ReportArgs) -> Result<ExitCode> {
    let framework = if SHIPPED.iter().any(|(n, _)| *n == args.framework) {
        Framework::shipped(&args.framework)?
    } else {
        let text = std::fs::read_to_string(&args.framework).with_context(|| {
            format!("--framework {}: not one Vigil ships, nor a readable file", args.framework)
        })?;
        Framework::parse(&text).with_context(|| format!("in {}", args.framework))?
    };
    if !["text", "json", "html"].contains(&args.format.as_str()) {
        anyhow::bail!("--format {}: text, json or html", args.format);
    }
    let to = match &args.to {
        Some(t) => time("--to", t)?,
        None => chrono::Utc::now(),
    };
    let from = match &args.from {
        Some(t) => time("--from", t)?,
        None => to - chrono::Duration::days(30),
    };
    if from >= to {
        anyhow::bail!("--from must be before --to");
    }
    let settings = Settings::load(args.config.as_deref())?;
    let base = settings.config_path.as_ref().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
    let location = match args.location {
        Some(location) => location,
        None => match &settings.config.serve.database {
            Some(url) => url.clone(),
            None => base.join(&settings.config.serve.data).display().to_string(),
        },
    };
    let rules: Vec<RunningRule> = detectors(&settings.config, &base)?
        .rules
        .rules()
        .into_iter()
        .map(|r| RunningRule { id: r.id.clone(), title: r.title.clone(), tags: r.tags.clone() })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        let store = vigil_store::Store::open_reader(&location)
            .await
            .with_context(|| format!("opening {location} to read"))?;
        let (from, to) = (vigil_store::time::stamp(from), vigil_store::time::stamp(to));
        let report = build(&store, &framework, &rules, &from, &to).await;
        store.close().await;
        anyhow::Ok(report?)
    })?;
    let written = match args.format.as_str() {
        "json" => serde_json::to_string_pretty(&report)? + "\n",
        "html" => html::document(&report),
        _ => html::text(&report, &|s| crate::terminal::safe(s, 200)),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, written).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {}: {} of {} controls evidenced",
                path.display(),
                report.controls.len() - report.without_evidence.len(),
                report.controls.len()
            );
        }
        None => print!("{written}"),
    }
    Ok(ExitCode::SUCCESS)
}
