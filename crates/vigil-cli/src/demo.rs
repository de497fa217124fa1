//! `vigil demo`: the server on a fresh data directory, with a user for every role, fed a
//! scenario of our own making over its own APIs — an intrusion across identity (Okta), endpoint
//! (Windows, Linux) and cloud (AWS) among ordinary sign-ins and API calls — then the responder's
//! first actions on the worst case, one in each tier of the policy, and left running.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use vigil_model::Component;
use vigil_store::{By, CaseFilter};

use crate::serve::{Running, Settings, start};

#[derive(clap::Args)]
pub struct Args {
    /// Where to listen (an unused port on loopback by default).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The data directory (a new one under the system's temporary directory by default).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Load the scenario, print what came of it, and exit instead of serving on.
    #[arg(long)]
    pub once: bool,
}

/// The scenario, in the order a SOC would receive it: (file name, how it arrives, bytes).
const SCENARIO: &[(&str, &str, &[u8])] = &[
    ("noise-okta.json", "http", include_bytes!("../../../demo/noise-okta.json")),
    ("noise-cloudtrail.json", "http", include_bytes!("../../../demo/noise-cloudtrail.json")),
    ("okta-system-log.json", "webhook", include_bytes!("../../../samples/okta-system-log.json")),
    ("windows-sysmon-security.json", "http", include_bytes!("../../../samples/windows-sysmon-security.json")),
    (
        "windows-lateral-movement.json",
        "http",
        include_bytes!("../../../samples/windows-lateral-movement.json"),
    ),
    ("cloudtrail.json", "http", include_bytes!("../../../samples/cloudtrail.json")),
    ("auditd.log", "http", include_bytes!("../../../samples/auditd.log")),
    ("syslog.log", "syslog", include_bytes!("../../../samples/syslog.log")),
];

/// The demo's people: one of each role, and a second lead, so an action that needs two
/// people can be approved by two.
const PEOPLE: &[(&str, &str)] = &[
    ("demo-admin", "admin"),
    ("demo-lead", "lead"),
    ("demo-lead-2", "lead"),
    ("demo-responder", "responder"),
    ("demo-analyst", "analyst"),
    ("demo-auditor", "auditor"),
];

fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

async fn users(running: &Running) -> Result<Vec<(String, String)>> {
    let by = By::vigil(Component::Demo);
    let mut out = Vec::new();
    for (name, role) in PEOPLE {
        let name = (*name).to_owned();
        let password = random_hex(8)?;
        let hash = vigil_server::auth::password::hash(&password).map_err(anyhow::Error::msg)?;
        let mut tx = running.store.write().await?;
        tx.create_user(&name.as_str().into(), role, &hash, &by).await?;
        tx.commit().await?;
        out.push((name, password));
    }
    Ok(out)
}

/// Sends the scenario through the server's own front doors: the bulk API, a webhook URL, syslog.
fn stream(url: &str, token: &str, syslog: Option<std::net::SocketAddr>) -> Result<()> {
    let agent = ureq::Agent::new_with_defaults();
    for (name, how, bytes) in SCENARIO {
        match *how {
            "syslog" => {
                let to = syslog.context("the demo's syslog listener is not running")?;
                let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
                for line in lines(bytes) {
                    socket.send_to(line, to)?;
                }
                eprintln!("  {name}: {} messages over syslog/UDP", lines(bytes).count());
            }
            _ => {
                let endpoint = if *how == "webhook" {
                    format!("{url}/api/v1/webhooks/okta")
                } else {
                    format!("{url}/api/v1/ingest?source=demo")
                };
                let text = agent
                    .post(&endpoint)
                    .header("Authorization", &format!("Bearer {token}"))
                    .send(&bytes[..])
                    .with_context(|| format!("sending {name}"))?
                    .body_mut()
                    .read_to_string()?;
                let answer: serde_json::Value = serde_json::from_str(&text)?;
                eprintln!(
                    "  {name}: {} stored, {} dead letters (over {how})",
                    answer["stored"], answer["dead_letters"]
                );
            }
        }
    }
    Ok(())
}

/// Waits until every syslog message has been committed and the engine has read every stored
/// event.
async fn settled(running: &Running, syslog_messages: u64) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let stats = &running.syslog_stats;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    let syslog_done = || stats.messages.load(relaxed) + stats.dropped.load(relaxed) >= syslog_messages;
    let done = vigil_engine::settle::settled(
        &running.engine,
        &running.ingest,
        &running.store,
        0,
        syslog_done,
        deadline,
    )
    .await?;
    if let Some(e) = running.engine.progress().last_error {
        bail!("the engine failed: {e}");
    }
    if !done {
        bail!("the engine did not finish the scenario within two minutes");
    }
    Ok(())
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty())
}

pub fn run(args: Args) -> Result<ExitCode> {
    // The demo's own output is what a newcomer reads; the engine and server speak up on warnings.
    crate::logging::init("warn");
    let data = match args.data {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("vigil-demo-{}", random_hex(4)?)),
    };
    // The demo's configuration lives in its data directory: a folder the engine loads rules
    // from, where the filters and detections a detection engineer accepts are written (and
    // reloaded from), and one for the playbook edits accepted.
    for folder in ["rules", "playbooks"] {
        std::fs::create_dir_all(data.join(folder)).with_context(|| format!("creating {}", data.display()))?;
    }
    let config = data.join("vigil.yml");
    if !config.exists() {
        std::fs::write(
            &config,
            "serve:\n  rules: [rules]\n  syslog_udp: \"127.0.0.1:0\"\ntriage:\n  playbooks: [playbooks]\n",
        )
        .with_context(|| format!("writing {}", config.display()))?;
    }
    let settings = Settings::load(Some(&config))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let running = start(&settings, &data, &args.listen).await?;
        let people = users(&running).await?;
        let token =
            crate::serve::ingest_account(&running.store, "demo-ingest", &By::vigil(Component::Demo)).await?;
        eprintln!("vigil demo: streaming the scenario into {}", running.url);
        let (url, syslog) = (running.url.clone(), running.syslog_udp);
        let token_for_stream = token.clone();
        tokio::task::spawn_blocking(move || stream(&url, &token_for_stream, syslog)).await??;
        let syslog_messages = SCENARIO
            .iter()
            .filter(|(_, how, _)| *how == "syslog")
            .map(|(_, _, b)| lines(b).count() as u64)
            .sum();
        settled(&running, syslog_messages).await?;
        let acted_on = crate::demo_respond::target(&running.store).await?;
        let mut granted: Option<String> = None;
        if let Some((case, ip)) = acted_on.clone() {
            let case_for_analyst = case.clone();
            let responder = people.iter().find(|(name, _)| name == "demo-responder").cloned();
            let responder = responder.context("the demo has a responder")?;
            let url = running.url.clone();
            let automatic = tokio::task::spawn_blocking(move || {
                crate::demo_respond::act(&url, &responder, &case, ip.as_deref())
            })
            .await??;
            crate::demo_respond::ran(&running.store, &running.engine.runs_ended, &automatic).await?;
            let analyst = people.iter().find(|(name, _)| name == "demo-analyst").cloned();
            let analyst = analyst.context("the demo has an analyst")?;
            let titles: Vec<(String, String)> = running
                .store
                .cases(&CaseFilter::default())
                .await?
                .into_iter()
                .map(|c| (c.id.as_str().to_owned(), c.title))
                .collect();
            let url = running.url.clone();
            let worst = case_for_analyst.clone();
            let lead = people
                .iter()
                .find(|(name, _)| name == "demo-lead")
                .cloned()
                .context("the demo has a lead")?;
            // The lead signs in once: refuses a step on the CloudTrail case, grants the auditor
            // the worst case; then the analyst closes what she closes.
            let until = tokio::task::spawn_blocking(move || {
                let until = crate::demo_respond::lead(&url, &lead, &titles, "demo-auditor", &worst)?;
                crate::demo_respond::triage(&url, &analyst, &case_for_analyst, &titles)?;
                anyhow::Ok(until)
            })
            .await??;
            granted = Some(until);
        }

        let cases = running.store.cases(&CaseFilter::default()).await?;
        println!("\nVigil demo is running at {}", running.url);
        println!(
            "data directory: {} (check its audit trail with `vigil verify {}`)",
            data.display(),
            data.display()
        );
        println!(
            "\nsign in at {}/ui/sign-in (or POST /api/v1/login with the same name and password):",
            running.url
        );
        for (name, password) in &people {
            println!("  {name:<16} {password}");
        }
        if let Some(p) = &running.bootstrap_password {
            println!("  {:<16} {p}", "admin");
        }
        println!("  ingest token     {token}");
        if let (Some(until), Some((case, _))) = (&granted, &acted_on) {
            println!(
                "  (demo-auditor reads case {} and its packet until {until}: /ui/granted)",
                &case[..case.len().min(12)]
            );
        }
        let learning = running.store.learning_tasks(Some("proposed")).await?;
        if !learning.is_empty() {
            let waits = if learning.len() == 1 { "proposal waits" } else { "proposals wait" };
            println!("  ({} learning {waits} for review at /ui/learning: demo-lead)", learning.len());
        }
        println!("\n{} events stored, {} cases:", running.store.event_count().await?, cases.len());
        for c in &cases {
            println!(
                "  {}  {:<12} severity {}  {}",
                &c.id.as_str()[..c.id.as_str().len().min(12)],
                c.state.as_str(),
                c.severity,
                crate::terminal::safe(&c.title, 100)
            );
        }
        print!(
            "{}",
            crate::demo_respond::report(
                &running.store,
                &running.policy,
                acted_on.as_ref().map(|(c, _)| c.as_str())
            )
            .await?
        );
        println!("\ntry: curl -s -H 'Authorization: Bearer {token}' {}/api/v1/me", running.url);
        if args.once {
            running.stop().await?;
            return Ok(ExitCode::SUCCESS);
        }
        println!("Ctrl-C stops the demo; the data directory stays.");
        crate::serve::stopped().await?;
        running.stop().await?;
        Ok(ExitCode::SUCCESS)
    })
}
