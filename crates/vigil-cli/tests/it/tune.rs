//! `vigil tune` on a laptop hunt: verdicts on the hunt's cases become Sigma filters, each
//! replayed over the hunt's alerts; a filter written by it drops into a rules folder and the
//! same hunt then raises nothing for what was judged benign.

use serde_json::{Value, json};

use crate::{scratch, vigil};

/// A CloudTrail record of an SSM session start (a built-in rule fires on it).
fn session(user: &str, ip: &str, minute: u32) -> Value {
    json!({
        "eventVersion": "1.09", "eventTime": format!("2026-11-30T09:{minute:02}:00Z"),
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"), "userName": user},
        "eventSource": "ssm.amazonaws.com", "eventName": "StartSession", "awsRegion": "eu-west-1",
        "sourceIPAddress": ip, "eventID": format!("4b7e2c10-0000-4000-8000-{minute:012}"),
        "recipientAccountId": "111122223333"
    })
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn verdicts_on_a_hunt_become_a_filter_that_silences_only_what_was_judged_benign() {
    let dir = scratch("tune");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let records = json!({"Records": [
        session("backup-bot", "10.9.9.9", 1), session("backup-bot", "10.9.9.9", 2),
        session("eve", "198.51.100.66", 50),
    ]});
    std::fs::write(logs.join("trail.json"), records.to_string()).expect("trail");
    let hunt = vigil(&["hunt", "logs", "--json", "-o", "hunt.jsonl"], &dir);
    assert!(hunt.status.success(), "{}", String::from_utf8_lossy(&hunt.stderr));
    let out = std::fs::read(dir.join("hunt.jsonl")).expect("hunt output");
    let cases: Vec<Value> = lines(&out).into_iter().filter(|l| l["type"] == "case").collect();
    let id_of = |who: &str| {
        cases
            .iter()
            .find(|c| c["case"]["title"].as_str().is_some_and(|t| t.contains(who)))
            .and_then(|c| c["case"]["id"].as_str())
            .unwrap_or_else(|| panic!("no case of {who}: {cases:?}"))
            .to_owned()
    };
    let verdicts = format!(
        "verdicts:\n  - case: {}\n    verdict: false_positive\n  - case: {}\n    verdict: malicious\n",
        id_of("backup-bot"),
        id_of("eve")
    );
    std::fs::write(dir.join("verdicts.yml"), verdicts).expect("verdicts");

    let tuned = vigil(&["tune", "hunt.jsonl", "--verdicts", "verdicts.yml", "--out", "rules"], &dir);
    let said = String::from_utf8_lossy(&tuned.stdout);
    assert!(tuned.status.success(), "{said}{}", String::from_utf8_lossy(&tuned.stderr));
    assert!(said.contains("2 of 2 false positives removed") && said.contains("1 of 3 alerts kept"), "{said}");
    assert!(
        said.contains("proposals: 1 (from 3 judged alerts of 3); would hide an alert judged malicious: 0"),
        "{said}"
    );
    let written: Vec<_> = std::fs::read_dir(dir.join("rules")).expect("rules").collect();
    assert_eq!(written.len(), 1, "one filter file");

    // The same hunt with the filter beside the rules: the bot's sessions no longer alert.
    let again = vigil(&["hunt", "logs", "--json", "--rules", "rules"], &dir);
    let alerts: Vec<Value> = lines(&again.stdout).into_iter().filter(|l| l["type"] == "alert").collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].to_string().contains("eve"));

    // A verdicts file that names nothing of the hunt is an error, not an empty success.
    std::fs::write(dir.join("stray.yml"), "verdicts:\n  - case: nope\n    verdict: benign\n").expect("stray");
    let stray = vigil(&["tune", "hunt.jsonl", "--verdicts", "stray.yml"], &dir);
    assert_eq!(stray.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stray.stderr).contains("no alert of the hunt is covered by a verdict"));
}
