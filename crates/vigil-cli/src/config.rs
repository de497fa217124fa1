//! Vigil's configuration file (`vigil.yml`): one YAML document, a section per stage. Unknown
//! keys are errors, so a misspelt setting is caught instead of silently ignored.
//! `vigil.example.yml` at the repository root lists every setting with its default.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use vigil_detect::DetectConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub detect: DetectConfig,
    pub triage: TriageConfig,
}

/// The context files the built-in analyst reads, and the model it uses.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    pub assets: Option<PathBuf>,
    pub identities: Option<PathBuf>,
    pub allow: Option<PathBuf>,
    pub iocs: Option<PathBuf>,
    /// A model from `vigil train` instead of the built-in one.
    pub model: Option<PathBuf>,
    /// When a case may be closed as benign without a human (off by default).
    pub auto_close: vigil_triage::autotriage::AutoClosePolicy,
    /// An OpenAI-compatible model that drafts recommendations too (none by default).
    pub llm: Option<LlmConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    #[serde(flatten)]
    pub endpoint: vigil_triage::narrator::OpenAiConfig,
    /// How many cases (the most severe first) the model drafts for in one hunt.
    #[serde(default = "default_llm_cases")]
    pub max_cases: usize,
}

fn default_llm_cases() -> usize {
    10
}

impl TriageConfig {
    /// Reads the configured context files; paths are relative to the configuration file.
    pub fn context(&self, base: &Path) -> Result<vigil_triage::context::Context> {
        let mut context = vigil_triage::context::Context::default();
        let read = |p: &PathBuf| -> Result<(String, String)> {
            let path = base.join(p);
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok((path.display().to_string(), text))
        };
        type Loader = fn(&mut vigil_triage::context::Context, &str, &str) -> vigil_triage::Result<()>;
        let inputs: [(&Option<PathBuf>, Loader); 4] = [
            (&self.assets, vigil_triage::context::Context::load_assets),
            (&self.identities, vigil_triage::context::Context::load_identities),
            (&self.allow, vigil_triage::context::Context::load_allow),
            (&self.iocs, vigil_triage::context::Context::load_iocs),
        ];
        for (path, load) in inputs {
            if let Some(p) = path {
                let (name, text) = read(p)?;
                load(&mut context, &name, &text)?;
            }
        }
        Ok(context)
    }

    pub fn model(&self, base: &Path) -> Result<vigil_triage::model::Model> {
        match &self.model {
            Some(p) => {
                let path = base.join(p);
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                Ok(vigil_triage::model::Model::from_json(&text)
                    .with_context(|| format!("in {}", path.display()))?)
            }
            None => Ok(vigil_triage::model::Model::builtin()?),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        Ok(yaml_serde::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_parses_and_holds_the_defaults() {
        let config = Config::parse(include_str!("../../../vigil.example.yml")).expect("example parses");
        let defaults = vigil_detect::behaviour::BehaviourConfig::default();
        let b = &config.detect.behaviour;
        assert_eq!(b.privileged_accounts, defaults.privileged_accounts);
        assert_eq!(b.mass_file_change.min_files, defaults.mass_file_change.min_files);
        assert_eq!(b.mass_file_change.window, defaults.mass_file_change.window);
        assert_eq!(b.dormant_account.dormant_after, defaults.dormant_account.dormant_after);
        assert_eq!(b.off_hours.start, defaults.off_hours.start);
        assert_eq!(b.off_hours.end, defaults.off_hours.end);
        assert_eq!(b.off_hours.workdays, defaults.off_hours.workdays);
        assert_eq!(b.impossible_travel.max_speed_kmh, defaults.impossible_travel.max_speed_kmh);
        assert_eq!(
            b.impossible_travel.country_change_within,
            defaults.impossible_travel.country_change_within
        );
    }

    #[test]
    fn a_misspelt_setting_is_an_error() {
        let err = Config::parse("detect:\n  behavior: {}\n").expect_err("rejected");
        assert!(format!("{err:#}").contains("behavior"), "{err:#}");
    }
}
