//! `vigil verify`: checks an audit trail offline — a data directory, a PostgreSQL URL, or an
//! export file — and names the first record that is not as it was written.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use ed25519_dalek::VerifyingKey;
use vigil_store::audit::export::{read_export, verify_location};
use vigil_store::audit::key::{parse_public_key, read_public_key};

#[derive(clap::Args)]
pub struct Args {
    /// A data directory (`vigil serve --data`), a `postgres://` URL, or an audit export file.
    pub location: String,
    /// The public key to trust: 64 hex digits, or a file holding them. Without it, the key kept
    /// beside the trail is used, which proves order and integrity but not who signed.
    #[arg(long)]
    pub key: Option<String>,
}

pub fn trusted(key: Option<&str>) -> Result<Vec<VerifyingKey>> {
    let Some(key) = key else { return Ok(Vec::new()) };
    if let Some(k) = parse_public_key(key.trim()) {
        return Ok(vec![k]);
    }
    Ok(vec![read_public_key(Path::new(key)).with_context(|| format!("--key {key}"))?])
}

pub fn run(args: Args) -> Result<ExitCode> {
    let keys = trusted(args.key.as_deref())?;
    let path = PathBuf::from(&args.location);
    let outcome = if path.is_file() {
        let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let export = read_export(BufReader::new(file))?;
        if keys.is_empty() {
            eprintln!(
                "trusting the key the export names ({}); pass --key to pin the server's key",
                vigil_store::audit::chain::key_id(&export.public_key)
            );
        }
        export.verify(&keys)
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(verify_location(&args.location, &keys))?
    };
    match outcome {
        Ok(v) => {
            println!(
                "audit trail intact: {} records, {} signed checkpoints, head {} {}",
                v.records, v.checkpoints, v.head_seq, v.head_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!("audit trail BROKEN at record {}: {}", broken.seq, broken.reason);
            Ok(ExitCode::from(1))
        }
    }
}
