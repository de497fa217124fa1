//! Structured logs for the long-running commands (`serve`, `demo`): `tracing` events from the
//! engine and the server, to standard error, at the level `VIGIL_LOG` names (an `EnvFilter`
//! directive such as `info` or `vigil_engine=debug`). One-shot commands print their own output.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber, with `default` as the filter when `VIGIL_LOG` is unset or invalid.
pub fn init(default: &str) {
    let filter = std::env::var("VIGIL_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second call (tests starting several servers in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
