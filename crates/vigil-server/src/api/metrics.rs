//! `/metrics` for Prometheus: what the store holds at the moment of the scrape (events stored,
//! dead letters, how far the pipeline is behind, cases by state, action requests and runs by
//! status, approvals waiting, SLA breaches by clock), set as gauges on a recorder made for the
//! scrape and rendered in the Prometheus text format. Nothing is counted on the side, so a
//! restart or a second server never makes the figures drift from the store. A token with the
//! `metrics_read` permission reads it (Prometheus's `authorization` with a bearer token).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics::{describe_gauge, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::auth::{Auth, perm};
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn prometheus(_: Auth<perm::MetricsRead>, State(state): State<AppState>) -> ApiResult<Response> {
    let g = state.store.gauges().await?;
    let engine = state.engine.progress();
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        describe_gauge!("vigil_events_stored", "Events stored (accepted and durable)");
        gauge!("vigil_events_stored").set(g.events as f64);
        describe_gauge!("vigil_dead_letters", "Records refused, each kept with its reason");
        gauge!("vigil_dead_letters").set(g.dead_letters as f64);
        describe_gauge!("vigil_pipeline_lag_events", "Events stored that the pipeline has not yet read");
        gauge!("vigil_pipeline_lag_events").set((g.newest_seq - g.pipeline_seq).max(0) as f64);
        describe_gauge!("vigil_engine_alerts", "Alerts the engine raised since it started");
        gauge!("vigil_engine_alerts").set(engine.alerts as f64);
        describe_gauge!("vigil_cases", "Cases by state");
        for (s, n) in &g.cases_by_state {
            gauge!("vigil_cases", "state" => s.clone()).set(*n as f64);
        }
        describe_gauge!("vigil_action_requests", "Response action requests by status");
        for (s, n) in &g.requests_by_status {
            gauge!("vigil_action_requests", "status" => s.clone()).set(*n as f64);
        }
        describe_gauge!("vigil_approvals_waiting", "Action requests waiting for people's approval");
        let waiting =
            g.requests_by_status.iter().find(|(s, _)| s == "awaiting_approval").map_or(0, |(_, n)| *n);
        gauge!("vigil_approvals_waiting").set(waiting as f64);
        describe_gauge!("vigil_action_runs", "Response action runs by outcome");
        for (s, n) in &g.runs_by_status {
            gauge!("vigil_action_runs", "outcome" => s.clone()).set(*n as f64);
        }
        describe_gauge!("vigil_sla_breaches", "SLA breaches recorded, by clock");
        for (c, n) in &g.sla_breaches_by_clock {
            gauge!("vigil_sla_breaches", "clock" => c.clone()).set(*n as f64);
        }
    });
    let mut headers = HeaderMap::new();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok((headers, handle.render()).into_response())
}
