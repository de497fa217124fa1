//! Sigma filter rules: exclusions a SOC keeps apart from the rules they tune (`filter:` documents
//! naming the rules they apply to, or `any`). A filter is checked once, then injected into every
//! engine that holds a rule it targets.

use std::collections::HashMap;

use rsigma_eval::Engine;
use rsigma_parser::{FilterRule, FilterRuleTarget};

use crate::diagnostic::Diagnostic;

/// A filter that compiles, with its targets named as the engine knows rules (id, else title).
pub struct Filter {
    rule: FilterRule,
    file: String,
}

impl Filter {
    fn label(&self) -> String {
        self.rule.id.clone().unwrap_or_else(|| self.rule.title.clone())
    }

    fn targets(&self, engine: &Engine) -> bool {
        match &self.rule.rules {
            FilterRuleTarget::Any => true,
            FilterRuleTarget::Specific(refs) => engine
                .rules()
                .iter()
                .any(|r| refs.iter().any(|t| r.id.as_deref() == Some(t.as_str()) || r.title == *t)),
        }
    }
}

/// Keeps the filters that compile and target a loaded rule; the others are diagnostics.
/// `identities` maps every rule id, name and title to the identity the engine uses for it.
pub fn resolve(
    filters: Vec<(FilterRule, String)>,
    identities: &HashMap<String, String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Filter> {
    let mut kept = Vec::new();
    for (mut rule, file) in filters {
        let label = rule.id.clone().unwrap_or_else(|| rule.title.clone());
        let mut problem = |message: String, skipped: bool| {
            diagnostics.push(Diagnostic { file: file.clone(), rule: Some(label.clone()), message, skipped });
        };
        // An engine with no rules still compiles the filter's detections, so this catches a bad
        // filter once rather than once per engine.
        if let Err(e) = Engine::new().apply_filter(&rule) {
            problem(format!("filter does not compile: {e}"), true);
            continue;
        }
        if let FilterRuleTarget::Specific(refs) = &mut rule.rules {
            let (known, unknown): (Vec<&String>, Vec<&String>) =
                refs.iter().partition(|r| identities.contains_key(r.as_str()));
            if !unknown.is_empty() {
                let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
                problem(
                    format!("filter names rules that are not loaded: {}", names.join(", ")),
                    known.is_empty(),
                );
            }
            if known.is_empty() {
                continue;
            }
            *refs = known.iter().filter_map(|r| identities.get(r.as_str()).cloned()).collect();
        }
        kept.push(Filter { rule, file });
    }
    kept
}

/// Injects every filter that targets a rule of `engine` into it.
pub fn apply(engine: &mut Engine, filters: &[Filter], diagnostics: &mut Vec<Diagnostic>) {
    for filter in filters {
        if !filter.targets(engine) {
            continue;
        }
        if let Err(e) = engine.apply_filter(&filter.rule) {
            diagnostics.push(Diagnostic {
                file: filter.file.clone(),
                rule: Some(filter.label()),
                message: format!("filter not applied: {e}"),
                skipped: true,
            });
        }
    }
}
