//! `vigil ask`: a question about one case of a hunt (from `vigil hunt --json`), answered from
//! the case's evidence with citations, or "I don't know" and what is missing.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use vigil_correlate::Case;

use crate::terminal::safe;

#[derive(clap::Args)]
pub struct Args {
    /// The hunt's JSON lines (`vigil hunt … --json --out hunt.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub cases: PathBuf,
    /// The case id, or its first characters as the case table shows them.
    #[arg(long = "case", value_name = "ID")]
    pub case_id: String,
    /// The question.
    pub question: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let file =
        std::fs::File::open(&args.cases).with_context(|| format!("opening {}", args.cases.display()))?;
    let mut found: Option<(Case, Vec<String>)> = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.context("reading the hunt")?;
        let value: serde_json::Value = serde_json::from_str(&line).context("a line is not JSON")?;
        if value["type"] != "case"
            || !value["case"]["id"].as_str().is_some_and(|id| id.starts_with(&args.case_id))
        {
            continue;
        }
        if found.is_some() {
            bail!("{:?} names more than one case; give more of its id", args.case_id);
        }
        let case: Case = serde_json::from_value(value["case"].clone()).context("not a case")?;
        let unknowns = value["recommendation"]["unknowns"]
            .as_array()
            .map(|u| u.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        found = Some((case, unknowns));
    }
    let Some((case, unknowns)) = found else {
        bail!("no case {:?} in {}", args.case_id, args.cases.display())
    };
    let answer = vigil_triage::ask::ask(&case, &args.question, &unknowns);
    println!("{}", safe(&answer.text, 4000));
    Ok(if answer.known { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
