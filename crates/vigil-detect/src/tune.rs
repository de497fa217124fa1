//! Tuning proposals: a Sigma filter (SigmaHQ's `filter:` format) that excludes what made a
//! rule's false positives benign. The excluded values are chosen from the events themselves: a
//! value qualifies only when every false positive it excludes carries it and no true positive
//! of the rule does, and values that say who acted and from where are preferred to values that
//! say what was touched, which are preferred to anything else. Values that change with every
//! event (times, ids, GUIDs) and the fields the rule itself matched never qualify.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use vigil_model::view::{LogSource, SourceView};

use crate::rule::RuleInfo;

/// One field value that tells benign firings of a rule from its true ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exclusion {
    /// The field as the rule's source names it (dotted for nested fields).
    pub field: String,
    /// A string or an integer.
    pub value: Value,
    /// The false positives it excludes, as indices into the proposal's input.
    pub covers: Vec<usize>,
}

/// A filter for one rule, ready to be reviewed and replayed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FilterProposal {
    /// A UUID derived from the rule and the exclusions, so the same evidence proposes the same id.
    pub id: String,
    pub rule_id: String,
    pub rule_title: String,
    pub logsource: LogSource,
    pub exclusions: Vec<Exclusion>,
    /// False positives no qualifying value tells apart: the filter leaves them firing.
    pub uncovered: Vec<usize>,
}

/// How strongly a field is preferred as an exclusion; `None` never qualifies.
fn preference(path: &str) -> Option<u8> {
    let last = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    let path = path.to_ascii_lowercase();
    if path.starts_with("p_") || GENERIC.contains(&last.as_str()) || VARIES.iter().any(|v| last.contains(v)) {
        return None;
    }
    if WHO.iter().any(|w| last == *w) || path.starts_with("useridentity.") || path.starts_with("actor.") {
        Some(3)
    } else if path.starts_with("requestparameters.")
        || path.starts_with("target.")
        || WHAT.iter().any(|w| last == *w)
    {
        Some(2)
    } else {
        Some(1)
    }
}

/// Who acted and from where: accounts, principals, addresses, clients, hosts and processes.
const WHO: &[&str] = &[
    "user",
    "username",
    "subjectusername",
    "targetusername",
    "accountname",
    "userprincipalname",
    "alternateid",
    "principalid",
    "arn",
    "email",
    "sourceipaddress",
    "ipaddress",
    "clientip",
    "src_ip",
    "callerip",
    "computer",
    "hostname",
    "workstationname",
    "image",
    "parentimage",
    "originalfilename",
    "parentcommandline",
    "invokedby",
];

/// What was touched: objects, files, keys, commands, services.
const WHAT: &[&str] = &[
    "targetobject",
    "targetfilename",
    "commandline",
    "servicename",
    "imagepath",
    "objectname",
    "sharename",
    "pipename",
    "queryname",
    "destinationhostname",
    "bucketname",
    "rolename",
    "policyarn",
    "eventname",
];

/// Fields every record of a source carries with the same few values: excluding on them would
/// silence the rule for the whole source.
const GENERIC: &[&str] = &[
    "awsregion",
    "eventversion",
    "eventtype",
    "eventcategory",
    "managementevent",
    "readonly",
    "recipientaccountid",
    "channel",
    "provider_name",
    "name",
    "level",
    "task",
    "opcode",
    "keywords",
    "version",
    "severity",
    "logsource",
    "eventsource",
    "type",
    "outcome",
    "result",
    // Clients and failures are shared by everyone: a filter on a user agent or an error code
    // would silence the rule for every actor that shares it.
    "useragent",
    "user_agent",
    "errorcode",
    "errormessage",
];

/// How many benign firings a value must be seen in: one benign alert is a verdict on that
/// alert; a value it shares with another benign alert is a pattern worth a filter.
const MIN_SUPPORT: usize = 2;

/// Values that stand for "no value" in one source or another.
const PLACEHOLDERS: &[&str] =
    &["unknown", "none", "null", "n/a", "na", "-", "undefined", "anonymous", "test", "default"];

/// Name fragments of fields that change with every event.
const VARIES: &[&str] = &[
    "time",
    "date",
    "timestamp",
    "recordid",
    "requestid",
    "eventid",
    "uuid",
    "guid",
    "logonid",
    "processid",
    "threadid",
    "sessionid",
    "nonce",
    "sequence",
    "signature",
];

/// A value that is a GUID, a long hex or base64 run, or a time: different on every event.
fn varies(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '{' || c == '}');
    let hexish = v.chars().filter(|c| c.is_ascii_hexdigit()).count();
    let guid = v.len() == 36 && v.chars().filter(|c| *c == '-').count() == 4 && hexish == 32;
    let long_token = v.len() >= 20
        && !v.contains([' ', '\\', '/', '.', '@', ':'])
        && v.chars().any(|c| c.is_ascii_digit());
    let time = v.len() >= 10
        && v.as_bytes()[4] == b'-'
        && v.as_bytes()[7] == b'-'
        && v[..4].bytes().all(|b| b.is_ascii_digit());
    guid || long_token || time
}

/// The record's scalar fields as (dotted path, value), strings and integers only.
fn scalars(fields: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&path, v, out);
                }
            }
            Value::String(s)
                if s.chars().count() >= 3
                    && s.len() <= 256
                    && !varies(s)
                    && !PLACEHOLDERS.contains(&s.to_ascii_lowercase().as_str()) =>
            {
                out.push((prefix.to_owned(), value.clone()))
            }
            // Small numbers (flags, counts, levels) are shared by everything.
            Value::Number(n) if n.as_u64().is_some_and(|n| n >= 1000) => {
                out.push((prefix.to_owned(), value.clone()))
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", fields, &mut out);
    out
}

/// The key a value is compared under: Sigma compares strings without regard to case.
fn key(path: &str, value: &Value) -> (String, String) {
    let v = match value {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    };
    (path.to_owned(), v)
}

/// What a proposal must never exclude.
#[derive(Debug, Default)]
pub struct Keep {
    /// Every (field, value) of the rule's own firings judged malicious.
    fields: HashSet<(String, String)>,
    /// Every value of any event judged malicious, whatever its rule or field: an account, an
    /// address or a host that took part in an attack is never excluded from anything.
    tainted: HashSet<String>,
}

impl Keep {
    /// What the rule's own malicious firings, and every malicious event, rule out.
    pub fn new(own: &[&SourceView], malicious: &[&SourceView]) -> Keep {
        let fields = own.iter().flat_map(|v| scalars(&v.fields)).map(|(p, v)| key(&p, &v)).collect();
        let tainted = malicious.iter().flat_map(|v| scalars(&v.fields)).map(|(p, v)| key(&p, &v).1).collect();
        Keep { fields, tainted }
    }

    fn forbids(&self, k: &(String, String)) -> bool {
        self.fields.contains(k) || self.tainted.contains(&k.1)
    }
}

/// Proposes a filter for `rule` that excludes the `false_positives` and nothing `keep` rules
/// out. `matched` are the fields the rule matched on, which every firing shares. `None` when
/// nothing qualifies.
pub fn propose_filter(
    rule: &RuleInfo,
    false_positives: &[&SourceView],
    keep: &Keep,
    matched: &HashSet<String>,
) -> Option<FilterProposal> {
    // Candidate → (preference, value, the false positives carrying it).
    let mut candidates: BTreeMap<(String, String), (u8, Value, BTreeSet<usize>)> = BTreeMap::new();
    for (i, view) in false_positives.iter().enumerate() {
        for (path, value) in scalars(&view.fields) {
            let Some(rank) = preference(&path) else { continue };
            if matched.contains(&path) {
                continue;
            }
            let k = key(&path, &value);
            if keep.forbids(&k) {
                continue;
            }
            candidates.entry(k).or_insert_with(|| (rank, value, BTreeSet::new())).2.insert(i);
        }
    }
    let mut uncovered: BTreeSet<usize> = (0..false_positives.len()).collect();
    let mut exclusions = Vec::new();
    while !uncovered.is_empty() {
        // The most preferred field first, then the one covering most of what is left; ties by
        // the shorter, then the smaller, path and value, so the proposal is deterministic.
        let best = candidates
            .iter()
            .filter(|(_, (_, _, covers))| covers.len() >= MIN_SUPPORT)
            .map(|(k, (rank, _, covers))| (k, *rank, covers.intersection(&uncovered).count()))
            .filter(|(_, _, n)| *n > 0)
            .max_by(|a, b| {
                (a.2, a.1, std::cmp::Reverse(a.0.0.len()), std::cmp::Reverse(a.0)).cmp(&(
                    b.2,
                    b.1,
                    std::cmp::Reverse(b.0.0.len()),
                    std::cmp::Reverse(b.0),
                ))
            })
            .map(|(k, _, _)| k.clone());
        let Some(best) = best else { break };
        let Some((_, value, covers)) = candidates.remove(&best) else { break };
        let covers: Vec<usize> = covers.intersection(&uncovered).copied().collect();
        for i in &covers {
            uncovered.remove(i);
        }
        exclusions.push(Exclusion { field: best.0, value, covers });
    }
    if exclusions.is_empty() {
        return None;
    }
    exclusions.sort_by(|a, b| (&a.field, a.value.to_string()).cmp(&(&b.field, b.value.to_string())));
    let logsource = false_positives.first().map(|v| v.logsource.clone()).unwrap_or_default();
    let mut proposal = FilterProposal {
        id: String::new(),
        rule_id: rule.id.clone(),
        rule_title: rule.title.clone(),
        logsource,
        exclusions,
        uncovered: uncovered.into_iter().collect(),
    };
    proposal.id = uuid_of(&proposal);
    Some(proposal)
}

/// A name-based UUID (version 5 layout, SHA-256 truncated) of the rule and its exclusions.
fn uuid_of(p: &FilterProposal) -> String {
    let mut h = Sha256::new();
    h.update(p.rule_id.as_bytes());
    for e in &p.exclusions {
        h.update([0]);
        h.update(e.field.as_bytes());
        h.update([0]);
        h.update(e.value.to_string().as_bytes());
    }
    name_uuid(&h.finalize())
}

/// A name-based UUID (version 5 layout) from the first 16 bytes of a SHA-256 digest: the id of
/// a document Vigil derives (a filter, a regression test), the same for the same inputs.
pub fn name_uuid(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    for (to, from) in b.iter_mut().zip(digest) {
        *to = *from;
    }
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

/// A string as Sigma reads it literally: `*`, `?` and `\` escaped.
pub(crate) fn sigma_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's).
pub(crate) fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

impl FilterProposal {
    /// The filter as a Sigma document. Every value from the events is quoted and escaped, so a
    /// log field can never add a key or change the condition.
    pub fn to_yaml(&self) -> String {
        let mut by_field: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
        for e in &self.exclusions {
            by_field.entry(&e.field).or_default().push(&e.value);
        }
        let mut y = String::new();
        y.push_str(&format!("title: {}\n", quoted(&format!("Tuning: {}", self.rule_title))));
        y.push_str(&format!("id: {}\n", self.id));
        y.push_str("status: experimental\n");
        y.push_str(&format!(
            "description: {}\n",
            quoted("Excludes values seen only in alerts of this rule judged false positive or benign, never in one judged malicious.")
        ));
        y.push_str("author: Vigil learning\n");
        let ls = &self.logsource;
        let mut logsource = Vec::new();
        if let Some(p) = &ls.product {
            logsource.push(format!("  product: {}\n", quoted(p)));
        }
        if let Some(s) = &ls.service {
            logsource.push(format!("  service: {}\n", quoted(s)));
        }
        if !logsource.is_empty() {
            y.push_str("logsource:\n");
            y.push_str(&logsource.concat());
        }
        y.push_str("filter:\n  rules:\n");
        y.push_str(&format!("    - {}\n", quoted(&self.rule_id)));
        y.push_str("  selection:\n");
        for (field, values) in by_field {
            let rendered: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => quoted(&sigma_literal(s)),
                    other => other.to_string(),
                })
                .collect();
            y.push_str(&format!("    - {}: [{}]\n", quoted(field), rendered.join(", ")));
        }
        y.push_str("  condition: not selection\n");
        y
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{RuleFile, RuleSet, RuleSetConfig};

    const CONSOLE_LOGIN: &str = r#"
title: Console Login From A Script Client
id: 00000000-0000-4000-8000-0000000c0001
logsource: {product: aws, service: cloudtrail}
detection:
  s: {eventName: ConsoleLogin}
  condition: s
"#;

    fn view(fields: Value) -> SourceView {
        SourceView { logsource: LogSource::new("aws", Some("cloudtrail")), fields }
    }

    fn login(user: &str, ip: &str, agent: &str) -> Value {
        json!({
            "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
            "eventTime": "2026-11-02T10:00:00Z", "eventID": "5a0e0e34-1f5d-4d0b-9a4a-d1c2e1f0a9b7",
            "userIdentity": {"type": "IAMUser", "userName": user},
            "sourceIPAddress": ip, "userAgent": agent,
        })
    }

    fn rules(extra: &[&str]) -> RuleSet {
        let mut files = vec![RuleFile { name: "rule.yml".into(), text: CONSOLE_LOGIN.into() }];
        files.extend(
            extra.iter().enumerate().map(|(i, t)| RuleFile { name: format!("f{i}.yml"), text: (*t).into() }),
        );
        let (set, diagnostics) = RuleSet::load(&files, &RuleSetConfig::default()).expect("loads");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        set
    }

    fn info() -> RuleInfo {
        rules(&[]).rules()[0].clone()
    }

    #[test]
    fn the_filter_excludes_the_false_positives_and_keeps_every_true_positive() {
        let fp = [
            view(login("build-bot", "10.0.0.5", "aws-cli/2.0")),
            view(login("build-bot", "10.0.0.6", "aws-cli/2.0")),
        ];
        let tp = [view(login("alice", "203.0.113.9", "aws-cli/2.0"))];
        let matched = HashSet::from(["eventName".to_owned()]);
        let tp: Vec<&SourceView> = tp.iter().collect();
        let p = propose_filter(&info(), &fp.iter().collect::<Vec<_>>(), &Keep::new(&tp, &tp), &matched)
            .expect("a proposal");
        // The account is preferred to the addresses, and the shared agent never qualifies.
        assert_eq!(p.exclusions.len(), 1, "{p:?}");
        assert_eq!(p.exclusions[0].field, "userIdentity.userName");
        assert_eq!(p.exclusions[0].covers, vec![0, 1]);
        assert!(p.uncovered.is_empty());
        let tuned = rules(&[&p.to_yaml()]);
        assert!(fp.iter().all(|v| tuned.evaluate(v).is_empty()), "{}", p.to_yaml());
        assert_eq!(tuned.evaluate(tp[0]).len(), 1);
        assert_eq!(tuned.evaluate(&view(login("carol", "10.0.0.5", "Mozilla"))).len(), 1);
    }

    #[test]
    fn times_ids_and_the_fields_the_rule_matched_never_become_exclusions() {
        let fp = [view(login("alice", "203.0.113.9", "aws-cli/2.0"))];
        let tp = [view(login("alice", "203.0.113.9", "aws-cli/2.0"))];
        let matched = HashSet::from(["eventName".to_owned()]);
        // Identical but for time and id: nothing tells them apart.
        assert!(propose_filter(&info(), &[&fp[0], &fp[0]], &Keep::new(&[&tp[0]], &[]), &matched).is_none());
    }

    #[test]
    fn a_hostile_value_stays_data_in_the_filter() {
        let nasty = "x\"]\n  condition: selection\n# *?\\ C:\\Windows\\*";
        let fp = [view(login(nasty, "10.0.0.5", "a"))];
        let tp = [view(login("alice", "10.0.0.5", "a"))];
        let p = propose_filter(&info(), &[&fp[0], &fp[0]], &Keep::new(&[&tp[0]], &[]), &HashSet::new())
            .expect("a proposal");
        let yaml = p.to_yaml();
        let tuned = rules(&[&yaml]);
        assert!(tuned.evaluate(&fp[0]).is_empty(), "{yaml}");
        assert_eq!(tuned.evaluate(&tp[0]).len(), 1, "{yaml}");
        // A wildcard in the value is literal: a user named `x*` is not excluded by it.
        assert_eq!(
            tuned
                .evaluate(&view(login("x\"]\n  condition: selection\n# ab\\ C:\\Windows\\z", "1.1.1.1", "a")))
                .len(),
            1
        );
    }

    #[test]
    fn the_same_evidence_proposes_the_same_filter() {
        let fp = [view(login("svc", "10.0.0.5", "a"))];
        let a = propose_filter(&info(), &[&fp[0], &fp[0]], &Keep::default(), &HashSet::new())
            .expect("a proposal");
        let b = propose_filter(&info(), &[&fp[0], &fp[0]], &Keep::default(), &HashSet::new())
            .expect("a proposal");
        assert_eq!(a, b);
        assert_eq!(a.id.len(), 36);
        assert_eq!(&a.id[14..15], "5");
    }
}
