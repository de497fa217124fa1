//! A real AWS API for a test: moto's server (from PyPI) on loopback, started by
//! `moto_server.py` with a world to act on, authenticating every request after the seeding as
//! AWS does (keys IAM issued, SigV4 signatures checked, policies evaluated). What the system
//! holds is read back through boto3, a client that is not Vigil's. A machine without python3
//! or moto fails the test with what to install; it never skips.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../vigil-respond/tests/support/moto_server.py");

pub struct Moto {
    child: Child,
    pub endpoint: String,
    /// What the seeding created: `vigil_key`, `vigil_secret`, `access_key`, `instance`,
    /// `groups`, `quarantine_group`, `vpc`.
    pub world: Value,
}

impl Moto {
    pub fn start() -> Moto {
        let mut child = Command::new("python3")
            .arg(SCRIPT)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}); .ci/run installs moto[server] from PyPI"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the world");
        let world: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("moto did not start (is moto[server] installed? pip install 'moto[server]'): {line:?}")
        });
        let endpoint = format!("http://127.0.0.1:{}", world["port"]);
        Moto { child, endpoint, world }
    }

    pub fn get(&self, name: &str) -> String {
        self.world[name].as_str().unwrap_or_else(|| panic!("the world has no {name}")).to_owned()
    }

    /// `operation` of `service` through boto3 as Vigil's principal: its answer, or the error it
    /// raised as text.
    pub fn call(&self, service: &str, operation: &str, arguments: Value) -> Result<Value, String> {
        let out = Command::new("python3")
            .arg(SCRIPT)
            .args(["call", &self.endpoint, service, operation, &arguments.to_string()])
            .args([self.get("vigil_key"), self.get("vigil_secret")])
            .output()
            .expect("python3");
        if out.status.success() {
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
