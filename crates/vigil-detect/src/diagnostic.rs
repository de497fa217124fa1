//! A problem found while loading rules, with where it was.

use std::fmt;

use serde::Serialize;

/// Why a rule (or a file of rules) was not loaded, or loaded with a warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The rule file, as the caller named it.
    pub file: String,
    /// The rule's id or title, when the problem is in one rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub message: String,
    /// Whether the rule was skipped (false: loaded, with a warning).
    pub skipped: bool,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.skipped { "not loaded" } else { "warning" };
        match &self.rule {
            Some(rule) => write!(f, "{}: {rule}: {verdict}: {}", self.file, self.message),
            None => write!(f, "{}: {verdict}: {}", self.file, self.message),
        }
    }
}
