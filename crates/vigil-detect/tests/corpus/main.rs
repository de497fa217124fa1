//! Detection over the public corpus in `../shared/data` (or `$VIGIL_TEST_DATA`): the SigmaHQ
//! rule set loads, and every regression pair fires its rule on its own EVTX file.

mod correlation;
mod regression;
mod sigmahq;
mod stratus;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vigil_detect::{Diagnostic, RuleFile, RuleSet, RuleSetConfig};

pub fn data() -> PathBuf {
    let dir = std::env::var_os("VIGIL_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(dir.is_dir(), "corpus not found at {} (set VIGIL_TEST_DATA)", dir.display());
    dir
}

/// The active SigmaHQ rule folders (placeholder rules need configured values; they are
/// checked on their own).
pub const ACTIVE: &[&str] =
    &["rules", "rules-compliance", "rules-dfir", "rules-emerging-threats", "rules-threat-hunting"];

pub fn rule_files(dirs: &[&str]) -> Vec<RuleFile> {
    let sigma = data().join("sigma");
    let roots: Vec<PathBuf> = dirs.iter().map(|d| sigma.join(d)).filter(|d| d.is_dir()).collect();
    let mut files = Vec::new();
    for path in vigil_ingest::input::expand(&roots).expect("listing rules") {
        if path.extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.strip_prefix(&sigma).unwrap_or(&path).display().to_string();
            files.push(RuleFile { name, text });
        }
    }
    files
}

/// Vigil's built-in rules plus the whole active SigmaHQ rule set, loaded once for every test;
/// with the number of SigmaHQ files.
pub fn sigmahq() -> &'static (RuleSet, Vec<Diagnostic>, usize) {
    static RULES: OnceLock<(RuleSet, Vec<Diagnostic>, usize)> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut files = rule_files(ACTIVE);
        let count = files.len();
        files.extend(vigil_detect::builtin::files());
        let (rules, diagnostics) = RuleSet::load(&files, &RuleSetConfig::default()).expect("default config");
        (rules, diagnostics, count)
    })
}
