//! A case and its life: the states of Vigil's pipeline, the closing states, and the one table of
//! legal transitions with who may cause each. Every transition records who made it, when and why; status and verdict
//! use OCSF's names and ids (Incident Finding `status_id`, `verdict_id`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Cause};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
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

/// One legal move and who may cause it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub from: CaseState,
    pub to: CaseState,
    pub by: &'static [Cause],
}

const fn m(from: CaseState, to: CaseState, by: &'static [Cause]) -> Move {
    Move { from, to, by }
}

const ENGINE: &[Cause] = &[Cause::Engine];
const PERSON: &[Cause] = &[Cause::Person];
const PERSON_OR_ENGINE: &[Cause] = &[Cause::Person, Cause::Engine];

/// Every legal transition, and who may cause it; nothing else moves a case.
pub const TRANSITIONS: &[Move] = &[
    // The pipeline, in order. Enrichment may be skipped (a hunt has no inventories).
    m(New, Enriched, ENGINE),
    m(New, Correlated, ENGINE),
    m(Enriched, Correlated, ENGINE),
    m(Correlated, Recommended, ENGINE),
    // Only an approval decision of the response policy approves; only the executor executes.
    m(Recommended, Approved, &[Cause::Policy]),
    m(Approved, Executed, &[Cause::Executor]),
    // Recovered when the rollback or recovery steps ran, or when the owner confirms it.
    m(Executed, Recovered, &[Cause::Executor, Cause::Person]),
    m(Recovered, Learned, PERSON),
    // Back a step: new alerts change the recommendation, and supersede an approval (it must
    // never outlive the evidence it approved); a person or the policy withdraws an approval.
    m(Recommended, Correlated, ENGINE),
    m(Approved, Recommended, &[Cause::Engine, Cause::Person, Cause::Policy]),
    // Closing, from any open state before approval. Auto-triage closes as benign; a merge
    // closes the absorbed case as a duplicate.
    m(New, Resolved, PERSON),
    m(New, FalsePositive, PERSON),
    m(New, Benign, PERSON),
    m(New, Duplicate, PERSON_OR_ENGINE),
    m(Enriched, Resolved, PERSON),
    m(Enriched, FalsePositive, PERSON),
    m(Enriched, Benign, PERSON),
    m(Enriched, Duplicate, PERSON_OR_ENGINE),
    m(Correlated, Resolved, PERSON),
    m(Correlated, FalsePositive, PERSON),
    m(Correlated, Benign, PERSON_OR_ENGINE),
    m(Correlated, Duplicate, PERSON_OR_ENGINE),
    m(Recommended, Resolved, PERSON),
    m(Recommended, FalsePositive, PERSON),
    m(Recommended, Benign, PERSON_OR_ENGINE),
    m(Recommended, Duplicate, PERSON_OR_ENGINE),
    m(Approved, Resolved, PERSON),
    m(Executed, Resolved, PERSON),
    m(Recovered, Resolved, PERSON),
    // After closure: lessons learned, or reopened when something new arrives.
    m(Resolved, Learned, PERSON),
    m(FalsePositive, Learned, PERSON),
    m(Benign, Learned, PERSON),
    m(Resolved, Correlated, PERSON_OR_ENGINE),
    m(FalsePositive, Correlated, PERSON_OR_ENGINE),
    m(Benign, Correlated, PERSON_OR_ENGINE),
    m(Duplicate, Correlated, PERSON_OR_ENGINE),
    m(Learned, Correlated, PERSON_OR_ENGINE),
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

    /// The move from this state to `to`, if the table has one.
    pub fn move_to(self, to: CaseState) -> Option<&'static Move> {
        TRANSITIONS.iter().find(|m| m.from == self && m.to == to)
    }

    /// Whether anyone may move a case from this state to `to`.
    pub fn can_become(self, to: CaseState) -> bool {
        self.move_to(to).is_some()
    }

    /// Whether an actor of kind `cause` may move a case from this state to `to`.
    pub fn can_become_by(self, to: CaseState, cause: Cause) -> bool {
        self.move_to(to).is_some_and(|m| m.by.contains(&cause))
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transition {
    pub from: CaseState,
    pub to: CaseState,
    pub actor: Actor,
    pub at: i64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IllegalTransition {
    #[error("a case cannot go from {from} to {to}")]
    NoSuchMove { from: CaseState, to: CaseState },
    #[error("{} cannot move a case from {from} to {to}; only {} can", by.as_str(), allowed(*from, *to))]
    NotBy { from: CaseState, to: CaseState, by: Cause },
}

fn allowed(from: CaseState, to: CaseState) -> String {
    let by: Vec<&str> =
        from.move_to(to).map(|m| m.by.iter().map(|c| c.as_str()).collect()).unwrap_or_default();
    by.join(" or ")
}

/// A case's state with its history; the only way to change the state is [`Lifecycle::transition`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

    /// Moves to `to`, if the table has the move and `actor` is of a kind that may cause it.
    pub fn transition(
        &mut self,
        to: CaseState,
        actor: &Actor,
        at: i64,
        reason: &str,
    ) -> Result<&Transition, IllegalTransition> {
        let step = step(self.state, to, actor, at, reason)?;
        self.history.push(step);
        self.state = to;
        Ok(&self.history[self.history.len() - 1])
    }

    /// A lifecycle as kept elsewhere: its state and its history, which must be a chain of legal
    /// moves ending in that state (a history may start after `new`: cases stored before their
    /// moves were kept begin where they stood).
    pub fn restore(state: CaseState, history: Vec<Transition>) -> Result<Lifecycle, IllegalTransition> {
        for (i, t) in history.iter().enumerate() {
            step(t.from, t.to, &t.actor, t.at, &t.reason)?;
            if let Some(next) = history.get(i + 1)
                && next.from != t.to
            {
                return Err(IllegalTransition::NoSuchMove { from: t.to, to: next.from });
            }
        }
        if let Some(last) = history.last()
            && last.to != state
        {
            return Err(IllegalTransition::NoSuchMove { from: last.to, to: state });
        }
        Ok(Lifecycle { state, history })
    }
}

/// Whether closing a case as `to` needs a second person with the lead role: a benign or
/// false-positive closing of a case that is high or critical (OCSF severity id 4 or more), or
/// that the built-in analyst judged malicious. Until the second person confirms, nothing changes
/// and no verdict is recorded. (The response policy takes this rule over when it lands.)
pub fn close_needs_second_person(to: CaseState, severity_id: i64, judged_malicious: bool) -> bool {
    matches!(to, CaseState::Benign | CaseState::FalsePositive)
        && (severity_id >= i64::from(crate::Severity::High.id()) || judged_malicious)
}

/// One move from `from` to `to` by `actor`, if the table has it and the actor's kind may make
/// it: the check every state change passes, wherever its history is kept.
pub fn step(
    from: CaseState,
    to: CaseState,
    actor: &Actor,
    at: i64,
    reason: &str,
) -> Result<Transition, IllegalTransition> {
    let Some(allowed) = from.move_to(to) else {
        return Err(IllegalTransition::NoSuchMove { from, to });
    };
    let by = actor.cause();
    if !allowed.by.contains(&by) {
        return Err(IllegalTransition::NotBy { from, to, by });
    }
    Ok(Transition { from, to, actor: actor.clone(), at, reason: reason.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Component;

    fn engine() -> Actor {
        Actor::vigil(Component::Engine)
    }

    fn alice() -> Actor {
        Actor::user("alice")
    }

    #[test]
    fn the_pipeline_runs_from_new_to_learned_each_step_by_its_own_actor() {
        let mut case = Lifecycle::default();
        let steps = [
            (Correlated, engine()),
            (Recommended, engine()),
            (Approved, Actor::vigil(Component::Policy)),
            (Executed, Actor::vigil(Component::Executor)),
            (Recovered, Actor::vigil(Component::Executor)),
            (Learned, alice()),
        ];
        for (i, (to, actor)) in steps.iter().enumerate() {
            case.transition(*to, actor, i as i64, "next step").expect("legal");
        }
        assert_eq!(case.state(), Learned);
        assert_eq!(case.history().len(), steps.len());
        assert_eq!(case.history()[0].from, New);
        assert_eq!(case.history()[5].actor, alice());
    }

    #[test]
    fn an_illegal_transition_is_refused_and_changes_nothing() {
        let mut case = Lifecycle::default();
        assert_eq!(
            case.transition(Executed, &alice(), 0, "skip approval"),
            Err(IllegalTransition::NoSuchMove { from: New, to: Executed })
        );
        assert_eq!(case.state(), New);
        assert!(case.history().is_empty());
    }

    #[test]
    fn a_person_cannot_approve_or_execute_and_the_engine_cannot_close_as_resolved() {
        let mut case = Lifecycle::default();
        case.transition(Correlated, &engine(), 0, "clustered").expect("legal");
        case.transition(Recommended, &engine(), 0, "drafted").expect("legal");
        let refused = case.transition(Approved, &alice(), 1, "looks right").expect_err("refused");
        assert_eq!(refused, IllegalTransition::NotBy { from: Recommended, to: Approved, by: Cause::Person });
        assert!(refused.to_string().contains("only the approval policy"), "{refused}");
        assert!(case.transition(Resolved, &engine(), 1, "done").is_err());
        assert_eq!(case.state(), Recommended);
    }

    #[test]
    fn every_open_state_before_approval_can_close_and_no_closed_state_executes() {
        for from in [New, Enriched, Correlated, Recommended] {
            for to in [Resolved, FalsePositive, Benign, Duplicate] {
                assert!(from.can_become_by(to, Cause::Person), "{from} -> {to}");
            }
        }
        for from in CaseState::ALL.into_iter().filter(|s| s.is_closed()) {
            for to in [Approved, Executed, Recovered] {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
        // Nothing reaches `approved` except from `recommended`, and only by the policy.
        let into_approved: Vec<_> = TRANSITIONS.iter().filter(|m| m.to == Approved).collect();
        assert_eq!(into_approved, vec![&m(Recommended, Approved, &[Cause::Policy])]);
        // New alerts on an approved case supersede the approval.
        assert!(Approved.can_become_by(Recommended, Cause::Engine));
    }

    #[test]
    fn a_restored_lifecycle_is_a_chain_of_legal_moves_ending_where_it_stands() {
        let mut case = Lifecycle::default();
        case.transition(Correlated, &engine(), 0, "clustered").expect("legal");
        case.transition(Recommended, &engine(), 1, "drafted").expect("legal");
        let history = case.history().to_vec();
        assert_eq!(Lifecycle::restore(Recommended, history.clone()), Ok(case));
        assert!(Lifecycle::restore(Correlated, history.clone()).is_err(), "ends elsewhere");
        let mut forged = history;
        forged[1].actor = alice();
        forged[1].to = Approved;
        assert!(Lifecycle::restore(Approved, forged).is_err(), "a person cannot approve");
        assert_eq!(Lifecycle::restore(Benign, Vec::new()).map(|l| l.state()), Ok(Benign));
    }

    #[test]
    fn the_table_has_no_duplicates_no_self_loops_and_a_cause_for_every_move() {
        for (i, t) in TRANSITIONS.iter().enumerate() {
            assert_ne!(t.from, t.to);
            assert!(!t.by.is_empty(), "{t:?}");
            assert!(!TRANSITIONS[i + 1..].iter().any(|u| (u.from, u.to) == (t.from, t.to)), "{t:?} twice");
        }
    }
}
