//! The audit trail with its key kept outside the data and its heads witnessed: a trail forged
//! with the stolen key, or shortened, is told apart by `vigil verify --witness`, and `vigil
//! serve` will not serve a trail that no longer matches its witness unless told to (audited).

use std::io::BufRead;

use ed25519_dalek::SigningKey;
use serde_json::Value;
use vigil_store::audit::chain::{AuditRecord, Checkpoint, GENESIS, sign_checkpoint};

use crate::server::{Serve, ingest_token};
use crate::{scratch, vigil};

struct Setup {
    dir: std::path::PathBuf,
    data: std::path::PathBuf,
    config: std::path::PathBuf,
    key: std::path::PathBuf,
    witness: std::path::PathBuf,
}

fn setup(name: &str) -> Setup {
    let dir = scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let setup = Setup {
        data: dir.join("data"),
        config: dir.join("vigil.yml"),
        key: dir.join("keys/audit.key"),
        witness: dir.join("witness/audit.log"),
        dir,
    };
    std::fs::create_dir_all(setup.witness.parent().expect("parent")).expect("witness dir");
    std::fs::write(
        &setup.config,
        format!(
            "serve:\n  audit:\n    signing_key: {}\n    witness_file: {}\n",
            setup.key.display(),
            setup.witness.display()
        ),
    )
    .expect("config");
    setup
}

fn stolen_key(path: &std::path::Path) -> SigningKey {
    let hex_seed = std::fs::read_to_string(path).expect("key file");
    let seed: [u8; 32] = hex::decode(hex_seed.trim()).expect("hex").try_into().expect("32 bytes");
    SigningKey::from_bytes(&seed)
}

#[test]
fn a_trail_forged_with_the_stolen_key_is_caught_by_its_witness() {
    let s = setup("witness-forged");
    let serve = Serve::start(&s.data, Some(&s.config));
    // Some audited changes: a user and a token.
    ingest_token(&serve);
    drop(serve);
    assert!(!s.data.join("audit-signing.key").exists(), "the key is not beside the data");
    let public = s.key.with_extension("pub");
    let (data, public, witness) = (
        s.data.to_str().expect("utf-8"),
        public.to_str().expect("utf-8"),
        s.witness.to_str().expect("utf-8"),
    );
    let intact = vigil(&["verify", data, "--key", public, "--witness", witness], &s.dir);
    assert_eq!(intact.status.code(), Some(0), "{}", String::from_utf8_lossy(&intact.stdout));
    assert!(String::from_utf8_lossy(&intact.stdout).contains("witness:"));

    // The attacker exports the trail, changes who did something, rebuilds the chain and signs
    // it again with the key they took.
    let export = s.dir.join("trail.ndjson");
    let out =
        vigil(&["export", "audit", data, "--key", public, "--out", export.to_str().expect("utf-8")], &s.dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let key = stolen_key(&s.key);
    let file = std::fs::File::open(&export).expect("export");
    let lines: Vec<String> = std::io::BufReader::new(file).lines().map(|l| l.expect("line")).collect();
    let mut records: Vec<AuditRecord> = Vec::new();
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    for line in &lines[1..] {
        let v: Value = serde_json::from_str(line).expect("json");
        if let Some(r) = v.get("record") {
            records.push(serde_json::from_value(r.clone()).expect("record"));
        } else if let Some(c) = v.get("checkpoint") {
            checkpoints.push(serde_json::from_value(c.clone()).expect("checkpoint"));
        }
    }
    records[1].actor = "someone-else".into();
    let mut prev = GENESIS.to_owned();
    for r in &mut records {
        r.prev_hash = prev.clone();
        r.hash = r.compute_hash();
        prev = r.hash.clone();
    }
    for cp in &mut checkpoints {
        let hash = records.iter().find(|r| r.seq == cp.seq).map(|r| r.hash.clone()).expect("record");
        *cp = sign_checkpoint(&key, cp.seq, &hash, &cp.signed_at);
    }
    let mut forged = vec![lines[0].clone()];
    forged.extend(records.iter().map(|r| serde_json::json!({ "record": r }).to_string()));
    forged.extend(checkpoints.iter().map(|c| serde_json::json!({ "checkpoint": c }).to_string()));
    std::fs::write(&export, forged.join("\n") + "\n").expect("forge");
    let export = export.to_str().expect("utf-8");
    let fooled = vigil(&["verify", export, "--key", public], &s.dir);
    assert_eq!(fooled.status.code(), Some(0), "without a witness the forgery passes");
    let caught = vigil(&["verify", export, "--key", public, "--witness", witness], &s.dir);
    let stdout = String::from_utf8_lossy(&caught.stdout);
    assert_eq!(caught.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("BROKEN at record 2") && stdout.contains("rewritten"), "{stdout}");
}

#[test]
fn serve_refuses_a_trail_shorter_than_its_witness_unless_told_and_then_audits_it() {
    let s = setup("witness-refuse");
    let serve = Serve::start(&s.data, Some(&s.config));
    let password = serve.admin_password.clone().expect("admin password");
    drop(serve);
    // The witness saw a head the trail no longer has: the end of the trail was cut off.
    let key = stolen_key(&s.key);
    let cut = sign_checkpoint(&key, 99, &"ab".repeat(32), "2026-12-02T00:00:00.000000Z");
    let mut witness = std::fs::read_to_string(&s.witness).expect("witness");
    witness.push_str(&serde_json::to_string(&cut).expect("json"));
    witness.push('\n');
    std::fs::write(&s.witness, witness).expect("witness");

    let config = s.config.to_str().expect("utf-8");
    let data = s.data.to_str().expect("utf-8");
    let refused = vigil(&["serve", "--config", config, "--data", data, "--listen", "127.0.0.1:0"], &s.dir);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not verify") && stderr.contains("cut short"), "{stderr}");

    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"));
    command.args([
        "serve",
        "--config",
        config,
        "--data",
        data,
        "--listen",
        "127.0.0.1:0",
        "--accept-broken-trail",
    ]);
    let serve = Serve::spawn(command, false, false);
    let (cookie, csrf) = crate::server::admin_session(&serve, &password);
    let session = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let (_, audit) =
        crate::server::call("GET", &format!("{}/api/v1/audit?limit=1000", serve.url), &session, None)
            .expect("audit");
    let accepted =
        audit["records"].as_array().expect("records").iter().any(|r| r["action"] == "audit.broken_accepted");
    assert!(accepted, "{audit}");
}
