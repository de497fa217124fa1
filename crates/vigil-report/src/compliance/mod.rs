//! Compliance mapping: catalogues of framework controls mapped to what in Vigil supports them
//! (`catalogue`), and the report of a framework over a period from the store (`report`), as
//! JSON, text or escaped HTML (`html`).

pub mod catalogue;
#[cfg(test)]
mod compliance_tests;
pub mod html;
pub mod report;

pub use catalogue::{EvidenceKind, Framework, SHIPPED};
pub use report::{ComplianceReport, RunningRule, assemble};

use vigil_store::Store;

use crate::Result;

/// The report of `framework` over `[from, to)` (stored times), read from `store` now.
pub async fn build(
    store: &Store,
    framework: &Framework,
    rules: &[RunningRule],
    from: &str,
    to: &str,
) -> Result<ComplianceReport> {
    let (cases, records) = crate::metrics::cases_made(store, from, to).await?;
    Ok(assemble(framework, rules, &cases, &records, from.to_owned(), to.to_owned(), store.clock().stamp()))
}
