//! Who changes something: a person (signed in, or through one of their API tokens) or one of
//! Vigil's own components. The audit trail names the actor; the case transition table says which
//! kind of actor may cause which move ([`Cause`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of Vigil's own components acting on its own account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The pipeline: clustering, case state as alerts arrive.
    Engine,
    /// The built-in analyst drafting recommendations.
    Triage,
    /// Auto-triage closing a case by its policy.
    AutoTriage,
    /// Retention purging old raw events.
    Retention,
    /// The first start creating the admin account.
    Bootstrap,
    /// `vigil serve` starting: what it decides on its way up (serving a trail that does not
    /// verify, when told to).
    Startup,
    Demo,
    Bench,
    /// The approval policy deciding on a response request.
    Policy,
    /// The response executor running an approved action.
    Executor,
    /// The SLA clocks: recording a breach and proposing its escalation.
    Sla,
    /// The learning loop: proposals filed when a case closes.
    Learning,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Engine => "engine",
            Component::Triage => "triage",
            Component::AutoTriage => "auto-triage",
            Component::Retention => "retention",
            Component::Bootstrap => "bootstrap",
            Component::Startup => "startup",
            Component::Demo => "demo",
            Component::Bench => "bench",
            Component::Policy => "policy",
            Component::Executor => "executor",
            Component::Sla => "sla",
            Component::Learning => "learning",
        }
    }
}

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A person in a signed-in session (or naming themselves at sign-in).
    User { name: String },
    /// A person's API token, by its id.
    Token { id: String, owner: String },
    /// Vigil itself.
    Vigil { component: Component },
}

/// The kinds of actor the case transition table tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// An analyst, lead or responder, directly or through a token.
    Person,
    /// The pipeline (clustering, triage, auto-triage, merges).
    Engine,
    /// An approval decision of the response policy.
    Policy,
    /// The response executor.
    Executor,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Person => "a person",
            Cause::Engine => "the engine",
            Cause::Policy => "the approval policy",
            Cause::Executor => "the executor",
        }
    }
}

impl Actor {
    pub fn user(name: impl Into<String>) -> Actor {
        Actor::User { name: name.into() }
    }

    pub fn vigil(component: Component) -> Actor {
        Actor::Vigil { component }
    }

    /// Which kind of actor this is, for the transition table.
    pub fn cause(&self) -> Cause {
        match self {
            Actor::User { .. } | Actor::Token { .. } => Cause::Person,
            Actor::Vigil { component: Component::Policy } => Cause::Policy,
            Actor::Vigil { component: Component::Executor } => Cause::Executor,
            Actor::Vigil { .. } => Cause::Engine,
        }
    }

    /// The person behind the change, when there is one.
    pub fn person(&self) -> Option<&str> {
        match self {
            Actor::User { name } | Actor::Token { owner: name, .. } => Some(name),
            Actor::Vigil { .. } => None,
        }
    }
}

/// As the audit trail writes it: `alice`, `alice (token 3f2a…)`, `vigil:engine`.
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { name } => f.write_str(name),
            Actor::Token { id, owner } => write!(f, "{owner} (token {id})"),
            Actor::Vigil { component } => write!(f, "vigil:{}", component.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_in_the_audit_trail_as_before_and_know_their_cause() {
        let token = Actor::Token { id: "3f2a".into(), owner: "alice".into() };
        assert_eq!(token.to_string(), "alice (token 3f2a)");
        assert_eq!(token.cause(), Cause::Person);
        assert_eq!(token.person(), Some("alice"));
        assert_eq!(Actor::vigil(Component::AutoTriage).to_string(), "vigil:auto-triage");
        assert_eq!(Actor::vigil(Component::AutoTriage).cause(), Cause::Engine);
        assert_eq!(Actor::vigil(Component::Executor).cause(), Cause::Executor);
        assert_eq!(Actor::vigil(Component::Policy).cause(), Cause::Policy);
    }
}
