//! `vigil export`: self-contained files for auditors. `audit` writes the audit trail (records,
//! signed checkpoints, the public key) for `vigil verify` to check anywhere.

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
        /// The server's public key (64 hex digits or a file); needed for PostgreSQL, where no
        /// key file sits beside the database.
        #[arg(long)]
        key: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

pub fn run(export: Export) -> Result<ExitCode> {
    let Export::Audit { location, key, out } = export;
    let key = crate::verify::trusted(key.as_deref())?.into_iter().next();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut buffer = Vec::new();
    let written = runtime.block_on(export_location(&location, key, &mut buffer))?;
    match &out {
        Some(path) => std::fs::write(path, &buffer).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&buffer).context("writing the export")?,
    }
    eprintln!("exported {written} audit records");
    Ok(ExitCode::SUCCESS)
}
