//! `vigil hunt`: decode, normalize and run detection over a folder of logs, then report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;
use vigil_detect::behaviour::{Behaviour, GeoLookup, MaxMind};
use vigil_detect::{
    Detection, Level, RuleFile, RuleSet, behaviour_finding, builtin, correlation_finding, finding,
};
use vigil_ingest::view::SourceView;
use vigil_ingest::{Outcome, ReadOptions, by_name, read_file};

use crate::progress;
use crate::terminal::safe;

#[derive(clap::Args)]
#[command(
    after_help = "Exit status (as grep): 0 when something was detected, 1 when nothing was, 2 on an error."
)]
pub struct Args {
    /// Files or directories of logs (read recursively; gzip recognised by content).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Also load the Sigma rules in this directory (recursively); may be repeated.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load Vigil's built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
    /// Read every file as this format instead of recognising it.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::output::format_names()))]
    pub format: Option<String>,
    /// Report only alerts at this level or above.
    #[arg(long, default_value = "informational", value_parser = ["informational", "low", "medium", "high", "critical"])]
    pub min_level: String,
    /// Write alerts as JSON lines instead of the summary.
    #[arg(long, conflicts_with = "ocsf")]
    pub json: bool,
    /// Write alerts as OCSF Detection Findings (JSON lines) instead of the summary.
    #[arg(long)]
    pub ocsf: bool,
    /// Write JSON or OCSF output here instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// A value for an `|expand` placeholder: NAME=VALUE (repeat for several values).
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholders: Vec<String>,
    /// List every rule that could not be loaded, with the reason.
    #[arg(long)]
    pub show_diagnostics: bool,
    /// Vigil's configuration file (see vigil.example.yml): thresholds, placeholders, geo-IP.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A MaxMind-format geo-IP database for impossible travel (overrides the configuration's).
    #[arg(long, value_name = "FILE.mmdb")]
    pub geoip: Option<PathBuf>,
    /// Write the cases as one self-contained HTML report (timeline, entity graph, ATT&CK).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// The Sigma rule files (`.yml`, `.yaml`) under `dir`, recursively, in a stable order.
pub fn rule_files(dir: &PathBuf) -> Result<Vec<RuleFile>> {
    let mut files = Vec::new();
    for path in vigil_ingest::input::expand(std::slice::from_ref(dir))
        .with_context(|| format!("listing rules in {}", dir.display()))?
    {
        let is_yaml =
            path.extension().is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if !is_yaml {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("reading rule {}", path.display()))?;
        files.push(RuleFile { name: path.display().to_string(), text });
    }
    Ok(files)
}

/// Drafts by the configured model for the most severe cases, by case id; none without a model.
fn narrate(
    llm: Option<&crate::config::LlmConfig>,
    cases: &[vigil_correlate::Case],
    recommendations: &[vigil_triage::Recommendation],
) -> Vec<(String, vigil_triage::narrator::Narration)> {
    let Some(llm) = llm else { return Vec::new() };
    let client = vigil_triage::narrator::OpenAiClient::new(llm.endpoint.clone());
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by(|a, b| cases[*b].severity.cmp(&cases[*a].severity).then(a.cmp(b)));
    let mut out = Vec::new();
    for i in order.into_iter().take(llm.max_cases) {
        let n =
            vigil_triage::narrator::narrate(&client, &cases[i], &recommendations[i], llm.endpoint.max_tokens);
        out.push((cases[i].id.clone(), n));
    }
    let accepted = out.iter().filter(|(_, n)| n.source == "model").count();
    eprintln!(
        "narrator ({}): {accepted} of {} drafts accepted; the rest fell back to the built-in analyst",
        llm.endpoint.model,
        out.len()
    );
    out
}

/// The behavioural detectors under the configuration, with the geo-IP database if one is given.
fn behaviour(args: &Args, detect: &vigil_detect::DetectConfig) -> Result<Behaviour> {
    let geo: Option<std::sync::Arc<dyn GeoLookup>> =
        match args.geoip.as_ref().or(detect.geoip_database.as_ref()) {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("reading geo-IP database {}", path.display()))?;
                let db = MaxMind::from_bytes(bytes).with_context(|| format!("in {}", path.display()))?;
                Some(std::sync::Arc::new(db))
            }
            None => None,
        };
    let without_geo = geo.is_none() && detect.behaviour.impossible_travel.enabled;
    let behaviour = Behaviour::new(detect.behaviour.clone(), geo);
    eprintln!(
        "behavioural detectors: {}{}",
        behaviour.detectors().join(", "),
        if without_geo { " (impossible travel needs a geo-IP database: --geoip FILE.mmdb)" } else { "" }
    );
    Ok(behaviour)
}

struct Alert {
    rule_title: String,
    level: Level,
    host: String,
    user: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let min_level = Level::parse(&args.min_level).unwrap_or(Level::Informational);
    let config_file = match &args.config {
        Some(path) => crate::config::Config::load(path)?,
        None => crate::config::Config::default(),
    };
    let config_dir = args.config.as_ref().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
    let triage_context = config_file.triage.context(&config_dir)?;
    let model = config_file.triage.model(&config_dir)?;
    let library = vigil_triage::playbook::library()?;
    let mut detect = config_file.detect;
    for p in &args.placeholders {
        let Some((name, value)) = p.split_once('=') else {
            bail!("--placeholder takes NAME=VALUE, got {p:?}")
        };
        detect.placeholders.entry(name.trim_matches('%').to_owned()).or_default().push(value.to_owned());
    }
    let config = detect.rule_set_config();
    let behaviour = behaviour(&args, &detect)?;
    let mut files = if args.no_builtin { Vec::new() } else { builtin::files() };
    for dir in &args.rules {
        files.extend(rule_files(dir)?);
    }
    let started = std::time::Instant::now();
    let (rules, diagnostics) = RuleSet::load(&files, &config).context("loading rules")?;
    let skipped = diagnostics.iter().filter(|d| d.skipped).count();
    eprintln!(
        "loaded {} rules and {} correlation rules from {} files in {:.2} s ({skipped} not loaded{})",
        rules.len(),
        rules.correlation_count(),
        files.len(),
        started.elapsed().as_secs_f64(),
        if skipped > 0 && !args.show_diagnostics { "; --show-diagnostics lists them" } else { "" }
    );
    if args.show_diagnostics {
        for d in &diagnostics {
            eprintln!("  {}", safe(&d.to_string(), 400));
        }
    }
    if rules.is_empty() {
        bail!("no rules to run");
    }

    let inputs = vigil_ingest::input::expand(&args.paths).context("listing input files")?;
    let total: u64 = inputs.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = progress::bytes(total);
    let mut out = if args.json || args.ocsf { Some(crate::output::open(args.out.as_ref())?) } else { None };
    let options =
        ReadOptions { format: args.format.as_deref().and_then(by_name), evtx_threads: 0, views: true };
    let (mut events, mut dead) = (0u64, 0u64);
    let mut alerts: Vec<Alert> = Vec::new();
    let mut write_error: Option<std::io::Error> = None;
    // Correlation needs records in time order, and files do not come in it: the records that
    // fired a rule are kept and replayed in order once every file is read.
    let mut correlator = rules.correlator();
    let mut fired: Vec<(i64, SourceView, Vec<Detection>, vigil_engine::alerts::Record)> = Vec::new();
    let mut observations = Vec::new();
    let mut case_alerts: Vec<vigil_correlate::Alert> = Vec::new();
    for input in &inputs {
        let source = input.display().to_string();
        bar.set_message(input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        read_file(input, &options, &mut |outcome| {
            let Outcome::Event(event, views) = outcome else {
                dead += 1;
                return;
            };
            events += 1;
            observations.extend(behaviour.observe(&event));
            let mut record: Option<vigil_engine::alerts::Record> = None;
            for view in views {
                let detections = rules.evaluate(&view);
                for detection in &detections {
                    if detection.rule.building_block || detection.rule.level < min_level {
                        continue;
                    }
                    let host = event.device.as_ref().and_then(|d| d.hostname.clone()).unwrap_or_default();
                    let user = event
                        .actor
                        .as_ref()
                        .and_then(|a| a.user.as_ref())
                        .or(event.user.as_ref())
                        .and_then(|u| u.name.clone())
                        .unwrap_or_default();
                    if let Some(w) = out.as_mut() {
                        let line = if args.ocsf {
                            serde_json::to_string(&finding(detection, &event))
                        } else {
                            serde_json::to_string(&json!({
                                "type": "alert",
                                "rule": &*detection.rule,
                                "time": event.time,
                                "host": host,
                                "user": user,
                                "event_uid": event.metadata.uid,
                                "event_class": event.class_name,
                                "source": input.display().to_string(),
                                "matched_fields": detection.matched.iter().cloned().collect::<serde_json::Map<_, _>>(),
                            }))
                        };
                        if let Err(e) = line.map_err(std::io::Error::other).and_then(|l| writeln!(w, "{l}")) {
                            write_error.get_or_insert(e);
                        }
                    }
                    alerts.push(Alert {
                        rule_title: detection.rule.title.clone(),
                        level: detection.rule.level,
                        host,
                        user,
                    });
                    let record =
                        record.get_or_insert_with(|| vigil_engine::alerts::Record::of(&event, &source));
                    case_alerts.push(vigil_engine::alerts::from_detection(detection, record));
                }
                if correlator.is_active() && !detections.is_empty() {
                    let record = record
                        .get_or_insert_with(|| vigil_engine::alerts::Record::of(&event, &source))
                        .clone();
                    fired.push((event.time, view, detections, record));
                }
            }
        });
        if let Some(e) = write_error.take() {
            return Err(e).context("writing output");
        }
        bar.inc(std::fs::metadata(input).map(|m| m.len()).unwrap_or(0));
    }
    bar.finish_and_clear();
    fired.sort_by_key(|(time, _, _, _)| *time);
    for (time, view, detections, trigger) in &fired {
        for alert in correlator.process(view, *time, detections) {
            if alert.rule.level < min_level {
                continue;
            }
            if let Some(w) = out.as_mut() {
                let line = if args.ocsf {
                    serde_json::to_string(&correlation_finding(&alert, *time))
                } else {
                    serde_json::to_string(
                        &json!({"type": "alert", "rule": &*alert.rule, "time": time, "correlation": {
                        "type": alert.correlation_type, "group": alert.group, "value": alert.value,
                        "timespan_secs": alert.timespan_secs}}),
                    )
                };
                line.map_err(std::io::Error::other)
                    .and_then(|l| writeln!(w, "{l}"))
                    .context("writing output")?;
            }
            case_alerts.push(vigil_engine::alerts::from_correlation(&alert, *time, trigger));
            let group: String = alert.group.iter().map(|(k, v)| format!("{k}={v} ")).collect();
            alerts.push(Alert {
                rule_title: format!("{} [{}]", alert.rule.title, group.trim_end()),
                level: alert.rule.level,
                host: String::new(),
                user: String::new(),
            });
        }
    }
    for alert in behaviour.detect(&mut observations) {
        if alert.rule.level < min_level {
            continue;
        }
        if let Some(w) = out.as_mut() {
            let line = if args.ocsf {
                serde_json::to_string(&behaviour_finding(&alert))
            } else {
                serde_json::to_string(
                    &json!({"type": "alert", "rule": &*alert.rule, "time": alert.time, "behaviour": {
                    "group": alert.group, "summary": alert.summary}, "events": alert.events}),
                )
            };
            line.map_err(std::io::Error::other).and_then(|l| writeln!(w, "{l}")).context("writing output")?;
        }
        case_alerts.push(vigil_engine::alerts::from_behaviour(&alert));
        let entity = |name: &str| {
            alert.group.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        alerts.push(Alert {
            rule_title: alert.rule.title.clone(),
            level: alert.rule.level,
            host: entity("host"),
            user: entity("user"),
        });
    }
    let mut cases = vigil_correlate::cluster(&case_alerts, &vigil_correlate::ClusterConfig::default());
    let now = crate::cases::now_ms();
    let recommendations: Vec<vigil_triage::Recommendation> =
        cases.iter().map(|c| vigil_triage::recommend(c, &triage_context, &model, &library, now)).collect();
    let policy = &config_file.triage.auto_close;
    let mut auto_closed = 0;
    for (case, r) in cases.iter_mut().zip(&recommendations) {
        auto_closed += usize::from(vigil_triage::autotriage::apply(policy, case, r, now));
    }
    if policy.enabled {
        eprintln!("auto-triage closed {auto_closed} of {} cases as benign", cases.len());
    }
    let narrations = narrate(config_file.triage.llm.as_ref(), &cases, &recommendations);
    if let Some(w) = out.as_mut()
        && args.json
    {
        for (case, recommendation) in cases.iter().zip(&recommendations) {
            let narration = narrations.iter().find(|(id, _)| *id == case.id).map(|(_, n)| n);
            let line = serde_json::to_string(
                &json!({"type": "case", "case": case, "recommendation": recommendation, "narration": narration}),
            )
            .map_err(std::io::Error::other);
            line.and_then(|l| writeln!(w, "{l}")).context("writing output")?;
        }
    }
    if let Some(mut w) = out {
        w.flush().context("writing output")?;
    }
    eprintln!(
        "{} files, {events} events, {dead} dead letters, {} alerts, {} cases",
        inputs.len(),
        alerts.len(),
        cases.len()
    );
    if let Some(path) = &args.report {
        let report = vigil_report::HuntReport {
            title: "Vigil hunt report".into(),
            generated_at: crate::cases::now_rfc3339(),
            files: inputs.len(),
            events,
            alerts: alerts.len() as u64,
            cases: &cases,
            recommendations: &recommendations,
        };
        std::fs::write(path, vigil_report::render(&report))
            .with_context(|| format!("writing report {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if !(args.json || args.ocsf) {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(crate::cases::table(&cases, &recommendations).as_bytes())
            .and_then(|()| stdout.write_all(summary(&alerts).as_bytes()))
            .and_then(|()| stdout.flush())
            .context("writing output")?;
    }
    Ok(if alerts.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Alert counts by level, rule, host and user.
fn summary(alerts: &[Alert]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if alerts.is_empty() {
        out.push_str("no alerts\n");
        return out;
    }
    let mut by_level: BTreeMap<Level, u64> = BTreeMap::new();
    let mut by_rule: BTreeMap<(Level, String), u64> = BTreeMap::new();
    let mut by_host: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_user: BTreeMap<String, u64> = BTreeMap::new();
    for a in alerts {
        *by_level.entry(a.level).or_default() += 1;
        *by_rule.entry((a.level, a.rule_title.clone())).or_default() += 1;
        *by_host.entry(if a.host.is_empty() { "-".into() } else { a.host.clone() }).or_default() += 1;
        *by_user.entry(if a.user.is_empty() { "-".into() } else { a.user.clone() }).or_default() += 1;
    }
    let _ = writeln!(out, "{:<14} {:>8}", "level", "alerts");
    for (level, n) in by_level.iter().rev() {
        let _ = writeln!(out, "{:<14} {n:>8}", level.as_str());
    }
    let _ = writeln!(out, "\n{:<14} {:>8}  rule", "level", "alerts");
    let mut rules: Vec<_> = by_rule.into_iter().collect();
    rules.sort_by(|a, b| b.0.0.cmp(&a.0.0).then(b.1.cmp(&a.1)));
    for ((level, title), n) in rules.iter().take(30) {
        let _ = writeln!(out, "{:<14} {n:>8}  {}", level.as_str(), safe(title, 90));
    }
    for (heading, counts) in [("host", by_host), ("user", by_user)] {
        let _ = writeln!(out, "\n{:>8}  {heading}", "alerts");
        let mut rows: Vec<_> = counts.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (name, n) in rows.iter().take(15) {
            let _ = writeln!(out, "{n:>8}  {}", safe(name, 80));
        }
    }
    out
}
