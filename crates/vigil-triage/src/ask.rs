//! Ask the case: a question is answered from the case's own evidence, each sentence citing the
//! items it rests on, or with "I don't know" and what is missing. The built-in answerer matches
//! the question's words against the evidence; it never guesses beyond what it finds.

use serde::Serialize;
use vigil_correlate::Case;

use crate::evidence::{self, EvidenceItem};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    /// False when the evidence does not answer the question.
    pub known: bool,
    pub text: String,
    pub cites: Vec<String>,
}

const STOP: &[&str] = &[
    "the", "a", "an", "of", "on", "in", "to", "is", "was", "were", "did", "does", "do", "what", "which",
    "who", "when", "where", "how", "any", "this", "that", "case", "and", "or", "by", "from", "with", "for",
    "at", "it", "there", "has", "have", "be", "been",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '.' && c != '\\' && c != '_')
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| w.len() > 1 && !STOP.contains(&w.as_str()))
        .collect()
}

fn haystack(case: &Case, item: &EvidenceItem) -> String {
    let mut text = format!("{} {} {}", item.what, item.source, item.host.as_deref().unwrap_or(""));
    // An alert's entities and techniques are part of what it says.
    if let Some(alert) = case.alerts.iter().find(|a| a.ids.iter().any(|id| item.id == format!("alert:{id}")))
    {
        for e in &alert.entities {
            text.push(' ');
            text.push_str(&e.key);
        }
        text.push(' ');
        text.push_str(&alert.rule.tags.join(" "));
    }
    text.to_lowercase()
}

/// Answers `question` from `case`'s evidence; `unknowns` (from the recommendation) say what the
/// case lacked when the answer is "I don't know".
pub fn ask(case: &Case, question: &str, unknowns: &[String]) -> Answer {
    let terms = words(question);
    let items = evidence::items(case);
    let mut hits: Vec<(&EvidenceItem, usize)> = items
        .iter()
        .map(|item| {
            let text = haystack(case, item);
            (item, terms.iter().filter(|t| text.contains(t.as_str())).count())
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.time.cmp(&b.0.time)));
    let best = hits.first().map_or(0, |h| h.1);
    // At least half the question's words must be in one item; otherwise the evidence is silent.
    if terms.is_empty() || best * 2 < terms.len() {
        let missing: Vec<&String> =
            terms.iter().filter(|t| !items.iter().any(|i| haystack(case, i).contains(t.as_str()))).collect();
        let mut text = format!(
            "I don't know: the case's evidence does not mention {}.",
            if missing.is_empty() {
                "what was asked".to_owned()
            } else {
                missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
            }
        );
        if !unknowns.is_empty() {
            text.push_str(&format!(" The case also lacked: {}.", unknowns.join("; ")));
        }
        return Answer { known: false, text, cites: Vec::new() };
    }
    let chosen: Vec<&EvidenceItem> =
        hits.iter().filter(|(_, n)| *n == best).take(5).map(|(i, _)| *i).collect();
    let sentences: Vec<String> = chosen
        .iter()
        .map(|i| {
            format!(
                "{} ({}){} [{}]",
                i.what,
                i.source,
                i.host.as_deref().map(|h| format!(" on {h}")).unwrap_or_default(),
                i.id
            )
        })
        .collect();
    Answer { known: true, text: sentences.join(". "), cites: chosen.iter().map(|i| i.id.clone()).collect() }
}

#[cfg(test)]
mod tests {
    use vigil_correlate::{Alert, ClusterConfig, Evidence, RuleRef, cluster};
    use vigil_model::{Entity, EntityKind, Severity};

    use super::*;

    fn case() -> Case {
        let alert = Alert {
            tenant: None,
            id: "a1".into(),
            rule: std::sync::Arc::new(RuleRef {
                id: "r1".into(),
                title: "Remote Service Creation After A Network Logon".into(),
                level: Severity::High,
                tags: vec!["attack.lateral-movement".into()],
                author: None,
                license: "x".into(),
            }),
            time: 0,
            entities: vec![
                Entity::new(EntityKind::Host, "ws-12").expect("h"),
                Entity::new(EntityKind::User, "corp\\alice").expect("u"),
            ],
            aliases: vec![],
            evidence: vec![Evidence {
                event_uid: "e1".into(),
                time: 0,
                source: "system.json".into(),
                class_name: "Base Event".into(),
                summary: Some("Service PSEXESVC installed".into()),
            }],
            summary: None,
        };
        cluster(&[alert], &ClusterConfig::default()).remove(0)
    }

    #[test]
    fn a_question_the_evidence_answers_is_answered_with_citations() {
        let a = ask(&case(), "Which service was installed on ws-12?", &[]);
        assert!(a.known, "{a:?}");
        assert!(a.text.contains("PSEXESVC"));
        let ids: Vec<String> = evidence::items(&case()).into_iter().map(|i| i.id).collect();
        assert!(!a.cites.is_empty() && a.cites.iter().all(|c| ids.contains(c)));
    }

    #[test]
    fn a_question_the_evidence_does_not_answer_gets_i_dont_know_and_what_is_missing() {
        let a = ask(&case(), "Did bob exfiltrate data to dropbox?", &["no identity inventory".into()]);
        assert!(!a.known);
        assert!(a.text.starts_with("I don't know"), "{}", a.text);
        assert!(a.text.contains("dropbox") && a.text.contains("no identity inventory"), "{}", a.text);
        assert!(a.cites.is_empty());
    }
}
