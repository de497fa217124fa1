//! The API over real HTTP on loopback: a server in this process, a blocking client.

mod abuse;
mod actions;
mod bad_input;
mod cases;
mod execute;
mod grants;
mod pages;
mod rbac;
mod sessions;
mod sla;
mod syslog_year;
mod ui;
mod xss;

use std::sync::Arc;

use serde_json::Value;
use vigil_engine::ingest::Ingest;
use vigil_engine::runner::EngineHandle;
use vigil_server::auth::secrets;
use vigil_server::{AppState, Limits};
use vigil_store::{By, Store, TokenRow, time};

pub struct Server {
    pub url: String,
    pub store: Store,
    /// The server's executor, run by the test when it chooses (`run_actions`).
    pub executor: vigil_respond::Executor,
    /// The server's engine handle (no engine runs in these tests; its rule list is what the
    /// rules page shows).
    pub engine: EngineHandle,
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// The server's state, for what the server runs in the background (the SLA sweep).
    pub state: AppState,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl Server {
    pub fn start() -> Server {
        Server::with_limits(Limits::default())
    }

    /// A server whose store (and so sessions, tokens and lockouts) reads the time from `clock`.
    pub fn with_clock(clock: vigil_store::Clock) -> Server {
        Server::with(Limits::default(), clock)
    }

    pub fn with_limits(limits: Limits) -> Server {
        Server::with(limits, vigil_store::Clock::system())
    }

    fn with(limits: Limits, clock: vigil_store::Clock) -> Server {
        Server::with_engine(limits, clock, EngineHandle::default())
    }

    /// A server whose engine holds `engine`'s connectors, reading the time from `clock`.
    pub fn with_engine(limits: Limits, clock: vigil_store::Clock, engine: EngineHandle) -> Server {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (url, store, uploads, executor, state) = runtime.block_on(async {
            let store = Store::open_dir(dir.path()).await.expect("store").with_clock(clock);
            let ingest = Ingest::start(store.clone(), 8, Arc::clone(&engine.stored));
            let reload: vigil_server::Reloader = Arc::new(|| Err("no rules in this test".to_owned()));
            let state = AppState::new(store.clone(), ingest, engine.clone(), limits, reload);
            let uploads = state.uploads.clone();
            let executor = vigil_server::respond::executor(&state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            tokio::spawn(vigil_server::serve(listener, state.clone(), std::future::pending()));
            (url, store, uploads, executor, state)
        });
        Server { url, store, executor, engine, uploads, state, runtime, _dir: dir }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Runs every action run that is due, as the server's executor would; returns them.
    pub fn run_actions(&self) -> Vec<vigil_store::ActionRun> {
        self.block_on(self.executor.run_due()).expect("the executor runs")
    }

    /// Every audit record so far, in order.
    pub fn audit(&self) -> Vec<vigil_store::audit::AuditRecord> {
        self.block_on(self.store.audit_records(0, i64::MAX)).expect("audit")
    }

    /// A user with `role`, and a token for them scoped `*`; returns the token's secret.
    pub fn user_with_token(&self, name: &str, role: &str) -> String {
        self.token_for(name, role, &["*"], "2099-01-01T00:00:00.000000Z")
    }

    pub fn token_for(&self, name: &str, role: &str, scopes: &[&str], expires_at: &str) -> String {
        let (id, secret) = secrets::new_token().expect("randomness");
        self.block_on(async {
            let by = By::user("test", "test");
            let mut tx = self.store.write().await.expect("begin");
            if self.store.user(&name.into()).await.expect("user").is_none() {
                tx.create_user(&name.into(), role, "!", &by).await.expect("user");
            }
            tx.create_token(
                &TokenRow {
                    id: id.into(),
                    hash: secrets::hash(&secret),
                    owner: name.into(),
                    scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                    created_at: time::now(),
                    expires_at: expires_at.into(),
                    revoked_at: None,
                    created_by: String::new(),
                },
                &by,
            )
            .await
            .expect("token");
            tx.commit().await.expect("commit");
        });
        secret
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Answer {
        // A redirect is an answer to look at, not to follow.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let response = match body {
            Some(bytes) => {
                let mut req = match method {
                    "POST" => agent.post(&url),
                    "PUT" => agent.put(&url),
                    other => panic!("no body for {other}"),
                };
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send(bytes)
            }
            None => {
                let mut req = match method {
                    "GET" => agent.get(&url),
                    "DELETE" => agent.delete(&url),
                    "POST" => {
                        let mut req = agent.post(&url);
                        for (k, v) in headers {
                            req = req.header(*k, *v);
                        }
                        return collect(req.send_empty().expect("request"));
                    }
                    other => panic!("unsupported method {other}"),
                };
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
        };
        collect(response.expect("request"))
    }

    pub fn get(&self, path: &str, token: &str) -> Answer {
        self.request("GET", path, &[("Authorization", &format!("Bearer {token}"))], None)
    }

    pub fn post(&self, path: &str, token: &str, body: &[u8]) -> Answer {
        self.request("POST", path, &[("Authorization", &format!("Bearer {token}"))], Some(body))
    }
}

fn collect(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap_or_default();
    Answer { status, headers, body }
}
