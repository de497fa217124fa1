//! `vigil serve` as a process: started from the real binary, spoken to over HTTP and syslog.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub struct Serve {
    pub child: Child,
    pub url: String,
    pub admin_password: Option<String>,
    pub syslog_udp: Option<String>,
    pub syslog_tcp: Option<String>,
    /// Everything the server has written to stderr so far.
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Serve {
    /// Starts `vigil serve` and reads its start-up lines (no polling: the lines say when it is up).
    pub fn start(data: &Path, config: Option<&Path>) -> Serve {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
        command.args(["serve", "--listen", "127.0.0.1:0", "--data"]).arg(data);
        if let Some(c) = config {
            command.arg("--config").arg(c);
        }
        let expect_udp =
            config.is_some_and(|c| std::fs::read_to_string(c).unwrap_or_default().contains("syslog_udp"));
        let expect_tcp =
            config.is_some_and(|c| std::fs::read_to_string(c).unwrap_or_default().contains("syslog_tcp"));
        Serve::spawn(command, expect_udp, expect_tcp)
    }

    /// Runs a prepared `vigil serve` command and reads its start-up lines.
    pub fn spawn(mut command: Command, expect_udp: bool, expect_tcp: bool) -> Serve {
        let mut child =
            command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("vigil serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let (mut url, mut admin_password, mut syslog_udp, mut syslog_tcp) = (None, None, None, None);
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let keep = |log: &std::sync::Mutex<String>, line: &str| {
            if let Ok(mut log) = log.lock() {
                log.push_str(line);
                log.push('\n');
            }
        };
        for line in lines.by_ref() {
            let line = line.expect("stderr line");
            keep(&log, &line);
            if let Some(rest) = line.strip_prefix("vigil serve: http://") {
                url = Some(format!("http://{}", rest.split_whitespace().next().expect("address")));
            } else if let Some(rest) = line.strip_prefix("first start: created user `admin` with password ") {
                admin_password = Some(rest.split_whitespace().next().expect("password").to_owned());
            } else if let Some(rest) = line.strip_prefix("syslog over UDP on ") {
                syslog_udp = Some(rest.trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("syslog over TCP on ") {
                syslog_tcp = Some(rest.trim().to_owned());
            }
            let ready = url.is_some()
                && (!expect_udp || syslog_udp.is_some())
                && (!expect_tcp || syslog_tcp.is_some());
            if ready {
                break;
            }
        }
        // Keep draining, so the server never blocks on a full pipe.
        let kept = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep(&kept, &line);
            }
        });
        Serve {
            child,
            url: url.expect("the server printed its address"),
            admin_password,
            syslog_udp,
            syslog_tcp,
            log,
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `(status, JSON body)` of a request with the given headers.
pub fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<(u16, Value), ureq::Error> {
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()?
        }
        (_, body) => {
            let mut r = agent.post(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body.unwrap_or_default())?
        }
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Signs in as the bootstrap admin, makes an ingest service account and a token for it.
pub fn ingest_token(serve: &Serve) -> String {
    let password = serve.admin_password.as_deref().expect("first start prints the admin password");
    let admin = admin_session(serve, password);
    let headers = [("Cookie", admin.0.as_str()), ("X-CSRF-Token", admin.1.as_str())];
    let (status, _) = call(
        "POST",
        &format!("{}/api/v1/users", serve.url),
        &headers,
        Some(json!({"name": "svc-ingest", "role": "ingest"}).to_string().as_bytes()),
    )
    .expect("create user");
    assert_eq!(status, 200);
    let (status, token) = call(
        "POST",
        &format!("{}/api/v1/tokens", serve.url),
        &headers,
        Some(
            json!({"owner": "svc-ingest", "scopes": ["ingest"], "expires_in_days": 1}).to_string().as_bytes(),
        ),
    )
    .expect("create token");
    assert_eq!(status, 200, "{token}");
    token["token"].as_str().expect("secret").to_owned()
}

/// `(cookie pair, csrf token)` for the admin.
pub fn admin_session(serve: &Serve, password: &str) -> (String, String) {
    let agent = agent();
    let mut response = agent
        .post(&format!("{}/api/v1/login", serve.url))
        .send(json!({"name": "admin", "password": password}).to_string().as_bytes())
        .expect("login");
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned();
    let body: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
    (cookie, body["csrf_token"].as_str().expect("csrf").to_owned())
}
