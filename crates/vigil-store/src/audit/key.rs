//! The server's audit signing key: an ed25519 seed in the key directory, created on first use
//! with owner-only permissions, and its public half beside it for `vigil verify`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::{Error, Result};

pub const SIGNING_KEY_FILE: &str = "audit-signing.key";
pub const PUBLIC_KEY_FILE: &str = "audit-signing.pub";

fn key_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Key { path: path.to_owned(), reason: reason.into() }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

/// Loads the signing key from `dir`, or makes one there if there is none yet.
pub fn load_or_create(dir: &Path) -> Result<SigningKey> {
    load_or_create_file(&dir.join(SIGNING_KEY_FILE))
}

/// Loads the signing key from `path` (anywhere: production keeps it outside the data
/// directory), or makes one there, with its public half beside it (`.pub`).
pub fn load_or_create_file(path: &Path) -> Result<SigningKey> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let seed = parse_hex32(text.trim()).ok_or_else(|| key_error(path, "not 64 hex digits"))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().unwrap_or(Path::new("."));
            create(dir, path)
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Loads the signing key from `path`, which must exist: a reader never makes one.
pub fn load_file(path: &Path) -> Result<SigningKey> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    let seed = parse_hex32(text.trim()).ok_or_else(|| key_error(path, "not 64 hex digits"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Where a key file's public half is kept.
pub fn public_key_beside(path: &Path) -> PathBuf {
    path.with_extension("pub")
}

fn create(dir: &Path, path: &Path) -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| key_error(path, e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(hex::encode(seed).as_bytes()).and_then(|()| file.sync_all()).map_err(io(path))?;
    let public = public_key_beside(path);
    fs::write(&public, hex::encode(key.verifying_key().as_bytes())).map_err(io(&public))?;
    Ok(key)
}

pub fn public_key_path(dir: &Path) -> PathBuf {
    dir.join(PUBLIC_KEY_FILE)
}

/// Reads a public key file: 64 hex digits.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    parse_public_key(text.trim()).ok_or_else(|| key_error(path, "not an ed25519 public key in hex"))
}

pub fn parse_public_key(hex_text: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&parse_hex32(hex_text)?).ok()
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}
