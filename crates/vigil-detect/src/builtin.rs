//! Vigil's own rule pack, shipped in the binary. Each rule is a file under `rules/`, written by
//! the Vigil project (Apache-2.0), listed here explicitly.

use crate::ruleset::RuleFile;

/// The built-in rules: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("aws_access_key_for_other_user.yml", include_str!("../rules/aws_access_key_for_other_user.yml")),
    ("aws_cloudtrail_logging_disabled.yml", include_str!("../rules/aws_cloudtrail_logging_disabled.yml")),
    ("aws_dns_query_logging_deleted.yml", include_str!("../rules/aws_dns_query_logging_deleted.yml")),
    (
        "aws_ec2_instance_connect_key_pushed.yml",
        include_str!("../rules/aws_ec2_instance_connect_key_pushed.yml"),
    ),
    ("aws_ec2_user_data_modified.yml", include_str!("../rules/aws_ec2_user_data_modified.yml")),
    ("aws_federation_token_issued.yml", include_str!("../rules/aws_federation_token_issued.yml")),
    ("aws_image_or_snapshot_shared.yml", include_str!("../rules/aws_image_or_snapshot_shared.yml")),
    ("aws_lambda_code_replaced.yml", include_str!("../rules/aws_lambda_code_replaced.yml")),
    (
        "aws_lambda_public_invoke_permission.yml",
        include_str!("../rules/aws_lambda_public_invoke_permission.yml"),
    ),
    ("aws_login_profile_for_other_user.yml", include_str!("../rules/aws_login_profile_for_other_user.yml")),
    ("aws_role_trust_opened_to_account.yml", include_str!("../rules/aws_role_trust_opened_to_account.yml")),
    (
        "aws_roles_anywhere_trust_anchor_created.yml",
        include_str!("../rules/aws_roles_anywhere_trust_anchor_created.yml"),
    ),
    ("aws_secrets_batch_retrieved.yml", include_str!("../rules/aws_secrets_batch_retrieved.yml")),
    ("aws_ssm_secure_parameters_read.yml", include_str!("../rules/aws_ssm_secure_parameters_read.yml")),
    ("aws_ssm_session_started.yml", include_str!("../rules/aws_ssm_session_started.yml")),
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
