//! Every model answer is checked before it is shown: the schema and its enums, every cited id
//! exists in the case, every claim cites something, the severity is within one level of the
//! built-in analyst's, and no text carries links or images. Anything else is rejected.

use serde::{Deserialize, Serialize};
use vigil_model::Severity;

use crate::evidence::EvidenceItem;
use crate::recommend::{Recommendation, Verdict};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub text: String,
    pub cites: Vec<String>,
}

/// The schema a model answers in. Unknown keys (an `actions` list, say) are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub verdict: DraftVerdict,
    pub severity: DraftSeverity,
    pub confidence: f64,
    pub hypothesis: String,
    pub claims: Vec<Claim>,
    #[serde(default)]
    pub supporting: Vec<String>,
    #[serde(default)]
    pub contradicting: Vec<String>,
    #[serde(default)]
    pub unknowns: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftVerdict {
    Malicious,
    Suspicious,
    Benign,
    InsufficientEvidence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftSeverity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

fn rank(s: Severity) -> i32 {
    match s {
        Severity::Critical | Severity::Fatal => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
        _ => 0,
    }
}

impl DraftSeverity {
    fn severity(self) -> Severity {
        match self {
            DraftSeverity::Informational => Severity::Informational,
            DraftSeverity::Low => Severity::Low,
            DraftSeverity::Medium => Severity::Medium,
            DraftSeverity::High => Severity::High,
            DraftSeverity::Critical => Severity::Critical,
        }
    }
}

/// The first JSON object in `answer` (models wrap answers in prose or code fences).
fn json_object(answer: &str) -> Option<&str> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    (end > start).then(|| &answer[start..=end])
}

/// Text a recommendation may show: no links, no images, no markup, bounded.
fn plain(field: &str, text: &str) -> Result<(), String> {
    let lower = text.to_ascii_lowercase();
    for marker in ["http://", "https://", "![", "](", "<img", "<script", "<a ", "javascript:", "data:"] {
        if lower.contains(marker) {
            return Err(format!("{field} carries a link, image or markup ({marker})"));
        }
    }
    if text.chars().count() > 2000 {
        return Err(format!("{field} is longer than 2000 characters"));
    }
    Ok(())
}

/// Checks a model's answer against the case's evidence and the built-in recommendation.
pub fn validate(answer: &str, items: &[EvidenceItem], builtin: &Recommendation) -> Result<Draft, String> {
    let text = json_object(answer).ok_or("the answer holds no JSON object")?;
    let draft: Draft = serde_json::from_str(text).map_err(|e| format!("not the schema: {e}"))?;
    if !(0.0..=1.0).contains(&draft.confidence) {
        return Err(format!("confidence {} is outside 0 to 1", draft.confidence));
    }
    if draft.hypothesis.trim().is_empty() {
        return Err("the hypothesis is empty".into());
    }
    plain("the hypothesis", &draft.hypothesis)?;
    if draft.claims.is_empty() {
        return Err("the answer makes no claim with citations".into());
    }
    let known = |id: &String| items.iter().any(|i| &i.id == id);
    for claim in &draft.claims {
        plain("a claim", &claim.text)?;
        if claim.cites.is_empty() {
            return Err(format!("the claim {:?} cites nothing", claim.text));
        }
        if let Some(bad) = claim.cites.iter().find(|c| !known(c)) {
            return Err(format!(
                "the claim {:?} cites {bad:?}, which is not evidence of this case",
                claim.text
            ));
        }
    }
    for id in draft.supporting.iter().chain(&draft.contradicting) {
        if !known(id) {
            return Err(format!("{id:?} is not evidence of this case"));
        }
    }
    for u in &draft.unknowns {
        plain("an unknown", u)?;
    }
    let (theirs, ours) = (rank(draft.severity.severity()), rank(builtin.severity));
    if (theirs - ours).abs() > 1 {
        return Err(format!(
            "severity {:?} is more than one level from the built-in analyst's {}",
            draft.severity,
            builtin.severity.name()
        ));
    }
    Ok(draft)
}

impl Draft {
    /// Puts the validated draft into `r`, keeping the built-in playbook, scores and inputs.
    pub(crate) fn apply_to(&self, r: &mut Recommendation, model: &str) {
        r.verdict = match self.verdict {
            DraftVerdict::Malicious => Verdict::Malicious,
            DraftVerdict::Suspicious => Verdict::Suspicious,
            DraftVerdict::Benign => Verdict::Benign,
            DraftVerdict::InsufficientEvidence => Verdict::InsufficientEvidence,
        };
        r.severity = self.severity.severity();
        r.confidence = self.confidence;
        let claims: Vec<String> =
            self.claims.iter().map(|c| format!("{} [{}]", c.text, c.cites.join(", "))).collect();
        r.hypothesis = format!("{} {}", self.hypothesis.trim(), claims.join(" "));
        if !self.supporting.is_empty() {
            r.supporting = self.supporting.clone();
        }
        r.contradicting = self.contradicting.clone();
        for u in &self.unknowns {
            if !r.unknowns.contains(u) {
                r.unknowns.push(u.clone());
            }
        }
        r.drafted_by =
            format!("{model} (narrator; checked against the case's evidence), over {}", r.drafted_by);
    }
}
