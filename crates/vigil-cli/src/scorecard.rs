//! `vigil scorecard`: one ISO week's scorecard of a store (a data directory or PostgreSQL),
//! written as HTML and JSON, with a summary on the terminal. The rules running are those the
//! configuration loads, as `vigil serve` would.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vigil_report::scorecard::{RuleInfo, Week, build, html};

use crate::serve::{Settings, detectors};

#[derive(clap::Args)]
pub struct Args {
    /// A data directory (`vigil serve --data`) or a `postgres://` URL; by default the one the
    /// configuration names.
    pub location: Option<String>,
    /// The ISO week, like 2026-W48; this week by default.
    #[arg(long)]
    pub week: Option<String>,
    /// Where to write scorecard-<week>.html and .json (the current directory by default).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Vigil's configuration file (the rules running, the store).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref())?;
    let base = settings.config_path.as_ref().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
    let serve = &settings.config.serve;
    let location = match args.location {
        Some(location) => location,
        None => match &serve.database {
            Some(url) => url.clone(),
            None => base.join(&serve.data).display().to_string(),
        },
    };
    let week = match &args.week {
        Some(text) => Week::parse(text)?,
        None => Week::containing(chrono::Utc::now()),
    };
    let rules: Vec<RuleInfo> = detectors(&settings.config, &base)?
        .rules
        .rules()
        .into_iter()
        .map(|r| RuleInfo { id: r.id.clone(), title: r.title.clone() })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let card = runtime.block_on(async {
        let store = vigil_store::Store::open_reader(&location)
            .await
            .with_context(|| format!("opening {location} to read"))?;
        let card = build(&store, week, Some(&rules)).await;
        store.close().await;
        anyhow::Ok(card?)
    })?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("making {}", args.out.display()))?;
    let html_path = args.out.join(format!("scorecard-{week}.html"));
    let json_path = args.out.join(format!("scorecard-{week}.json"));
    std::fs::write(&html_path, html::document(&card))
        .with_context(|| format!("writing {}", html_path.display()))?;
    let mut json = serde_json::to_vec_pretty(&card)?;
    json.push(b'\n');
    std::fs::write(&json_path, json).with_context(|| format!("writing {}", json_path.display()))?;
    let m = &card.metrics;
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), vigil_report::scorecard::share);
    let mins = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), vigil_report::scorecard::duration);
    println!("scorecard {week}: {} cases made, {} closed", m.cases, m.closed);
    println!(
        "  MTTD {}  MTTA {}  MTTR {}  time to decision {}",
        mins(m.mttd.mean_secs),
        mins(m.mtta.mean_secs),
        mins(m.mttr.mean_secs),
        mins(m.time_to_decision.mean_secs)
    );
    println!(
        "  precision {}  automation rate {}  evidence complete {}",
        pct(m.verdicts.precision),
        pct(m.automation.rate),
        pct(m.evidence.share)
    );
    println!(
        "  {} SLA breaches, {} rules to tune, learning proposals waiting: {}, {} of {} rules never fired",
        card.sla_breaches.len(),
        card.tuning.len(),
        card.proposals_waiting.len(),
        card.silent_rules.as_ref().map_or(0, Vec::len),
        rules.len()
    );
    println!("wrote {} and {}", html_path.display(), json_path.display());
    Ok(ExitCode::SUCCESS)
}
