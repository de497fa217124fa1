//! `vigil eval tuning`: the learning loop measured on Panther's labelled cloud and identity
//! events. The even-numbered tests stand for the past: Vigil's alerts on should-not-alert events
//! are the analysts' false-positive verdicts, those on should-alert events their true positives.
//! Every proposal the replay allows (it hides no true positive) is accepted. The odd-numbered
//! tests stand for what comes next: how many false-positive alerts the accepted filters remove
//! there, and how many should-alert alerts they keep, against the goal of removing at least half
//! the false positives while keeping every should-alert alert.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use vigil_detect::RuleSetConfig;
use vigil_detect::replay::{Firing, Label, Tuning, propose_and_replay, replay};

use crate::eval::{hunt_json, panther, sigmahq_rules};
use crate::hunt::rule_set_files;
use crate::terminal::safe;
use crate::tune::HuntOutput;

/// Panther's test files of the sources Vigil reads, with the format each is read as.
const SOURCES: &[(&str, &str)] = &[
    ("AWS_CloudTrail.jsonl", "cloudtrail"),
    ("Okta_SystemLog.jsonl", "okta"),
    ("Azure_Audit.jsonl", "entra"),
    ("Azure_MonitorActivity.jsonl", "azure_activity"),
    ("GCP_AuditLog.jsonl", "gcp_audit"),
    ("GitHub_Audit.jsonl", "github_audit"),
];

fn labelled(data: &Path, dir: &Path, format: &str, label: Label) -> Result<Vec<Firing>> {
    let text = hunt_json(data, &[dir.to_owned()], Some(format))?;
    Ok(HuntOutput::parse(&text)?.firings_labelled(label))
}

/// Alerts of the second half a tuning removes, by label.
#[derive(Default)]
struct Removed {
    benign: usize,
    malicious: usize,
    /// The exclusions of the filter, shown when it removed a should-alert alert.
    exclusions: Vec<String>,
}

fn measure(
    files: &[vigil_detect::RuleFile],
    accepted: &[&Tuning],
    held: &[Firing],
) -> Result<BTreeMap<String, Removed>> {
    let mut out = BTreeMap::new();
    for t in accepted {
        let of_rule: Vec<&Firing> = held.iter().filter(|f| f.rule.id == t.proposal.rule_id).collect();
        let Some(first) = of_rule.first() else { continue };
        let outcome = replay(files, &first.rule, &t.proposal.to_yaml(), &of_rule, &RuleSetConfig::default())
            .map_err(anyhow::Error::msg)
            .context("replaying on the second half")?;
        let entry: &mut Removed = out.entry(t.proposal.rule_id.clone()).or_default();
        entry.benign += outcome.removed_benign.len();
        entry.malicious += outcome.removed_malicious.len();
        entry.exclusions =
            t.proposal.exclusions.iter().map(|e| format!("{} = {}", e.field, e.value)).collect();
    }
    Ok(out)
}

fn percent(a: usize, b: usize) -> String {
    if b == 0 { "-".to_owned() } else { format!("{:.1}%", 100.0 * a as f64 / b as f64) }
}

pub fn run(data: &Path) -> Result<ExitCode> {
    let work = std::env::temp_dir().join(format!("vigil-eval-tuning-{}", std::process::id()));
    let result = evaluate(data, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn evaluate(data: &Path, work: &Path) -> Result<ExitCode> {
    let (mut past, mut next) = (Vec::new(), Vec::new());
    for (file, format) in SOURCES {
        let sets = panther(data, work, file, format)?;
        past.extend(labelled(data, &sets.train_attack, format, Label::Malicious)?);
        past.extend(labelled(data, &sets.train_benign, format, Label::Benign)?);
        next.extend(labelled(data, &sets.held_attack, format, Label::Malicious)?);
        next.extend(labelled(data, &sets.held_benign, format, Label::Benign)?);
    }
    let files = rule_set_files(true, sigmahq_rules(data))?;
    let tunings = propose_and_replay(&files, &past, &[], &RuleSetConfig::default())?;
    let accepted: Vec<&Tuning> = tunings.iter().filter(|t| !t.replay.hides_malicious()).collect();
    let count = |firings: &[Firing], label: Label| firings.iter().filter(|f| f.label == label).count();
    println!(
        "Tuning learnt on Panther's labelled cloud and identity events (even-numbered tests), measured on the odd-numbered ones"
    );
    println!(
        "first half:  {} alerts on should-alert events, {} on should-not-alert events (the false-positive verdicts)",
        count(&past, Label::Malicious),
        count(&past, Label::Benign)
    );
    println!(
        "proposals:   {} for {} rules with false positives; {} accepted, {} refused by the replay (they would hide a true positive)",
        tunings.len(),
        past.iter()
            .filter(|f| f.label == Label::Benign)
            .map(|f| &f.rule.id)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        accepted.len(),
        tunings.len() - accepted.len()
    );
    let removed = measure(&files, &accepted, &next)?;
    let (fp, tp) = (count(&next, Label::Benign), count(&next, Label::Malicious));
    let fp_removed: usize = removed.values().map(|r| r.benign).sum();
    let tp_lost: usize = removed.values().map(|r| r.malicious).sum();
    println!(
        "second half: false-positive alerts removed {fp_removed} of {fp} ({}), should-alert alerts kept {} of {tp} ({})",
        percent(fp_removed, fp),
        tp - tp_lost,
        percent(tp - tp_lost, tp)
    );
    let mut by_rule: BTreeMap<&str, (&str, usize, usize)> = BTreeMap::new();
    for f in next.iter().filter(|f| f.label == Label::Benign) {
        by_rule.entry(&f.rule.id).or_insert((&f.rule.title, 0, 0)).1 += 1;
    }
    println!("\nsecond half's false positives by rule (removed / alerts):");
    for (id, (title, n, _)) in &mut by_rule {
        let r = removed.get(*id).map(|r| r.benign).unwrap_or(0);
        println!("  {r:>4} / {n:<4} {}", safe(title, 90));
    }
    for (id, r) in removed.iter().filter(|(_, r)| r.malicious > 0) {
        println!(
            "\nrule {} lost {} should-alert alerts to: {}",
            safe(id, 60),
            r.malicious,
            safe(&r.exclusions.join("; "), 400)
        );
    }
    let goal = fp_removed * 2 >= fp && tp_lost == 0;
    println!(
        "\ngoal (at least half the false positives removed, every should-alert alert kept): {}",
        if goal { "met" } else { "not met" }
    );
    Ok(ExitCode::SUCCESS)
}
