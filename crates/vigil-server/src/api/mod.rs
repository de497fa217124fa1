//! The REST API's handlers, one file per resource. Each handler's first argument is the
//! permission it needs (`Auth<perm::…>`); `routes.rs` lists them all.

pub mod actions;
pub mod alerts;
pub mod audit;
pub mod cases;
pub mod events;
pub mod evidence;
pub mod feeds;
pub mod grants;
pub mod ingest;
pub mod learning;
pub mod metrics;
pub mod names;
pub mod packets;
pub mod reports;
pub mod rules;
pub mod session;
pub mod sla;
pub mod system;
pub mod tokens;
pub mod users;
pub mod verdicts;
pub mod views;

use vigil_store::By;

use crate::auth::Principal;

/// The audit trail's actor for a request: who, and from which address.
pub fn actor(principal: &Principal, from: std::net::SocketAddr) -> By {
    By::new(principal.actor(), principal.client.unwrap_or(from.ip()).to_string())
}
