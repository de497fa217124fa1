//! The built-in analyst: a case, its context and the model in; a recommendation out. Every
//! claim cites evidence ids of the case; what the case lacked is listed as `unknowns`; with too
//! little context it says "insufficient evidence" instead of guessing. It drafts, it never acts.

use serde::Serialize;
use vigil_correlate::Case;
use vigil_model::{CaseId, EntityKind, Severity};

use crate::context::{Context, InputStatus};
use crate::evidence;
use crate::features::{self, Features};
use crate::history::{Judged, Precedent};
use crate::model::{Contribution, Model};
use crate::playbook::{self, Phase, Playbook};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Malicious,
    Suspicious,
    Benign,
    InsufficientEvidence,
}

impl Verdict {
    /// The name the JSON schema uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Malicious => "malicious",
            Verdict::Suspicious => "suspicious",
            Verdict::Benign => "benign",
            Verdict::InsufficientEvidence => "insufficient_evidence",
        }
    }
}

/// One playbook step resolved to the case's entities, with who and what it would affect.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlannedStep {
    pub phase: Phase,
    pub action: String,
    pub description: String,
    /// The entities it would touch (`user corp\alice`).
    pub touches: Vec<String>,
    /// Their criticality from the asset inventory, or `unknown`.
    pub blast_radius: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlaybookPlan {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub steps: Vec<PlannedStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Recommendation {
    pub case_id: CaseId,
    pub verdict: Verdict,
    pub severity: Severity,
    /// 0 to 1: how far the score is from undecided, less when context is missing.
    pub confidence: f64,
    pub hypothesis: String,
    /// Evidence ids (`alert:…`, `event:…`) for and against the hypothesis.
    pub supporting: Vec<String>,
    pub contradicting: Vec<String>,
    pub techniques: Vec<String>,
    pub playbook: Option<PlaybookPlan>,
    pub unknowns: Vec<String>,
    /// The earlier cases whose analysts' verdicts on the same rules and entities were weighed.
    pub precedents: Vec<Precedent>,
    /// Which context inputs were present and how old they were.
    pub inputs: Vec<InputStatus>,
    pub probability: f64,
    /// Every feature's part in the score, largest first.
    pub contributions: Vec<Contribution>,
    pub drafted_by: String,
}

fn verdict(p: f64, features: &Features, unknowns: &[String], alerts: usize) -> Verdict {
    let all_allowed = alerts > 0 && features.allowed.len() == alerts;
    if all_allowed && features.iocs.is_empty() {
        return Verdict::Benign;
    }
    match p {
        p if p >= 0.8 => Verdict::Malicious,
        // Between the clear cases, missing context decides nothing: say so.
        p if !unknowns.is_empty() && p > 0.2 => Verdict::InsufficientEvidence,
        p if p >= 0.5 => Verdict::Suspicious,
        _ if !unknowns.is_empty() => Verdict::InsufficientEvidence,
        p if p < 0.2 => Verdict::Benign,
        _ => Verdict::Suspicious,
    }
}

/// Drafts the recommendation for `case`. `now` (ms) dates the context inputs.
pub fn recommend(
    case: &Case,
    context: &Context,
    model: &Model,
    library: &[Playbook],
    now: i64,
) -> Recommendation {
    let (features, mut unknowns) = features::extract(case, context);
    let (p, contributions) = model.score(&features);
    let verdict = verdict(p, &features, &unknowns, case.alerts.len());
    let completeness = 1.0 / (1.0 + unknowns.len() as f64);
    let confidence = ((p - 0.5).abs() * 2.0 * (0.5 + 0.5 * completeness) * 100.0).round() / 100.0;

    // Allow-listed alerts, and alerts analysts judged benign before, argue against the case.
    let mut against: Vec<usize> = features.allowed.iter().map(|(i, _)| *i).collect();
    against.extend(&features.prior_benign);
    against.sort_unstable();
    against.dedup();
    let supporting_alerts: Vec<usize> = (0..case.alerts.len())
        .filter(|i| !against.contains(i) && case.alerts[*i].rule.level >= Severity::Low)
        .collect();
    let supporting = evidence::ids_of_alerts(case, &supporting_alerts);
    let contradicting = evidence::ids_of_alerts(case, &against);

    let tactics: Vec<&str> = case.tactics.iter().map(|t| t.short_name.as_str()).collect();
    let kinds: Vec<&str> =
        case.entities.iter().filter(|e| e.weight > 0.0).map(|e| e.entity.kind.as_str()).collect();
    let plan = match verdict {
        Verdict::Malicious | Verdict::Suspicious | Verdict::InsufficientEvidence => {
            playbook::choose(library, &tactics, &kinds).map(|p| resolve(p, case, context, &mut unknowns))
        }
        Verdict::Benign => None,
    };
    unknowns.dedup();

    let hypothesis = hypothesis(case, verdict, &features, &supporting, &contradicting);
    let severity = match verdict {
        Verdict::Benign => Severity::Informational,
        _ => case.severity,
    };
    Recommendation {
        case_id: case.id.clone(),
        verdict,
        severity,
        confidence,
        hypothesis,
        supporting,
        contradicting,
        techniques: case.techniques.iter().map(|t| t.id.clone()).collect(),
        playbook: plan,
        unknowns,
        precedents: features.precedents.clone(),
        inputs: context.inventory(now),
        probability: (p * 1000.0).round() / 1000.0,
        contributions,
        drafted_by: format!(
            "Vigil built-in analyst (logistic model over {} malicious and {} benign labelled cases)",
            model.provenance.malicious, model.provenance.benign
        ),
    }
}

fn resolve(p: &Playbook, case: &Case, context: &Context, unknowns: &mut Vec<String>) -> PlaybookPlan {
    let steps = p
        .steps
        .iter()
        .filter_map(|step| {
            let touches: Vec<&vigil_model::Entity> = case
                .key_entities(usize::MAX)
                .into_iter()
                .map(|e| &e.entity)
                .filter(|e| e.kind.as_str() == step.target)
                .take(5)
                .collect();
            if touches.is_empty() {
                return None;
            }
            let blast_radius = touches
                .iter()
                .map(|e| {
                    let criticality = match (e.kind, &context.assets) {
                        (EntityKind::Host, Some(assets)) => {
                            assets.entries.get(&*e.key).and_then(|a| a.criticality.clone())
                        }
                        _ => None,
                    };
                    match criticality {
                        Some(c) => format!("{e}: criticality {c}"),
                        None => {
                            if e.kind == EntityKind::Host {
                                unknowns.push(format!(
                                    "blast radius of {} on host {}: criticality unknown",
                                    step.action, e.key
                                ));
                            }
                            format!("{e}: criticality unknown")
                        }
                    }
                })
                .collect();
            Some(PlannedStep {
                phase: step.phase,
                action: step.action.clone(),
                description: step.description.clone(),
                touches: touches.iter().map(|e| e.to_string()).collect(),
                blast_radius,
            })
        })
        .collect();
    PlaybookPlan { id: p.id.clone(), version: p.version, title: p.title.clone(), steps }
}

fn hypothesis(
    case: &Case,
    verdict: Verdict,
    features: &Features,
    supporting: &[String],
    contradicting: &[String],
) -> String {
    let cite = |ids: &[String]| {
        let shown: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
        let more = if ids.len() > 3 { format!(" +{}", ids.len() - 3) } else { String::new() };
        format!("[{}{more}]", shown.join(", "))
    };
    let tactics: Vec<&str> = case.tactics.iter().map(|t| t.name.as_str()).collect();
    let about: Vec<String> = case.key_entities(2).iter().map(|e| e.entity.to_string()).collect();
    match verdict {
        Verdict::Benign if !features.allowed.is_empty() => {
            let reasons: Vec<&str> = features.allowed.iter().map(|(_, r)| r.as_str()).collect();
            format!("Known-benign activity: {} (allow-list) {}", reasons.join("; "), cite(contradicting))
        }
        Verdict::Benign if !features.prior_benign.is_empty() => {
            let cases: Vec<&str> = features
                .precedents
                .iter()
                .filter(|p| p.verdict == Judged::Benign)
                .map(|p| p.case.as_str())
                .collect();
            format!(
                "Seen before and judged benign: analysts closed the same rule on the same entities as benign{} for {} of {} alert(s) around {} {}",
                if cases.is_empty() { String::new() } else { format!(" (case {})", cases.join(", case ")) },
                features.prior_benign.len(),
                case.alerts.len(),
                about.join(" and "),
                cite(contradicting)
            )
        }
        Verdict::Benign => format!(
            "Likely benign: {} around {} scores low overall {}",
            case.title,
            about.join(" and "),
            cite(&evidence::ids_of_alerts(case, &(0..case.alerts.len()).collect::<Vec<_>>()))
        ),
        Verdict::InsufficientEvidence => format!(
            "Insufficient evidence: {} alert(s) reaching {} around {} {}, but the context needed to judge them is missing",
            case.alert_count(),
            if tactics.is_empty() { "no known tactic".to_owned() } else { tactics.join(", ") },
            about.join(" and "),
            cite(supporting)
        ),
        _ => format!(
            "{} around {}: {} {}",
            if tactics.is_empty() { "Activity".to_owned() } else { tactics.join(" → ") },
            about.join(" and "),
            case.title,
            cite(supporting)
        ),
    }
}

#[cfg(test)]
mod tests {
    use vigil_correlate::{Alert, ClusterConfig, Evidence, RuleRef, cluster};
    use vigil_model::{Entity, EntityKind};

    use super::*;
    use crate::features::FEATURES;
    use crate::model::Provenance;

    fn e(kind: EntityKind, key: &str) -> Entity {
        Entity::new(kind, key).expect("entity")
    }

    fn alert(id: &str, rule: &str, level: Severity, tags: &[&str], minute: i64) -> Alert {
        Alert {
            tenant: None,
            id: id.into(),
            rule: std::sync::Arc::new(RuleRef {
                id: rule.into(),
                title: format!("Rule {rule}"),
                level,
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                author: Some("tests".into()),
                license: "Apache-2.0".into(),
            }),
            time: minute * 60_000,
            entities: vec![e(EntityKind::Host, "ws-12"), e(EntityKind::User, "corp\\svc-backup")],
            aliases: Vec::new(),
            evidence: vec![Evidence {
                event_uid: format!("ev-{id}"),
                time: minute * 60_000,
                source: "t.json".into(),
                class_name: "Process Activity".into(),
                summary: None,
            }],
            summary: None,
        }
    }

    /// A model that weighs level, tactics and late stage up, and allow-listing down.
    fn model() -> Model {
        let mut weights = vec![0.0; FEATURES.len()];
        weights[0] = 4.0; // max_level
        weights[3] = 3.0; // tactics
        weights[4] = 2.0; // late_stage
        weights[11] = -6.0; // allow_listed
        Model {
            features: FEATURES.iter().map(|(n, _)| (*n).to_owned()).collect(),
            weights,
            bias: -4.0,
            provenance: Provenance { data: vec!["tests".into()], malicious: 1, benign: 1, iterations: 0 },
        }
    }

    fn case() -> Case {
        let alerts = vec![
            alert("a1", "r1", Severity::High, &["attack.credential-access", "attack.t1003.001"], 0),
            alert("a2", "r2", Severity::High, &["attack.lateral-movement", "attack.t1021.002"], 5),
            alert("a3", "r3", Severity::Critical, &["attack.impact", "attack.t1486"], 9),
        ];
        cluster(&alerts, &ClusterConfig::default()).remove(0)
    }

    fn context() -> Context {
        let mut c = Context::default();
        c.load_assets("assets.yml", "as_of: 2026-11-30T00:00:00Z\nassets:\n  ws-12: {criticality: high, environment: production, exposure: internal}\n")
            .expect("assets");
        c.load_identities(
            "identities.yml",
            "as_of: 2026-11-30T00:00:00Z\nidentities:\n  corp\\svc-backup: {privileged_groups: [Backup Operators]}\n",
        )
        .expect("identities");
        c
    }

    #[test]
    fn every_citation_is_evidence_of_the_case_and_the_plan_touches_only_its_entities() {
        let case = case();
        let r = recommend(&case, &context(), &model(), &playbook::library().expect("library"), 0);
        assert_eq!(r.verdict, Verdict::Malicious, "{r:#?}");
        let known: Vec<String> = evidence::items(&case).into_iter().map(|i| i.id).collect();
        assert!(!r.supporting.is_empty());
        for id in r.supporting.iter().chain(&r.contradicting) {
            assert!(known.contains(id), "{id} is not evidence of the case");
        }
        assert!(
            r.hypothesis.contains(&r.supporting[0]),
            "the hypothesis cites its evidence: {}",
            r.hypothesis
        );
        let plan = r.playbook.expect("a plan");
        assert_eq!(plan.id, "ransomware");
        let names: Vec<String> = case.entities.iter().map(|e| e.entity.to_string()).collect();
        for step in &plan.steps {
            assert!(step.touches.iter().all(|t| names.contains(t)), "{step:?}");
        }
        assert!(plan.steps[0].blast_radius[0].contains("criticality high"));
        assert!(r.unknowns.is_empty(), "{:?}", r.unknowns);
    }

    #[test]
    fn without_inventories_confidence_drops_and_unknowns_name_what_is_missing() {
        let case = case();
        let library = playbook::library().expect("library");
        let with = recommend(&case, &context(), &model(), &library, 0);
        let without = recommend(&case, &Context::default(), &model(), &library, 0);
        assert!(without.confidence < with.confidence, "{} vs {}", without.confidence, with.confidence);
        assert!(without.unknowns.iter().any(|u| u.contains("identity inventory")), "{:?}", without.unknowns);
        assert!(without.unknowns.iter().any(|u| u.contains("asset inventory")), "{:?}", without.unknowns);
        assert!(without.inputs.iter().all(|i| !i.present));
    }

    #[test]
    fn a_middling_case_without_context_is_insufficient_evidence_naming_the_account() {
        let alerts = vec![alert("a1", "r1", Severity::Medium, &["attack.discovery"], 0)];
        let case = cluster(&alerts, &ClusterConfig::default()).remove(0);
        let mut c = context();
        if let Some(i) = c.identities.as_mut() {
            i.entries.clear();
        }
        let r = recommend(&case, &c, &model(), &playbook::library().expect("library"), 0);
        assert_eq!(r.verdict, Verdict::InsufficientEvidence, "{r:#?}");
        assert!(
            r.unknowns.contains(&"no identity context for corp\\svc-backup".to_owned()),
            "{:?}",
            r.unknowns
        );
        assert!(r.hypothesis.starts_with("Insufficient evidence"));
    }

    #[test]
    fn an_allow_listed_case_is_benign_and_its_alerts_are_contradicting_evidence() {
        let alerts = vec![alert("a1", "r1", Severity::Medium, &["attack.execution"], 0)];
        let case = cluster(&alerts, &ClusterConfig::default()).remove(0);
        let mut c = context();
        c.load_allow("allow.yml", "as_of: 2026-11-30T00:00:00Z\nallow:\n  - {rule: r1, entity: 'host ws-12', reason: nightly backup script}\n")
            .expect("allow");
        let r = recommend(&case, &c, &model(), &playbook::library().expect("library"), 0);
        assert_eq!(r.verdict, Verdict::Benign, "{r:#?}");
        assert_eq!(r.contradicting, vec!["alert:a1".to_owned(), "event:ev-a1".to_owned()]);
        assert!(r.playbook.is_none());
        assert!(r.hypothesis.contains("nightly backup script"));
    }

    #[test]
    fn a_benign_verdict_without_an_allow_list_does_not_claim_one() {
        let alerts = vec![alert("a1", "r1", Severity::Informational, &[], 0)];
        let case = cluster(&alerts, &ClusterConfig::default()).remove(0);
        let r = recommend(&case, &context(), &model(), &playbook::library().expect("library"), 0);
        assert_eq!(r.verdict, Verdict::Benign, "{r:#?}");
        assert!(!r.hypothesis.contains("allow-list"), "{}", r.hypothesis);
        assert!(
            r.hypothesis.starts_with("Likely benign") && r.hypothesis.contains("alert:a1"),
            "{}",
            r.hypothesis
        );
    }

    #[test]
    fn alerts_judged_benign_before_are_contradicting_evidence_and_malicious_ones_raise_the_score() {
        use crate::history::History;
        let alerts = vec![alert("a1", "r1", Severity::Medium, &["attack.execution"], 0)];
        let case = cluster(&alerts, &ClusterConfig::default()).remove(0);
        let mut weights = model();
        let n = FEATURES.len();
        weights.weights[n - 2] = -6.0; // prior_benign
        weights.weights[n - 1] = 6.0; // prior_malicious
        // An earlier case: the same rule on the same host and account, a day before.
        let earlier = alert("a0", "r1", Severity::Medium, &["attack.execution"], -1_440);
        let earlier = cluster(&[earlier], &ClusterConfig::default()).remove(0);
        let with = |judged: &Case, verdict: Judged| {
            let mut c = context();
            c.history = Some(crate::context::Input {
                source: "verdicts".into(),
                as_of: 0,
                entries: History::from_verdicts(&History::of_case(judged, verdict)),
            });
            recommend(&case, &c, &weights, &playbook::library().expect("library"), 0)
        };
        let plain = recommend(&case, &context(), &weights, &playbook::library().expect("library"), 0);
        let benign = with(&earlier, Judged::Benign);
        assert_eq!(benign.verdict, Verdict::Benign, "{benign:#?}");
        assert_eq!(benign.contradicting, vec!["alert:a1".to_owned(), "event:ev-a1".to_owned()]);
        assert!(benign.hypothesis.starts_with("Seen before and judged benign"), "{}", benign.hypothesis);
        assert!(benign.hypothesis.contains(&format!("(case {})", earlier.id)), "{}", benign.hypothesis);
        assert_eq!(benign.precedents, [Precedent { case: earlier.id.clone(), verdict: Judged::Benign }]);
        assert!(with(&case, Judged::Benign).precedents.is_empty(), "a case is not its own precedent");
        let malicious = with(&earlier, Judged::Malicious);
        assert!(malicious.probability > plain.probability && plain.probability > benign.probability);
        assert!(malicious.contradicting.is_empty());
    }
}
