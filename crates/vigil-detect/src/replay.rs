//! Replaying proposals before anyone reviews them: each rule's firings, labelled by the verdicts
//! of the cases they fell in, are evaluated again with the proposed filter loaded beside the
//! rule, and the firings it would remove are named, malicious ones first.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use vigil_model::view::SourceView;

use crate::error::Result;
use crate::rule::RuleInfo;
use crate::ruleset::{RuleFile, RuleSet, RuleSetConfig};
use crate::tune::{FilterProposal, Keep, propose_filter};

/// What a person concluded about the case a firing fell in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Judged a false positive or benign.
    Benign,
    /// Judged malicious: a filter must never hide it without a second person.
    Malicious,
    /// In no judged case.
    Unjudged,
}

/// One rule firing on one record, as stored or as a hunt wrote it.
#[derive(Clone, Debug)]
pub struct Firing {
    pub rule: RuleInfo,
    pub event_uid: String,
    pub view: SourceView,
    /// The fields the rule matched on.
    pub matched: Vec<String>,
    pub label: Label,
    /// The case it fell in, when known.
    pub case: Option<String>,
}

/// What a filter would remove, as indices into the firings replayed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplayOutcome {
    pub replayed: usize,
    pub removed_benign: Vec<usize>,
    pub removed_malicious: Vec<usize>,
    pub removed_unjudged: Vec<usize>,
}

impl ReplayOutcome {
    /// Whether the filter would suppress an alert of a case judged malicious.
    pub fn hides_malicious(&self) -> bool {
        !self.removed_malicious.is_empty()
    }

    pub fn removed(&self) -> usize {
        self.removed_benign.len() + self.removed_malicious.len() + self.removed_unjudged.len()
    }
}

/// A proposal with its replay.
#[derive(Clone, Debug, Serialize)]
pub struct Tuning {
    pub proposal: FilterProposal,
    pub replay: ReplayOutcome,
}

/// The files that define `rule` (by the name it was loaded under).
fn files_of(files: &[RuleFile], rule: &RuleInfo) -> Vec<RuleFile> {
    files.iter().filter(|f| f.name == rule.file).cloned().collect()
}

/// What `filter`, loaded beside the file(s) of `rule`, would remove of `firings` (indices into
/// it). An error when the filter does not load: it would be no use to anyone.
pub fn replay(
    files: &[RuleFile],
    rule: &RuleInfo,
    filter: &str,
    firings: &[&Firing],
    config: &RuleSetConfig,
) -> Result<ReplayOutcome, String> {
    let mut set = files_of(files, rule);
    if set.is_empty() {
        return Err(format!("no loaded file defines rule {}", rule.id));
    }
    set.push(RuleFile { name: "proposed-filter.yml".into(), text: filter.to_owned() });
    let (rules, diagnostics) = RuleSet::load(&set, config).map_err(|e| e.to_string())?;
    if let Some(d) = diagnostics.iter().find(|d| d.file == "proposed-filter.yml") {
        return Err(format!("the proposed filter does not load: {}", d.message));
    }
    let mut outcome = ReplayOutcome { replayed: firings.len(), ..ReplayOutcome::default() };
    for (i, firing) in firings.iter().enumerate() {
        if rules.evaluate(&firing.view).iter().any(|d| d.rule.id == rule.id) {
            continue;
        }
        match firing.label {
            Label::Benign => outcome.removed_benign.push(i),
            Label::Malicious => outcome.removed_malicious.push(i),
            Label::Unjudged => outcome.removed_unjudged.push(i),
        }
    }
    Ok(outcome)
}

/// A filter proposal for every rule with benign firings, each replayed against all the rule's
/// firings (indices in the outcome are into `firings`). No value of a malicious firing, nor of
/// `also_malicious` (other events of cases judged malicious), is ever excluded. Rules whose file
/// is not among `files` get no proposal: nothing could replay it.
pub fn propose_and_replay(
    files: &[RuleFile],
    firings: &[Firing],
    also_malicious: &[&SourceView],
    config: &RuleSetConfig,
) -> Result<Vec<Tuning>> {
    let mut by_rule: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in firings.iter().enumerate() {
        by_rule.entry(f.rule.id.as_str()).or_default().push(i);
    }
    let malicious: Vec<&SourceView> = firings
        .iter()
        .filter(|f| f.label == Label::Malicious)
        .map(|f| &f.view)
        .chain(also_malicious.iter().copied())
        .collect();
    let mut out = Vec::new();
    for indices in by_rule.values() {
        let of_rule: Vec<&Firing> = indices.iter().map(|i| &firings[*i]).collect();
        let benign: Vec<&SourceView> =
            of_rule.iter().filter(|f| f.label == Label::Benign).map(|f| &f.view).collect();
        if benign.is_empty() {
            continue;
        }
        let own: Vec<&SourceView> =
            of_rule.iter().filter(|f| f.label == Label::Malicious).map(|f| &f.view).collect();
        let keep = Keep::new(&own, &malicious);
        let matched: HashSet<String> = of_rule.iter().flat_map(|f| f.matched.iter().cloned()).collect();
        let rule = &of_rule[0].rule;
        let Some(proposal) = propose_filter(rule, &benign, &keep, &matched) else { continue };
        let Ok(mut replay) = replay(files, rule, &proposal.to_yaml(), &of_rule, config) else { continue };
        for list in [&mut replay.removed_benign, &mut replay.removed_malicious, &mut replay.removed_unjudged]
        {
            for i in list.iter_mut() {
                *i = indices[*i];
            }
        }
        out.push(Tuning { proposal, replay });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_model::view::LogSource;

    use super::*;

    const RULE: &str = r#"
title: Service Installed
id: 00000000-0000-4000-8000-0000000c0002
logsource: {product: windows, service: system}
detection:
  s: {EventID: 7045}
  condition: s
"#;

    fn firing(service: &str, account: &str, label: Label) -> Firing {
        let files = [RuleFile { name: "svc.yml".into(), text: RULE.into() }];
        let (rules, _) = RuleSet::load(&files, &RuleSetConfig::default()).expect("loads");
        Firing {
            rule: rules.rules()[0].clone(),
            event_uid: format!("{service}-{account}"),
            view: SourceView {
                logsource: LogSource::new("windows", Some("system")),
                fields: json!({"EventID": 7045, "ServiceName": service, "AccountName": account, "ImagePath": format!("C:\\Program Files\\{service}\\svc.exe")}),
            },
            matched: vec!["EventID".into()],
            label,
            case: None,
        }
    }

    #[test]
    fn proposals_keep_what_was_judged_malicious_and_the_replay_names_what_else_goes() {
        let files = [RuleFile { name: "svc.yml".into(), text: RULE.into() }];
        let firings = vec![
            firing("BackupAgent", "corp\\svc-backup", Label::Benign),
            firing("BackupAgent", "corp\\svc-backup", Label::Benign),
            firing("PSEXESVC", "corp\\alice", Label::Malicious),
            firing("Updater", "corp\\svc-backup", Label::Unjudged),
        ];
        let tunings = propose_and_replay(&files, &firings, &[], &RuleSetConfig::default()).expect("replays");
        let [t] = &tunings[..] else { panic!("one proposal: {tunings:?}") };
        assert_eq!(t.replay.removed_benign, vec![0, 1]);
        assert!(!t.replay.hides_malicious(), "{t:?}");
        // The account is the distinguishing value, so an unjudged install by it goes too, and
        // the reviewer sees it.
        assert_eq!(t.replay.removed_unjudged, vec![3]);
        assert_eq!(t.replay.replayed, 4);
    }

    #[test]
    fn a_proposal_that_would_hide_a_malicious_alert_is_flagged() {
        let files = [RuleFile { name: "svc.yml".into(), text: RULE.into() }];
        // Proposed from one case judged benign, before a later case on the same account was
        // judged malicious: replayed over the period, the filter would hide that alert.
        let benign = [firing("BackupAgent", "corp\\svc-backup", Label::Benign)];
        let proposal = propose_filter(
            &benign[0].rule,
            &[&benign[0].view, &benign[0].view],
            &Keep::default(),
            &HashSet::from(["EventID".to_owned()]),
        )
        .expect("a proposal");
        let later = firing("EvilSvc", "corp\\svc-backup", Label::Malicious);
        let other = firing("PSEXESVC", "corp\\alice", Label::Malicious);
        let outcome = replay(
            &files,
            &later.rule,
            &proposal.to_yaml(),
            &[&benign[0], &later, &other],
            &RuleSetConfig::default(),
        )
        .expect("replays");
        assert!(outcome.hides_malicious(), "{outcome:?}\n{}", proposal.to_yaml());
        assert_eq!(outcome.removed_malicious, vec![1]);
        assert_eq!(outcome.removed_benign, vec![0]);
    }

    #[test]
    fn a_filter_that_does_not_load_is_an_error_not_an_empty_replay() {
        let files = [RuleFile { name: "svc.yml".into(), text: RULE.into() }];
        let f = firing("BackupAgent", "corp\\svc-backup", Label::Benign);
        let broken = "title: x\nfilter:\n  rules: [00000000-0000-4000-8000-0000000c0002]\n  selection: {A|nosuchmodifier: b}\n  condition: not selection\n";
        assert!(replay(&files, &f.rule, broken, &[&f], &RuleSetConfig::default()).is_err());
    }
}
