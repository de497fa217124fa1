//! `vigil eval triage`: the built-in analyst measured on labelled public data it was not trained
//! on (see `scripts/train_default_model.sh` for what it was): OTRF recordings and Stratus
//! detonations (attacks), and the odd-numbered Panther CloudTrail and Okta tests (should-alert
//! attacks, should-not-alert benign). The training split's labels stand for the verdicts analysts
//! gave before the held-out cases arrived (the verdict history). Each labelled set is hunted by
//! this same binary; the report gives verdicts per label, precision and recall, attacks
//! auto-closed, the share of benign alerts auto-triaged and how much of it any policy could
//! reach, citation validity, and an abstention rerun without inventories.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result, bail};
use vigil_correlate::{Case, FoldedAlert};
use vigil_model::{EntityKind, Severity};
use vigil_triage::autotriage::{self, AutoClosePolicy};
use vigil_triage::context::{Context, Input};
use vigil_triage::history::{History, Judged, PriorVerdict};
use vigil_triage::model::Model;
use vigil_triage::{Recommendation, Verdict, evidence, playbook, recommend};

#[derive(clap::Subcommand)]
pub enum Eval {
    /// Verdicts, auto-triage and abstention on labelled data the model was not trained on.
    Triage {
        /// The public data folder (`../shared/data` by default, or `$VIGIL_TEST_DATA`).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Tuning proposals learnt from half of Panther's labelled cloud events, measured on the other.
    Tuning {
        /// The public data folder (`../shared/data` by default, or `$VIGIL_TEST_DATA`).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

pub fn run(eval: Eval) -> Result<ExitCode> {
    let (Eval::Triage { data } | Eval::Tuning { data }) = &eval;
    let data = data
        .clone()
        .or_else(|| std::env::var_os("VIGIL_TEST_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    if !data.is_dir() {
        bail!("no data at {} (give --data)", data.display());
    }
    match eval {
        Eval::Triage { .. } => triage(&data),
        Eval::Tuning { .. } => crate::eval_tuning::run(&data),
    }
}

/// The JSON lines of a hunt by this binary with SigmaHQ's rules.
pub(crate) fn hunt_json(data: &Path, paths: &[PathBuf], format: Option<&str>) -> Result<String> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut command = Command::new(exe);
    command.arg("hunt").args(paths).arg("--json");
    if let Some(f) = format {
        command.args(["--format", f]);
    }
    for dir in sigmahq_rules(data) {
        command.arg("--rules").arg(dir);
    }
    let out = command.output().context("running vigil hunt")?;
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!("vigil hunt failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8(out.stdout).context("hunt output is not UTF-8")
}

/// SigmaHQ's rule folders in the public data.
pub(crate) fn sigmahq_rules(data: &Path) -> Vec<PathBuf> {
    ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| data.join("sigma").join(d))
        .collect()
}

/// Cases of one labelled set, from a hunt by this binary with SigmaHQ's rules.
fn hunt(data: &Path, paths: &[PathBuf], format: Option<&str>) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for line in hunt_json(data, paths, format)?.lines() {
        let value: serde_json::Value = serde_json::from_str(line).context("hunt output is not JSON")?;
        if value["type"] == "case" {
            cases.push(serde_json::from_value(value["case"].clone()).context("not a case")?);
        }
    }
    Ok(cases)
}

/// The Panther tests of one log type, one file per record, by split (even-numbered records
/// train, odd-numbered ones are held out) and label.
pub(crate) struct PantherSets {
    pub train_attack: PathBuf,
    pub train_benign: PathBuf,
    pub held_attack: PathBuf,
    pub held_benign: PathBuf,
}

pub(crate) fn panther(data: &Path, work: &Path, name: &str, fmt: &str) -> Result<PantherSets> {
    let text = std::fs::read_to_string(data.join("panther-analysis/extracted_tests").join(name))
        .with_context(|| format!("reading Panther {name}"))?;
    let dir = |split: &str, label: &str| work.join(format!("{fmt}-{split}-{label}"));
    let sets = PantherSets {
        train_attack: dir("even", "attack"),
        train_benign: dir("even", "benign"),
        held_attack: dir("odd", "attack"),
        held_benign: dir("odd", "benign"),
    };
    for d in [&sets.train_attack, &sets.train_benign, &sets.held_attack, &sets.held_benign] {
        std::fs::create_dir_all(d)?;
    }
    for (i, line) in text.lines().enumerate() {
        let record: serde_json::Value = serde_json::from_str(line).context("a Panther test is not JSON")?;
        let dir = match (i % 2 == 1, record["expected_result"] == true) {
            (false, true) => &sets.train_attack,
            (false, false) => &sets.train_benign,
            (true, true) => &sets.held_attack,
            (true, false) => &sets.held_benign,
        };
        std::fs::write(dir.join(format!("{i:04}.json")), record["log"].to_string())?;
    }
    Ok(sets)
}

/// The training split's labels as the verdicts analysts gave before the held-out cases arrived.
fn history(training: &[(Case, bool)]) -> Input<History> {
    let verdicts: Vec<PriorVerdict> = training
        .iter()
        .flat_map(|(c, attack)| History::of_case(c, if *attack { Judged::Malicious } else { Judged::Benign }))
        .collect();
    Input { source: "training split labels".into(), as_of: 0, entries: History::from_verdicts(&verdicts) }
}

/// How much of the benign alert volume any auto-triage could close here: what sits in cases the
/// default policy never closes (a high or critical alert), and what Vigil sees exactly as it
/// sees a labelled attack (the same rule on the same entities).
fn ceiling(held: &[(&Case, bool)], attacks: &[&Case]) {
    let key = |a: &FoldedAlert| {
        let mut entities: Vec<String> = a.entities.iter().map(ToString::to_string).collect();
        entities.sort_unstable();
        (a.rule.id.clone(), entities)
    };
    let attack_alerts: BTreeSet<(String, Vec<String>)> =
        attacks.iter().flat_map(|c| c.alerts.iter().map(key)).collect();
    let benign: Vec<&Case> = held.iter().filter(|(_, attack)| !attack).map(|(c, _)| *c).collect();
    let volume: u64 = benign.iter().map(|c| c.alert_count()).sum();
    let in_high: u64 = benign
        .iter()
        .filter(|c| c.alerts.iter().any(|a| a.rule.level >= Severity::High))
        .map(|c| c.alert_count())
        .sum();
    let like_attacks: u64 = benign
        .iter()
        .flat_map(|c| &c.alerts)
        .filter(|a| attack_alerts.contains(&key(a)))
        .map(|a| a.count)
        .sum();
    println!(
        "\nceiling: of {volume} benign alerts, {in_high} sit in cases holding a high or critical alert (the default policy never closes those), and {like_attacks} carry the same rule on the same entities as a labelled attack's alert"
    );
}

/// Inventories that know every host and account of the cases (none privileged or critical):
/// the complete context the abstention rerun withholds.
fn complete_context(cases: &[&Case]) -> Result<Context> {
    let mut hosts = BTreeSet::new();
    let mut users = BTreeSet::new();
    for case in cases {
        for e in &case.entities {
            match e.entity.kind {
                EntityKind::Host => hosts.insert(e.entity.key.clone()),
                EntityKind::User => users.insert(e.entity.key.clone()),
                _ => false,
            };
        }
    }
    let as_of = "as_of: 2026-01-01T00:00:00Z\n";
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let assets: String = hosts.iter().map(|h| format!("  {}: {{criticality: medium}}\n", quote(h))).collect();
    let identities: String =
        users.iter().map(|u| format!("  {}: {{department: unknown}}\n", quote(u))).collect();
    // An empty YAML mapping must be written `{}`: `key:` alone is null.
    let section = |name: &str, body: String| {
        if body.is_empty() { format!("{as_of}{name}: {{}}\n") } else { format!("{as_of}{name}:\n{body}") }
    };
    let mut context = Context::default();
    context.load_assets("derived assets", &section("assets", assets))?;
    context.load_identities("derived identities", &section("identities", identities))?;
    Ok(context)
}

struct Outcome {
    attack: bool,
    recommendation: Recommendation,
    alerts: u64,
    auto_closed: bool,
    citations_valid: bool,
}

fn assess(
    labelled: &[(&Case, bool)],
    context: &Context,
    model: &Model,
    policy: &AutoClosePolicy,
) -> Result<Vec<Outcome>> {
    let library = playbook::library()?;
    Ok(labelled
        .iter()
        .map(|(case, attack)| {
            let r = recommend(case, context, model, &library, case.last_seen);
            let ids: Vec<String> = evidence::items(case).into_iter().map(|i| i.id).collect();
            let citations_valid = r.supporting.iter().chain(&r.contradicting).all(|c| ids.contains(c));
            let mut closed = (*case).clone();
            let auto_closed = autotriage::apply(policy, &mut closed, &r, case.last_seen);
            Outcome {
                attack: *attack,
                alerts: case.alert_count(),
                recommendation: r,
                auto_closed,
                citations_valid,
            }
        })
        .collect())
}

fn report(title: &str, outcomes: &[Outcome]) {
    println!("\n{title}");
    let verdicts = [Verdict::Malicious, Verdict::Suspicious, Verdict::Benign, Verdict::InsufficientEvidence];
    println!(
        "{:<10} {:>10} {:>11} {:>8} {:>14} {:>16}",
        "label", "malicious", "suspicious", "benign", "insufficient", "mean confidence"
    );
    for (label, attack) in [("attack", true), ("benign", false)] {
        let rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.attack == attack).collect();
        let count = |v: Verdict| rows.iter().filter(|o| o.recommendation.verdict == v).count();
        let confidence =
            rows.iter().map(|o| o.recommendation.confidence).sum::<f64>() / rows.len().max(1) as f64;
        println!(
            "{label:<10} {:>10} {:>11} {:>8} {:>14} {confidence:>16.2}",
            count(verdicts[0]),
            count(verdicts[1]),
            count(verdicts[2]),
            count(verdicts[3])
        );
    }
    // Flagged: malicious or suspicious. Cleared: benign. Insufficient evidence is neither.
    let flagged = |o: &&Outcome| matches!(o.recommendation.verdict, Verdict::Malicious | Verdict::Suspicious);
    let cleared = |o: &&Outcome| o.recommendation.verdict == Verdict::Benign;
    let ratio =
        |a: usize, b: usize| if b == 0 { "-".to_owned() } else { format!("{:.2}", a as f64 / b as f64) };
    let tp = outcomes.iter().filter(|o| o.attack).filter(flagged).count();
    let fp = outcomes.iter().filter(|o| !o.attack).filter(flagged).count();
    let tn = outcomes.iter().filter(|o| !o.attack).filter(cleared).count();
    let fn_ = outcomes.iter().filter(|o| o.attack).filter(cleared).count();
    let attacks = outcomes.iter().filter(|o| o.attack).count();
    let benign = outcomes.len() - attacks;
    println!("attack class: precision {} recall {}", ratio(tp, tp + fp), ratio(tp, attacks));
    println!("benign class: precision {} recall {}", ratio(tn, tn + fn_), ratio(tn, benign));
    let attacks_closed = outcomes.iter().filter(|o| o.attack && o.auto_closed).count();
    let benign_alerts: u64 = outcomes.iter().filter(|o| !o.attack).map(|o| o.alerts).sum();
    let benign_closed: u64 = outcomes.iter().filter(|o| !o.attack && o.auto_closed).map(|o| o.alerts).sum();
    println!("labelled attacks auto-closed: {attacks_closed}");
    println!(
        "benign alert volume auto-triaged: {benign_closed} of {benign_alerts} ({})",
        ratio(benign_closed as usize, benign_alerts as usize)
    );
    let valid = outcomes.iter().filter(|o| o.citations_valid).count();
    println!(
        "citation validity: {valid} of {} recommendations ({})",
        outcomes.len(),
        ratio(valid, outcomes.len())
    );
}

/// One labelled input: every case a hunt over it finds is an attack, or every one is benign.
struct Set {
    name: &'static str,
    input: PathBuf,
    format: Option<&'static str>,
    attack: bool,
}

fn labelled_cases(data: &Path, role: &str, sets: &[Set]) -> Result<Vec<(Case, bool)>> {
    let mut labelled = Vec::new();
    for set in sets {
        let cases = hunt(data, std::slice::from_ref(&set.input), set.format)?;
        eprintln!("{}, {role}: {} cases", set.name, cases.len());
        labelled.extend(cases.into_iter().map(|c| (c, set.attack)));
    }
    Ok(labelled)
}

/// What looser policies would close: the benign alert volume each reaches against the labelled
/// attacks it would close with it, so a SOC lead sees the price of each setting.
fn sweep(held: &[(&Case, bool)], outcomes: &[Outcome]) {
    println!("policy sweep (auto-close on; benign alerts closed / labelled attacks closed):");
    let benign: u64 = outcomes.iter().filter(|o| !o.attack).map(|o| o.alerts).sum();
    for allow_high_severity in [false, true] {
        let cells: Vec<String> = [0.9, 0.8, 0.7, 0.6, 0.5]
            .into_iter()
            .map(|min_confidence| {
                let policy = AutoClosePolicy { enabled: true, min_confidence, allow_high_severity };
                let (mut closed, mut attacks) = (0, 0);
                for ((case, attack), o) in held.iter().zip(outcomes) {
                    if autotriage::decide(&policy, case, &o.recommendation).is_ok() {
                        if *attack {
                            attacks += 1;
                        } else {
                            closed += o.alerts;
                        }
                    }
                }
                format!("≥{min_confidence:.1}: {closed}/{benign} / {attacks}")
            })
            .collect();
        let label = if allow_high_severity { "high alerts too" } else { "default (no high)" };
        println!("  {label:<18} {}", cells.join("   "));
    }
}

fn triage(data: &Path) -> Result<ExitCode> {
    let work = std::env::temp_dir().join(format!("vigil-eval-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let ct = panther(data, &work, "AWS_CloudTrail.jsonl", "cloudtrail")?;
    let okta = panther(data, &work, "Okta_SystemLog.jsonl", "okta")?;
    let set = |name: &'static str, input: PathBuf, format: Option<&'static str>, attack: bool| Set {
        name,
        input,
        format,
        attack,
    };
    let (ct_fmt, okta_fmt) = (Some("cloudtrail"), Some("okta"));
    let training_sets = [
        set("EVTX-to-MITRE recordings", data.join("evtx-to-mitre-attack"), None, true),
        set("Panther CloudTrail should-alert (even)", ct.train_attack, ct_fmt, true),
        set("Panther CloudTrail should-not-alert (even)", ct.train_benign, ct_fmt, false),
        set("Panther Okta should-alert (even)", okta.train_attack, okta_fmt, true),
        set("Panther Okta should-not-alert (even)", okta.train_benign, okta_fmt, false),
    ];
    let held_sets = [
        set("OTRF recordings", data.join("otrf-security-datasets"), None, true),
        set("Stratus detonations", data.join("stratus-red-team/docs/detonation-logs"), ct_fmt, true),
        set("Panther CloudTrail should-alert (odd)", ct.held_attack, ct_fmt, true),
        set("Panther CloudTrail should-not-alert (odd)", ct.held_benign, ct_fmt, false),
        set("Panther Okta should-alert (odd)", okta.held_attack, okta_fmt, true),
        set("Panther Okta should-not-alert (odd)", okta.held_benign, okta_fmt, false),
    ];
    let training = labelled_cases(data, "training", &training_sets)?;
    let held = labelled_cases(data, "held out", &held_sets)?;
    let _ = std::fs::remove_dir_all(&work);
    let model = Model::builtin()?;
    let labelled: Vec<(&Case, bool)> = held.iter().map(|(c, a)| (c, *a)).collect();
    let cases: Vec<&Case> = held.iter().map(|(c, _)| c).collect();
    let policy = AutoClosePolicy { enabled: true, ..AutoClosePolicy::default() };
    let mut complete = complete_context(&cases)?;
    complete.history = Some(history(&training));
    let no_inventories = Context { history: complete.history.clone(), ..Context::default() };
    let no_history = Context { history: None, ..complete.clone() };
    let full = assess(&labelled, &complete, &model, &policy)?;
    let bare = assess(&labelled, &no_inventories, &model, &policy)?;
    let forgetful = assess(&labelled, &no_history, &model, &policy)?;
    println!("model: {}", full.first().map(|o| o.recommendation.drafted_by.clone()).unwrap_or_default());
    println!("trained on: {}", model.provenance.data.join("; "));
    println!(
        "verdict history: the training split's labels, as analysts' verdicts ({} rule-and-entity verdicts from {} cases)",
        complete.history.as_ref().map_or(0, |h| h.entries.len()),
        training.len()
    );
    report(
        "with complete inventories (derived from the data: every host and account known, none critical or privileged) and the verdict history",
        &full,
    );
    let attacks: Vec<&Case> =
        training.iter().chain(&held).filter(|(_, attack)| *attack).map(|(c, _)| c).collect();
    ceiling(&labelled, &attacks);
    sweep(&labelled, &full);
    let closed =
        |o: &[Outcome]| -> u64 { o.iter().filter(|o| !o.attack && o.auto_closed).map(|o| o.alerts).sum() };
    println!(
        "without the verdict history: benign alert volume auto-triaged {} (with it: {})",
        closed(&forgetful),
        closed(&full)
    );
    report("abstention: the same cases with the asset and identity inventories withheld", &bare);
    let named =
        bare.iter().filter(|o| o.recommendation.unknowns.iter().any(|u| u.contains("inventory"))).count();
    let with_entities = bare.iter().filter(|o| !o.recommendation.unknowns.is_empty()).count();
    let mean =
        |o: &[Outcome]| o.iter().map(|o| o.recommendation.confidence).sum::<f64>() / o.len().max(1) as f64;
    println!(
        "confidence {:.2} → {:.2}; unknowns name a withheld inventory in {named} of {with_entities} cases with unknowns; auto-closed without inventories: {}",
        mean(&full),
        mean(&bare),
        bare.iter().filter(|o| o.auto_closed).count()
    );
    std::io::stdout().flush()?;
    let attacks_closed =
        full.iter().chain(&bare).chain(&forgetful).filter(|o| o.attack && o.auto_closed).count();
    let citations = full.iter().chain(&bare).chain(&forgetful).all(|o| o.citations_valid);
    Ok(if attacks_closed == 0 && citations && bare.iter().all(|o| !o.auto_closed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn cases_without_hosts_or_accounts_still_get_complete_inventories() {
        let context = super::complete_context(&[]).expect("empty inventories load");
        assert!(context.assets.is_some_and(|a| a.entries.is_empty()));
        assert!(context.identities.is_some_and(|i| i.entries.is_empty()));
    }
}
