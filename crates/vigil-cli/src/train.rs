//! `vigil train`: fits the built-in analyst's model to labelled cases, as `vigil hunt --json`
//! writes them (lines with `"type": "case"`) and as analysts judged them in a `vigil serve`
//! store, and writes the model with its provenance. The labels double as analyst verdicts: each
//! case is scored with the others' as its history.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use vigil_correlate::Case;
use vigil_triage::context::{Context, Input};
use vigil_triage::features::{self, FEATURES, Features};
use vigil_triage::history::{History, Judged, PriorVerdict};
use vigil_triage::model::Model;

#[derive(clap::Args)]
pub struct Args {
    /// Case files (JSON lines from `vigil hunt --json`) whose cases are attacks.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub malicious: Vec<PathBuf>,
    /// Case files whose cases are benign.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub benign: Vec<PathBuf>,
    /// Cases analysts judged in a `vigil serve` data directory or `postgres://` database:
    /// closed as benign or false positive (benign), or resolved (malicious).
    #[arg(long, value_name = "LOCATION", num_args = 1..)]
    pub verdicts: Vec<String>,
    /// Gradient-descent steps.
    #[arg(long, default_value_t = 3000)]
    pub iterations: usize,
    /// Where to write the model (JSON).
    #[arg(long, short)]
    pub out: PathBuf,
}

fn cases(path: &Path) -> Result<Vec<Case>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
        if value["type"] == "case" {
            let case: Case = serde_json::from_value(value["case"].clone())
                .with_context(|| format!("{}:{}: not a case", path.display(), n + 1))?;
            out.push(case);
        }
    }
    Ok(out)
}

/// Each case's features, scored against the verdicts on every other labelled case: the labels
/// stand for what analysts concluded, so a case sees the history it would have had, never its own.
fn samples(labelled: &[(Case, bool)]) -> Vec<(Features, bool)> {
    let judged = |label: bool| if label { Judged::Malicious } else { Judged::Benign };
    let verdicts: Vec<Vec<PriorVerdict>> =
        labelled.iter().map(|(c, label)| History::of_case(c, judged(*label))).collect();
    // Inventories are not part of training: the context features are learned as absent.
    let mut context = Context {
        history: Some(Input {
            source: "labels".into(),
            as_of: 0,
            entries: History::from_verdicts(verdicts.iter().flatten()),
        }),
        ..Context::default()
    };
    let mut samples = Vec::with_capacity(labelled.len());
    for ((case, label), own) in labelled.iter().zip(&verdicts) {
        if let Some(history) = context.history.as_mut() {
            own.iter().for_each(|v| history.entries.remove(v));
        }
        samples.push((features::extract(case, &context).0, *label));
        if let Some(history) = context.history.as_mut() {
            own.iter().for_each(|v| history.entries.add(v));
        }
    }
    samples
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut labelled: Vec<(Case, bool)> = Vec::new();
    let mut data = Vec::new();
    for (paths, label) in [(&args.malicious, true), (&args.benign, false)] {
        for path in paths {
            let cases = cases(path)?;
            data.push(format!(
                "{} ({} cases, {})",
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                cases.len(),
                if label { "malicious" } else { "benign" }
            ));
            labelled.extend(cases.into_iter().map(|c| (c, label)));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    for location in &args.verdicts {
        let judged = runtime.block_on(vigil_store::judged_cases_at(location))?;
        let before = labelled.len();
        for (verdict, body) in judged {
            let case: Case = serde_json::from_value(body).context("a stored case is not a case document")?;
            labelled.push((case, verdict == "malicious"));
        }
        let added = &labelled[before..];
        let malicious = added.iter().filter(|(_, m)| *m).count();
        data.push(format!(
            "analyst verdicts in {location} ({malicious} malicious, {} benign cases)",
            added.len() - malicious
        ));
    }
    let samples = samples(&labelled);
    if samples.is_empty() {
        bail!("no labelled cases: give --malicious and --benign case files, or --verdicts");
    }
    let model = Model::fit(&samples, data, args.iterations)?;
    let correct = samples.iter().filter(|(f, label)| (model.score(f).0 >= 0.5) == *label).count();
    std::fs::write(&args.out, serde_json::to_string_pretty(&model)? + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "{} malicious and {} benign cases; {correct} of {} right on the training data; model written to {}",
        model.provenance.malicious,
        model.provenance.benign,
        samples.len(),
        args.out.display()
    );
    for ((name, what), w) in FEATURES.iter().zip(&model.weights) {
        eprintln!("  {w:>7.3}  {name:<16} {what}");
    }
    eprintln!("  {:>7.3}  (bias)", model.bias);
    Ok(ExitCode::SUCCESS)
}
