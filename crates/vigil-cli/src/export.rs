//! `vigil export`: self-contained files. `audit` writes the audit trail (records, signed
//! checkpoints, the public key) for `vigil verify` to check anywhere; `verdicts` writes analysts'
//! verdicts as a history file the built-in analyst reads (`triage.history`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vigil_store::audit::export::export_location;

#[derive(clap::Subcommand)]
pub enum Export {
    /// The audit trail of a data directory or PostgreSQL database, read without changing it.
    Audit {
        /// A data directory (`vigil serve --data`) or a `postgres://` URL.
        location: String,
        /// The server's public key (64 hex digits or a file); needed for PostgreSQL, and when
        /// `serve.audit.signing_key` keeps the key outside the data directory.
        #[arg(long)]
        key: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Analysts' verdicts on closed cases, as a `triage.history` file for `vigil hunt`.
    Verdicts {
        /// A data directory (`vigil serve --data`) or a `postgres://` URL.
        location: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

fn write_out(out: Option<&PathBuf>, buffer: &[u8]) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, buffer).with_context(|| format!("writing {}", path.display())),
        None => std::io::stdout().lock().write_all(buffer).context("writing the export"),
    }
}

pub fn run(export: Export) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match export {
        Export::Audit { location, key, out } => {
            let key = crate::verify::trusted(key.as_deref())?.into_iter().next();
            let mut buffer = Vec::new();
            let written = runtime.block_on(export_location(&location, key, &mut buffer))?;
            write_out(out.as_ref(), &buffer)?;
            eprintln!("exported {written} audit records");
        }
        Export::Verdicts { location, out } => {
            let rows = runtime.block_on(vigil_store::verdicts_at(&location))?;
            let verdicts = vigil_engine::verdicts::prior(&rows);
            // JSON is YAML: the file loads as `triage.history` as it is.
            let file = serde_json::json!({
                "as_of": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "verdicts": verdicts,
            });
            write_out(out.as_ref(), format!("{file:#}\n").as_bytes())?;
            eprintln!("exported {} verdicts", verdicts.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
