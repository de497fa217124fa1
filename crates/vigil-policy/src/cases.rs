//! Policy tests written beside the policy, as OPA users write them: each case a request and
//! what is known of it, with the tier it must meet (and the rule, when it says). `vigil policy
//! test` runs them; the default policy's own run in this crate's tests.

use serde::Deserialize;
use vigil_model::{ActionRequest, Entity, EntityKind, Requester};

use crate::context::Context;
use crate::decide::{Decision, decide};
use crate::document::{Policy, Tier};
use crate::error::Error;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tests: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: RequestSpec,
    #[serde(default)]
    pub context: Context,
    pub expect: Expect,
    /// The rule that must decide (a floor's suffix may follow it).
    #[serde(default)]
    pub rule: Option<String>,
}

/// A request as a test or `explain` writes it: `target: host ws-12`, `requested_by: model m`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    pub action: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub parameters: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub requested_by: Option<String>,
}

impl RequestSpec {
    pub fn to_request(&self) -> Result<ActionRequest, String> {
        let target = self.target.as_deref().map(entity).transpose()?;
        let requested_by =
            match self.requested_by.as_deref().map(|r| r.split_once(' ').unwrap_or(("person", r))) {
                None => Requester::Person("someone".into()),
                Some(("person", name)) => Requester::Person(name.into()),
                Some(("model", name)) => Requester::Model(name.into()),
                Some(("playbook", id)) => Requester::Playbook(id.into()),
                Some((other, _)) => {
                    return Err(format!("requested_by: {other:?} is not person, model or playbook"));
                }
            };
        Ok(ActionRequest {
            action: self.action.clone(),
            target,
            parameters: self.parameters.clone(),
            case: None,
            requested_by,
            plan_sha256: None,
        })
    }
}

/// `kind key` (`host ws-12`, `user corp\alice`) as an entity.
pub fn entity(text: &str) -> Result<Entity, String> {
    let (kind, key) =
        text.trim().split_once(' ').ok_or_else(|| format!("{text:?}: write a target as `kind key`"))?;
    let kind: EntityKind = serde_json::from_value(serde_json::Value::String(kind.into()))
        .map_err(|_| format!("{kind:?} is not an entity kind (user, host, ip, access_key, …)"))?;
    Entity::new(kind, key).ok_or_else(|| format!("{key:?} is not a {} Vigil can name", kind.as_str()))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Automatic,
    Forbidden,
    Approvals(u8),
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Expect, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Approvals {
            approvals: u8,
        }
        let value = yaml_serde::Value::deserialize(d)?;
        match value.as_str() {
            Some("automatic") => Ok(Expect::Automatic),
            Some("forbidden") => Ok(Expect::Forbidden),
            Some(other) => Err(serde::de::Error::custom(format!(
                "expect: {other:?} is not automatic, forbidden or {{approvals: N}}"
            ))),
            None => yaml_serde::from_value::<Approvals>(value)
                .map(|a| Expect::Approvals(a.approvals))
                .map_err(serde::de::Error::custom),
        }
    }
}

impl Expect {
    fn holds(&self, tier: &Tier) -> bool {
        match (self, tier) {
            (Expect::Automatic, Tier::Automatic) | (Expect::Forbidden, Tier::Forbidden) => true,
            (Expect::Approvals(n), Tier::Approvals { required, .. }) => n == required,
            _ => false,
        }
    }
}

/// One case run: what it wanted and what the policy decided.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub decision: Decision,
    pub failure: Option<String>,
}

/// Runs every case of a tests file against `policy`.
pub fn run(policy: &Policy, text: &str) -> Result<Vec<Outcome>, Error> {
    let file: File = yaml_serde::from_str(text).map_err(|e| Error::Tests(e.to_string()))?;
    if file.tests.is_empty() {
        return Err(Error::Tests("no tests".into()));
    }
    file.tests
        .into_iter()
        .map(|case| {
            let request =
                case.request.to_request().map_err(|e| Error::Tests(format!("{}: {e}", case.name)))?;
            let decision = decide(policy, &request, &case.context);
            let mut failure = None;
            if !case.expect.holds(&decision.tier) {
                failure = Some(format!(
                    "wanted {:?}, the policy decided {} ({})",
                    case.expect, decision.tier, decision.why
                ));
            } else if let Some(rule) = &case.rule
                && decision.rule != *rule
                && !decision.rule.starts_with(&format!("{rule} + "))
            {
                failure = Some(format!("wanted rule {rule:?} to decide; {:?} did", decision.rule));
            }
            Ok(Outcome { name: case.name, decision, failure })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_passes_its_own_tests() {
        let policy = crate::default_policy().expect("the shipped policy parses");
        assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
        let outcomes = run(&policy, crate::DEFAULT_POLICY_TESTS).expect("the shipped tests parse");
        let failed: Vec<String> =
            outcomes.iter().filter_map(|o| o.failure.as_ref().map(|f| format!("{}: {f}", o.name))).collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        assert!(outcomes.len() >= 20);
    }

    #[test]
    fn a_test_that_expects_the_wrong_tier_fails_with_what_was_decided() {
        let policy = crate::default_policy().expect("policy");
        let text = "tests:\n  - name: wrong\n    request: {action: isolate_host, target: host ws-12}\n    expect: automatic\n";
        let outcomes = run(&policy, text).expect("runs");
        let failure = outcomes[0].failure.as_deref().expect("it fails");
        assert!(failure.contains("one person") && failure.contains("host-isolation"), "{failure}");
    }

    #[test]
    fn a_bad_target_or_requester_is_an_error_naming_the_case() {
        let policy = crate::default_policy().expect("policy");
        for (request, why) in [
            ("{action: isolate_host, target: ws-12}", "kind key"),
            ("{action: isolate_host, target: planet mars}", "not an entity kind"),
            ("{action: enrich, requested_by: robot r2}", "not person, model or playbook"),
        ] {
            let text = format!("tests:\n  - name: bad\n    request: {request}\n    expect: automatic\n");
            let err = run(&policy, &text).expect_err("refused").to_string();
            assert!(err.contains("bad: ") && err.contains(why), "{err}");
        }
    }
}
