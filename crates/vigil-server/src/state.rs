//! What every handler shares: the store, the ingest queue, the engine, the limits, and the
//! sign-in rate limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vigil_engine::ingest::Ingest;
use vigil_engine::runner::{EngineHandle, Reloaded};
use vigil_ingest::inflate::InflateLimits;
use vigil_store::Store;

#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest ingest body.
    pub max_body_bytes: usize,
    /// How far an ingest body may grow when unpacked (gzip): its size, its ratio, its layers.
    pub inflate: InflateLimits,
    /// Ingest uploads read at once; one more is answered 503 before its body is read, which
    /// bounds the memory uploads can take to about this times the unpacked limit (plus their
    /// decoded events).
    pub max_concurrent_uploads: usize,
    /// Evidence uploads read at once, in slots of their own: slow ingest cannot starve them.
    pub max_concurrent_evidence: usize,
    /// A body must arrive within this, plus its announced length at `min_body_bytes_per_sec`;
    /// a slower one is answered 408 and frees its slot.
    pub body_deadline: Duration,
    pub min_body_bytes_per_sec: u64,
    /// No request is worked on longer than this (the status API's settle wait is 30 s at most);
    /// past it the answer is 408 (a transaction cut off this way is rolled back).
    pub request_deadline: Duration,
    /// Events a minute and unpacked bytes a day per credential.
    pub quota: crate::quota::QuotaLimits,
    /// A reverse proxy whose header names the client: its address and the header (the last
    /// address in it is the client's). Any other peer is taken as the client itself.
    pub trusted_proxy: Option<TrustedProxy>,
    /// Sign-in attempts per client address per minute.
    pub logins_per_minute: u32,
    /// Failed sign-ins in a row after which an account is throttled: each further failure makes
    /// the next attempt wait twice as long (from a second, up to `lockout`), and until then every
    /// attempt is answered as a wrong password.
    pub lockout_after: i64,
    pub lockout: Duration,
    pub session_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            inflate: InflateLimits::default(),
            max_concurrent_uploads: 16,
            max_concurrent_evidence: 4,
            body_deadline: Duration::from_secs(10),
            min_body_bytes_per_sec: 256 << 10,
            request_deadline: Duration::from_secs(120),
            quota: crate::quota::QuotaLimits::default(),
            trusted_proxy: None,
            logins_per_minute: 10,
            lockout_after: 5,
            lockout: Duration::from_secs(15 * 60),
            session_lifetime: Duration::from_secs(8 * 3600),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    pub address: IpAddr,
    /// Lower-case header name, e.g. `x-forwarded-for`.
    pub header: String,
}

/// Builds fresh detectors and triage inputs from the configuration on disk (rules, thresholds,
/// inventories and allow-lists reload without a restart).
pub type Reloader = Arc<dyn Fn() -> Result<Reloaded, String> + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub ingest: Ingest,
    pub engine: EngineHandle,
    pub limits: Limits,
    pub reload: Reloader,
    pub uploads: Arc<tokio::sync::Semaphore>,
    pub evidence_uploads: Arc<tokio::sync::Semaphore>,
    pub quotas: crate::quota::Quotas,
    /// Refusals recorded in the audit trail, at most one a minute for each address or principal.
    pub refusals: crate::refusals::Refusals,
    /// Set once the server is shutting down: long-lived answers (the pages' live updates) end
    /// on it, so a graceful shutdown does not wait on an open browser tab.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The SLA targets cases are held to and how breaches escalate.
    pub sla: Arc<crate::sla::SlaSettings>,
    /// The compliance frameworks reports are made for: Vigil's and the configuration's.
    pub frameworks: Arc<Vec<vigil_report::compliance::Framework>>,
    /// What closed cases are replayed against and where accepted rule changes go.
    pub learning: Arc<crate::learning::LearningSettings>,
    /// This node's name in a cluster (empty for the single process): the executor holds its
    /// leases on runs under it.
    pub node: Arc<str>,
    logins: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl AppState {
    pub fn new(
        store: Store,
        ingest: Ingest,
        engine: EngineHandle,
        limits: Limits,
        reload: Reloader,
    ) -> AppState {
        let uploads = Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent_uploads.max(1)));
        let evidence_uploads = Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent_evidence.max(1)));
        AppState {
            store,
            ingest,
            engine,
            limits,
            reload,
            uploads,
            evidence_uploads,
            quotas: crate::quota::Quotas::default(),
            refusals: crate::refusals::Refusals::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            sla: Arc::default(),
            frameworks: Arc::new(
                vigil_report::compliance::SHIPPED
                    .iter()
                    .filter_map(|(name, _)| vigil_report::compliance::Framework::shipped(name).ok())
                    .collect(),
            ),
            learning: Arc::default(),
            node: Arc::from(""),
            logins: Arc::default(),
        }
    }

    /// The same state learning with `settings`.
    pub fn with_node(mut self, node: &str) -> AppState {
        self.node = Arc::from(node);
        self
    }

    pub fn with_learning(mut self, settings: crate::learning::LearningSettings) -> AppState {
        self.learning = Arc::new(settings);
        self
    }

    /// The same state under another approval policy (the engine's, which it proposes by).
    pub fn with_policy(self, policy: vigil_policy::Policy) -> AppState {
        self.engine.set_policy(policy);
        self
    }

    /// The same state holding cases to `sla`.
    pub fn with_sla(mut self, sla: crate::sla::SlaSettings) -> AppState {
        self.sla = Arc::new(sla);
        self
    }

    /// The same state reporting on `extra` frameworks too (a site's own catalogues).
    pub fn with_frameworks(mut self, extra: Vec<vigil_report::compliance::Framework>) -> AppState {
        let mut all = (*self.frameworks).clone();
        all.extend(extra);
        self.frameworks = Arc::new(all);
        self
    }

    /// The approval policy in force.
    pub fn policy(&self) -> Arc<vigil_policy::Policy> {
        self.engine.policy()
    }

    /// The client's address: the peer's, or, when the peer is the trusted proxy, the last
    /// address in the proxy's header (an address the client wrote itself comes before it).
    pub fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        match &self.limits.trusted_proxy {
            Some(proxy) if proxy.address == peer => {
                // The last entry is the one the proxy wrote; one it cannot read is no address.
                let entries: Vec<&str> = headers
                    .get_all(proxy.header.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .collect();
                entries.last().and_then(|a| a.trim().parse::<IpAddr>().ok()).unwrap_or(peer)
            }
            _ => peer,
        }
    }

    /// Counts a sign-in attempt from `ip`; `false` once the address is over its limit this minute.
    pub fn admit_login(&self, ip: IpAddr) -> bool {
        let mut logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if logins.len() > 10_000 {
            logins.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = logins.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limits.logins_per_minute
    }
}
