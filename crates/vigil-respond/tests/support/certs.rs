//! A CA and a server certificate for 127.0.0.1 and localhost, made by `openssl` for one test
//! run: `ca.pem`, `server.pem` and `server.key` in the directory given.

use std::path::Path;
use std::process::{Command, Stdio};

fn run(program: &str, args: &[&str], what: &str) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {program} ({e}); .ci/run installs openssl"));
    assert!(out.status.success(), "{what}: {program} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA and a server certificate for 127.0.0.1 and localhost, valid for the run.
pub fn make(d: &Path) {
    let p = |name: &str| d.join(name).to_str().expect("utf-8 path").to_owned();
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=Vigil test directory CA",
        ],
        "making the test CA",
    );
    run(
        "openssl",
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
            "-subj",
            "/CN=localhost",
        ],
        "making the server key",
    );
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("ext.cnf");
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-out",
            &p("server.pem"),
            "-days",
            "2",
            "-extfile",
            &p("ext.cnf"),
        ],
        "signing the server certificate",
    );
}
