//! The Detection Finding that the detection stage will emit is valid OCSF 1.5.0 as
//! `vigil-ocsf` builds it.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use crate::violations;

#[test]
fn detection_finding_with_rule_attack_and_evidence_is_valid() {
    let mut finding =
        Event::new(Class::DetectionFinding, 1, 1_772_442_847_512, Metadata::new("Vigil", "Vigil Detect"));
    finding.set_severity(vigil_model::Severity::High);
    finding.message = Some("Office application spawned an encoded PowerShell command".into());
    finding.finding_info = Some(FindingInfo {
        uid: "d8f7c1a0-0000-4000-8000-000000000001".into(),
        title: "Suspicious Encoded PowerShell From Office".into(),
        desc: Some("author: Vigil tests (DRL 1.1)".into()),
        analytic: Some(Analytic { uid: Some("rule-0001".into()), name: Some("sigma".into()), type_id: 1 }),
        attacks: vec![Attack {
            technique: Some(Technique { uid: "T1059.001".into(), name: Some("PowerShell".into()) }),
            tactic: Some(Tactic { uid: "TA0002".into(), name: Some("Execution".into()) }),
        }],
        related_events: vec![RelatedEvent {
            uid: "5c6ea317caaed1e297f058b09b388d5d".into(),
            type_uid: Some(100701),
        }],
    });
    finding.device =
        Some(Device { hostname: Some("ws-12.corp.example".into()), type_id: 0, ..Device::default() });
    let finding = finding.finish();
    assert_eq!(finding.class_uid, 2004, "{:?}", finding.unmapped);
    let v = violations(&finding);
    assert!(v.is_empty(), "{v:?}");
}
