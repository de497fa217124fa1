//! A case and its life: the states of Vigil's pipeline, the closing states, and the one table of
//! legal transitions. Every transition records who made it, when and why; status and verdict
//! use OCSF's names and ids (Incident Finding `status_id`, `verdict_id`).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    New,
    Enriched,
    Correlated,
    Recommended,
    Approved,
    Executed,
    Recovered,
    Learned,
    Resolved,
    FalsePositive,
    Benign,
    Duplicate,
}

use CaseState::*;

impl CaseState {
    /// Every state, the pipeline's in order, then the closing ones.
    pub const ALL: [CaseState; 12] = [
        New,
        Enriched,
        Correlated,
        Recommended,
        Approved,
        Executed,
        Recovered,
        Learned,
        Resolved,
        FalsePositive,
        Benign,
        Duplicate,
    ];
}

/// Every legal transition, and only those.
pub const TRANSITIONS: &[(CaseState, CaseState)] = &[
    // The pipeline, in order. Enrichment may be skipped (a hunt has no inventories).
    (New, Enriched),
    (New, Correlated),
    (Enriched, Correlated),
    (Correlated, Recommended),
    (Recommended, Approved),
    (Approved, Executed),
    (Executed, Recovered),
    (Recovered, Learned),
    // Back a step: new alerts change the recommendation; an approval is withdrawn.
    (Recommended, Correlated),
    (Approved, Recommended),
    // Closing, from any open state.
    (New, Resolved),
    (New, FalsePositive),
    (New, Benign),
    (New, Duplicate),
    (Enriched, Resolved),
    (Enriched, FalsePositive),
    (Enriched, Benign),
    (Enriched, Duplicate),
    (Correlated, Resolved),
    (Correlated, FalsePositive),
    (Correlated, Benign),
    (Correlated, Duplicate),
    (Recommended, Resolved),
    (Recommended, FalsePositive),
    (Recommended, Benign),
    (Recommended, Duplicate),
    (Approved, Resolved),
    (Executed, Resolved),
    (Recovered, Resolved),
    // After closure: lessons learned, or reopened when something new arrives.
    (Resolved, Learned),
    (FalsePositive, Learned),
    (Benign, Learned),
    (Resolved, Correlated),
    (FalsePositive, Correlated),
    (Benign, Correlated),
    (Duplicate, Correlated),
    (Learned, Correlated),
];

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            New => "new",
            Enriched => "enriched",
            Correlated => "correlated",
            Recommended => "recommended",
            Approved => "approved",
            Executed => "executed",
            Recovered => "recovered",
            Learned => "learned",
            Resolved => "resolved",
            FalsePositive => "false_positive",
            Benign => "benign",
            Duplicate => "duplicate",
        }
    }

    pub fn can_become(self, to: CaseState) -> bool {
        TRANSITIONS.contains(&(self, to))
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Resolved | FalsePositive | Benign | Duplicate | Learned)
    }

    /// OCSF Incident Finding `status_id` and its caption.
    pub fn ocsf_status(self) -> (u8, &'static str) {
        match self {
            New => (1, "New"),
            Enriched | Correlated | Recommended | Approved | Executed | Recovered => (2, "In Progress"),
            Resolved => (4, "Resolved"),
            FalsePositive | Benign | Duplicate | Learned => (5, "Closed"),
        }
    }

    /// OCSF Incident Finding `verdict_id` and its caption, for the states that decide one.
    pub fn ocsf_verdict(self) -> Option<(u8, &'static str)> {
        match self {
            FalsePositive => Some((1, "False Positive")),
            Benign => Some((5, "Benign")),
            Duplicate => Some((10, "Duplicate")),
            Resolved => Some((2, "True Positive")),
            _ => None,
        }
    }
}

impl std::str::FromStr for CaseState {
    type Err = String;

    fn from_str(name: &str) -> Result<CaseState, String> {
        CaseState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
            .ok_or_else(|| format!("no case state is called {name:?}"))
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of state: who, when (ms since the epoch, UTC), why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: CaseState,
    pub to: CaseState,
    pub actor: String,
    pub at: i64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a case cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: CaseState,
    pub to: CaseState,
}

/// A case's state with its history; the only way to change the state is [`Lifecycle::transition`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    state: CaseState,
    history: Vec<Transition>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle { state: New, history: Vec::new() }
    }
}

impl Lifecycle {
    pub fn state(&self) -> CaseState {
        self.state
    }

    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    pub fn transition(
        &mut self,
        to: CaseState,
        actor: &str,
        at: i64,
        reason: &str,
    ) -> Result<&Transition, IllegalTransition> {
        if !self.state.can_become(to) {
            return Err(IllegalTransition { from: self.state, to });
        }
        self.history.push(Transition {
            from: self.state,
            to,
            actor: actor.to_owned(),
            at,
            reason: reason.to_owned(),
        });
        self.state = to;
        Ok(&self.history[self.history.len() - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_runs_from_new_to_learned_and_records_each_step() {
        let mut case = Lifecycle::default();
        let steps = [Enriched, Correlated, Recommended, Approved, Executed, Recovered, Learned];
        for (i, to) in steps.into_iter().enumerate() {
            case.transition(to, "analyst:alice", i as i64, "next step").expect("legal");
        }
        assert_eq!(case.state(), Learned);
        assert_eq!(case.history().len(), steps.len());
        assert_eq!(case.history()[0].from, New);
        assert_eq!(case.history()[0].actor, "analyst:alice");
    }

    #[test]
    fn an_illegal_transition_is_refused_and_changes_nothing() {
        let mut case = Lifecycle::default();
        assert_eq!(
            case.transition(Executed, "x", 0, "skip approval"),
            Err(IllegalTransition { from: New, to: Executed })
        );
        assert_eq!(case.state(), New);
        assert!(case.history().is_empty());
    }

    #[test]
    fn every_open_state_before_approval_can_close_and_no_closed_state_executes() {
        for from in [New, Enriched, Correlated, Recommended] {
            for to in [Resolved, FalsePositive, Benign, Duplicate] {
                assert!(from.can_become(to), "{from} -> {to}");
            }
        }
        for from in CaseState::ALL.into_iter().filter(|s| s.is_closed()) {
            for to in [Approved, Executed, Recovered] {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
        // Nothing reaches `approved` except from `recommended`.
        let into_approved: Vec<_> = TRANSITIONS.iter().filter(|(_, to)| *to == Approved).collect();
        assert_eq!(into_approved, vec![&(Recommended, Approved)]);
    }

    #[test]
    fn the_table_has_no_duplicates_and_no_self_loops() {
        for (i, t) in TRANSITIONS.iter().enumerate() {
            assert_ne!(t.0, t.1);
            assert!(!TRANSITIONS[i + 1..].contains(t), "{t:?} twice");
        }
    }
}
