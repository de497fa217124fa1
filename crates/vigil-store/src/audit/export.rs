//! Reading a stored audit trail, writing it as a self-contained export (NDJSON: a header with
//! the public key, every record, every checkpoint), and verifying either offline.

use std::io::{BufRead, Write};
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use sqlx::any::{AnyPoolOptions, AnyRow, install_default_drivers};
use sqlx::{AnyPool, Row};
use vigil_model::AuditAction;

use super::chain::{AuditRecord, Broken, ChainVerifier, Checkpoint, Verified, key_id};
use super::key;
use crate::{DATABASE_FILE, Error, Result, Store};

const PAGE: i64 = 5_000;
pub const EXPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Header { vigil_audit_export: u32, public_key: String, key_id: String },
    Record(AuditRecord),
    Checkpoint(Checkpoint),
}

fn record_from(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        origin: row.try_get("origin")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

async fn records_after(pool: &AnyPool, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let rows = sqlx::query("SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(record_from).collect()
}

async fn checkpoints(pool: &AnyPool) -> Result<Vec<Checkpoint>> {
    let rows = sqlx::query("SELECT * FROM audit_checkpoints ORDER BY seq").fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(Checkpoint {
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
                signed_at: row.try_get("signed_at")?,
                key_id: row.try_get("key_id")?,
                signature: row.try_get("signature")?,
            })
        })
        .collect()
}

/// Checks the whole chain in a database, a page at a time.
pub async fn verify_pool(pool: &AnyPool, keys: &[VerifyingKey]) -> Result<Result<Verified, Broken>> {
    let checkpoints = checkpoints(pool).await?;
    let mut verifier = ChainVerifier::new(&checkpoints, keys);
    let mut evidence = Vec::new();
    let mut after = 0;
    loop {
        let page = records_after(pool, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in &page {
            if let Err(broken) = verifier.push(record) {
                return Ok(Err(broken));
            }
            if record.action == AuditAction::EvidenceAdd.as_str()
                && let Some(sha) = record.target.strip_prefix("evidence:")
            {
                evidence.push((record.seq, sha.to_owned()));
            }
        }
    }
    let verified = match verifier.finish() {
        Ok(v) => v,
        Err(broken) => return Ok(Err(broken)),
    };
    Ok(check_evidence(pool, &evidence).await?.map(|()| verified))
}

/// Every evidence file the trail says was added is still stored, with the hash it was added under.
async fn check_evidence(pool: &AnyPool, named: &[(i64, String)]) -> Result<Result<(), Broken>> {
    for (seq, sha) in named {
        let row = sqlx::query("SELECT content FROM evidence WHERE sha256 = $1")
            .bind(sha)
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else {
            return Ok(Err(Broken { seq: *seq, reason: format!("evidence {sha} added here is missing") }));
        };
        let content: Vec<u8> = row.try_get(0)?;
        let actual = hex::encode(sha2::Sha256::digest(&content));
        if actual != *sha {
            return Ok(Err(Broken {
                seq: *seq,
                reason: format!("evidence {sha} added here now hashes to {actual}"),
            }));
        }
    }
    Ok(Ok(()))
}

/// Opens a trail without changing it (read-only, no migrations, no key made): a data directory
/// or a `postgres://` URL. Returns the pool and, for a data directory, the public key beside it.
pub(crate) async fn open_read_only(location: &str) -> Result<(AnyPool, Option<VerifyingKey>)> {
    install_default_drivers();
    let (url, own) = if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        (location.to_owned(), None)
    } else {
        let dir = Path::new(location);
        let db = dir.join(DATABASE_FILE);
        if !db.is_file() {
            return Err(Error::Url(location.to_owned()));
        }
        let own = key::read_public_key(&key::public_key_path(dir)).ok();
        (format!("sqlite://{}?mode=ro", db.display()), own)
    };
    Ok((AnyPoolOptions::new().max_connections(1).connect(&url).await?, own))
}

fn no_key(location: &str) -> Error {
    Error::Key { path: location.into(), reason: "no public key beside the trail; pass one".into() }
}

/// Verifies a trail without changing it, against `keys` (for a data directory, the key file
/// beside the database when none are given).
pub async fn verify_location(location: &str, keys: &[VerifyingKey]) -> Result<Result<Verified, Broken>> {
    let (pool, own) = open_read_only(location).await?;
    let trusted: Vec<VerifyingKey> = if keys.is_empty() { own.into_iter().collect() } else { keys.to_vec() };
    if trusted.is_empty() {
        pool.close().await;
        return Err(no_key(location));
    }
    let outcome = verify_pool(&pool, &trusted).await;
    pool.close().await;
    outcome
}

/// Checks a trail without changing it against what its witness saw, trusting `keys` (the key
/// beside a data directory when none are given); the number of witnessed heads found intact.
pub async fn check_witness_at(
    location: &str,
    keys: &[VerifyingKey],
    witnessed: &[Checkpoint],
) -> Result<Result<usize, Broken>> {
    let (pool, own) = open_read_only(location).await?;
    let trusted: Vec<VerifyingKey> = if keys.is_empty() { own.into_iter().collect() } else { keys.to_vec() };
    let outcome = check_witness_pool(&pool, &trusted, witnessed).await;
    pool.close().await;
    outcome
}

async fn check_witness_pool(
    pool: &AnyPool,
    keys: &[VerifyingKey],
    witnessed: &[Checkpoint],
) -> Result<Result<usize, Broken>> {
    let last = sqlx::query("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM audit").fetch_one(pool).await?;
    let last: i64 = last.try_get(0)?;
    let mut records = std::collections::HashMap::new();
    for cp in witnessed {
        let row = sqlx::query("SELECT * FROM audit WHERE seq = $1").bind(cp.seq).fetch_optional(pool).await?;
        if let Some(row) = row {
            records.insert(cp.seq, record_from(&row)?);
        }
    }
    super::witness::check(witnessed, keys, last, |seq| Ok(records.remove(&seq)))
}

/// Writes a trail as an export file, naming `key` (or the key beside a data directory).
pub async fn export_location(location: &str, key: Option<VerifyingKey>, out: &mut impl Write) -> Result<u64> {
    let (pool, own) = open_read_only(location).await?;
    let Some(key) = key.or(own) else {
        pool.close().await;
        return Err(no_key(location));
    };
    let written = export_pool(&pool, &key, out).await;
    pool.close().await;
    written
}

async fn export_pool(pool: &AnyPool, key: &VerifyingKey, out: &mut impl Write) -> Result<u64> {
    let io = |source| Error::Io { path: "<export>".into(), source };
    let header = Line::Header {
        vigil_audit_export: EXPORT_VERSION,
        public_key: hex::encode(key.as_bytes()),
        key_id: key_id(key),
    };
    writeln!(out, "{}", serde_json::to_string(&header)?).map_err(io)?;
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = records_after(pool, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in page {
            writeln!(out, "{}", serde_json::to_string(&Line::Record(record))?).map_err(io)?;
            written += 1;
        }
    }
    for cp in checkpoints(pool).await? {
        writeln!(out, "{}", serde_json::to_string(&Line::Checkpoint(cp))?).map_err(io)?;
    }
    Ok(written)
}

impl Store {
    /// Audit records with `seq > after`, in sequence order, at most `limit`.
    pub async fn audit_records(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        records_after(&self.reader, after, limit).await
    }

    /// Every record about one of `targets` (`case:<id>`, `action:<id>`, `evidence:<sha>`), in
    /// sequence order, each once.
    pub async fn audit_records_for(&self, targets: &[String]) -> Result<Vec<AuditRecord>> {
        let mut found = std::collections::BTreeMap::new();
        for target in targets {
            let rows = sqlx::query("SELECT * FROM audit WHERE target = $1 ORDER BY seq")
                .bind(target)
                .fetch_all(&self.reader)
                .await?;
            for row in &rows {
                let record = record_from(row)?;
                found.insert(record.seq, record);
            }
        }
        Ok(found.into_values().collect())
    }

    /// Every record written at or after `at` (a stored time), in sequence order.
    pub async fn audit_records_since(&self, at: &str) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE at >= $1 ORDER BY seq")
            .bind(at)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(record_from).collect()
    }

    /// The newest record's sequence number (0 for an empty trail).
    pub async fn audit_head(&self) -> Result<i64> {
        let row =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM audit").fetch_one(&self.reader).await?;
        Ok(row.try_get("head")?)
    }

    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        checkpoints(&self.reader).await
    }

    /// Checks the whole stored chain against `keys` (the store's own key when empty).
    pub async fn verify_audit(&self, keys: &[VerifyingKey]) -> Result<Result<Verified, Broken>> {
        let own = [self.public_key()];
        let keys = if keys.is_empty() { &own[..] } else { keys };
        verify_pool(&self.reader, keys).await
    }

    /// Checks the stored trail against what its witness saw (the store's own key when `keys`
    /// is empty).
    pub async fn check_witness(
        &self,
        keys: &[VerifyingKey],
        witnessed: &[Checkpoint],
    ) -> Result<Result<usize, Broken>> {
        let own = [self.public_key()];
        let keys = if keys.is_empty() { &own[..] } else { keys };
        check_witness_pool(&self.reader, keys, witnessed).await
    }

    /// Writes the whole trail as an export file.
    pub async fn export_audit(&self, out: &mut impl Write) -> Result<u64> {
        export_pool(&self.reader, &self.public_key(), out).await
    }
}

/// An export read back: its records and checkpoints in file order, and the key it names.
pub struct Export {
    pub public_key: VerifyingKey,
    pub records: Vec<AuditRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

pub fn read_export(input: impl BufRead) -> Result<Export> {
    let mut public_key = None;
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let bad = |reason: String| Error::Export { line: i + 1, reason };
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&line).map_err(|e| bad(e.to_string()))? {
            Line::Header { vigil_audit_export, public_key: hex_key, .. } => {
                if i != 0 || vigil_audit_export != EXPORT_VERSION {
                    return Err(bad(format!(
                        "expected one version-{EXPORT_VERSION} header on the first line"
                    )));
                }
                public_key = Some(
                    key::parse_public_key(&hex_key)
                        .ok_or_else(|| bad("the header's public key is not valid".into()))?,
                );
            }
            Line::Record(record) => records.push(record),
            Line::Checkpoint(cp) => checkpoints.push(cp),
        }
    }
    let public_key =
        public_key.ok_or(Error::Export { line: 1, reason: "no header: not a Vigil audit export".into() })?;
    Ok(Export { public_key, records, checkpoints })
}

impl Export {
    /// Verifies the export against `keys`, or against the key it names when `keys` is empty.
    pub fn verify(&self, keys: &[VerifyingKey]) -> Result<Verified, Broken> {
        let own = [self.public_key];
        let keys = if keys.is_empty() { &own[..] } else { keys };
        super::chain::verify(self.records.iter().cloned(), &self.checkpoints, keys)
    }

    /// Checks the export against what its witness saw.
    pub fn check_witness(
        &self,
        keys: &[VerifyingKey],
        witnessed: &[Checkpoint],
    ) -> Result<Result<usize, Broken>> {
        let own = [self.public_key];
        let keys = if keys.is_empty() { &own[..] } else { keys };
        let last = self.records.iter().map(|r| r.seq).max().unwrap_or(0);
        super::witness::check(witnessed, keys, last, |seq| {
            Ok(self.records.iter().find(|r| r.seq == seq).cloned())
        })
    }
}
