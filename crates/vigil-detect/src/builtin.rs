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
    (
        "aws_ec2_instance_credentials_off_instance.yml",
        include_str!("../rules/aws_ec2_instance_credentials_off_instance.yml"),
    ),
    ("aws_ec2_user_data_modified.yml", include_str!("../rules/aws_ec2_user_data_modified.yml")),
    ("aws_federation_token_issued.yml", include_str!("../rules/aws_federation_token_issued.yml")),
    ("aws_iam_risky_policy.yml", include_str!("../rules/aws_iam_risky_policy.yml")),
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
    ("aws_s3_bucket_made_public.yml", include_str!("../rules/aws_s3_bucket_made_public.yml")),
    ("aws_s3_data_download.yml", include_str!("../rules/aws_s3_data_download.yml")),
    ("aws_secrets_batch_retrieved.yml", include_str!("../rules/aws_secrets_batch_retrieved.yml")),
    ("aws_secrets_read_in_bulk.yml", include_str!("../rules/aws_secrets_read_in_bulk.yml")),
    ("aws_ssm_secure_parameters_read.yml", include_str!("../rules/aws_ssm_secure_parameters_read.yml")),
    ("aws_ssm_session_started.yml", include_str!("../rules/aws_ssm_session_started.yml")),
    ("entra_global_admin_assigned.yml", include_str!("../rules/entra_global_admin_assigned.yml")),
    ("github_mass_repository_clone.yml", include_str!("../rules/github_mass_repository_clone.yml")),
    ("linux_ssh_invalid_user.yml", include_str!("../rules/linux_ssh_invalid_user.yml")),
    ("okta_mfa_factor_removed.yml", include_str!("../rules/okta_mfa_factor_removed.yml")),
    ("okta_mfa_fatigue.yml", include_str!("../rules/okta_mfa_fatigue.yml")),
    ("windows_brute_force_then_success.yml", include_str!("../rules/windows_brute_force_then_success.yml")),
    (
        "windows_office_spawns_encoded_powershell.yml",
        include_str!("../rules/windows_office_spawns_encoded_powershell.yml"),
    ),
    ("windows_lateral_movement.yml", include_str!("../rules/windows_lateral_movement.yml")),
    ("windows_password_spray.yml", include_str!("../rules/windows_password_spray.yml")),
    (
        "windows_zerologon_machine_password_reset.yml",
        include_str!("../rules/windows_zerologon_machine_password_reset.yml"),
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
    fn a_rule_file_left_out_of_the_pack_list_is_caught() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("rules directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".yml"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = BUILTIN.iter().map(|(name, _)| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn every_builtin_rule_loads_and_names_its_author() {
        let (rules, diagnostics) = RuleSet::load(&files(), &RuleSetConfig::default()).expect("valid config");
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        // Every document of the pack loads: detection rules and correlations alike.
        let documents: Vec<&str> = BUILTIN.iter().flat_map(|(_, text)| text.split("\n---\n")).collect();
        let correlations = documents.iter().filter(|d| d.contains("\ncorrelation:\n")).count();
        assert_eq!(rules.correlation_count(), correlations);
        assert_eq!(rules.len(), documents.len() - correlations);
        for (name, text) in BUILTIN {
            assert!(text.contains("\nauthor: Vigil\n"), "{name}");
        }
    }
}

#[cfg(test)]
mod correlation_tests {
    use serde_json::{Value, json};
    use vigil_model::view::{LogSource, SourceView};

    use super::*;
    use crate::ruleset::{RuleSet, RuleSetConfig};

    /// Feeds records one a minute apart; returns the titles of the correlations that fired.
    fn feed(logsource: &LogSource, records: &[Value]) -> Vec<String> {
        let (rules, _) = RuleSet::load(&files(), &RuleSetConfig::default()).expect("valid config");
        let mut correlator = rules.correlator();
        let mut fired = Vec::new();
        for (i, fields) in records.iter().enumerate() {
            let view = SourceView { logsource: logsource.clone(), fields: fields.clone() };
            let detections = rules.evaluate(&view);
            assert!(
                detections
                    .iter()
                    .all(|d| d.rule.building_block || d.rule.level > crate::Level::Informational)
            );
            for alert in correlator.process(&view, 1_772_442_000_000 + i as i64 * 60_000, &detections) {
                fired.push(alert.rule.title.clone());
            }
        }
        fired
    }

    fn logon(event_id: u32, user: &str, ip: &str) -> Value {
        json!({"EventID": event_id, "TargetUserName": user, "IpAddress": ip, "LogonType": 3})
    }

    #[test]
    fn brute_force_then_success_needs_the_burst_and_the_order() {
        let security = LogSource::new("windows", Some("security"));
        let mut records: Vec<Value> = (0..5).map(|_| logon(4625, "alice", "198.51.100.7")).collect();
        records.push(logon(4624, "alice", "198.51.100.7"));
        let fired = feed(&security, &records);
        assert!(fired.contains(&"Brute Force Followed By A Successful Logon".to_owned()), "{fired:?}");
        let mut four: Vec<Value> = (0..4).map(|_| logon(4625, "alice", "198.51.100.7")).collect();
        four.push(logon(4624, "alice", "198.51.100.7"));
        assert!(feed(&security, &four).is_empty());
    }

    #[test]
    fn password_spray_counts_distinct_users_from_one_source() {
        let security = LogSource::new("windows", Some("security"));
        let spray =
            |n: usize| (0..n).map(|i| logon(4625, &format!("user{i}"), "198.51.100.7")).collect::<Vec<_>>();
        assert!(feed(&security, &spray(10)).contains(&"Password Spray From One Source".to_owned()));
        assert!(!feed(&security, &spray(9)).contains(&"Password Spray From One Source".to_owned()));
    }

    #[test]
    fn mfa_fatigue_is_rejections_then_an_accept() {
        let okta = LogSource::new("okta", Some("okta"));
        let push = |event: &str, result: &str| json!({"eventType": event, "outcome": {"result": result}, "actor": {"alternateId": "alice@corp.example"}});
        let mut records: Vec<Value> =
            (0..3).map(|_| push("user.mfa.okta_verify.deny_push", "DENY")).collect();
        records.push(push("user.authentication.auth_via_mfa", "SUCCESS"));
        assert!(feed(&okta, &records).iter().any(|t| t.starts_with("MFA Fatigue")));
        let two = [
            push("user.mfa.okta_verify.deny_push", "DENY"),
            push("user.mfa.okta_verify.deny_push", "DENY"),
            push("user.authentication.auth_via_mfa", "SUCCESS"),
        ];
        assert!(feed(&okta, &two).is_empty());
    }

    #[test]
    fn one_account_on_five_hosts_is_lateral_movement_and_on_four_is_not() {
        let security = LogSource::new("windows", Some("security"));
        let title = "One Account Logging On To Many Hosts".to_owned();
        let sweep = |user: &str, hosts: usize| {
            (0..hosts)
                .map(|i| json!({"EventID": 4624, "LogonType": 3, "TargetUserName": user, "Computer": format!("ws-{i}")}))
                .collect::<Vec<_>>()
        };
        assert!(feed(&security, &sweep("alice", 5)).contains(&title));
        assert!(!feed(&security, &sweep("alice", 4)).contains(&title));
        assert!(!feed(&security, &sweep("WS-99$", 8)).contains(&title), "machine accounts are not people");
    }

    #[test]
    fn a_service_installed_right_after_a_network_logon_is_remote_service_creation() {
        let (rules, _) = RuleSet::load(&files(), &RuleSetConfig::default()).expect("valid config");
        let logon = SourceView {
            logsource: LogSource::new("windows", Some("security")),
            fields: json!({"EventID": 4624, "LogonType": 3, "TargetUserName": "alice", "Computer": "srv-01"}),
        };
        let service = |host: &str| SourceView {
            logsource: LogSource::new("windows", Some("system")),
            fields: json!({"EventID": 7045, "Provider_Name": "Service Control Manager", "Computer": host, "ServiceName": "PSEXESVC"}),
        };
        let run = |records: &[(i64, &SourceView)]| {
            let mut correlator = rules.correlator();
            let mut titles = Vec::new();
            for (t, view) in records {
                let detections = rules.evaluate(view);
                titles.extend(
                    correlator
                        .process(view, 1_772_442_000_000 + t, &detections)
                        .into_iter()
                        .map(|a| a.rule.title.clone()),
                );
            }
            titles
        };
        let title = "Remote Service Creation After A Network Logon".to_owned();
        assert!(run(&[(0, &logon), (30_000, &service("srv-01"))]).contains(&title));
        assert!(!run(&[(0, &logon), (30_000, &service("srv-02"))]).contains(&title), "another host");
        assert!(!run(&[(0, &logon), (180_000, &service("srv-01"))]).contains(&title), "outside two minutes");
        assert!(!run(&[(0, &service("srv-01")), (30_000, &logon)]).contains(&title), "wrong order");
    }

    #[test]
    fn s3_download_volume_sums_bytes_per_identity() {
        let trail = LogSource::new("aws", Some("cloudtrail"));
        let get = |bytes: u64| json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "userIdentity": {"arn": "arn:aws:iam::1:user/x"}, "additionalEventData": {"bytesTransferredOut": bytes}});
        let title = "Large Volume Downloaded From S3 By One Identity".to_owned();
        let half = 512 * 1024 * 1024;
        assert!(feed(&trail, &[get(half), get(half)]).contains(&title));
        assert!(!feed(&trail, &[get(half), get(half - 1)]).contains(&title));
    }

    #[test]
    fn twenty_five_repositories_cloned_in_an_hour_fire() {
        let github = LogSource::new("github", Some("audit"));
        let clone = |n: usize| {
            (0..n)
                .map(|i| json!({"action": "git.clone", "actor": "mallory", "repo": format!("corp/repo-{i}")}))
                .collect::<Vec<_>>()
        };
        let title = "Many GitHub Repositories Cloned By One Account".to_owned();
        assert!(feed(&github, &clone(25)).contains(&title));
        assert!(!feed(&github, &clone(24)).contains(&title));
    }

    /// The titles of the rules (not correlations) that fire on one record.
    fn fired(logsource: &LogSource, fields: Value) -> Vec<String> {
        let (rules, _) = RuleSet::load(&files(), &RuleSetConfig::default()).expect("valid config");
        let view = SourceView { logsource: logsource.clone(), fields };
        rules
            .evaluate(&view)
            .into_iter()
            .filter(|d| !d.rule.building_block)
            .map(|d| d.rule.title.clone())
            .collect()
    }

    #[test]
    fn instance_credentials_from_a_mac_and_bucket_listing_by_an_instance_fire() {
        let trail = LogSource::new("aws", Some("cloudtrail"));
        let call = |name: &str, agent: &str, session: &str| json!({"eventSource": "s3.amazonaws.com", "eventName": name, "userAgent": agent, "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::1:assumed-role/WebRole/{session}")}});
        let mac = "aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0 botocore/1.17.59";
        let linux = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2023";
        let fired_on = |fields| fired(&trail, fields);
        let got = fired_on(call("GetObject", mac, "i-0317f6c6b66ae9c40"));
        assert!(
            got.contains(&"EC2 Instance Role Credentials Used From A macOS Client".to_owned()),
            "{got:?}"
        );
        assert!(fired_on(call("GetObject", linux, "i-0317f6c6b66ae9c40")).is_empty());
        assert!(fired_on(call("GetObject", mac, "alice-session")).is_empty());
        assert!(
            fired_on(call("ListBuckets", linux, "i-0317f6c6b66ae9c40"))
                .contains(&"S3 Buckets Listed With EC2 Instance Role Credentials".to_owned())
        );
    }

    #[test]
    fn a_bucket_opened_to_everyone_fires_and_a_private_acl_does_not() {
        let trail = LogSource::new("aws", Some("cloudtrail"));
        let title = "S3 Bucket Opened To The Public".to_owned();
        let acl = |uri: &str| json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl", "requestParameters": {"AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"URI": uri}}]}}}});
        assert!(fired(&trail, acl("http://acs.amazonaws.com/groups/global/AllUsers")).contains(&title));
        assert!(!fired(&trail, acl("http://acs.amazonaws.com/groups/s3/LogDelivery")).contains(&title));
        let policy = |principal: &str| json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy", "requestParameters": {"bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject"}]}}});
        assert!(fired(&trail, policy("*")).contains(&title));
        assert!(
            !fired(&trail, policy("arn:aws:iam::1:root")).contains(&title),
            "a named principal is not everyone"
        );
        assert!(
            fired(
                &trail,
                json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucketPublicAccessBlock"})
            )
            .contains(&title)
        );
    }

    #[test]
    fn administrator_access_or_a_star_policy_fires_and_a_scoped_policy_does_not() {
        let trail = LogSource::new("aws", Some("cloudtrail"));
        let title = "Administrator Access Granted To An IAM Identity".to_owned();
        let attach = |arn: &str| json!({"eventSource": "iam.amazonaws.com", "eventName": "AttachUserPolicy", "requestParameters": {"userName": "bob", "policyArn": arn}});
        assert!(fired(&trail, attach("arn:aws:iam::aws:policy/AdministratorAccess")).contains(&title));
        assert!(!fired(&trail, attach("arn:aws:iam::aws:policy/ReadOnlyAccess")).contains(&title));
        let inline = |doc: &str| json!({"eventSource": "iam.amazonaws.com", "eventName": "PutUserPolicy", "requestParameters": {"policyDocument": doc}});
        assert!(
            fired(
                &trail,
                inline(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                )
            )
            .contains(&title)
        );
        assert!(!fired(&trail, inline(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)).contains(&title));
    }

    #[test]
    fn an_anonymous_machine_password_change_is_zerologon() {
        let security = LogSource::new("windows", Some("security"));
        let change = |subject: &str, set: &str| json!({"EventID": 4742, "SubjectUserName": subject, "TargetUserName": "MORDORDC$", "PasswordLastSet": set});
        let title = "Computer Account Password Changed By An Anonymous Logon".to_owned();
        assert!(fired(&security, change("ANONYMOUS LOGON", "9/16/2020 11:40:05 PM")).contains(&title));
        assert!(fired(&security, change("ANONYMOUS LOGON", "-")).is_empty());
        assert!(fired(&security, change("MORDORDC$", "9/16/2020 11:40:05 PM")).is_empty());
    }

    #[test]
    fn bulk_secret_reads_fire_at_ten() {
        let trail = LogSource::new("aws", Some("cloudtrail"));
        let read = || json!({"eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue", "userIdentity": {"arn": "arn:aws:iam::1:user/x"}});
        // One read every 20 s keeps ten of them inside five minutes.
        let (rules, _) = RuleSet::load(&files(), &RuleSetConfig::default()).expect("valid config");
        let fire = |n: usize| {
            let mut correlator = rules.correlator();
            (0..n)
                .flat_map(|i| {
                    let view = SourceView { logsource: trail.clone(), fields: read() };
                    let detections = rules.evaluate(&view);
                    correlator.process(&view, 1_772_442_000_000 + i as i64 * 20_000, &detections)
                })
                .count()
        };
        assert_eq!(fire(10), 1);
        assert_eq!(fire(9), 0);
        // The window resets when it fires: 19 reads are one burst, 20 are two.
        assert_eq!(fire(19), 1);
        assert_eq!(fire(20), 2);
    }
}
