//! `vigil verify`: checks an audit trail offline — a data directory, a PostgreSQL URL, or an
//! export file — and names the first record that is not as it was written; or an incident
//! packet, naming the first thing in it that is not as it was signed.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use ed25519_dalek::VerifyingKey;
use vigil_store::audit::export::{check_witness_at, read_export, verify_location};
use vigil_store::audit::key::{parse_public_key, read_public_key};
use vigil_store::audit::witness::read_file as read_witness;

#[derive(clap::Args)]
pub struct Args {
    /// A data directory (`vigil serve --data`), a `postgres://` URL, an audit export file, or an
    /// incident packet.
    pub location: String,
    /// The public key to trust: 64 hex digits, or a file holding them. Without it, the key kept
    /// beside the trail is used, which proves order and integrity but not who signed.
    #[arg(long)]
    pub key: Option<String>,
    /// A witness file (`serve.audit.witness_file`): the trail must still hold every signed head
    /// it saw, which tells a trail rewritten and re-signed with a stolen key, or cut short, from
    /// an intact one.
    #[arg(long, value_name = "FILE")]
    pub witness: Option<PathBuf>,
}

pub fn trusted(key: Option<&str>) -> Result<Vec<VerifyingKey>> {
    let Some(key) = key else { return Ok(Vec::new()) };
    if let Some(k) = parse_public_key(key.trim()) {
        return Ok(vec![k]);
    }
    Ok(vec![read_public_key(Path::new(key)).with_context(|| format!("--key {key}"))?])
}

/// An incident packet: intact, or the first thing wrong.
fn packet(bytes: &[u8], keys: &[VerifyingKey]) -> Result<ExitCode> {
    match vigil_report::packet::verify(bytes, keys) {
        Ok(v) => {
            if !v.key_pinned {
                eprintln!(
                    "trusting the key the packet names ({}); pass --key to pin the server's key",
                    v.key_id
                );
            }
            println!(
                "packet intact: case {}, {} files, {} audit records sealed by {} signed checkpoints{}, signed by key {}",
                v.case,
                v.files,
                v.records - v.unsealed,
                v.checkpoints,
                if v.unsealed > 0 {
                    format!(
                        " ({} newer than the last checkpoint, vouched for by the manifest's signature)",
                        v.unsealed
                    )
                } else {
                    String::new()
                },
                v.key_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            println!("packet BROKEN: {problem}");
            Ok(ExitCode::from(1))
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let keys = trusted(args.key.as_deref())?;
    let witnessed = match &args.witness {
        Some(file) => {
            Some(read_witness(file).with_context(|| format!("reading the witness {}", file.display()))?)
        }
        None => None,
    };
    let path = PathBuf::from(&args.location);
    if path.is_file() {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if vigil_report::packet::is_packet(&bytes) {
            return packet(&bytes, &keys);
        }
    }
    let (outcome, witness) = if path.is_file() {
        let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let export = read_export(BufReader::new(file))?;
        if keys.is_empty() {
            eprintln!(
                "trusting the key the export names ({}); pass --key to pin the server's key",
                vigil_store::audit::chain::key_id(&export.public_key)
            );
        }
        let witness = witnessed.as_deref().map(|w| export.check_witness(&keys, w)).transpose()?;
        (export.verify(&keys), witness)
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let outcome = verify_location(&args.location, &keys).await?;
            let witness = match &witnessed {
                Some(w) => Some(check_witness_at(&args.location, &keys, w).await?),
                None => None,
            };
            anyhow::Ok((outcome, witness))
        })?
    };
    let verified = match outcome {
        Ok(v) => v,
        Err(broken) => {
            println!("audit trail BROKEN at record {}: {}", broken.seq, broken.reason);
            return Ok(ExitCode::from(1));
        }
    };
    match witness {
        Some(Err(broken)) => {
            println!("audit trail BROKEN at record {}: {}", broken.seq, broken.reason);
            return Ok(ExitCode::from(1));
        }
        Some(Ok(heads)) => println!("witness: {heads} signed heads it saw are in the trail as they were"),
        None => {}
    }
    println!(
        "audit trail intact: {} records, {} signed checkpoints, head {} {}",
        verified.records, verified.checkpoints, verified.head_seq, verified.head_hash
    );
    Ok(ExitCode::SUCCESS)
}
