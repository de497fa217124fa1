//! The SOC's reports over the API: the weekly scorecard and a framework's compliance report as
//! JSON (the pages show the same).

use axum::Json;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use schemars::JsonSchema;
use serde::Deserialize;
use vigil_report::compliance::{ComplianceReport, RunningRule};
use vigil_report::scorecard::{RuleInfo, Scorecard, Week};

use crate::auth::{Auth, Permission, Principal, perm};
use crate::error::{ApiError, ApiResult, Code};
use crate::params::Params;
use crate::state::AppState;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekQuery {
    /// The ISO week, like 2026-W48; this week by default.
    week: Option<String>,
}

/// The week asked for, or this one.
pub(crate) fn week_of(state: &AppState, text: Option<&str>) -> ApiResult<Week> {
    match text {
        Some(text) => Week::parse(text).map_err(|e| ApiError::new(Code::BadRequest, format!("week: {e}"))),
        None => Ok(Week::containing(state.store.clock().now())),
    }
}

/// The week's scorecard, against the rules the engine runs now. Someone who reads cases only
/// through grants (an auditor) sees the figures, and of the cases only those granted.
pub(crate) async fn scorecard_of(
    state: &AppState,
    week: Week,
    who: &Principal,
    from: SocketAddr,
) -> ApiResult<Scorecard> {
    let rules: Vec<RuleInfo> =
        state.engine.rules().into_iter().map(|r| RuleInfo { id: r.id, title: r.title }).collect();
    let mut card =
        vigil_report::scorecard::build(&state.store, week, Some(&rules)).await.map_err(ApiError::internal)?;
    if !who.may(Permission::CaseRead) {
        let named = card.sla_breaches.iter().map(|b| b.case_id.clone());
        let named = named.chain(card.metrics.evidence.incomplete.iter().map(|(c, _)| c.clone()));
        let named = named.chain(card.proposals_waiting.iter().map(|p| p.case_id.clone()));
        let granted = super::grants::covered_ids(state, who, named.collect::<Vec<_>>()).await?;
        card.sla_breaches.retain(|b| granted.contains(&b.case_id));
        card.proposals_waiting.retain(|p| granted.contains(&p.case_id));
        card.metrics.evidence.incomplete.retain(|(c, _)| granted.contains(c));
        super::grants::audit_report_view(state, who, from, &format!("scorecard {week}")).await?;
    }
    Ok(card)
}

pub async fn scorecard(
    auth: Auth<perm::ReportRead>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params<WeekQuery>,
) -> ApiResult<Json<Scorecard>> {
    let week = week_of(&state, q.week.as_deref())?;
    Ok(Json(scorecard_of(&state, week, &auth.principal, peer).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    /// The framework: soc2, iso27001, hipaa, pci-dss, or one the configuration adds.
    framework: String,
    /// The period's start (RFC 3339); 30 days before its end by default.
    from: Option<String>,
    /// The period's end (RFC 3339); now by default.
    to: Option<String>,
}

/// The framework's report over the period asked for.
pub(crate) async fn compliance_of(
    state: &AppState,
    framework: &str,
    from: Option<&str>,
    to: Option<&str>,
    who: &Principal,
    peer: SocketAddr,
) -> ApiResult<ComplianceReport> {
    let framework = state.frameworks.iter().find(|f| f.framework == framework).ok_or_else(|| {
        let names: Vec<&str> = state.frameworks.iter().map(|f| f.framework.as_str()).collect();
        ApiError::new(Code::BadRequest, format!("framework: one of {}", names.join(", ")))
    })?;
    let time = |flag: &str, text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .map_err(|_| ApiError::new(Code::BadRequest, format!("{flag}: a time like 2026-11-01T00:00:00Z")))
    };
    let to = match to {
        Some(t) => time("to", t)?,
        None => state.store.clock().now(),
    };
    let from = match from {
        Some(t) => time("from", t)?,
        None => to - chrono::Duration::days(30),
    };
    if from >= to || to - from > chrono::Duration::days(400) {
        return Err(ApiError::new(Code::BadRequest, "from: before to, and at most 400 days before it"));
    }
    let rules: Vec<RunningRule> = state
        .engine
        .rules()
        .into_iter()
        .map(|r| RunningRule { id: r.id, title: r.title, tags: r.tags })
        .collect();
    let (from, to) = (vigil_store::time::stamp(from), vigil_store::time::stamp(to));
    let mut report = vigil_report::compliance::build(&state.store, framework, &rules, &from, &to)
        .await
        .map_err(ApiError::internal)?;
    if !who.may(Permission::CaseRead) {
        let named: Vec<String> =
            report.controls.iter().flat_map(|c| c.cases.iter().map(|k| k.id.clone())).collect();
        let granted = super::grants::covered_ids(state, who, named).await?;
        for control in &mut report.controls {
            control.cases.retain(|c| granted.contains(&c.id));
            control.steps.retain(|s| granted.contains(&s.case));
        }
        let what = format!("compliance {} {} to {}", report.framework, report.from, report.to);
        super::grants::audit_report_view(state, who, peer, &what).await?;
    }
    Ok(report)
}

pub async fn compliance(
    auth: Auth<perm::ReportRead>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params<ComplianceQuery>,
) -> ApiResult<Json<ComplianceReport>> {
    let report =
        compliance_of(&state, &q.framework, q.from.as_deref(), q.to.as_deref(), &auth.principal, peer)
            .await?;
    Ok(Json(report))
}
