//! Field-less selections with modifiers (`'|all': [dd, 'if=']`) are keywords: Sigma searches
//! them as substrings of the record's text, like plain keyword lists. rsigma-eval 0.23 matches
//! them as whole values instead, so SigmaHQ rules such as "Binary Padding - Linux" never fire;
//! Vigil adds the implied `contains` before the rule compiles.

use rsigma_parser::{Detection, Modifier, SigmaRule};

const PLACEMENT: &[Modifier] = &[Modifier::Contains, Modifier::StartsWith, Modifier::EndsWith, Modifier::Re];

fn fix(detection: &mut Detection) -> bool {
    match detection {
        Detection::AllOf(items) => {
            let mut changed = false;
            for item in items {
                let f = &mut item.field;
                if f.name.is_none()
                    && !f.modifiers.is_empty()
                    && !f.modifiers.iter().any(|m| PLACEMENT.contains(m))
                {
                    f.modifiers.push(Modifier::Contains);
                    changed = true;
                }
            }
            changed
        }
        Detection::AnyOf(children) => {
            // Every child is fixed, so no short-circuit here.
            let mut changed = false;
            for d in children {
                changed |= fix(d);
            }
            changed
        }
        _ => false,
    }
}

/// `rule` with its field-less modified selections made substring searches, if it has any.
pub fn as_substrings(rule: &SigmaRule) -> Option<SigmaRule> {
    let needs = rule.detection.named.values().any(|d| fix(&mut d.clone()));
    if !needs {
        return None;
    }
    let mut fixed = rule.clone();
    for d in fixed.detection.named.values_mut() {
        fix(d);
    }
    Some(fixed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_model::view::{LogSource, SourceView};

    use crate::ruleset::{RuleFile, RuleSet, RuleSetConfig};

    #[test]
    fn keywords_with_all_match_as_substrings_of_the_record() {
        let rule = "title: Binary Padding\nid: k1\nlogsource: {product: linux, service: auditd}\ndetection:\n  s: {type: EXECVE}\n  k:\n    '|all': [dd, 'if=']\n  f: ['of=']\n  condition: s and k and not f\nlevel: high\n";
        let (rules, diagnostics) =
            RuleSet::load(&[RuleFile { name: "k.yml".into(), text: rule.into() }], &RuleSetConfig::default())
                .expect("loads");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let view = |raw: &str| SourceView {
            logsource: LogSource::new("linux", Some("auditd")),
            fields: json!({"type": "EXECVE", "_raw": raw}),
        };
        assert_eq!(rules.evaluate(&view("a0=\"dd\" a1=\"if=/dev/zero\" a2=\"bs=1\"")).len(), 1);
        assert!(rules.evaluate(&view("a0=\"dd\" a1=\"if=/dev/zero\" a2=\"of=/tmp/x\"")).is_empty());
        assert!(rules.evaluate(&view("a0=\"cat\" a1=\"/etc/passwd\"")).is_empty());
    }
}
