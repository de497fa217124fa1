//! Vigil's SOC server: the REST API (`routes` lists every route and who may call it), accounts
//! and roles (`auth`), and the ingest listeners besides HTTP (`syslog`, `watch`). The only crate
//! that knows HTTP.

pub mod api;
pub mod auth;
mod body;
pub mod error;
pub mod learning;
mod learning_write;
mod params;
pub mod quota;
mod refusals;
pub mod respond;
pub mod routes;
pub mod sla;
pub mod state;
pub mod syslog;
pub mod ui;
pub mod watch;

use std::net::SocketAddr;

pub use state::{AppState, Limits, Reloader};

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = std::sync::Arc::clone(&state.closing);
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    let app = routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
