//! The policy document: YAML that names, rule by rule, which requests run automatically, which
//! need approvals and from whom, and which never run. Every name in it (action, category, role,
//! environment, severity) is checked as it is read, so an error points at its line.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use vigil_model::{ActionCategory, ActionKind, Severity};

use crate::context::{Criticality, Environment};
use crate::error::{Error, Problem};

/// The roles whose holders may approve; an auditor reads and an ingest account sends, neither
/// ever approves, whatever a policy says.
pub const APPROVER_ROLES: &[&str] = &["admin", "lead", "responder", "analyst"];

/// The most approvals a rule may ask for: more people than a SOC shift has is a rule no request
/// can ever pass, which `forbidden` says more plainly.
pub const MAX_APPROVALS: u8 = 5;

/// A parsed policy, with the SHA-256 of the text it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    pub rules: Vec<Rule>,
    /// The tier of a request no rule matches; `None`: forbidden.
    pub default: Option<Tier>,
    /// How long a request waits for its approvals.
    pub expires_in_secs: u64,
    pub sha256: String,
    /// Each rule's line in the text, for messages.
    pub lines: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub when: When,
    pub decide: Tier,
    /// A pre-approved emergency rule: its conditions are spelled out in `when`, and the trail
    /// says an emergency rule decided.
    #[serde(default)]
    pub emergency: bool,
}

/// What a rule matches; every condition given must hold (an empty `when` matches everything).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Any of these actions.
    #[serde(default)]
    pub action: Option<Vec<ActionName>>,
    /// Any of these categories.
    #[serde(default)]
    pub category: Option<Vec<ActionCategory>>,
    /// `production` also matches a target whose environment is unknown.
    #[serde(default)]
    pub environment: Option<Environment>,
    #[serde(default)]
    pub criticality_at_least: Option<Criticality>,
    /// The target carries any of these tags (`crown_jewel`).
    #[serde(default)]
    pub tags_any: Option<Vec<String>>,
    #[serde(default)]
    pub severity_at_least: Option<SeverityName>,
    #[serde(default)]
    pub confidence_at_least: Option<f64>,
    /// Matches when any count of the blast radius is above its bound.
    #[serde(default)]
    pub blast_radius_over: Option<Bounds>,
    #[serde(default)]
    pub reversible: Option<bool>,
    /// Facts the caller established, all of which must hold (`token_seen_from_ioc`).
    #[serde(default)]
    pub facts_all: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub users: Option<u32>,
    pub hosts: Option<u32>,
    pub services: Option<u32>,
    pub accounts: Option<u32>,
}

/// How much friction a request meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    Automatic,
    /// `required` distinct people, none the requester, each holding one of `roles`.
    Approvals {
        required: u8,
        roles: BTreeSet<String>,
    },
    Forbidden,
}

impl Tier {
    /// The height of the bar: how many people it takes (forbidden: more than can ever be).
    pub fn bar(&self) -> u16 {
        match self {
            Tier::Automatic => 0,
            Tier::Approvals { required, .. } => u16::from(*required),
            Tier::Forbidden => u16::MAX,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tier::Automatic => f.write_str("automatic"),
            Tier::Approvals { required: 1, roles } => write!(f, "one person ({})", list(roles)),
            Tier::Approvals { required: 2, roles } => write!(f, "two people ({})", list(roles)),
            Tier::Approvals { required, roles } => write!(f, "{required} people ({})", list(roles)),
            Tier::Forbidden => f.write_str("forbidden"),
        }
    }
}

fn list(roles: &BTreeSet<String>) -> String {
    roles.iter().map(String::as_str).collect::<Vec<_>>().join(" or ")
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tier, D::Error> {
        d.deserialize_any(TierVisitor)
    }
}

/// Reads `automatic`, `forbidden` or `{approvals: N, roles: [...]}` in place, so an error points
/// at the value that is wrong and not at the rule.
struct TierVisitor;

impl<'de> serde::de::Visitor<'de> for TierVisitor {
    type Value = Tier;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("automatic, forbidden or {approvals: N, roles: [...]}")
    }

    fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<Tier, E> {
        match word {
            "automatic" => Ok(Tier::Automatic),
            "forbidden" => Ok(Tier::Forbidden),
            _ => Err(E::custom(format!(
                "decide: {word:?} is not automatic, forbidden or {{approvals: N, roles: [...]}}"
            ))),
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Tier, A::Error> {
        use serde::de::Error as _;
        let (mut required, mut roles): (Option<Count>, Option<Vec<ApproverRole>>) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "approvals" => required = Some(map.next_value()?),
                "roles" => roles = Some(map.next_value()?),
                other => {
                    return Err(A::Error::custom(format!(
                        "decide: unknown field {other:?} (approvals, roles)"
                    )));
                }
            }
        }
        let required = required.ok_or_else(|| A::Error::custom("decide: approvals is missing"))?;
        let roles = roles.ok_or_else(|| A::Error::custom("decide: roles is missing"))?;
        if roles.is_empty() {
            return Err(A::Error::custom("roles: name at least one role that may approve"));
        }
        Ok(Tier::Approvals { required: required.0, roles: roles.into_iter().map(|r| r.0).collect() })
    }
}

/// A number of approvals, 1 to [`MAX_APPROVALS`].
struct Count(u8);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        match u8::deserialize(d)? {
            0 => Err(serde::de::Error::custom("approvals: 0 is `automatic`; say so")),
            n if n > MAX_APPROVALS => Err(serde::de::Error::custom(format!(
                "approvals: at most {MAX_APPROVALS} (a bar no shift can pass is `forbidden`)"
            ))),
            n => Ok(Count(n)),
        }
    }
}

/// A role that may approve.
struct ApproverRole(String);

impl<'de> Deserialize<'de> for ApproverRole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ApproverRole, D::Error> {
        let role = String::deserialize(d)?;
        if APPROVER_ROLES.contains(&role.as_str()) {
            Ok(ApproverRole(role))
        } else {
            Err(serde::de::Error::custom(format!(
                "roles: {role:?} cannot approve; approvers are {}",
                APPROVER_ROLES.join(", ")
            )))
        }
    }
}

/// An action's name, checked against the catalog as it is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionName(pub &'static ActionKind);

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ActionName, D::Error> {
        let name = String::deserialize(d)?;
        ActionKind::named(&name)
            .map(ActionName)
            .ok_or_else(|| serde::de::Error::custom(format!("action: Vigil has no action named {name:?}")))
    }
}

/// A severity by its name (`high`), checked as it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeverityName(pub Severity);

impl<'de> Deserialize<'de> for SeverityName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SeverityName, D::Error> {
        let name = String::deserialize(d)?;
        let severity: Severity =
            serde_json::from_value(serde_json::Value::String(name.clone())).map_err(|_| {
                serde::de::Error::custom(format!("severity: {name:?} is not low, medium, high, critical…"))
            })?;
        Ok(SeverityName(severity))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: u32,
    name: String,
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    default: Option<Tier>,
    rules: Vec<Rule>,
}

impl Policy {
    /// Reads a policy, refusing anything it does not understand, with the line.
    pub fn parse(text: &str) -> Result<Policy, Error> {
        let raw: Raw = yaml_serde::from_str(text).map_err(|e| {
            Error::Invalid(vec![Problem { line: e.location().map(|l| l.line()), message: e.to_string() }])
        })?;
        let lines = rule_lines(text, raw.rules.len());
        let mut problems = Vec::new();
        if raw.version != 1 {
            problems.push(Problem { line: Some(1), message: format!("version: {} is not 1", raw.version) });
        }
        let mut names = BTreeSet::new();
        for (i, rule) in raw.rules.iter().enumerate() {
            let line = lines.get(i).copied();
            if rule.name.trim().is_empty() {
                problems.push(Problem { line, message: "name: every rule has one".into() });
            } else if !names.insert(rule.name.as_str()) {
                problems.push(Problem { line, message: format!("name: {:?} names two rules", rule.name) });
            }
            if rule.when.confidence_at_least.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
                problems.push(Problem { line, message: "confidence_at_least: 0 to 1".into() });
            }
            if rule.when == When::default() && i + 1 < raw.rules.len() {
                problems.push(Problem {
                    line,
                    message: format!(
                        "rule {:?} matches every request: the rules after it never decide",
                        rule.name
                    ),
                });
            }
            if rule.emergency && rule.when.facts_all.as_ref().is_none_or(Vec::is_empty) {
                problems.push(Problem {
                    line,
                    message: format!(
                        "rule {:?} is an emergency rule without conditions: spell out the facts it needs in when.facts_all",
                        rule.name
                    ),
                });
            }
        }
        let expires_in_secs = match &raw.expires_in {
            None => 4 * 3600,
            Some(text) => match duration_secs(text) {
                Some(secs) if secs > 0 => secs,
                _ => {
                    problems.push(Problem {
                        line: None,
                        message: format!("expires_in: {text:?} is not a duration like 30m, 4h or 1d"),
                    });
                    0
                }
            },
        };
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        let sha256 = Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Policy { name: raw.name, rules: raw.rules, default: raw.default, expires_in_secs, sha256, lines })
    }

    /// A policy with no rules and no default: every request is forbidden. What a server stands
    /// on if it has no policy it can read.
    pub fn forbid_everything() -> Policy {
        Policy {
            name: "forbid-everything".into(),
            rules: Vec::new(),
            default: None,
            expires_in_secs: 3_600,
            sha256: "0".repeat(64),
            lines: Vec::new(),
        }
    }

    /// What a careful reader should know that is not an error.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.default.is_none() {
            out.push(Problem {
                line: None,
                message: "no default: a request no rule matches is forbidden".into(),
            });
        }
        if matches!(self.default, Some(Tier::Automatic)) {
            out.push(Problem {
                line: None,
                message: "default: automatic runs every action no rule names without a person".into(),
            });
        }
        out
    }
}

/// The line each `- name:` of the rules list starts on, in order.
fn rule_lines(text: &str, count: usize) -> Vec<usize> {
    let mut in_rules = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("rules:") {
            in_rules = true;
        } else if in_rules && !line.starts_with([' ', '-', '#']) && !line.trim().is_empty() {
            in_rules = false;
        } else if in_rules && line.trim_start().starts_with("- ") && line.trim_start().len() > 2 {
            let indent = line.len() - line.trim_start().len();
            if indent <= 2 {
                lines.push(i + 1);
            }
        }
    }
    lines.truncate(count);
    lines
}

/// `90s`, `30m`, `4h`, `1d` in seconds.
pub fn duration_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        match Policy::parse(text) {
            Err(Error::Invalid(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_action_is_an_error_on_its_line() {
        let text = "version: 1\nname: t\nrules:\n  - name: a\n    when: {action: [isolate_host]}\n    decide: automatic\n  - name: b\n    when:\n      action: [format_disk]\n    decide: forbidden\n";
        let found = problems(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, Some(9), "{found:?}");
        assert!(found[0].message.contains("format_disk"), "{found:?}");
    }

    #[test]
    fn an_auditor_or_ingest_role_cannot_be_named_as_an_approver() {
        for role in ["auditor", "ingest", "root"] {
            let text = format!(
                "version: 1\nname: t\nrules:\n  - name: a\n    decide: {{approvals: 1, roles: [{role}]}}\n"
            );
            let found = problems(&text);
            assert!(found[0].message.contains("cannot approve"), "{found:?}");
            assert_eq!(found[0].line, Some(5), "{found:?}");
        }
    }

    #[test]
    fn duplicate_names_a_catch_all_before_other_rules_and_a_bare_emergency_rule_are_errors() {
        let text = "version: 1\nname: t\nrules:\n  - name: all\n    decide: automatic\n  - name: all\n    when: {category: [deletion]}\n    decide: forbidden\n  - name: sos\n    emergency: true\n    when: {action: [revoke_sessions]}\n    decide: automatic\n";
        let found = problems(text);
        let text =
            found.iter().map(|p| format!("{:?}: {}", p.line, p.message)).collect::<Vec<_>>().join("\n");
        assert!(text.contains("Some(4): rule \"all\" matches every request"), "{text}");
        assert!(text.contains("Some(6): name: \"all\" names two rules"), "{text}");
        assert!(text.contains("Some(9): rule \"sos\" is an emergency rule"), "{text}");
    }

    #[test]
    fn zero_approvals_or_too_many_are_refused() {
        for (n, why) in [(0, "is `automatic`"), (9, "at most 5")] {
            let text = format!(
                "version: 1\nname: t\nrules:\n  - name: a\n    decide: {{approvals: {n}, roles: [lead]}}\n"
            );
            assert!(problems(&text)[0].message.contains(why), "{n}");
        }
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(duration_secs("4h"), Some(14_400));
        assert_eq!(duration_secs("30m"), Some(1_800));
        assert_eq!(duration_secs("1d"), Some(86_400));
        assert_eq!(duration_secs("h"), None);
        assert_eq!(duration_secs("5 weeks"), None);
    }
}
