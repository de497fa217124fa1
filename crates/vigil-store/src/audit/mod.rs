//! The audit trail: a hash chain of records with signed checkpoints (`chain`), the key that signs
//! them (`key`), and reading, exporting and verifying a stored trail (`export`).

pub mod chain;
pub mod export;
pub mod key;

pub use chain::{AuditEntry, AuditRecord, Broken, Checkpoint, GENESIS, Verified};

#[cfg(test)]
mod tamper_tests;
