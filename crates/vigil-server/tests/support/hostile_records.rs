//! Hostile records for the pages' XSS suites (the server's over HTTP, the browser's in
//! Chromium): each payload of `xss_payloads.txt` in the fields people and programs write in an
//! Okta System Log, syslog, CloudTrail and a Windows (Sysmon) event, and as a body that cannot
//! be read at all.

use serde_json::json;

pub const PAYLOADS: &str = include_str!("xss_payloads.txt");

pub fn payloads() -> Vec<&'static str> {
    PAYLOADS.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// One body a source, as `(format, body)` for the ingest API, every payload in each.
pub fn bodies(payloads: &[&str], address: &str) -> Vec<(&'static str, String)> {
    let (mut okta, mut syslog, mut windows, mut records) =
        (String::new(), String::new(), String::new(), vec![]);
    for (i, p) in payloads.iter().enumerate() {
        let line = json!({
            "uuid": format!("5f1e0000-0000-4000-8000-{i:012}"), "published": "2026-03-02T10:10:00.123Z",
            "eventType": "user.session.start", "version": "0", "severity": "WARN", "displayMessage": p,
            "actor": {"id": "00u1", "type": "User", "alternateId": p, "displayName": p},
            "client": {"ipAddress": address, "userAgent": {"rawUserAgent": p}},
            "outcome": {"result": "FAILURE", "reason": p}, "target": [],
        });
        okta.push_str(&format!("{line}\n"));
        syslog.push_str(&format!(
            "<86>Mar  2 10:46:{:02} web-01 sshd[2450]: Failed password for invalid user {p} from {address} port 40022 ssh2\n",
            i % 60
        ));
        records.push(json!({
            "eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "principalId": "AIDA1", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "userName": p},
            "eventTime": "2026-03-02T10:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "awsRegion": "us-east-1", "sourceIPAddress": address, "userAgent": p,
            "requestParameters": {"userName": p}, "eventID": format!("e-{i}"), "eventType": "AwsApiCall",
        }));
        let event = json!({"Event": {
            "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1,
                "TimeCreated": {"#attributes": {"SystemTime": "2026-03-02T09:14:07.512345Z"}}, "EventRecordID": i,
                "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "ws-12.corp.example"},
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": p, "User": p, "ParentImage": p},
        }});
        windows.push_str(&format!("{event}\n"));
    }
    let cloudtrail = json!({"Records": records}).to_string();
    vec![("okta", okta), ("syslog", syslog), ("cloudtrail", cloudtrail), ("evtx_json", windows)]
}

/// A body that cannot be read, whose dead letter's excerpt is the payload (one a body: a
/// stream that breaks is not read past the break).
pub fn unreadable(payload: &str) -> String {
    format!("{{{payload}")
}
