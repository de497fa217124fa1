//! The built-in analyst's model: logistic regression over [`crate::features::FEATURES`], so
//! every score is a sum of per-feature contributions an analyst can read. Weights come from
//! [`Model::fit`] over labelled cases (`vigil train`), with the provenance of that data.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{self, Direction, FEATURES, Features};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    /// The labelled inputs and how they were labelled.
    pub data: Vec<String>,
    pub malicious: usize,
    pub benign: usize,
    pub iterations: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Model {
    pub features: Vec<String>,
    pub weights: Vec<f64>,
    pub bias: f64,
    pub provenance: Provenance,
}

/// One feature's part in a score.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Contribution {
    pub feature: String,
    pub value: f64,
    pub weight: f64,
    /// `value × weight`, in log-odds.
    pub contribution: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The default model, trained by `scripts/train_default_model.sh` (its provenance says on what).
const DEFAULT: &str = include_str!("../models/default.json");

impl Model {
    /// The model shipped in the binary.
    pub fn builtin() -> Result<Model> {
        Model::from_json(DEFAULT)
    }

    /// Parses a model and checks it weighs exactly the features this build extracts.
    pub fn from_json(text: &str) -> Result<Model> {
        let model: Model = serde_json::from_str(text).map_err(|e| Error::Model(e.to_string()))?;
        let expected: Vec<&str> = FEATURES.iter().map(|(n, _)| *n).collect();
        if model.features != expected || model.weights.len() != expected.len() {
            return Err(Error::Model(format!(
                "weighs {:?}, this build extracts {expected:?}",
                model.features
            )));
        }
        Ok(model)
    }

    /// The probability that a case with these features is malicious, and why.
    pub fn score(&self, features: &Features) -> (f64, Vec<Contribution>) {
        let mut contributions: Vec<Contribution> = self
            .features
            .iter()
            .zip(&self.weights)
            .zip(&features.values)
            .map(|((f, w), v)| Contribution {
                feature: f.clone(),
                value: *v,
                weight: *w,
                contribution: v * w,
            })
            .collect();
        let z = self.bias + contributions.iter().map(|c| c.contribution).sum::<f64>();
        contributions.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        (sigmoid(z), contributions)
    }

    /// Fits weights to labelled samples (true: malicious) by gradient descent on the
    /// L2-regularised log loss, from zero, in a fixed number of steps: the same data gives the
    /// same model. A feature with a known direction ([`features::direction`]) never gets a weight
    /// pointing the other way: data where "judged benign before" goes with attacks says the
    /// feature does not help there, not that analysts' benign verdicts mean malicious.
    pub fn fit(samples: &[(Features, bool)], data: Vec<String>, iterations: usize) -> Result<Model> {
        let n = FEATURES.len();
        if samples.iter().any(|(f, _)| f.values.len() != n) {
            return Err(Error::Model("a sample does not have every feature".into()));
        }
        let (malicious, benign) =
            (samples.iter().filter(|s| s.1).count(), samples.iter().filter(|s| !s.1).count());
        if malicious == 0 || benign == 0 {
            return Err(Error::Model(format!(
                "need both labels; have {malicious} malicious and {benign} benign"
            )));
        }
        // Each class weighs the same in total, however unbalanced the data.
        let class_weight = |label: bool| if label { 0.5 / malicious as f64 } else { 0.5 / benign as f64 };
        let directions: Vec<Direction> = FEATURES.iter().map(|(name, _)| features::direction(name)).collect();
        let (mut w, mut b) = (vec![0.0; n], 0.0);
        let (rate, l2) = (2.0, 1e-3);
        for _ in 0..iterations {
            let (mut gw, mut gb) = (vec![0.0; n], 0.0);
            for (f, label) in samples {
                let z = b + w.iter().zip(&f.values).map(|(w, x)| w * x).sum::<f64>();
                let err = (sigmoid(z) - f64::from(u8::from(*label))) * class_weight(*label);
                for (g, x) in gw.iter_mut().zip(&f.values) {
                    *g += err * x;
                }
                gb += err;
            }
            for ((wi, g), direction) in w.iter_mut().zip(&gw).zip(&directions) {
                *wi -= rate * (g + l2 * *wi);
                // Projected descent: a feature whose meaning fixes its direction stays on its side.
                *wi = match direction {
                    Direction::Raises => wi.max(0.0),
                    Direction::Lowers => wi.min(0.0),
                    Direction::Either => *wi,
                };
            }
            b -= rate * gb;
        }
        Ok(Model {
            features: FEATURES.iter().map(|(n, _)| (*n).to_owned()).collect(),
            weights: w,
            bias: b,
            provenance: Provenance { data, malicious, benign, iterations },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[f64], label: bool) -> (Features, bool) {
        let mut v = vec![0.0; FEATURES.len()];
        v[..values.len()].copy_from_slice(values);
        let features = Features {
            values: v,
            allowed: Vec::new(),
            iocs: Vec::new(),
            prior_benign: Vec::new(),
            prior_malicious: Vec::new(),
            precedents: Vec::new(),
        };
        (features, label)
    }

    #[test]
    fn fitting_learns_which_features_mean_malicious_and_explains_each_score() {
        // High level and late-stage tactics are the attacks; low, single-rule alerts are not.
        let mut samples = Vec::new();
        for i in 0..20 {
            let jitter = f64::from(i % 5) * 0.02;
            samples.push(sample(&[0.75 + jitter, 0.3, 0.4, 0.5, 1.0], true));
            samples.push(sample(&[0.25 + jitter, 0.1, 0.1, 0.17, 0.0], false));
        }
        let model = Model::fit(&samples, vec!["synthetic".into()], 2000).expect("fits");
        let (attack, why) = model.score(&samples[0].0);
        let (noise, _) = model.score(&samples[1].0);
        assert!(attack > 0.9 && noise < 0.1, "{attack} {noise}");
        assert_eq!(why.len(), FEATURES.len());
        assert!(why[0].contribution > 0.0, "the largest contribution pushes towards malicious: {why:?}");
        let again = Model::fit(&samples, vec!["synthetic".into()], 2000).expect("fits");
        assert_eq!(again, model, "the same data gives the same model");
    }

    #[test]
    fn a_feature_with_a_known_direction_never_gets_the_opposite_weight() {
        // In this data "judged benign before" goes with attacks; the fit must not learn that.
        let prior_benign = FEATURES.iter().position(|(n, _)| *n == "prior_benign").expect("feature");
        let with_prior = |level: f64, label: bool| {
            let mut s = sample(&[level], label);
            s.0.values[prior_benign] = 1.0;
            s
        };
        let samples: Vec<_> = (0..10)
            .flat_map(|_| [with_prior(0.75, true), sample(&[0.75], false), sample(&[0.25], false)])
            .collect();
        let model = Model::fit(&samples, vec!["synthetic".into()], 2000).expect("fits");
        assert_eq!(model.weights[prior_benign], 0.0, "{:?}", model.weights);
        assert!(model.weights[0] > 0.0, "free features still learn: {:?}", model.weights);
    }

    #[test]
    fn the_shipped_model_loads_and_says_what_it_was_trained_on() {
        let model = Model::builtin().expect("default model");
        assert!(model.provenance.malicious > 0 && model.provenance.benign > 0);
        assert!(model.provenance.data.iter().any(|d| d.contains("evtx-to-mitre-attack")));
    }

    #[test]
    fn one_label_alone_cannot_train_and_a_model_for_other_features_is_refused() {
        assert!(Model::fit(&[sample(&[1.0], true)], Vec::new(), 10).is_err());
        let text = r#"{"features":["max_level"],"weights":[1.0],"bias":0.0,"provenance":{"data":[],"malicious":1,"benign":1,"iterations":1}}"#;
        assert!(Model::from_json(text).is_err());
    }
}
