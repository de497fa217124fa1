//! Connectors: actions on systems outside Vigil, each configured by the site and added to the
//! registry (`Registry::with`) when it is.

pub mod webhook;

pub use webhook::{Purpose, Webhook, WebhookFormat};
