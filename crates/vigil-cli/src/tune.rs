//! `vigil tune`: rule-tuning proposals for a laptop hunt. The responder's verdicts on the hunt's
//! cases (or single alerts) label the alerts; every rule with false positives gets a Sigma
//! filter built from the values that set its benign firings apart, replayed against all of the
//! rule's alerts in the hunt before it is shown. A filter that would hide an alert judged
//! malicious is marked so.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use vigil_detect::replay::{Firing, Label, Tuning, propose_and_replay};
use vigil_detect::{RuleInfo, RuleSetConfig};
use vigil_model::view::SourceView;

use crate::hunt::rule_set_files;
use crate::terminal::safe;

#[derive(clap::Args)]
pub struct Args {
    /// The hunt's JSON lines (`vigil hunt … --json -o FILE`).
    pub hunt: PathBuf,
    /// Verdicts on the hunt's cases or alerts (YAML or JSON; see `docs/learning.md`).
    #[arg(long, value_name = "FILE")]
    pub verdicts: PathBuf,
    /// The rule folders the hunt ran with (their files are where the rules are replayed from).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// The hunt ran without Vigil's built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
    /// Write each proposed filter here as a Sigma file, named by its id.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// A responder's conclusion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    FalsePositive,
    Benign,
    Malicious,
}

/// One verdict: on a whole case of the hunt, or on one alert (its event, and optionally its rule).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictEntry {
    #[serde(default)]
    pub case: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictFile {
    pub verdicts: Vec<VerdictEntry>,
}

impl VerdictFile {
    pub fn read(path: &Path) -> Result<VerdictFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: VerdictFile = yaml_serde::from_str(&text)
            .with_context(|| format!("{} is not a verdicts file", path.display()))?;
        for (i, v) in file.verdicts.iter().enumerate() {
            if v.case.is_some() == v.event.is_some() {
                bail!("{}: verdict {} must name either a case or an event", path.display(), i + 1);
            }
        }
        Ok(file)
    }
}

fn label(verdict: Verdict) -> Label {
    match verdict {
        Verdict::FalsePositive | Verdict::Benign => Label::Benign,
        Verdict::Malicious => Label::Malicious,
    }
}

/// A Sigma alert line of the hunt's output, with the record it fired on.
#[derive(Deserialize)]
struct AlertLine {
    rule: RuleInfo,
    event_uid: String,
    #[serde(default)]
    matched_fields: serde_json::Map<String, serde_json::Value>,
    record: SourceView,
}

impl AlertLine {
    fn into_firing(self, label: Label, case: Option<String>) -> Firing {
        Firing {
            rule: self.rule,
            event_uid: self.event_uid,
            view: self.record,
            matched: self.matched_fields.keys().cloned().collect(),
            label,
            case,
        }
    }
}

#[derive(Deserialize)]
struct CaseLine {
    case: vigil_correlate::Case,
}

/// What a hunt's output holds for tuning: its Sigma alerts and its cases.
pub struct HuntOutput {
    alerts: Vec<AlertLine>,
    cases: Vec<vigil_correlate::Case>,
}

impl HuntOutput {
    pub fn read(path: &Path) -> Result<HuntOutput> {
        let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut out = HuntOutput { alerts: Vec::new(), cases: Vec::new() };
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            out.add(&line).with_context(|| format!("{} line {}", path.display(), n + 1))?;
        }
        Ok(out)
    }

    /// The output of a hunt held in memory.
    pub fn parse(text: &str) -> Result<HuntOutput> {
        let mut out = HuntOutput { alerts: Vec::new(), cases: Vec::new() };
        for (n, line) in text.lines().enumerate() {
            out.add(line).with_context(|| format!("hunt output line {}", n + 1))?;
        }
        Ok(out)
    }

    fn add(&mut self, line: &str) -> Result<()> {
        let value: serde_json::Value =
            serde_json::from_str(line).context("not JSON (give `vigil hunt --json` output)")?;
        match value["type"].as_str() {
            // Correlation and behaviour alerts carry no single record to filter on.
            Some("alert") if value.get("record").is_some() => {
                self.alerts.push(serde_json::from_value(value)?)
            }
            Some("case") => self.cases.push(serde_json::from_value::<CaseLine>(value)?.case),
            _ => {}
        }
        Ok(())
    }

    /// Every Sigma alert with one label, for labelled data.
    pub fn firings_labelled(self, label: Label) -> Vec<Firing> {
        self.alerts.into_iter().map(|a| a.into_firing(label, None)).collect()
    }

    /// The alerts as firings, labelled by the verdicts: a verdict on a case covers the events its
    /// alerts cite; one on an event covers that event's alerts (of one rule when it names one).
    pub fn firings(self, verdicts: &VerdictFile) -> Vec<Firing> {
        let mut by_event: HashMap<(String, Option<String>), (Label, Option<String>)> = HashMap::new();
        for v in &verdicts.verdicts {
            if let Some(event) = &v.event {
                by_event.insert((event.clone(), v.rule.clone()), (label(v.verdict), None));
            }
        }
        for v in &verdicts.verdicts {
            let Some(case_id) = &v.case else { continue };
            for case in self.cases.iter().filter(|c| c.id.as_str() == case_id) {
                for alert in &case.alerts {
                    for ev in &alert.evidence {
                        by_event
                            .entry((ev.event_uid.clone(), Some(alert.rule.id.clone())))
                            .or_insert((label(v.verdict), Some(case_id.clone())));
                    }
                }
            }
        }
        self.alerts
            .into_iter()
            .map(|a| {
                let (label, case) = by_event
                    .get(&(a.event_uid.clone(), Some(a.rule.id.clone())))
                    .or_else(|| by_event.get(&(a.event_uid.clone(), None)))
                    .cloned()
                    .unwrap_or((Label::Unjudged, None));
                a.into_firing(label, case)
            })
            .collect()
    }
}

fn print(t: &Tuning, firings: &[Firing]) {
    let p = &t.proposal;
    let r = &t.replay;
    let benign = firings.iter().filter(|f| f.rule.id == p.rule_id && f.label == Label::Benign).count();
    println!("{}  {}", p.id, safe(&p.rule_title, 100));
    println!("  rule      {}", safe(&p.rule_id, 80));
    for e in &p.exclusions {
        println!(
            "  exclude   {} = {}  ({} false positives)",
            safe(&e.field, 80),
            safe(&e.value.to_string(), 120),
            e.covers.len()
        );
    }
    println!(
        "  replay    {} of {benign} false positives removed, {} unjudged alerts removed, {} of {} alerts kept",
        r.removed_benign.len(),
        r.removed_unjudged.len(),
        r.replayed - r.removed(),
        r.replayed
    );
    if r.hides_malicious() {
        println!(
            "  WARNING   would hide {} alerts judged malicious: accepting it needs a second person",
            r.removed_malicious.len()
        );
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let verdicts = VerdictFile::read(&args.verdicts)?;
    let hunt = HuntOutput::read(&args.hunt)?;
    let files = rule_set_files(!args.no_builtin, args.rules.iter().cloned())?;
    let firings = hunt.firings(&verdicts);
    let judged = firings.iter().filter(|f| f.label != Label::Unjudged).count();
    if judged == 0 {
        bail!("no alert of the hunt is covered by a verdict (check the case ids and event uids)");
    }
    let tunings =
        propose_and_replay(&files, &firings, &[], &RuleSetConfig::default()).context("replaying")?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for t in &tunings {
        print(t, &firings);
        if let Some(dir) = &args.out {
            let path = dir.join(format!("{}.yml", t.proposal.id));
            std::fs::write(&path, t.proposal.to_yaml())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("  written   {}", path.display());
        }
        println!();
    }
    println!(
        "proposals: {} (from {judged} judged alerts of {}); would hide an alert judged malicious: {}",
        tunings.len(),
        firings.len(),
        tunings.iter().filter(|t| t.replay.hides_malicious()).count()
    );
    Ok(ExitCode::SUCCESS)
}
