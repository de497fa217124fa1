//! Secrets Vigil hands out (API tokens, session cookies, CSRF tokens) and the hashes it keeps
//! of them. Only the hash is stored; a database dump gives no working credential.

use sha2::{Digest, Sha256};

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new API token: its id (public) and the whole secret (`vgl_<id>_<random>`), shown once.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let id = random_hex(6)?;
    let secret = format!("vgl_{id}_{}", random_hex(20)?);
    Ok((id, secret))
}
