//! A real OpenLDAP server for a test: Debian's `slapd` started on loopback in a directory of
//! the test's own, with the ppolicy overlay, AD's account attributes, a CA and server
//! certificate made for the run (by `openssl`), and the test directory's entries loaded by
//! `slapadd`. Read back with `ldapsearch`, apart from Vigil's own LDAP code. A machine without
//! slapd fails the test with what to install; it never skips.
// Shared by the connector tests of vigil-respond and vigil-cli; each uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../vigil-respond/tests/fixtures/slapd");

pub const ADMIN_DN: &str = "cn=admin,dc=vigil,dc=test";
pub const ADMIN_PASSWORD: &str = "admin-secret";
pub const VIGIL_DN: &str = "cn=vigil,ou=services,dc=vigil,dc=test";
pub const VIGIL_PASSWORD: &str = "vigil-service-secret";

pub struct Slapd {
    dir: tempfile::TempDir,
    pub port: u16,
    pub ldaps_port: u16,
}

fn run(program: &str, args: &[&str], what: &str) -> std::process::Output {
    let out = Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("{what}: cannot run {program} ({e}); .ci/run installs slapd, ldap-utils and openssl")
    });
    assert!(
        out.status.success(),
        "{what}: {program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Slapd {
    pub fn start() -> Slapd {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        super::certs::make(d);
        std::fs::copy(Path::new(FIXTURES).join("ad-accounts.schema"), d.join("ad-accounts.schema"))
            .expect("schema");
        let conf = std::fs::read_to_string(Path::new(FIXTURES).join("slapd.conf.in")).expect("slapd.conf.in");
        let path = d.to_str().expect("utf-8 temp dir");
        std::fs::write(d.join("slapd.conf"), conf.replace("@DIR@", path)).expect("slapd.conf");
        std::fs::create_dir(d.join("db")).expect("db dir");
        let ldif = Path::new(FIXTURES).join("directory.ldif");
        run(
            "slapadd",
            &["-f", &format!("{path}/slapd.conf"), "-l", ldif.to_str().expect("path")],
            "loading the test directory",
        );
        // The ports are free when chosen; another process may take one before slapd binds it,
        // so a failed start is tried again on new ones.
        for _ in 0..5 {
            let (port, ldaps_port) = (free_port(), free_port());
            let urls = format!("ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/");
            // slapd's parent returns once the daemon listens (or has failed to).
            let started = Command::new("slapd")
                .args(["-f", &format!("{path}/slapd.conf"), "-h", &urls])
                .stdin(Stdio::null())
                .status()
                .unwrap_or_else(|e| panic!("cannot run slapd ({e}); .ci/run installs Debian's slapd"));
            if started.success() && d.join("slapd.pid").exists() {
                return Slapd { dir, port, ldaps_port };
            }
        }
        panic!("slapd did not start on loopback in five tries");
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The values of `attribute` on `dn`, read as the directory's administrator (operational
    /// attributes included).
    pub fn values(&self, dn: &str, attribute: &str) -> Vec<String> {
        let out = run(
            "ldapsearch",
            &[
                "-x",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-b",
                dn,
                "-s",
                "base",
                "(objectClass=*)",
                attribute,
            ],
            "reading the directory",
        );
        let prefix = format!("{attribute}: ");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// Whether `group` lists `member`.
    pub fn is_member(&self, group: &str, member: &str) -> bool {
        self.values(group, "member").iter().any(|m| m.eq_ignore_ascii_case(member))
    }

    /// What binding as `dn` answers: `ok`, `must change`, or the refusal.
    pub fn sign_in(&self, dn: &str, password: &str) -> String {
        let out = Command::new("ldapwhoami")
            .args(["-x", "-e", "ppolicy", "-H", &self.url(), "-D", dn, "-w", password])
            .stdin(Stdio::null())
            .output()
            .expect("ldapwhoami");
        let said =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return said.trim().to_owned();
        }
        if said.contains("Password must be changed") { "must change".into() } else { "ok".into() }
    }

    /// Applies `ldif` (changetype records) as the administrator.
    pub fn admin_modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url(), "-D", ADMIN_DN, "-w", ADMIN_PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(ldif.as_bytes()).expect("write ldif");
        let out = child.wait_with_output().expect("ldapmodify");
        assert!(out.status.success(), "ldapmodify: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("slapd.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}
