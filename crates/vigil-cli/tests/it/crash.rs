//! Crash safety: `kill -9` at random moments during sustained ingest, 20 times. After each,
//! every acknowledged event is stored exactly once, the database passes its integrity check,
//! and the audit chain (written meanwhile by the engine) verifies.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::scratch;
use crate::server::{Serve, call, ingest_token};

/// splitmix64, seeded: the kill points are random but reproducible.
pub fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn record(id: &str, n: u64) -> String {
    let (source, name, user) = if n.is_multiple_of(10) {
        ("cloudtrail", "StopLogging", format!("ops{}", n % 7))
    } else {
        ("s3", "GetObject", "app".to_owned())
    };
    format!(
        r#"{{"eventVersion":"1.08","eventID":"{id}","eventTime":"2026-11-30T10:{:02}:{:02}Z","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"eu-west-1","sourceIPAddress":"10.1.{}.{}","userIdentity":{{"type":"IAMUser","userName":"{user}","accountId":"111122223333"}}}}"#,
        n / 60 % 60,
        n % 60,
        n / 250 % 250,
        n % 250 + 1
    )
}

/// Posts batches of 40 new records until the server goes away; reports each acknowledged batch.
fn sustained_ingest(
    url: String,
    token: String,
    round: u64,
    acked: Arc<Mutex<Vec<String>>>,
    tell: mpsc::Sender<()>,
) {
    let bearer = format!("Bearer {token}");
    for batch in 0u64.. {
        let ids: Vec<String> = (0..40).map(|i| format!("crash-{round}-{batch}-{i}")).collect();
        let body: String =
            ids.iter().enumerate().map(|(i, id)| record(id, batch * 40 + i as u64) + "\n").collect();
        match call(
            "POST",
            &format!("{url}/api/v1/ingest?format=cloudtrail"),
            &[("Authorization", &bearer)],
            Some(body.as_bytes()),
        ) {
            Ok((200, _)) => {
                acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(ids);
                if tell.send(()).is_err() {
                    return;
                }
            }
            Ok((503, _)) => continue,
            Ok(_) | Err(_) => return,
        }
    }
}

/// Checks the store after a kill; returns how many audit records the engine wrote.
fn check(data: &std::path::Path, acked: &[String], round: usize) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = vigil_store::Store::open_dir(data).await.expect("the store opens after kill -9");
        let problems = store.integrity_check().await.expect("integrity check runs");
        assert!(problems.is_empty(), "round {round}: {problems:?}");
        store
            .verify_audit(&[])
            .await
            .expect("audit readable")
            .unwrap_or_else(|b| panic!("round {round}: {b}"));
        let events = store.events_between("0000", "9999", i64::MAX).await.expect("events");
        let mut seen: HashMap<String, u32> = HashMap::new();
        for e in &events {
            let raw: serde_json::Value = serde_json::from_slice(&e.raw).expect("raw is the record");
            *seen.entry(raw["eventID"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
        }
        for id in acked {
            assert_eq!(seen.get(id).copied(), Some(1), "round {round}: acknowledged event {id}");
        }
        assert!(seen.values().all(|&n| n == 1), "round {round}: an event is stored twice");
        let audited = store
            .audit_records(0, i64::MAX)
            .await
            .expect("audit")
            .iter()
            .filter(|r| r.actor.starts_with("vigil:engine") || r.actor.starts_with("vigil:triage"))
            .count();
        store.close().await;
        audited
    })
}

#[test]
fn acknowledged_events_survive_kill_9_exactly_once() {
    let dir = scratch("crash");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let mut rng = 0xC0FFEE;
    let mut token = None;
    let mut all_acked: Vec<String> = Vec::new();
    let mut audited = 0;
    for round in 0..20 {
        let mut serve = Serve::start(&data, None);
        let token = token.get_or_insert_with(|| ingest_token(&serve)).clone();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (tell, told) = mpsc::channel();
        let client = {
            let (url, acked) = (serve.url.clone(), Arc::clone(&acked));
            std::thread::spawn(move || sustained_ingest(url, token, round, acked, tell))
        };
        let kill_after = 1 + next(&mut rng) % 8;
        for _ in 0..kill_after {
            told.recv().expect("the client keeps ingesting until the kill");
        }
        serve.kill();
        drop(told);
        client.join().expect("client thread");
        all_acked.extend(acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain(..));
        audited = check(&data, &all_acked, round as usize);
    }
    // The engine was filing cases (audited writes) while the server was being killed. After a
    // restart it first feeds detection the events of its longest correlation window again, so
    // how far it gets in the later, short rounds depends on the machine.
    assert!(audited > 0, "{audited} audit records by the engine");
    assert!(all_acked.len() >= 20 * 40, "{} events acknowledged", all_acked.len());
}
