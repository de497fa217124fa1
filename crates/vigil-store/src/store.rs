//! Opening a store: which database, its connection pools, its schema, and the audit key.
//!
//! SQLite (the default) lives in one data directory: `vigil.db` in WAL mode with
//! `synchronous=FULL`, so a committed transaction survives a power cut. PostgreSQL takes a URL.
//! Both run the same queries through sqlx's Any driver; only the schema files differ.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::{SigningKey, VerifyingKey};
use sqlx::Executor;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

use crate::audit::key;
use crate::{Error, Result, migrations};

pub const DATABASE_FILE: &str = "vigil.db";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::Url(url.to_owned()))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A connection to Vigil's database.
///
/// Writes go through one connection (`writer`): SQLite allows one writer at a time anyway, and
/// one writer keeps the audit chain's order the commit order. Reads use their own pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) writer: AnyPool,
    pub(crate) reader: AnyPool,
    backend: Backend,
    pub(crate) signing_key: SigningKey,
    key_dir: PathBuf,
    pub(crate) clock: crate::Clock,
    /// Where every signed checkpoint is also sent.
    pub(crate) witnesses: std::sync::Arc<Vec<crate::audit::witness::Witness>>,
}

/// The data directory 0700 and the database 0600 (created so before SQLite makes it; its WAL and
/// shared-memory files take the database's mode): raw logs and evidence are the owner's alone.
#[cfg(unix)]
fn owner_only(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io { path: path.to_owned(), source }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    let db = dir.join(DATABASE_FILE);
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&db).map_err(io(&db))?;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).map_err(io(&db))?;
    for suffix in ["-wal", "-shm"] {
        let side = dir.join(format!("{DATABASE_FILE}{suffix}"));
        if side.exists() {
            std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o600)).map_err(io(&side))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_dir: &Path) -> Result<()> {
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the SQLite store in a data directory.
    pub async fn open_dir(dir: &Path) -> Result<Store> {
        Store::open_dir_with_key(dir, &dir.join(key::SIGNING_KEY_FILE)).await
    }

    /// Opens the SQLite store in a data directory, signing with the key in `key_file`.
    pub async fn open_dir_with_key(dir: &Path, key_file: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_owned(), source })?;
        owner_only(dir)?;
        let url = format!("sqlite://{}?mode=rwc", dir.join(DATABASE_FILE).display());
        Store::open_with_key(&url, key_file).await
    }

    /// Opens a store by URL (`sqlite://…` or `postgres://…`), with the audit signing key kept in
    /// `key_dir`, and brings its schema up to date.
    pub async fn open(url: &str, key_dir: &Path) -> Result<Store> {
        Store::open_with_key(url, &key_dir.join(key::SIGNING_KEY_FILE)).await
    }

    /// Opens a store by URL, signing with the key in `key_file` (made there on first use).
    pub async fn open_with_key(url: &str, key_file: &Path) -> Result<Store> {
        let key_dir = key_file.parent().unwrap_or(Path::new("."));
        install_default_drivers();
        let backend = Backend::of(url)?;
        let writer = pool(url, backend, 1).await?;
        migrations::run(&writer, backend).await?;
        let reader = pool(url, backend, 4).await?;
        let signing_key = key::load_or_create_file(key_file)?;
        Ok(Store {
            writer,
            reader,
            backend,
            signing_key,
            key_dir: key_dir.to_owned(),
            clock: crate::Clock::system(),
            witnesses: std::sync::Arc::default(),
        })
    }

    /// Opens a store to read it without changing it (no migrations, no key made): a data
    /// directory or a `postgres://` URL. It signs with the key in `key_file`, or the data
    /// directory's own; a PostgreSQL store's key is kept apart and must be named.
    pub async fn open_read_only(location: &str, key_file: Option<&Path>) -> Result<Store> {
        let postgres = location.starts_with("postgres://") || location.starts_with("postgresql://");
        let (pool, _) = crate::audit::export::open_read_only(location).await?;
        let key_file = match key_file {
            Some(file) => file.to_owned(),
            None if !postgres => Path::new(location).join(key::SIGNING_KEY_FILE),
            None => {
                return Err(Error::Key {
                    path: location.into(),
                    reason: "a PostgreSQL store's signing key is kept apart from it: name its file".into(),
                });
            }
        };
        let signing_key = key::load_file(&key_file)?;
        Ok(Store {
            writer: pool.clone(),
            reader: pool,
            backend: if postgres { Backend::Postgres } else { Backend::Sqlite },
            signing_key,
            key_dir: key_file.parent().unwrap_or(Path::new(".")).to_owned(),
            clock: crate::Clock::system(),
            witnesses: std::sync::Arc::default(),
        })
    }

    /// Opens a store only to read it (reports): no migrations, no key read. Its signing key is a
    /// throwaway made here, so nothing it could sign would pass for the server's; a reader
    /// writes nothing and signs nothing.
    pub async fn open_reader(location: &str) -> Result<Store> {
        let postgres = location.starts_with("postgres://") || location.starts_with("postgresql://");
        let (pool, _) = crate::audit::export::open_read_only(location).await?;
        let found: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM vigil_schema").fetch_one(&pool).await?.try_get("v")?;
        let expected = crate::migrations::LATEST;
        if found.unwrap_or(0) < expected {
            return Err(Error::Outdated { found: found.unwrap_or(0), expected });
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| Error::Key { path: location.into(), reason: format!("no randomness: {e}") })?;
        Ok(Store {
            writer: pool.clone(),
            reader: pool,
            backend: if postgres { Backend::Postgres } else { Backend::Sqlite },
            signing_key: ed25519_dalek::SigningKey::from_bytes(&seed),
            key_dir: PathBuf::new(),
            clock: crate::Clock::system(),
            witnesses: std::sync::Arc::default(),
        })
    }

    /// Signs `message` with the server's key: what a document Vigil vouches for (an incident
    /// packet's manifest) carries. The key never leaves the store.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        use ed25519_dalek::Signer;
        self.signing_key.sign(message)
    }

    /// The same store reading the time from `clock` (every time it writes, and every time the
    /// engine and the server read through [`Store::clock`]).
    pub fn with_clock(mut self, clock: crate::Clock) -> Store {
        self.clock = clock;
        self
    }

    /// The same store sending every signed checkpoint to `witnesses` too.
    pub fn with_witnesses(mut self, witnesses: Vec<crate::audit::witness::Witness>) -> Store {
        self.witnesses = std::sync::Arc::new(witnesses);
        self
    }

    pub fn clock(&self) -> &crate::Clock {
        &self.clock
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    pub fn key_dir(&self) -> &Path {
        &self.key_dir
    }

    /// The database's own consistency check: `PRAGMA integrity_check` on SQLite; on PostgreSQL,
    /// that the catalog answers (its pages are checksummed by the server).
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        match self.backend {
            Backend::Sqlite => {
                let rows = sqlx::query("PRAGMA integrity_check").fetch_all(&self.reader).await?;
                let mut problems = Vec::new();
                for row in rows {
                    let line: String = row.try_get(0)?;
                    if line != "ok" {
                        problems.push(line);
                    }
                }
                Ok(problems)
            }
            Backend::Postgres => {
                sqlx::query("SELECT count(*) FROM pg_catalog.pg_class").fetch_one(&self.reader).await?;
                Ok(Vec::new())
            }
        }
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

async fn pool(url: &str, backend: Backend, size: u32) -> Result<AnyPool> {
    // A PostgreSQL that does not answer (down, restarting) fails a request within seconds, so
    // the API answers 503 and a sender retries, rather than holding every request half a
    // minute. SQLite's one writer may be busy that long under load, and is waited for.
    let acquire = match backend {
        Backend::Sqlite => Duration::from_secs(30),
        Backend::Postgres => Duration::from_secs(5),
    };
    let mut options = AnyPoolOptions::new().max_connections(size).acquire_timeout(acquire);
    if backend == Backend::Sqlite {
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA busy_timeout = 30000").await?;
                Ok(())
            })
        });
    }
    Ok(options.connect(url).await?)
}
