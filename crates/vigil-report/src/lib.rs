//! Vigil's reports: the hunt report, one self-contained HTML file (no scripts, fonts or styles
//! from anywhere else) with the case list and, per case, its ATT&CK tactics, entity graph,
//! merges, alerts and timeline, every string from logs or rules escaped; and incident packets,
//! a case as a signed archive that verifies offline.

pub mod compliance;
mod error;
mod escape;
mod graph;
mod html;
pub mod metrics;
pub mod packet;
mod page;
pub mod scorecard;
pub mod sla;

pub use error::{Error, Result};

pub use escape::html as escape_html;
pub use graph::svg as entity_graph_svg;
pub use html::kill_chain;
pub use html::{HuntReport, render};
