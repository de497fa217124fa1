//! SigmaHQ's regression-data layout: a folder per rule holding the recorded events and an
//! `info.yml` that names the rule and how many times it must match them. Read here to test
//! rules as SigmaHQ's CI does, and written when a closed case becomes a rule's regression test.

use serde::{Deserialize, Serialize};

/// An `info.yml`: the rule it tests and its tests.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct RegressionInfo {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub rule_metadata: Vec<RuleRef>,
    #[serde(default)]
    pub regression_tests_info: Vec<RegressionTest>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct RuleRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// One recorded file and what the rule must do on it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct RegressionTest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `evtx`, `json` (one record per line) or another format Vigil reads.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// At least this many matches when stated, at least one when not. A recording often holds
    /// more events of the same activity than its test counted (SigmaHQ's own data does), so a
    /// count is a floor, as SigmaHQ's regression suite reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_count: Option<usize>,
    /// Relative to the rules repository's root (`regression_data/…`).
    pub path: String,
}

impl RegressionInfo {
    pub fn parse(text: &str) -> Result<RegressionInfo, String> {
        yaml_serde::from_str(text).map_err(|e| e.to_string())
    }

    pub fn to_yaml(&self) -> String {
        yaml_serde::to_string(self).unwrap_or_default()
    }

    /// The rule the tests are about (the first of `rule_metadata`).
    pub fn rule_id(&self) -> Option<&str> {
        self.rule_metadata.first().map(|r| r.id.as_str())
    }
}

impl RegressionTest {
    /// The file's name, wherever the folder has been moved to.
    pub fn file_name(&self) -> &str {
        self.path.rsplit(['/', '\\']).next().unwrap_or(&self.path)
    }

    /// Whether `got` matches satisfy the test.
    pub fn holds(&self, got: usize) -> bool {
        got >= self.match_count.unwrap_or(1).max(1)
    }

    /// What the test expects, for a report.
    pub fn expected(&self) -> String {
        format!("at least {}", self.match_count.unwrap_or(1).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGMAHQ: &str = "id: a86306af-137b-427f-9e39-680199937bd0
description: N/A
date: 2026-04-17
author: Someone (Example)
rule_metadata:
    - id: f2e4b7d9-5c3a-4f8b-9e1d-7a6c2b3f4e5d
      title: Staged In A Temp Dir
regression_tests_info:
    - name: Positive Detection Test
      type: evtx
      provider: Microsoft-Windows-Sysmon
      match_count: 2
      path: regression_data/rules/windows/file_event/x/f2e4b7d9-5c3a-4f8b-9e1d-7a6c2b3f4e5d.evtx
    - name: Second
      type: json
      path: regression_data\\rules\\y.json
";

    #[test]
    fn an_info_file_in_sigmahqs_layout_reads_and_writes_back_the_same() {
        let info = RegressionInfo::parse(SIGMAHQ).expect("parses");
        assert_eq!(info.rule_id(), Some("f2e4b7d9-5c3a-4f8b-9e1d-7a6c2b3f4e5d"));
        let [a, b] = &info.regression_tests_info[..] else { panic!("two tests") };
        assert_eq!(a.file_name(), "f2e4b7d9-5c3a-4f8b-9e1d-7a6c2b3f4e5d.evtx");
        assert_eq!(b.file_name(), "y.json");
        assert!(a.holds(2) && !a.holds(1) && a.holds(3));
        assert!(b.holds(1) && b.holds(7) && !b.holds(0));
        assert_eq!(RegressionInfo::parse(&info.to_yaml()).expect("reparses"), info);
    }

    #[test]
    fn an_info_file_without_a_path_is_an_error() {
        let bad = "id: x\nregression_tests_info:\n    - name: no path\n";
        assert!(RegressionInfo::parse(bad).expect_err("no path").contains("path"));
    }
}
