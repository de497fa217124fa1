//! `vigil train`: fits the built-in analyst's model to labelled cases, as `vigil hunt --json`
//! writes them (lines with `"type": "case"`), and writes the model with its provenance.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use vigil_correlate::Case;
use vigil_triage::context::Context;
use vigil_triage::features::{self, FEATURES, Features};
use vigil_triage::model::Model;

#[derive(clap::Args)]
pub struct Args {
    /// Case files (JSON lines from `vigil hunt --json`) whose cases are attacks.
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub malicious: Vec<PathBuf>,
    /// Case files whose cases are benign.
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub benign: Vec<PathBuf>,
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

pub fn run(args: Args) -> Result<ExitCode> {
    let mut samples: Vec<(Features, bool)> = Vec::new();
    let mut data = Vec::new();
    // Training sees no inventories: the context features are learned as absent.
    let context = Context::default();
    for (paths, label) in [(&args.malicious, true), (&args.benign, false)] {
        for path in paths {
            let cases = cases(path)?;
            data.push(format!(
                "{} ({} cases, {})",
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                cases.len(),
                if label { "malicious" } else { "benign" }
            ));
            samples.extend(cases.iter().map(|c| (features::extract(c, &context).0, label)));
        }
    }
    if samples.is_empty() {
        bail!("no cases in the given files");
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
