//! `vigil policy`: check an approval policy (`lint`), say what it decides for one request and
//! why (`explain`), run the tests written beside it (`test`), or print the shipped one
//! (`default`). A FILE of `default` means the shipped policy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use vigil_policy::cases::{RequestSpec, run as run_tests};
use vigil_policy::{
    BlastRadius, Context, Criticality, DEFAULT_POLICY, DEFAULT_POLICY_TESTS, Environment, Error, Policy, Tier,
};

/// Policy text and names are the operator's, but still never drive the terminal.
fn clean(text: &str) -> String {
    crate::terminal::safe(text, 4_000)
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a policy: every error with its line; warnings for what is legal but risky.
    Lint {
        /// A policy file, or `default`.
        file: String,
    },
    /// What the policy decides for one request, and which rule decided why.
    Explain(Box<ExplainArgs>),
    /// Run the policy's tests (FILE.test.yml beside it unless --tests names another file).
    Test {
        /// A policy file, or `default`.
        file: String,
        #[arg(long)]
        tests: Option<PathBuf>,
    },
    /// Print the shipped policy, to start your own from.
    Default,
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// A policy file, or `default`.
    file: String,
    /// The action's name (`vigil policy explain default --action list` lists them).
    #[arg(long)]
    action: String,
    /// What it acts on, as `kind key`: `host ws-12`, `user corp\alice`, `access_key AKIA…`.
    #[arg(long)]
    target: Option<String>,
    /// A case in the data directory: its severity and the recommendation's confidence.
    #[arg(long, requires = "data")]
    case: Option<String>,
    /// The data directory (`vigil serve --data`) the case is in.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A configuration whose asset inventory gives the target's environment, criticality and tags.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The case's severity when no --case says (`high`, `critical`, …).
    #[arg(long)]
    severity: Option<String>,
    /// The target's environment when no inventory says (`production`, `non_production`).
    #[arg(long)]
    environment: Option<String>,
    /// A tag of the target (repeat for more): `crown_jewel`.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// A fact established about the request (repeat): `token_seen_from_ioc`.
    #[arg(long = "fact")]
    facts: Vec<String>,
    /// How many users the action would affect.
    #[arg(long, default_value_t = 0)]
    users: u32,
    /// How many hosts the action would affect.
    #[arg(long, default_value_t = 0)]
    hosts: u32,
    /// Who asks: `person NAME` (the default), `model NAME` or `playbook ID`.
    #[arg(long)]
    requested_by: Option<String>,
}

fn read(file: &str) -> Result<(String, String)> {
    if file == "default" {
        return Ok(("the shipped policy".into(), DEFAULT_POLICY.into()));
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    Ok((file.to_owned(), text))
}

fn parse(name: &str, text: &str) -> Result<Policy, String> {
    Policy::parse(text).map_err(|e| match e {
        Error::Invalid(problems) => problems
            .iter()
            .map(|p| match p.line {
                Some(line) => format!("{name}:{line}: {}", clean(&p.message)),
                None => format!("{name}: {}", clean(&p.message)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("{name}: {}", clean(&other.to_string())),
    })
}

pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Default => {
            print!("{DEFAULT_POLICY}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint { file } => {
            let (name, text) = read(&file)?;
            match parse(&name, &text) {
                Err(errors) => {
                    eprintln!("{errors}");
                    Ok(ExitCode::from(1))
                }
                Ok(policy) => {
                    for warning in policy.warnings() {
                        eprintln!("{name}: warning: {}", clean(&warning.message));
                    }
                    println!(
                        "{name}: {} rules, valid (policy {}, sha256 {})",
                        policy.rules.len(),
                        clean(&policy.name),
                        policy.sha256
                    );
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Command::Test { file, tests } => {
            let (name, text) = read(&file)?;
            let policy = parse(&name, &text).map_err(anyhow::Error::msg)?;
            let tests_text = match (tests, file.as_str()) {
                (Some(path), _) => {
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
                }
                (None, "default") => DEFAULT_POLICY_TESTS.to_owned(),
                (None, _) => {
                    let beside = beside(Path::new(&file));
                    std::fs::read_to_string(&beside).with_context(|| {
                        format!(
                            "reading {} (the tests beside the policy; --tests names another file)",
                            beside.display()
                        )
                    })?
                }
            };
            let outcomes = run_tests(&policy, &tests_text)?;
            let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
            for outcome in &outcomes {
                match &outcome.failure {
                    None => println!("ok    {}", clean(&outcome.name)),
                    Some(why) => println!("FAIL  {}: {}", clean(&outcome.name), clean(why)),
                }
            }
            println!("{} tests, {} passed, {failed} failed", outcomes.len(), outcomes.len() - failed);
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Explain(args) => explain(*args),
    }
}

/// `policy.yml` → `policy.test.yml`.
fn beside(policy: &Path) -> PathBuf {
    let stem = policy.file_stem().and_then(|s| s.to_str()).unwrap_or("policy");
    policy.with_file_name(format!("{stem}.test.yml"))
}

fn explain(args: ExplainArgs) -> Result<ExitCode> {
    if args.action == "list" {
        for action in vigil_model::ACTIONS {
            let target = action.target.map_or("the case", |t| t.as_str());
            let undo = match (action.undo, action.self_undoing) {
                (Some(undo), _) => format!("undo: {undo}"),
                (None, true) => "nothing to undo".to_owned(),
                (None, false) => "irreversible".to_owned(),
            };
            println!("{:<26} {:<20} on {:<16} {undo}", action.name, action.category.as_str(), target);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (name, text) = read(&args.file)?;
    let policy = parse(&name, &text).map_err(anyhow::Error::msg)?;
    let spec = RequestSpec {
        action: args.action.clone(),
        target: args.target.clone(),
        parameters: Default::default(),
        requested_by: args.requested_by.clone(),
    };
    let mut request = spec.to_request().map_err(anyhow::Error::msg)?;
    let mut context = Context {
        tags: args.tags.iter().cloned().collect(),
        facts: args.facts.iter().cloned().collect(),
        blast_radius: BlastRadius { users: args.users, hosts: args.hosts, ..BlastRadius::default() },
        ..Context::default()
    };
    if let Some(word) = &args.environment {
        context.environment = environment(word)?;
    }
    if let Some(word) = &args.severity {
        context.severity = Some(severity(word)?);
    }
    if let (Some(config), Some(target)) = (&args.config, &request.target) {
        inventory(config, target, &mut context)?;
    }
    if let (Some(id), Some(data)) = (&args.case, &args.data) {
        let (severity, confidence) = case_facts(data, id)?;
        context.severity = Some(severity);
        context.confidence = confidence;
        request.case = Some(vigil_model::CaseId::from(id.as_str()));
    }
    let decision = vigil_policy::decide(&policy, &request, &context);
    let target =
        request.target.as_ref().map(|t| format!(" on {} {}", t.kind.as_str(), t.key)).unwrap_or_default();
    println!("{}{}: {}", clean(&request.action), clean(&target), decision.tier);
    println!(
        "  rule:   {}{}",
        clean(&decision.rule),
        if decision.emergency { " (pre-approved emergency rule)" } else { "" }
    );
    println!("  why:    {}", clean(&decision.why));
    if let Tier::Approvals { .. } = decision.tier {
        println!("  expiry: a request waits {} for its approvals", human(decision.expires_in_secs));
    }
    println!("  knew:   {}", clean(&known(&context)));
    println!("  policy: {} (sha256 {})", clean(&policy.name), policy.sha256);
    println!(
        "  request sha256, before planning (the server binds the plan in): {}",
        request.hash(&policy.sha256)
    );
    Ok(ExitCode::SUCCESS)
}

fn environment(word: &str) -> Result<Environment> {
    match word {
        "production" => Ok(Environment::Production),
        "non_production" => Ok(Environment::NonProduction),
        "unknown" => Ok(Environment::Unknown),
        other => bail!("--environment: {other:?} is not production, non_production or unknown"),
    }
}

fn severity(word: &str) -> Result<vigil_model::Severity> {
    serde_json::from_value(serde_json::Value::String(word.to_owned())).map_err(|_| {
        anyhow::anyhow!("--severity: {word:?} is not informational, low, medium, high or critical")
    })
}

/// The target's environment, criticality and tags from the configured asset inventory.
fn inventory(config: &Path, target: &vigil_model::Entity, context: &mut Context) -> Result<()> {
    let base = config.parent().unwrap_or(Path::new("."));
    let triage = crate::config::Config::load(config)?.triage.context(base)?;
    let Some(asset) = triage.assets.as_ref().and_then(|a| a.entries.get(&*target.key)) else { return Ok(()) };
    if let Some(word) = &asset.environment {
        context.environment = Environment::from_inventory(word);
    }
    context.criticality = asset.criticality.as_deref().and_then(Criticality::from_inventory);
    context.tags.extend(asset.tags.iter().cloned());
    Ok(())
}

/// A stored case's severity, and the confidence of its newest recommendation.
fn case_facts(data: &Path, id: &str) -> Result<(vigil_model::Severity, Option<f64>)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = vigil_store::Store::open_dir(data).await?;
        let case_id = vigil_model::CaseId::from(id);
        let Some(case) = store.case(&case_id).await? else { bail!("no case {id} in {}", data.display()) };
        let severity = u8::try_from(case.severity)
            .ok()
            .and_then(vigil_model::Severity::from_id)
            .unwrap_or(vigil_model::Severity::Unknown);
        let confidence = store
            .recommendation(&case_id)
            .await?
            .and_then(|(_, body)| body.get("confidence").and_then(serde_json::Value::as_f64));
        Ok((severity, confidence))
    })
}

fn known(context: &Context) -> String {
    let mut parts = vec![match context.environment {
        Environment::Production => "environment production".to_owned(),
        Environment::NonProduction => "environment non-production".to_owned(),
        Environment::Unknown => "environment unknown (rules treat it as production)".to_owned(),
    }];
    if let Some(c) = context.criticality {
        parts.push(format!("criticality {}", format!("{c:?}").to_lowercase()));
    }
    if !context.tags.is_empty() {
        parts.push(format!("tags {}", join(&context.tags)));
    }
    match context.severity {
        Some(s) => parts.push(format!("severity {}", s.name())),
        None => parts.push("no case severity".into()),
    }
    if let Some(c) = context.confidence {
        parts.push(format!("confidence {c:.2}"));
    }
    if !context.facts.is_empty() {
        parts.push(format!("facts {}", join(&context.facts)));
    }
    let b = &context.blast_radius;
    parts.push(format!("blast radius {} users, {} hosts", b.users, b.hosts));
    parts.join("; ")
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn human(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
