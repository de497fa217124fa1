//! `vigil export packet` and `vigil verify` on it, as an auditor runs them: a case with an
//! alert, the raw event it cites, an evidence file and its audit trail exported as a packet,
//! checked on another directory with nothing but the server's public key; and the same packet
//! with one byte of its evidence changed, named as broken.

use std::process::Command;

use serde_json::json;
use vigil_model::{CaseState, Component};
use vigil_store::{AlertRow, By, CaseRow, NewEvent, Store, time};

use crate::crash_actions::runtime;
use crate::scratch;

fn seed(data: &std::path::Path) {
    runtime().block_on(async {
        let store = Store::open_dir(data).await.expect("store");
        let engine = By::vigil(Component::Engine);
        let mut tx = store.write().await.expect("begin");
        tx.insert_event(&NewEvent {
            id: "e1".into(),
            source: "winlogbeat".into(),
            format: "evtx".into(),
            class_uid: 3002,
            time: time::from_millis(1_700_000_000_000),
            ocsf: json!({"class_uid": 3002, "user": {"name": "alice"}}).to_string(),
            views: "[]".into(),
            raw: b"<Event><EventID>4625</EventID><Data>alice</Data></Event>".to_vec(),
        })
        .await
        .expect("event");
        let case = CaseRow {
            id: "c1".into(),
            title: "Brute force on alice".into(),
            state: CaseState::New,
            severity: 4,
            assignee: None,
            first_seen: time::from_millis(1_700_000_000_000),
            last_seen: time::from_millis(1_700_000_360_000),
            updated_at: String::new(),
            body: json!({"timeline": [{"time": "2023-11-14T22:13:20.000Z", "what": "4625 for alice"}]}),
        };
        tx.save_case(&case, &engine).await.expect("case");
        tx.save_alert(&AlertRow {
            id: "a1".into(),
            case_id: Some("c1".into()),
            rule_id: "brute-force".into(),
            title: "Brute force".into(),
            severity: 4,
            time: time::from_millis(1_700_000_000_000),
            finding: json!({"rule": {"id": "brute-force"}, "evidence": [{"event_uid": "e1"}]}),
        })
        .await
        .expect("alert");
        tx.add_evidence(b"who -a as it was", "text/plain", "who.txt", "case:c1", &engine)
            .await
            .expect("evidence");
        tx.transition_case(&"c1".into(), CaseState::Correlated, "clustered", &engine).await.expect("move");
        tx.commit().await.expect("commit");
        store.close().await;
    });
}

#[test]
fn a_case_exported_as_a_packet_verifies_elsewhere_with_the_public_key_and_a_changed_byte_is_named() {
    let dir = scratch("packet");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    seed(&data);
    let out = dir.join("c1.tar");
    let exported = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["export", "packet"])
        .arg(&data)
        .args(["c1", "--out"])
        .arg(&out)
        .output()
        .expect("vigil export packet");
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));

    // The auditor's machine: the packet and the public key, nothing else.
    let elsewhere = dir.join("auditor");
    let _ = std::fs::remove_dir_all(&elsewhere);
    std::fs::create_dir_all(&elsewhere).expect("dir");
    let packet = elsewhere.join("c1.tar");
    std::fs::copy(&out, &packet).expect("copy");
    let public = std::fs::read_to_string(data.join("audit-signing.pub")).expect("public key");
    let verify = |file: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("verify")
            .arg(file)
            .args(["--key", public.trim()])
            .current_dir(&elsewhere)
            .output()
            .expect("vigil verify");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, said) = verify(&packet);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("packet intact: case c1"), "{said}");

    let listing = Command::new("tar").arg("-tf").arg(&packet).output().expect("tar");
    let names = String::from_utf8_lossy(&listing.stdout).into_owned();
    for name in [
        "manifest.json",
        "manifest.sig",
        "case.json",
        "events.ndjson",
        "alerts.json",
        "audit.ndjson",
        "checkpoints.json",
        "evidence/",
    ] {
        assert!(names.contains(&format!("vigil-packet/{name}")), "{names}");
    }
    let mut bytes = std::fs::read(&packet).expect("packet");
    let at = bytes.windows(16).position(|w| w == b"who -a as it was").expect("the evidence in the archive");
    bytes[at] ^= 0x01;
    let broken = elsewhere.join("c1-changed.tar");
    std::fs::write(&broken, &bytes).expect("write");
    let (code, said) = verify(&broken);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("packet BROKEN") && said.contains("evidence/"), "{said}");
}
