//! Vigil's pipeline, wired. `vigil hunt` and `vigil serve` share it:
//!
//! - [`alerts`] turns every kind of alert into what clustering reads.
//! - [`decode`] turns an upload into events and dead letters ready to store.
//! - [`pipeline`] detects (Sigma, correlations across batches, behavioural detectors).
//! - [`live`] keeps cases up to date as alerts arrive, with ids that stay put.
//! - [`ingest`] acknowledges a batch only once it is durable, committing concurrent batches
//!   together, and refuses work beyond its queue instead of growing.
//! - [`runner`] reads the store from its watermark and drives the rest.
//! - [`cluster`] spreads the same work over nodes: ingest publishes to NATS JetStream, workers
//!   lease partitions of the stream in the database and run an engine for each.
//! - [`settle`] waits until what was sent has been through the pipeline.
//! - [`verdicts`] keeps analysts' verdicts with their cases, as the history triage weighs.

pub mod alerts;
pub mod cluster;
pub mod decode;
mod enrich;
mod error;
pub mod ingest;
pub mod learn;
pub mod live;
mod owners;
pub mod pipeline;
pub mod proposals;
pub mod runner;
pub mod settle;
pub mod tenant_cases;
pub mod verdicts;

pub use error::{Error, Result};
