//! The audit trail: a hash chain of records with signed checkpoints (`chain`), the key that signs
//! them (`key`), reading, exporting and verifying a stored trail (`export`), and the witnesses
//! that keep its signed heads where the data directory's owner cannot rewrite them (`witness`).

pub mod chain;
pub mod export;
pub mod key;
pub mod witness;

pub use chain::{AuditEntry, AuditRecord, Broken, Checkpoint, GENESIS, Verified};

#[cfg(test)]
mod tamper_tests;
