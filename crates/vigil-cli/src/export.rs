//! `vigil export`: self-contained files. `audit` writes the audit trail (records, signed
//! checkpoints, the public key) for `vigil verify` to check anywhere; `packet` writes one case
//! as a signed incident packet (`docs/packet.md`), which `vigil verify` also checks; `verdicts`
//! writes analysts' verdicts as a history file the built-in analyst reads (`triage.history`).

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
    /// One case as a signed incident packet: its document, timeline, raw events, alerts,
    /// recommendation, approvals, run logs, evidence and audit records with the checkpoints
    /// that seal them, and a manifest signed with the server's key.
    Packet {
        /// A data directory (`vigil serve --data`) or a `postgres://` URL.
        location: String,
        /// The case's id.
        case: String,
        /// Only what happened from this time on (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Only what happened up to this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// The server's signing key file, when `serve.audit.signing_key` keeps it outside the
        /// data directory (always, for PostgreSQL).
        #[arg(long)]
        signing_key: Option<PathBuf>,
        #[arg(long, short)]
        out: PathBuf,
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

/// The case `name` names: its id, or the one case whose id starts with it (as `vigil demo`
/// and the pages print ids shortened).
async fn case_named(store: &vigil_store::Store, name: &str) -> Result<vigil_model::CaseId> {
    let id = vigil_model::CaseId::new(name.to_owned());
    if store.case(&id).await?.is_some() {
        return Ok(id);
    }
    let cases = store.cases(&vigil_store::CaseFilter::default()).await?;
    let mut matching = cases.iter().filter(|c| c.id.as_str().starts_with(name));
    match (matching.next(), matching.next()) {
        (Some(one), None) if !name.is_empty() => Ok(one.id.clone()),
        (Some(_), Some(_)) => anyhow::bail!("more than one case id starts with {name:?}: give more of it"),
        _ => anyhow::bail!("there is no case {name:?}"),
    }
}

/// A time as the store writes it (UTC, microseconds, `Z`), so periods compare as text.
fn normalize_time(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| vigil_store::time::stamp(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| text.to_owned())
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
        Export::Packet { location, case, from, to, signing_key, out } => {
            for (flag, time) in [("--from", &from), ("--to", &to)] {
                if let Some(t) = time {
                    chrono::DateTime::parse_from_rfc3339(t)
                        .with_context(|| format!("{flag} {t}: a time like 2026-11-30T00:00:00Z"))?;
                }
            }
            let from = from.map(|t| normalize_time(&t));
            let to = to.map(|t| normalize_time(&t));
            let bytes = runtime.block_on(async {
                let store = vigil_store::Store::open_read_only(&location, signing_key.as_deref()).await?;
                let id = case_named(&store, &case).await;
                let contents = match id {
                    Ok(id) => vigil_report::packet::gather(&store, &id, from.as_deref(), to.as_deref())
                        .await
                        .map_err(anyhow::Error::from),
                    Err(e) => Err(e),
                };
                store.close().await;
                let contents = contents?;
                let public = store.public_key();
                let packet = vigil_report::packet::write(&contents, &public, &|m| store.sign(m))?;
                anyhow::Ok((packet, contents.audit.len()))
            })?;
            let (packet, records) = bytes;
            write_out(Some(&out), &packet)?;
            eprintln!(
                "wrote the packet of case {case} to {}: {records} audit records, {} bytes",
                out.display(),
                packet.len()
            );
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
