//! Vigil's own rule pack, shipped in the binary. Each rule is a file under `rules/`, written by
//! the Vigil project (Apache-2.0), listed here explicitly.

use crate::ruleset::RuleFile;

/// The built-in rules: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("aws_access_key_for_other_user.yml", include_str!("../rules/aws_access_key_for_other_user.yml")),
    ("aws_cloudtrail_logging_disabled.yml", include_str!("../rules/aws_cloudtrail_logging_disabled.yml")),
    ("entra_global_admin_assigned.yml", include_str!("../rules/entra_global_admin_assigned.yml")),
    ("linux_ssh_invalid_user.yml", include_str!("../rules/linux_ssh_invalid_user.yml")),
    ("okta_mfa_factor_removed.yml", include_str!("../rules/okta_mfa_factor_removed.yml")),
    (
        "windows_office_spawns_encoded_powershell.yml",
        include_str!("../rules/windows_office_spawns_encoded_powershell.yml"),
    ),
];

/// The built-in rules as rule files, named `vigil:<file>`.
pub fn files() -> Vec<RuleFile> {
    BUILTIN
        .iter()
        .map(|(name, text)| RuleFile { name: format!("vigil:{name}"), text: (*text).to_owned() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::{RuleSet, RuleSetConfig};

    #[test]
    fn every_builtin_rule_loads_and_names_its_author() {
        let (rules, diagnostics) = RuleSet::load(&files(), &RuleSetConfig::default()).expect("valid config");
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(rules.len(), BUILTIN.len());
        for (name, text) in BUILTIN {
            assert!(text.contains("\nauthor: Vigil\n"), "{name}");
        }
    }
}
