//! The learning loop's settings and its hook on closing: the rules proposals are replayed
//! against (read from disk once, and again after every reload of the engine's rules, so
//! proposals are replayed against what runs), where accepted changes are written, and the tasks
//! a closing files in its own transaction.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use vigil_engine::learn::Learner;
use vigil_model::{CaseId, CaseState};
use vigil_store::LearningTask;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Builds a learner from the rules on disk.
pub type LearnerSource = Arc<dyn Fn() -> Result<Learner, String> + Send + Sync>;

#[derive(Clone)]
pub struct LearningSettings {
    pub learner: LearnerSource,
    /// Where accepted rule changes are written (a folder the engine loads rules from); none:
    /// acceptances of rule changes are refused with the reason.
    pub rules_dir: Option<PathBuf>,
    /// Where accepted playbook edits are written (a folder triage reads playbooks from); none:
    /// acceptances of runbook edits are refused with the reason.
    pub playbooks_dir: Option<PathBuf>,
    /// Commit each accepted change to the git repository of the folder it is written to.
    pub git: bool,
    /// The learner last built, until the rules reload.
    built: Arc<Mutex<Option<Arc<Learner>>>>,
}

impl LearningSettings {
    pub fn new(learner: LearnerSource, rules_dir: Option<PathBuf>) -> LearningSettings {
        LearningSettings { learner, rules_dir, playbooks_dir: None, git: false, built: Arc::default() }
    }

    /// The rules changed (a reload): the next proposal reads them again.
    pub fn forget(&self) {
        if let Ok(mut built) = self.built.lock() {
            *built = None;
        }
    }
}

impl Default for LearningSettings {
    /// Vigil's built-in rules, and nowhere to write.
    fn default() -> LearningSettings {
        LearningSettings::new(
            Arc::new(|| {
                Learner::new(vigil_detect::builtin::files(), vigil_detect::RuleSetConfig::default(), 30)
            }),
            None,
        )
    }
}

/// A learner over the rules as they were at the last load: built once (reading every rule file
/// and compiling them costs most of a second with SigmaHQ's set), again after a reload.
pub async fn learner(state: &AppState) -> ApiResult<Arc<Learner>> {
    let cached = state.learning.built.lock().ok().and_then(|b| b.clone());
    if let Some(learner) = cached {
        return Ok(learner);
    }
    let source = Arc::clone(&state.learning.learner);
    let learner = tokio::task::spawn_blocking(move || source())
        .await
        .map_err(ApiError::internal)?
        .map(Arc::new)
        .map_err(|e| ApiError::internal(format!("the rules for learning did not load: {e}")))?;
    if let Ok(mut built) = state.learning.built.lock() {
        *built = Some(Arc::clone(&learner));
    }
    Ok(learner)
}

/// The tasks a closing to `to` files (filters for a false positive or benign closing,
/// regression tests for a malicious one). Learning never stands in the way of a closing: when the
/// rules cannot be read the closing goes ahead without tasks, and the log says why.
pub async fn tasks_on_closing(state: &AppState, case: &CaseId, to: CaseState) -> Vec<LearningTask> {
    if !matches!(to, CaseState::FalsePositive | CaseState::Benign | CaseState::Resolved) {
        return Vec::new();
    }
    let learner = match learner(state).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(case = %case, error = %e.message, "no learning tasks for this closing");
            return Vec::new();
        }
    };
    let now_ms = state.store.clock().now().timestamp_millis();
    match vigil_engine::learn::tasks_for_closing(&state.store, &learner, case, to, now_ms).await {
        Ok(tasks) => tasks,
        Err(e) => {
            tracing::warn!(case = %case, error = %e, "no learning tasks for this closing");
            Vec::new()
        }
    }
}
