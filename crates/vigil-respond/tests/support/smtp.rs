//! A real SMTP server for a test: Python's aiosmtpd (from PyPI) on loopback, run by
//! `smtp_server.py` with STARTTLS on a certificate made for the run, and, when asked, signing
//! in required. What it accepted is read back from the files it writes, one per message. A
//! machine without python3 or aiosmtpd fails the test with what to install; it never skips.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../vigil-respond/tests/support/smtp_server.py");

pub const USER: &str = "vigil-mailer";
pub const PASSWORD: &str = "vigil-smtp-secret";

pub struct Smtp {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Smtp {
    /// A server that requires STARTTLS and signing in as [`USER`] with [`PASSWORD`].
    pub fn start() -> Smtp {
        Smtp::with(&["--user", USER, "--password-env", "VIGIL_TEST_SMTP_PASSWORD"])
    }

    /// A server that offers no STARTTLS and takes anyone.
    pub fn without_starttls() -> Smtp {
        Smtp::with(&["--no-starttls"])
    }

    fn with(extra: &[&str]) -> Smtp {
        let dir = tempfile::tempdir().expect("temp dir");
        super::certs::make(dir.path());
        let out = dir.path().join("received");
        std::fs::create_dir(&out).expect("out dir");
        let p = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
        let mut child = Command::new("python3")
            .arg(SCRIPT)
            .args(["--cert", &p("server.pem"), "--key", &p("server.key"), "--out", &p("received")])
            .args(extra)
            .env("VIGIL_TEST_SMTP_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}); .ci/run installs aiosmtpd from PyPI"));
        // The script prints its port once it listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the SMTP server did not start (is aiosmtpd installed? pip install aiosmtpd): {line:?}")
        });
        Smtp { child, dir, port }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The messages accepted so far, in order: envelope, TLS, who signed in, the content.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("received"))
            .expect("received dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| serde_json::from_slice(&std::fs::read(f).expect("message")).expect("JSON"))
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
