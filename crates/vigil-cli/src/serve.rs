//! `vigil serve`: the SOC server. Opens the store, starts the engine, the ingest queue and the
//! listeners, and serves the API until interrupted. `vigil demo` starts the same server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use vigil_detect::behaviour::{Behaviour, GeoLookup, MaxMind};
use vigil_detect::{Level, RuleSet};
use vigil_engine::ingest::Ingest;
use vigil_engine::pipeline::Detectors;
use vigil_engine::runner::{self, EngineHandle, Reloaded, Triage};
use vigil_model::{AuditAction, Component, Outcome};
use vigil_server::{AppState, Limits};
use vigil_store::audit::witness::Witness;
use vigil_store::{By, Store, TokenRow, time};

use crate::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Vigil's configuration file (see vigil.example.yml, section `serve`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory (overrides `serve.data`).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where to listen (overrides `serve.listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Serve even though the audit trail does not verify or does not match its witness (the
    /// decision is itself audited). Without it the server refuses to start on such a trail.
    #[arg(long)]
    pub accept_broken_trail: bool,
    /// What this process does as a node of a cluster (the configuration's `cluster` section):
    /// `ingest` (accept events, publish them to the stream), `worker` (process partitions of the
    /// stream), `api` (the API, the pages and the executor), or `all`.
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// This node's name in the cluster (overrides `cluster.node`).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
}

/// A cluster node's part of the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Ingest,
    Worker,
    Api,
    All,
}

impl Role {
    fn ingests(self) -> bool {
        matches!(self, Role::Ingest | Role::All)
    }

    fn works(self) -> bool {
        matches!(self, Role::Worker | Role::All)
    }

    fn serves_api(self) -> bool {
        matches!(self, Role::Api | Role::All)
    }

    /// The roles as the cluster's node table lists them.
    fn names(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Worker => "worker",
            Role::Api => "api",
            Role::All => "ingest,worker,api",
        }
    }
}

/// Everything `start` needs, resolved from the configuration.
pub struct Settings {
    pub config: Config,
    pub config_path: Option<PathBuf>,
    /// Serve a trail that does not verify (`--accept-broken-trail`).
    pub accept_broken_trail: bool,
    pub role: Role,
    /// `--node`.
    pub node: Option<String>,
}

impl Settings {
    pub fn load(path: Option<&Path>) -> Result<Settings> {
        let config = match path {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        Ok(Settings {
            config,
            config_path: path.map(Path::to_path_buf),
            accept_broken_trail: false,
            role: Role::All,
            node: None,
        })
    }

    fn dir(&self) -> PathBuf {
        self.config_path.as_ref().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default()
    }
}

/// The rule files the configuration names: Vigil's built-in rules and `serve.rules`.
fn configured_rule_files(config: &Config, base: &Path) -> Result<Vec<vigil_detect::RuleFile>> {
    crate::hunt::rule_set_files(true, config.serve.rules.iter().map(|d| base.join(d)))
}

/// Loads the rules and behavioural detectors the configuration names.
pub fn detectors(config: &Config, base: &Path) -> Result<Detectors> {
    let files = configured_rule_files(config, base)?;
    let (rules, diagnostics) =
        RuleSet::load(&files, &config.detect.rule_set_config()).context("loading rules")?;
    if rules.is_empty() {
        bail!("no rules to run");
    }
    let skipped = diagnostics.iter().filter(|d| d.skipped).count();
    eprintln!("loaded {} rules ({skipped} not loaded)", rules.len());
    let geo: Option<Arc<dyn GeoLookup>> = match &config.detect.geoip_database {
        Some(path) => {
            let path = base.join(path);
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Some(Arc::new(MaxMind::from_bytes(bytes).with_context(|| format!("in {}", path.display()))?))
        }
        None => None,
    };
    Ok(Detectors {
        rules: Arc::new(rules),
        behaviour: Behaviour::new(config.detect.behaviour.clone(), geo),
        min_level: Level::parse(&config.serve.min_level).unwrap_or(Level::Informational),
    })
}

/// The learning loop's rules (read from disk when first needed and after every reload, as the
/// engine's are) and where accepted changes go.
fn learning(settings: &Settings) -> Result<vigil_server::learning::LearningSettings> {
    let rules_dir = settings.config.learning_rules_dir(&settings.dir())?;
    let playbooks_dir = settings.config.learning_playbooks_dir(&settings.dir())?;
    let config_path = settings.config_path.clone();
    let learner: vigil_server::learning::LearnerSource = Arc::new(move || {
        let fresh = Settings::load(config_path.as_deref()).map_err(|e| format!("{e:#}"))?;
        let files = configured_rule_files(&fresh.config, &fresh.dir()).map_err(|e| format!("{e:#}"))?;
        let library = playbook_library(&fresh.config, &fresh.dir()).map_err(|e| format!("{e:#}"))?;
        let learning = &fresh.config.learning;
        Ok(vigil_engine::learn::Learner::new(
            files,
            fresh.config.detect.rule_set_config(),
            learning.replay_days,
        )?
        .with_library(library)
        .with_lookback_hours(learning.lookback_hours))
    });
    let mut learning = vigil_server::learning::LearningSettings::new(learner, rules_dir);
    learning.playbooks_dir = playbooks_dir;
    learning.git = settings.config.learning.git;
    Ok(learning)
}

/// The built-in playbooks and the configured folders' (a later version replaces a built-in one).
fn playbook_library(config: &Config, base: &Path) -> Result<Vec<vigil_triage::playbook::Playbook>> {
    let dirs: Vec<PathBuf> = config.triage.playbooks.iter().map(|d| base.join(d)).collect();
    Ok(vigil_triage::playbook::library_with(&dirs)?)
}

/// The built-in analyst's inputs the configuration names.
fn triage_inputs(config: &Config, base: &Path) -> Result<Triage> {
    Ok(Triage {
        context: config.triage.context(base)?,
        model: config.triage.model(base)?,
        library: playbook_library(config, base)?,
        auto_close: config.triage.auto_close.clone(),
    })
}

/// A running server.
pub struct Running {
    pub url: String,
    pub store: Store,
    pub engine: EngineHandle,
    pub ingest: Ingest,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_stats: Arc<vigil_server::syslog::SyslogStats>,
    /// The first administrator's password, when this start created the account.
    pub bootstrap_password: Option<String>,
    /// The approval policy in force, named with its hash.
    pub policy: String,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// A worker node's thread: stopped, it gives its partitions back.
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.server.await.context("server task")?.context("serving")?;
        if let Some(worker) = self.worker {
            self.engine.stop();
            tokio::task::spawn_blocking(move || worker.join())
                .await
                .context("worker thread")?
                .map_err(|_| anyhow::anyhow!("the worker thread panicked"))?;
        }
        Ok(())
    }
}

/// The cluster settings, checked against what a cluster needs, or `None` for the single process.
fn cluster_settings(settings: &Settings) -> Result<Option<vigil_engine::cluster::ClusterSettings>> {
    let config = &settings.config;
    let Some(cluster) = &config.cluster else {
        if settings.role != Role::All || settings.node.is_some() {
            bail!("--role and --node are for cluster nodes: the configuration has no `cluster` section");
        }
        return Ok(None);
    };
    let cluster = cluster.settings(settings.node.as_deref())?;
    if !config.serve.database.as_deref().is_some_and(|url| url.starts_with("postgres")) {
        bail!("a cluster keeps its state in PostgreSQL: serve.database must be a postgres:// URL");
    }
    if config.serve.audit.signing_key.is_none() {
        bail!(
            "the nodes of a cluster sign one audit trail: serve.audit.signing_key must name the key file they share"
        );
    }
    Ok(Some(cluster))
}

fn random_password() -> Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Creates an ingest service account `name` (no password) with one day-long token scoped to
/// ingest; returns the token's secret.
pub async fn ingest_account(store: &Store, name: &str, by: &By) -> Result<String> {
    let (id, secret) =
        vigil_server::auth::secrets::new_token().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut tx = store.write().await?;
    tx.create_user(&name.into(), "ingest", "!", by).await?;
    tx.create_token(
        &TokenRow {
            id: id.into(),
            hash: vigil_server::auth::secrets::hash(&secret),
            owner: name.into(),
            scopes: vec!["ingest".into()],
            created_at: time::now(),
            expires_at: time::stamp(chrono::Utc::now() + chrono::Duration::days(1)),
            revoked_at: None,
            created_by: String::new(),
        },
        by,
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// Creates `admin` with a random password when the store has no user yet.
async fn bootstrap(store: &Store) -> Result<Option<String>> {
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    let password = random_password()?;
    let hash = vigil_server::auth::password::hash(&password).map_err(anyhow::Error::msg)?;
    let mut tx = store.write().await?;
    let created = tx.create_user(&"admin".into(), "admin", &hash, &By::vigil(Component::Bootstrap)).await;
    match created {
        Ok(_) => {
            tx.commit().await?;
            Ok(Some(password))
        }
        // Another node of a cluster starting at the same time created it first.
        Err(_) if !store.users().await?.is_empty() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn start(settings: &Settings, data: &Path, listen: &str) -> Result<Running> {
    let config = &settings.config;
    let serve = &config.serve;
    let base = settings.dir();
    let key_file = match &serve.audit.signing_key {
        Some(path) => base.join(path),
        None => data.join(vigil_store::audit::key::SIGNING_KEY_FILE),
    };
    let store = match &serve.database {
        Some(url) => Store::open_with_key(url, &key_file).await,
        None => Store::open_dir_with_key(data, &key_file).await,
    }
    .with_context(|| format!("opening the store in {}", data.display()))?
    .with_witnesses(witnesses(&serve.audit, &base)?);
    check_trail(&store, &serve.audit, &base, settings.accept_broken_trail).await?;
    let cluster = cluster_settings(settings)?;
    let role = settings.role;
    let built = detectors(config, &base)?;
    let triage = triage_inputs(config, &base)?;
    let mut engine = EngineHandle::default();
    for connector in crate::connectors::configured(&config.respond, &base, engine.owners())? {
        for action in connector.actions {
            engine = engine.with_connector(action);
        }
    }
    if cluster.is_some() {
        engine = engine.in_cluster();
    }
    let mut worker = None;
    let ingest = match &cluster {
        None => {
            runner::spawn(store.clone(), built, triage, engine.clone());
            Ingest::start(store.clone(), serve.ingest_queue, Arc::clone(&engine.stored))
        }
        Some(cluster) => {
            let js = vigil_engine::cluster::stream::connect(cluster).await?;
            // The stream is made by whichever node reaches NATS first; until it exists, ingest
            // answers 503 and workers wait.
            let (make, settings_for) = (js.clone(), cluster.clone());
            tokio::spawn(async move {
                let mut pause = Duration::from_millis(200);
                while let Err(e) = vigil_engine::cluster::stream::ensure(&make, &settings_for).await {
                    tracing::warn!(error = %e, "the event stream is not reachable yet");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
            });
            if !role.works() {
                engine = engine.without_engine(&built, &triage);
            } else {
                worker =
                    Some(vigil_engine::cluster::worker::spawn(vigil_engine::cluster::worker::WorkerSetup {
                        settings: cluster.clone(),
                        store: store.clone(),
                        detectors: built,
                        triage,
                        handle: engine.clone(),
                        roles: role.names().into(),
                        address: listen.to_owned(),
                    }));
            }
            Ingest::to_stream(vigil_engine::cluster::publish::Publisher::new(
                js,
                cluster.clone(),
                store.clone(),
            ))
        }
    };
    let bootstrap_password = bootstrap(&store).await?;

    let config_path = settings.config_path.clone();
    let reload: vigil_server::Reloader = Arc::new(move || {
        let fresh = Settings::load(config_path.as_deref()).map_err(|e| format!("{e:#}"))?;
        let base = fresh.dir();
        let detectors = detectors(&fresh.config, &base).map_err(|e| format!("{e:#}"))?;
        let triage = triage_inputs(&fresh.config, &base).map_err(|e| format!("{e:#}"))?;
        let policy = fresh.config.respond.policy(&base).map_err(|e| format!("{e:#}"))?;
        Ok(Reloaded { detectors, triage, policy: Some(policy) })
    });
    let limits = Limits {
        max_body_bytes: serve.max_body_bytes,
        inflate: vigil_ingest::inflate::InflateLimits {
            max_bytes: serve.max_body_bytes as u64,
            ..vigil_ingest::inflate::InflateLimits::default()
        },
        trusted_proxy: serve.trusted_proxy.as_ref().map(|p| vigil_server::state::TrustedProxy {
            address: p.address,
            header: p.header.to_ascii_lowercase(),
        }),
        ..Limits::default()
    };
    let policy = config.respond.policy(&settings.dir())?;
    let policy_line = format!("approval policy {} (sha256 {})", policy.name, policy.sha256);
    let state = AppState::new(store.clone(), ingest.clone(), engine.clone(), limits, reload)
        .with_policy(policy)
        .with_sla(config.sla.settings()?)
        .with_frameworks(config.compliance.frameworks(&settings.dir())?)
        .with_learning(learning(settings)?)
        .with_node(cluster.as_ref().map_or("", |c| c.node.as_str()));
    if role.serves_api() {
        // The executor stops with the process: a run it was in is recovered at the next start.
        let _executor = vigil_server::respond::spawn(&state);
        vigil_server::sla::spawn(&state);
    }
    if let Some(cluster) = cluster.as_ref().filter(|_| !role.works()) {
        // Workers announce themselves as they renew their leases; other nodes do it here.
        let (store, node, roles, address) =
            (store.clone(), cluster.node.clone(), role.names(), listen.to_owned());
        let every = cluster.lease_ttl / 3;
        tokio::spawn(async move {
            let started = time::now();
            loop {
                if let Err(e) = store.node_seen(&node, roles, &address, &started).await {
                    tracing::warn!(error = %e, "cannot record this node as alive");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vigil_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let stats = Arc::new(vigil_server::syslog::SyslogStats::default());
    let mut syslog_udp = None;
    if let Some(at) = serve.syslog_udp.as_ref().filter(|_| role.ingests()) {
        let socket = tokio::net::UdpSocket::bind(at).await.with_context(|| format!("syslog UDP on {at}"))?;
        syslog_udp = Some(socket.local_addr()?);
        tokio::spawn(vigil_server::syslog::udp(socket, ingest.clone(), Arc::clone(&stats)));
    }
    let mut syslog_tcp = None;
    if let Some(at) = serve.syslog_tcp.as_ref().filter(|_| role.ingests()) {
        let listener =
            tokio::net::TcpListener::bind(at).await.with_context(|| format!("syslog TCP on {at}"))?;
        syslog_tcp = Some(listener.local_addr()?);
        tokio::spawn(vigil_server::syslog::tcp(listener, ingest.clone(), Arc::clone(&stats)));
    }
    if let Some(dir) = serve.watch.as_ref().filter(|_| role.ingests()) {
        let dir = base.join(dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let every = Duration::from_secs(serve.watch_interval_secs.max(1));
        tokio::spawn(vigil_server::watch::run(dir, ingest.clone(), every));
    }
    if role.serves_api() && (serve.retention.max_age_days.is_some() || serve.retention.max_bytes.is_some()) {
        let store = store.clone();
        let policy = serve.retention.clone();
        tokio::spawn(async move {
            let mut hourly = tokio::time::interval(Duration::from_secs(3600));
            loop {
                hourly.tick().await;
                if let Err(e) = store.apply_retention(&policy, &By::vigil(Component::Retention)).await {
                    eprintln!("vigil serve: retention: {e}");
                }
            }
        });
    }
    Ok(Running {
        url: format!("http://{addr}"),
        store,
        engine,
        ingest,
        syslog_udp,
        syslog_tcp,
        syslog_stats: stats,
        bootstrap_password,
        policy: policy_line,
        shutdown,
        server,
        worker,
    })
}

/// The witnesses `serve.audit` names.
fn witnesses(audit: &crate::config::AuditConfig, base: &Path) -> Result<Vec<Witness>> {
    let mut out = Vec::new();
    if let Some(file) = &audit.witness_file {
        out.push(Witness::File(base.join(file)));
    }
    if let Some(at) = &audit.witness_syslog {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(at)
            .with_context(|| format!("serve.audit.witness_syslog {at:?}"))?
            .next()
            .with_context(|| format!("serve.audit.witness_syslog {at:?} names no address"))?;
        out.push(Witness::Syslog(addr));
    }
    Ok(out)
}

/// Refuses to serve a trail that does not verify, or that no longer holds the heads its witness
/// file saw, unless told to (and then the decision is the trail's next record).
async fn check_trail(
    store: &Store,
    audit: &crate::config::AuditConfig,
    base: &Path,
    accept: bool,
) -> Result<()> {
    let mut broken = store.verify_audit(&[]).await.context("reading the audit trail")?.err();
    if broken.is_none()
        && let Some(file) = audit.witness_file.as_ref().map(|f| base.join(f)).filter(|f| f.is_file())
    {
        let witnessed = vigil_store::audit::witness::read_file(&file)
            .with_context(|| format!("reading the audit witness {}", file.display()))?;
        broken = store.check_witness(&[], &witnessed).await.context("reading the audit trail")?.err();
    }
    let Some(broken) = broken else { return Ok(()) };
    if !accept {
        anyhow::bail!(
            "the audit trail does not verify at record {}: {}. Not serving it; `vigil verify` shows more, \
             and --accept-broken-trail serves it anyway (audited)",
            broken.seq,
            broken.reason
        );
    }
    eprintln!(
        "serving an audit trail broken at record {}: {} (--accept-broken-trail)",
        broken.seq, broken.reason
    );
    let mut tx = store.write().await?;
    let entry = By::vigil(Component::Startup).entry(
        AuditAction::AuditBrokenAccepted,
        Outcome::Ok,
        "audit".into(),
        serde_json::json!({"seq": broken.seq, "reason": broken.reason}),
    );
    tx.audit(entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (how service managers stop a server).
pub async fn stopped() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    crate::logging::init("info");
    let mut settings = Settings::load(args.config.as_deref())?;
    settings.accept_broken_trail = args.accept_broken_trail;
    settings.role = args.role;
    settings.node = args.node.clone();
    let data = args.data.clone().unwrap_or_else(|| settings.dir().join(&settings.config.serve.data));
    let listen = args.listen.clone().unwrap_or_else(|| settings.config.serve.listen.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let running = start(&settings, &data, &listen).await?;
        if let Some(password) = &running.bootstrap_password {
            eprintln!("first start: created user `admin` with password {password} (shown once; change it)");
        }
        eprintln!("{}", crate::terminal::safe(&running.policy, 300));
        if let Some(a) = running.syslog_udp {
            eprintln!("syslog over UDP on {a}");
        }
        if let Some(a) = running.syslog_tcp {
            eprintln!("syslog over TCP on {a}");
        }
        // Last: the line that says the server is ready.
        eprintln!(
            "vigil serve: {} (data in {}, {})",
            running.url,
            data.display(),
            running.store.backend().name()
        );
        stopped().await?;
        eprintln!("vigil serve: stopping");
        running.stop().await?;
        Ok(ExitCode::SUCCESS)
    })
}
