//! Vigil's configuration file (`vigil.yml`): one YAML document, a section per stage. Unknown
//! keys are errors, so a misspelt setting is caught instead of silently ignored.
//! `vigil.example.yml` at the repository root lists every setting with its default.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use vigil_detect::DetectConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub detect: DetectConfig,
    pub triage: TriageConfig,
    pub serve: ServeConfig,
    pub respond: RespondConfig,
    pub sla: SlaConfig,
    pub compliance: ComplianceConfig,
    pub learning: LearningConfig,
    /// Present: `vigil serve` runs as a node of a cluster (see docs/deployment.md).
    pub cluster: Option<ClusterConfig>,
}

/// Scale-out: the nodes share one PostgreSQL (`serve.database`), one audit signing key
/// (`serve.audit.signing_key`) and one NATS JetStream event stream.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// This node's name, unique in the cluster (`--node` overrides it, so every node can read
    /// the same file).
    pub node: Option<String>,
    pub nats_url: String,
    pub stream: String,
    pub subject: String,
    /// Fixed once events flow: a tenant's partition must not change while its cases are open.
    pub partitions: u32,
    pub replicas: usize,
    /// Days the stream keeps events (at least the longest correlation window).
    pub retention_days: u64,
    pub publish_timeout_secs: u64,
    pub lease_ttl_secs: u64,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        let d = vigil_engine::cluster::ClusterSettings::new("", "nats://127.0.0.1:4222");
        ClusterConfig {
            node: None,
            nats_url: d.nats_url,
            stream: d.stream,
            subject: d.subject,
            partitions: d.partitions,
            replicas: d.replicas,
            retention_days: d.max_age.as_secs() / 86_400,
            publish_timeout_secs: d.publish_timeout.as_secs(),
            lease_ttl_secs: d.lease_ttl.as_secs(),
        }
    }
}

impl ClusterConfig {
    /// The engine's settings for node `node`, checked.
    pub fn settings(&self, node: Option<&str>) -> Result<vigil_engine::cluster::ClusterSettings> {
        let Some(node) = node.or(self.node.as_deref()).filter(|n| !n.trim().is_empty()) else {
            anyhow::bail!("a cluster node needs a name: cluster.node in the configuration, or --node");
        };
        if !node.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            anyhow::bail!("node name {node:?}: letters, digits, '-', '_' and '.' only");
        }
        if self.partitions == 0 || self.partitions > 1024 {
            anyhow::bail!("cluster.partitions is {}: between 1 and 1024", self.partitions);
        }
        let subject_ok = |s: &str| !s.is_empty() && !s.contains(['*', '>', ' ']);
        if !subject_ok(&self.subject) || self.stream.is_empty() || self.stream.contains(['.', '*', '>', ' '])
        {
            anyhow::bail!("cluster.stream and cluster.subject must be plain NATS names");
        }
        let mut settings = vigil_engine::cluster::ClusterSettings::new(node, self.nats_url.clone());
        settings.stream = self.stream.clone();
        settings.subject = self.subject.clone();
        settings.partitions = self.partitions;
        settings.replicas = self.replicas.max(1);
        settings.max_age = std::time::Duration::from_secs(self.retention_days.max(1) * 86_400);
        settings.publish_timeout = std::time::Duration::from_secs(self.publish_timeout_secs.max(1));
        settings.lease_ttl = std::time::Duration::from_secs(self.lease_ttl_secs.max(3));
        Ok(settings)
    }
}

/// The learning loop: how far back proposals are replayed, and where accepted rule changes go.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LearningConfig {
    /// The folder accepted filters are written to, relative to this file. It must be one of
    /// `serve.rules`, so the engine loads what is written; the first of them by default.
    pub rules_dir: Option<PathBuf>,
    /// Days of stored alerts a proposal is replayed against.
    pub replay_days: u32,
    /// The folder accepted playbook edits are written to, relative to this file. It must be one
    /// of `triage.playbooks`, so the next reload reads what is written; the first by default.
    pub playbooks_dir: Option<PathBuf>,
    /// Commit every accepted change to the git repository the folder it is written to is in
    /// (the reviewer as author, the task and rationale in the message).
    pub git: bool,
    /// Hours before a malicious case's first alert searched for its entities' earlier events
    /// that raised no alert (what a detection draft is made from).
    pub lookback_hours: u32,
}

impl Default for LearningConfig {
    fn default() -> LearningConfig {
        LearningConfig {
            rules_dir: None,
            replay_days: 30,
            playbooks_dir: None,
            git: false,
            lookback_hours: 24,
        }
    }
}

impl Config {
    /// Where accepted rule changes are written: `learning.rules_dir`, which must be a rules folder
    /// the engine loads, or the first of `serve.rules`; none without either.
    pub fn learning_rules_dir(&self, base: &Path) -> Result<Option<PathBuf>> {
        let chosen = self.learning.rules_dir.as_ref();
        written_to(chosen, &self.serve.rules, base, "learning.rules_dir", "serve.rules")
    }

    /// Where accepted playbook edits are written: `learning.playbooks_dir`, which must be one of
    /// `triage.playbooks`, or the first of them; none without either.
    pub fn learning_playbooks_dir(&self, base: &Path) -> Result<Option<PathBuf>> {
        let chosen = self.learning.playbooks_dir.as_ref();
        written_to(chosen, &self.triage.playbooks, base, "learning.playbooks_dir", "triage.playbooks")
    }
}

/// The folder `setting` chose, which must be one of the folders `list` reads back (what is
/// written anywhere else would never be read), or the first of them.
fn written_to(
    chosen: Option<&PathBuf>,
    read: &[PathBuf],
    base: &Path,
    setting: &str,
    list: &str,
) -> Result<Option<PathBuf>> {
    match chosen {
        Some(dir) if !read.contains(dir) => {
            anyhow::bail!(
                "{setting} {} is not one of {list}: what is written there would never be read",
                dir.display()
            )
        }
        Some(dir) => Ok(Some(base.join(dir))),
        None => Ok(read.first().map(|d| base.join(d))),
    }
}

/// Compliance frameworks beyond the four Vigil ships.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// Catalogue files (the form of Vigil's own, `docs/compliance.md`), relative to this file.
    pub catalogues: Vec<PathBuf>,
}

impl ComplianceConfig {
    pub fn frameworks(&self, base: &Path) -> Result<Vec<vigil_report::compliance::Framework>> {
        self.catalogues
            .iter()
            .map(|file| {
                let path = base.join(file);
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                vigil_report::compliance::Framework::parse(&text)
                    .with_context(|| format!("in {}", path.display()))
            })
            .collect()
    }
}

/// SLA targets by severity and clock, and how a breach escalates.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// `{critical: {acknowledge: 15m, …}, …}`: a severity or clock not named keeps Vigil's
    /// default; `off` takes a clock away.
    pub targets: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// The notification actions a breach is escalated through (`notify_email`,
    /// `notify_webhook`); unset: every one configured; `[]`: none.
    pub escalate: Option<Vec<String>>,
    /// How often the clocks are looked at (`60s` unless set).
    pub check_every: Option<String>,
}

impl SlaConfig {
    pub fn settings(&self) -> Result<vigil_server::sla::SlaSettings> {
        let policy = vigil_report::sla::SlaPolicy::from_text(&self.targets)?;
        for kind in self.escalate.iter().flatten() {
            if !["notify_email", "notify_webhook"].contains(&kind.as_str()) {
                anyhow::bail!("sla.escalate: {kind:?} is not a notification (notify_email, notify_webhook)");
            }
        }
        let every = match &self.check_every {
            Some(text) => vigil_policy::duration_secs(text)
                .filter(|s| *s > 0)
                .with_context(|| format!("sla.check_every: {text:?} is not a duration like 30s or 1m"))?,
            None => 60,
        };
        Ok(vigil_server::sla::SlaSettings {
            policy,
            escalate: self.escalate.clone(),
            every: std::time::Duration::from_secs(every),
        })
    }
}

/// Response: the approval policy requests are decided by.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// An approval policy file, relative to this file; the shipped policy when unset.
    pub policy: Option<PathBuf>,
    /// The team's webhook, which `notify_webhook` posts cases to.
    pub webhook: Option<WebhookConfig>,
    /// The ticketing system's webhook, which `open_external_ticket` opens tickets through
    /// (always Vigil's JSON; `format` is not read).
    pub ticket_webhook: Option<WebhookConfig>,
    /// The LDAP directory account actions run in.
    pub directory: Option<crate::connectors::DirectoryConfig>,
    /// The mail server `notify_email` sends through.
    pub email: Option<crate::connectors::EmailConfig>,
    /// The AWS account IAM, S3 and EC2 actions run in.
    pub aws: Option<crate::connectors::AwsConfig>,
    /// Linux hosts (and the gateway) reached over SSH.
    pub ssh: Option<crate::connectors::SshConfig>,
}

/// A webhook receiver: its URL, the environment variable holding the signing secret (never
/// the secret itself in this file), and what it is sent.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret_env: String,
    #[serde(default = "vigil_format")]
    pub format: String,
}

fn vigil_format() -> String {
    "vigil".into()
}

impl WebhookConfig {
    fn secret(&self, section: &str) -> Result<String> {
        std::env::var(&self.secret_env)
            .with_context(|| format!("{section}.secret_env: the environment has no {}", self.secret_env))
    }

    /// The ticketing connector, with its secret read from the environment now.
    pub fn ticketing(&self) -> Result<vigil_respond::connectors::Webhook> {
        let secret = self.secret("respond.ticket_webhook")?;
        vigil_respond::connectors::Webhook::ticketing(&self.url, secret.as_bytes())
            .map_err(|e| anyhow::anyhow!("respond.ticket_webhook: {e}"))
    }

    /// The notification connector, with its secret read from the environment now.
    pub fn connector(&self) -> Result<vigil_respond::connectors::Webhook> {
        use vigil_respond::connectors::{Webhook, WebhookFormat};
        let format = match self.format.as_str() {
            "vigil" => WebhookFormat::Vigil,
            "slack" => WebhookFormat::Slack,
            other => anyhow::bail!("respond.webhook.format: vigil or slack, not {other:?}"),
        };
        let secret = std::env::var(&self.secret_env).with_context(|| {
            format!("respond.webhook.secret_env: the environment has no {}", self.secret_env)
        })?;
        Webhook::new(&self.url, secret.as_bytes(), format)
            .map_err(|e| anyhow::anyhow!("respond.webhook: {e}"))
    }
}

impl RespondConfig {
    /// The policy in force: the configured file, checked as `vigil policy lint` checks it, or
    /// the shipped one.
    pub fn policy(&self, base: &Path) -> Result<vigil_policy::Policy> {
        let Some(file) = &self.policy else { return Ok(vigil_policy::default_policy()?) };
        let path = base.join(file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        vigil_policy::Policy::parse(&text).with_context(|| format!("the approval policy {}", path.display()))
    }
}

/// `vigil serve`: where it listens, where it keeps its data, what it ingests besides HTTP.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    pub listen: String,
    /// The data directory: the SQLite database and the audit signing key.
    pub data: PathBuf,
    /// A PostgreSQL URL instead of SQLite (the signing key stays in `data`).
    pub database: Option<String>,
    /// Sigma rule directories, besides the built-in pack.
    pub rules: Vec<PathBuf>,
    /// Alerts below this level are not raised.
    pub min_level: String,
    pub max_body_bytes: usize,
    /// Ingest batches that may wait for a commit; beyond it, 503 with Retry-After.
    pub ingest_queue: usize,
    pub syslog_udp: Option<String>,
    pub syslog_tcp: Option<String>,
    /// A directory whose files are ingested and moved to `.done/`.
    pub watch: Option<PathBuf>,
    pub watch_interval_secs: u64,
    pub retention: vigil_store::Retention,
    pub audit: AuditConfig,
    /// A reverse proxy in front of Vigil: its address, and the header in which it names the
    /// client. Only then is a header believed about where a request came from.
    pub trusted_proxy: Option<TrustedProxyConfig>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrustedProxyConfig {
    pub address: std::net::IpAddr,
    /// e.g. `X-Forwarded-For`; the last address in it is taken as the client's.
    pub header: String,
}

/// Where the audit trail's signing key lives and who else sees its signed heads.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The signing key file (its public half beside it, `.pub`); in the data directory when
    /// unset. Keep it elsewhere, readable by the server alone, so a copy of the data is no
    /// copy of the key.
    pub signing_key: Option<PathBuf>,
    /// A file every signed checkpoint is appended to, on a path or volume the data directory's
    /// owner cannot rewrite (`chattr +a`, another host's mount).
    pub witness_file: Option<PathBuf>,
    /// A syslog collector (UDP `host:port`) every signed checkpoint is sent to.
    pub witness_syslog: Option<String>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:8080".into(),
            data: "vigil-data".into(),
            database: None,
            rules: Vec::new(),
            min_level: "informational".into(),
            max_body_bytes: 16 << 20,
            ingest_queue: 64,
            syslog_udp: None,
            syslog_tcp: None,
            watch: None,
            watch_interval_secs: 2,
            retention: vigil_store::Retention::default(),
            audit: AuditConfig::default(),
            trusted_proxy: None,
        }
    }
}

/// The context files the built-in analyst reads, and the model it uses.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    pub assets: Option<PathBuf>,
    pub identities: Option<PathBuf>,
    pub allow: Option<PathBuf>,
    pub iocs: Option<PathBuf>,
    /// Verdicts analysts gave before (`vigil export verdicts` writes them from a data directory).
    pub history: Option<PathBuf>,
    /// A model from `vigil train` instead of the built-in one.
    pub model: Option<PathBuf>,
    /// When a case may be closed as benign without a human (off by default).
    pub auto_close: vigil_triage::autotriage::AutoClosePolicy,
    /// An OpenAI-compatible model that drafts recommendations too (none by default).
    pub llm: Option<LlmConfig>,
    /// Folders of playbooks (relative to this file) that add to the built-in library, or replace
    /// a built-in playbook with a later version of it.
    pub playbooks: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    #[serde(flatten)]
    pub endpoint: vigil_triage::narrator::OpenAiConfig,
    /// How many cases (the most severe first) the model drafts for in one hunt.
    #[serde(default = "default_llm_cases")]
    pub max_cases: usize,
}

fn default_llm_cases() -> usize {
    10
}

impl TriageConfig {
    /// Reads the configured context files; paths are relative to the configuration file.
    pub fn context(&self, base: &Path) -> Result<vigil_triage::context::Context> {
        let mut context = vigil_triage::context::Context::default();
        let read = |p: &PathBuf| -> Result<(String, String)> {
            let path = base.join(p);
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok((path.display().to_string(), text))
        };
        type Loader = fn(&mut vigil_triage::context::Context, &str, &str) -> vigil_triage::Result<()>;
        let inputs: [(&Option<PathBuf>, Loader); 5] = [
            (&self.assets, vigil_triage::context::Context::load_assets),
            (&self.identities, vigil_triage::context::Context::load_identities),
            (&self.allow, vigil_triage::context::Context::load_allow),
            (&self.iocs, vigil_triage::context::Context::load_iocs),
            (&self.history, vigil_triage::context::Context::load_history),
        ];
        for (path, load) in inputs {
            if let Some(p) = path {
                let (name, text) = read(p)?;
                load(&mut context, &name, &text)?;
            }
        }
        Ok(context)
    }

    pub fn model(&self, base: &Path) -> Result<vigil_triage::model::Model> {
        match &self.model {
            Some(p) => {
                let path = base.join(p);
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                Ok(vigil_triage::model::Model::from_json(&text)
                    .with_context(|| format!("in {}", path.display()))?)
            }
            None => Ok(vigil_triage::model::Model::builtin()?),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        Ok(yaml_serde::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_without_its_secret_in_the_environment_or_of_an_unknown_format_is_refused() {
        let hook = |format: &str| WebhookConfig {
            url: "https://hooks.example.com/vigil".into(),
            secret_env: "VIGIL_TEST_SECRET_NOBODY_SETS".into(),
            format: format.into(),
        };
        let missing = hook("vigil").connector().err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(missing.contains("VIGIL_TEST_SECRET_NOBODY_SETS"), "{missing}");
        let format = hook("teams").connector().err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(format.contains("vigil or slack"), "{format}");
        let parsed = Config::parse("respond:\n  webhook: {url: https://h.example/x, secret_env: S}\n")
            .expect("parses");
        assert_eq!(parsed.respond.webhook.map(|w| w.format), Some("vigil".to_owned()));
    }

    #[test]
    fn the_example_configuration_parses_and_holds_the_defaults() {
        let config = Config::parse(include_str!("../../../vigil.example.yml")).expect("example parses");
        let defaults = vigil_detect::behaviour::BehaviourConfig::default();
        let b = &config.detect.behaviour;
        assert_eq!(b.privileged_accounts, defaults.privileged_accounts);
        assert_eq!(b.mass_file_change.min_files, defaults.mass_file_change.min_files);
        assert_eq!(b.mass_file_change.window, defaults.mass_file_change.window);
        assert_eq!(b.dormant_account.dormant_after, defaults.dormant_account.dormant_after);
        assert_eq!(b.off_hours.start, defaults.off_hours.start);
        assert_eq!(b.off_hours.end, defaults.off_hours.end);
        assert_eq!(b.off_hours.workdays, defaults.off_hours.workdays);
        assert_eq!(b.impossible_travel.max_speed_kmh, defaults.impossible_travel.max_speed_kmh);
        assert_eq!(
            b.impossible_travel.country_change_within,
            defaults.impossible_travel.country_change_within
        );
        assert_eq!(config.serve, ServeConfig::default());
        assert_eq!(config.respond, RespondConfig::default());
        assert_eq!(config.learning, LearningConfig::default());
        assert!(config.triage.playbooks.is_empty());
        let sla = config.sla.settings().expect("the example's SLA");
        assert_eq!(sla.policy, vigil_report::sla::SlaPolicy::default());
        assert_eq!((sla.escalate, sla.every), (None, std::time::Duration::from_secs(60)));
    }

    #[test]
    fn a_configured_policy_that_does_not_lint_stops_the_start_with_its_line() {
        let dir = std::env::temp_dir().join(format!("vigil-config-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("policy.yml"),
            "version: 1\nname: p\nrules:\n  - name: a\n    decide: sometimes\n",
        )
        .expect("policy");
        let config = Config::parse("respond:\n  policy: policy.yml\n").expect("config");
        let err = config.respond.policy(&dir).expect_err("refused");
        assert!(format!("{err:#}").contains("line 5"), "{err:#}");
        assert_eq!(Config::default().respond.policy(&dir).expect("shipped").name, "vigil-default");
    }

    #[test]
    fn a_misspelt_setting_is_an_error() {
        let err = Config::parse("detect:\n  behavior: {}\n").expect_err("rejected");
        assert!(format!("{err:#}").contains("behavior"), "{err:#}");
    }
}
