//! `vigil hunt`: decode, normalize and run detection over a folder of logs, then report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;
use std::sync::Arc;

use vigil_detect::behaviour::{Behaviour, BehaviourAlert, GeoLookup, MaxMind};
use vigil_detect::{
    CorrelationAlert, Detection, Level, RuleFile, RuleSet, behaviour_finding, builtin, correlation_finding,
    finding,
};
use vigil_engine::pipeline::{Detectors, Order, Pipeline, Raised};
use vigil_ingest::{ReadOptions, Scanned, by_name, scan_file};

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
) -> Vec<(vigil_model::CaseId, vigil_triage::narrator::Narration)> {
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

/// One alert as the summary counts it.
struct Counted {
    rule_title: String,
    level: Level,
    host: String,
    user: String,
}

/// What a hunt collects as the pipeline raises alerts: the JSON or OCSF lines it writes, the
/// summary's counts, and the alerts clustering reads.
struct Collected {
    out: Option<Box<dyn Write>>,
    ocsf: bool,
    counted: Vec<Counted>,
    case_alerts: Vec<vigil_correlate::Alert>,
    /// One copy of each rule and entity key among `case_alerts`.
    shared: vigil_correlate::Shared,
    /// The first write that failed; the hunt stops at the end of the file it was reading.
    write_error: Option<std::io::Error>,
}

impl Collected {
    fn raised(&mut self, raised: Raised<'_>, alert: vigil_correlate::Alert) {
        let (line, counted) = match raised {
            Raised::Sigma { detection, event, view, source } => {
                sigma_line(self.ocsf, detection, event, view, source)
            }
            Raised::Correlation { alert, time } => correlation_line(self.ocsf, alert, time),
            Raised::Behaviour { alert } => behaviour_line(self.ocsf, alert),
        };
        if let Some(w) = self.out.as_mut()
            && self.write_error.is_none()
            && let Err(e) = line.map_err(std::io::Error::other).and_then(|l| writeln!(w, "{l}"))
        {
            self.write_error = Some(e);
        }
        self.counted.push(counted);
        self.case_alerts.push(self.shared.alert(alert));
    }

    fn check_writes(&mut self) -> Result<()> {
        match self.write_error.take() {
            Some(e) => Err(e).context("writing output"),
            None => Ok(()),
        }
    }
}

fn sigma_line(
    ocsf: bool,
    detection: &Detection,
    event: &vigil_ocsf::Event,
    view: &vigil_model::view::SourceView,
    source: &str,
) -> (serde_json::Result<String>, Counted) {
    let host = event.device.as_ref().and_then(|d| d.hostname.clone()).unwrap_or_default();
    let user = event
        .actor
        .as_ref()
        .and_then(|a| a.user.as_ref())
        .or(event.user.as_ref())
        .and_then(|u| u.name.clone())
        .unwrap_or_default();
    let line = if ocsf {
        serde_json::to_string(&finding(detection, event))
    } else {
        serde_json::to_string(&json!({
            "type": "alert",
            "rule": &*detection.rule,
            "time": event.time,
            "host": host,
            "user": user,
            "event_uid": event.metadata.uid,
            "event_class": event.class_name,
            "source": source,
            "matched_fields": detection.matched.iter().cloned().collect::<serde_json::Map<_, _>>(),
            // The record as the rule saw it: what `vigil tune` proposes filters from.
            "record": view,
        }))
    };
    (line, Counted { rule_title: detection.rule.title.clone(), level: detection.rule.level, host, user })
}

fn correlation_line(
    ocsf: bool,
    alert: &CorrelationAlert,
    time: i64,
) -> (serde_json::Result<String>, Counted) {
    let line = if ocsf {
        serde_json::to_string(&correlation_finding(alert, time))
    } else {
        serde_json::to_string(&json!({"type": "alert", "rule": &*alert.rule, "time": time, "correlation": {
            "type": alert.correlation_type, "group": alert.group, "value": alert.value,
            "timespan_secs": alert.timespan_secs}}))
    };
    let group: String = alert.group.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let counted = Counted {
        rule_title: format!("{} [{}]", alert.rule.title, group.trim_end()),
        level: alert.rule.level,
        host: String::new(),
        user: String::new(),
    };
    (line, counted)
}

fn behaviour_line(ocsf: bool, alert: &BehaviourAlert) -> (serde_json::Result<String>, Counted) {
    let line = if ocsf {
        serde_json::to_string(&behaviour_finding(alert))
    } else {
        serde_json::to_string(
            &json!({"type": "alert", "rule": &*alert.rule, "time": alert.time, "behaviour": {
            "group": alert.group, "summary": alert.summary}, "events": alert.events}),
        )
    };
    let entity =
        |name: &str| alert.group.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let counted = Counted {
        rule_title: alert.rule.title.clone(),
        level: alert.rule.level,
        host: entity("host"),
        user: entity("user"),
    };
    (line, counted)
}

/// What a hunt runs: the rules, the behavioural detectors and the built-in analyst's inputs.
struct Hunt {
    detectors: Detectors,
    triage: vigil_engine::runner::Triage,
    llm: Option<crate::config::LlmConfig>,
}

/// Loads the configuration, the rules and the triage inputs.
fn prepare(args: &Args) -> Result<Hunt> {
    let min_level = Level::parse(&args.min_level).unwrap_or(Level::Informational);
    let config_file = match &args.config {
        Some(path) => crate::config::Config::load(path)?,
        None => crate::config::Config::default(),
    };
    let config_dir = args.config.as_ref().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
    let triage = vigil_engine::runner::Triage {
        context: config_file.triage.context(&config_dir)?,
        model: config_file.triage.model(&config_dir)?,
        library: vigil_triage::playbook::library()?,
        auto_close: config_file.triage.auto_close.clone(),
    };
    let mut detect = config_file.detect;
    for p in &args.placeholders {
        let Some((name, value)) = p.split_once('=') else {
            bail!("--placeholder takes NAME=VALUE, got {p:?}")
        };
        detect.placeholders.entry(name.trim_matches('%').to_owned()).or_default().push(value.to_owned());
    }
    let behaviour = behaviour(args, &detect)?;
    let rules = load_rules(args, &detect.rule_set_config())?;
    Ok(Hunt {
        detectors: Detectors { rules: Arc::new(rules), behaviour, min_level },
        triage,
        llm: config_file.triage.llm,
    })
}

/// Vigil's built-in rules (when `builtin`) and the rule files under each of `dirs`: what a hunt,
/// the server, `vigil tune` and `vigil rules test` load, under the names alerts then carry.
pub fn rule_set_files(builtin: bool, dirs: impl IntoIterator<Item = PathBuf>) -> Result<Vec<RuleFile>> {
    let mut files = if builtin { builtin::files() } else { Vec::new() };
    for dir in dirs {
        files.extend(rule_files(&dir)?);
    }
    Ok(files)
}

/// Vigil's built-in rules (unless `--no-builtin`) and those under `--rules`.
fn load_rules(args: &Args, config: &vigil_detect::RuleSetConfig) -> Result<RuleSet> {
    let files = rule_set_files(!args.no_builtin, args.rules.iter().cloned())?;
    let started = std::time::Instant::now();
    let (rules, diagnostics) = RuleSet::load(&files, config).context("loading rules")?;
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
    Ok(rules)
}

/// How many events and dead letters the files held.
#[derive(Default)]
struct Read {
    events: u64,
    dead: u64,
}

/// Reads every file through the pipeline, then replays its correlations and behavioural
/// detectors in time order (files do not come in it).
fn detect(
    args: &Args,
    inputs: &[PathBuf],
    pipeline: &mut Pipeline,
    collected: &mut Collected,
) -> Result<Read> {
    let total: u64 = inputs.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = progress::bytes(total);
    let options =
        ReadOptions { format: args.format.as_deref().and_then(by_name), evtx_threads: 0, views: true };
    let mut read = Read::default();
    for input in inputs {
        let source = input.display().to_string();
        bar.set_message(input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let summary = scan_file(input, &options, &mut |scanned| {
            if let Scanned::Record(pending) = scanned {
                pipeline
                    .detect_pending(pending, &source, &mut |raised, alert| collected.raised(raised, alert));
            }
        });
        read.events += summary.events;
        read.dead += summary.dead_letters;
        collected.check_writes()?;
        bar.inc(std::fs::metadata(input).map(|m| m.len()).unwrap_or(0));
    }
    bar.finish_and_clear();
    pipeline.finish(&mut |raised, alert| collected.raised(raised, alert));
    collected.check_writes()?;
    Ok(read)
}

/// The cases the alerts cluster into, with the built-in analyst's recommendation for each and
/// auto-triage applied.
fn cases(
    alerts: &[vigil_correlate::Alert],
    triage: &vigil_engine::runner::Triage,
) -> (Vec<vigil_correlate::Case>, Vec<vigil_triage::Recommendation>) {
    let mut cases = vigil_correlate::cluster(alerts, &vigil_correlate::ClusterConfig::default());
    let now = crate::cases::now_ms();
    let recommendations: Vec<vigil_triage::Recommendation> = cases
        .iter()
        .map(|c| vigil_triage::recommend(c, &triage.context, &triage.model, &triage.library, now))
        .collect();
    let policy = &triage.auto_close;
    let mut auto_closed = 0;
    for (case, r) in cases.iter_mut().zip(&recommendations) {
        auto_closed += usize::from(vigil_triage::autotriage::apply(policy, case, r, now));
    }
    if policy.enabled {
        eprintln!("auto-triage closed {auto_closed} of {} cases as benign", cases.len());
    }
    (cases, recommendations)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let hunt = prepare(&args)?;
    let inputs = vigil_ingest::input::expand(&args.paths).context("listing input files")?;
    let out = if args.json || args.ocsf { Some(crate::output::open(args.out.as_ref())?) } else { None };
    let mut collected = Collected {
        out,
        ocsf: args.ocsf,
        counted: Vec::new(),
        case_alerts: Vec::new(),
        shared: vigil_correlate::Shared::default(),
        write_error: None,
    };
    let mut pipeline = Pipeline::with_order(hunt.detectors, Order::Deferred);
    let read = detect(&args, &inputs, &mut pipeline, &mut collected)?;
    let (cases, recommendations) = cases(&collected.case_alerts, &hunt.triage);
    let narrations = narrate(hunt.llm.as_ref(), &cases, &recommendations);
    if let Some(w) = collected.out.as_mut()
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
    if let Some(mut w) = collected.out.take() {
        w.flush().context("writing output")?;
    }
    let alerts = &collected.counted;
    eprintln!(
        "{} files, {} events, {} dead letters, {} alerts, {} cases",
        inputs.len(),
        read.events,
        read.dead,
        alerts.len(),
        cases.len()
    );
    if let Some(path) = &args.report {
        let report = vigil_report::HuntReport {
            title: "Vigil hunt report".into(),
            generated_at: crate::cases::now_rfc3339(),
            files: inputs.len(),
            events: read.events,
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
            .and_then(|()| stdout.write_all(summary(alerts).as_bytes()))
            .and_then(|()| stdout.flush())
            .context("writing output")?;
    }
    Ok(if alerts.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Alert counts by level, rule, host and user.
fn summary(alerts: &[Counted]) -> String {
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
