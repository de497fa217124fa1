//! `vigil rules test`: regression data in SigmaHQ's layout run against rule folders, as
//! SigmaHQ's CI runs it. Each `info.yml` names a rule and the files it must match (at least
//! `match_count` times); the command exits 0 only when every expected match count holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use vigil_detect::regression::RegressionInfo;
use vigil_detect::{RuleSet, RuleSetConfig};
use vigil_ingest::{ReadOptions, Scanned, by_name, scan_file};

use crate::hunt::rule_set_files;
use crate::terminal::safe;

#[derive(clap::Subcommand)]
pub enum Rules {
    /// Run regression data (folders with an `info.yml` each) against the rules.
    Test(TestArgs),
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// Regression data: a folder searched for `info.yml` files, or one `info.yml`.
    pub data: PathBuf,
    /// Folders of Sigma rules (and filters) to test; repeat for several.
    #[arg(long = "rules", value_name = "DIR", required_unless_present = "builtin")]
    pub rules: Vec<PathBuf>,
    /// Vigil's built-in rules too (what a learnt regression test of a built-in rule needs).
    #[arg(long)]
    pub builtin: bool,
    /// Print every test, not only the failures.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(rules: Rules) -> Result<ExitCode> {
    let Rules::Test(args) = rules;
    test(&args)
}

/// Every `info.yml` under `data`, in a stable order.
fn infos(data: &Path) -> Result<Vec<PathBuf>> {
    if data.is_file() {
        return Ok(vec![data.to_owned()]);
    }
    let all = vigil_ingest::input::expand(&[data.to_owned()])
        .with_context(|| format!("listing {}", data.display()))?;
    Ok(all.into_iter().filter(|p| p.file_name().is_some_and(|n| n == "info.yml")).collect())
}

/// How many times each rule matched the records of one file, read as `kind` when that names a
/// format Vigil reads (`cloudtrail`, `evtx_json`, …), else as the file shows itself to be.
fn matches(rules: &RuleSet, file: &Path, kind: Option<&str>) -> Result<HashMap<String, usize>> {
    let options = ReadOptions { format: kind.and_then(by_name), evtx_threads: 1, views: true };
    let mut fired: HashMap<String, usize> = HashMap::new();
    let summary = scan_file(file, &options, &mut |scanned| {
        if let Scanned::Record(pending) = scanned {
            for view in pending.views() {
                for d in rules.evaluate_view(view) {
                    *fired.entry(d.rule.id.clone()).or_default() += 1;
                }
            }
        }
    });
    if summary.events == 0 && summary.dead_letters > 0 {
        bail!("none of its {} records could be read", summary.dead_letters);
    }
    Ok(fired)
}

fn test(args: &TestArgs) -> Result<ExitCode> {
    let files = rule_set_files(args.builtin, args.rules.iter().cloned())?;
    let (rules, _) = RuleSet::load(&files, &RuleSetConfig::default()).context("loading rules")?;
    let loaded: std::collections::HashSet<&str> = rules.rules().into_iter().map(|r| r.id.as_str()).collect();
    let infos = infos(&args.data)?;
    if infos.is_empty() {
        bail!("no info.yml under {}", args.data.display());
    }
    let (mut passed, mut failed, mut untested) = (0usize, 0usize, 0usize);
    for info_path in &infos {
        let dir = info_path.parent().unwrap_or(Path::new("."));
        let shown = safe(&info_path.display().to_string(), 200);
        let text = std::fs::read_to_string(info_path).with_context(|| format!("reading {shown}"))?;
        let mut fail = |why: String| {
            failed += 1;
            println!("FAIL {shown}: {why}");
        };
        let info = match RegressionInfo::parse(&text) {
            Ok(info) => info,
            Err(e) => {
                fail(format!("not a regression info file: {}", safe(&e, 300)));
                continue;
            }
        };
        let Some(rule_id) = info.rule_id() else {
            fail("names no rule (rule_metadata is empty)".to_owned());
            continue;
        };
        if !loaded.contains(rule_id) {
            fail(format!("rule {} is not among the loaded rules", safe(rule_id, 80)));
            continue;
        }
        // SigmaHQ keeps a few folders whose test is commented out; there is nothing to run.
        if info.regression_tests_info.is_empty() {
            untested += 1;
            if args.verbose {
                println!("skip {shown}: no tests (regression_tests_info is empty)");
            }
            continue;
        }
        for t in &info.regression_tests_info {
            let file = dir.join(t.file_name());
            let got = match matches(&rules, &file, t.kind.as_deref()) {
                Ok(fired) => fired.get(rule_id).copied().unwrap_or(0),
                Err(e) => {
                    fail(format!("{}: {e:#}", safe(t.file_name(), 120)));
                    continue;
                }
            };
            if t.holds(got) {
                passed += 1;
                if args.verbose {
                    println!("ok   {shown}: {got} matches on {}", safe(t.file_name(), 120));
                }
            } else {
                fail(format!(
                    "rule {} matched {} {got} times, expected {}",
                    safe(rule_id, 80),
                    safe(t.file_name(), 120),
                    t.expected()
                ));
            }
        }
    }
    println!(
        "{passed} passed, {failed} failed, {untested} without tests ({} info files, {} rules loaded)",
        infos.len(),
        rules.len()
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
