//! The stored rows an answer carries, with their documents typed: a case's body is a
//! correlated case, an alert's finding an alert, a recommendation the built-in analyst's. The
//! store keeps them as JSON; these types give the OpenAPI document their shapes.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use vigil_model::{AlertId, CaseId, CaseState, UserId};
use vigil_store::{AlertRow, CaseRow};

/// A case: its queried columns, and its whole document with the lifecycle the store keeps.
#[derive(Serialize, JsonSchema)]
pub struct CaseView {
    pub id: CaseId,
    pub title: String,
    pub state: CaseState,
    /// OCSF severity id.
    pub severity: i64,
    pub assignee: Option<UserId>,
    pub first_seen: String,
    pub last_seen: String,
    pub updated_at: String,
    #[schemars(with = "vigil_correlate::Case")]
    pub body: Value,
}

impl From<CaseRow> for CaseView {
    fn from(row: CaseRow) -> CaseView {
        let CaseRow { id, title, state, severity, assignee, first_seen, last_seen, updated_at, body } = row;
        CaseView { id, title, state, severity, assignee, first_seen, last_seen, updated_at, body }
    }
}

/// An alert with the finding it rests on: its entities, cited evidence and rule.
#[derive(Serialize, JsonSchema)]
pub struct AlertView {
    pub id: AlertId,
    pub case_id: Option<CaseId>,
    pub rule_id: String,
    pub title: String,
    /// OCSF severity id.
    pub severity: i64,
    pub time: String,
    #[schemars(with = "vigil_correlate::Alert")]
    pub finding: Value,
}

impl From<AlertRow> for AlertView {
    fn from(row: AlertRow) -> AlertView {
        let AlertRow { id, case_id, rule_id, title, severity, time, finding } = row;
        AlertView { id, case_id, rule_id, title, severity, time, finding }
    }
}

/// The alerts as views, in their order.
pub fn alerts(rows: Vec<AlertRow>) -> Vec<AlertView> {
    rows.into_iter().map(AlertView::from).collect()
}

/// A recommendation document, as the built-in analyst drafted it.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
pub struct RecommendationBody(#[schemars(with = "vigil_triage::Recommendation")] pub Value);
