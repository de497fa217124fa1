//! Golden OCSF output for each format, from fixtures written for these tests. The format is
//! recognised from the content, as a user's files would be.

use std::time::{Duration, UNIX_EPOCH};

use crate::{fixture, read, scratch_file};

#[track_caller]
fn check(name: &str, format: &str) {
    check_as(name, format, format);
}

/// `name` read as `format`, its events compared with the snapshot `snapshot`.
#[track_caller]
fn check_as(name: &str, format: &str, snapshot: &str) {
    let (summary, events, dead) = read(&fixture(name));
    assert_eq!(summary.format, Some(format), "{name} recognised as the wrong format");
    assert!(dead.is_empty(), "{name}: dead letters {dead:?}");
    assert!(!events.is_empty(), "{name}: no events");
    insta::assert_json_snapshot!(snapshot, events);
}

#[test]
fn evtx_dump_json() {
    check("evtx_dump.json", "evtx_json");
}

/// One event of each Windows event id mapped to a class beyond the first fixture's: module
/// loads, PowerShell script blocks, module logging and pipelines, SAM, directory, token and
/// handle access, privileges of a logon and of a token, services, cleared logs, directory object
/// changes, firewall filter changes, RDP connections, Defender's health report and a SQL Server
/// login. None of them is a Base Event.
#[test]
fn evtx_dump_json_more_classes() {
    check_as("evtx_dump_more_classes.json", "evtx_json", "evtx_json_more_classes");
    let (_, events, _) = read(&fixture("evtx_dump_more_classes.json"));
    let base: Vec<_> = events.iter().filter(|e| e.class_uid == 0).map(|e| &e.unmapped).collect();
    assert!(base.is_empty(), "fell back to Base Event: {base:?}");
}

#[test]
fn nxlog() {
    check("nxlog.json", "nxlog");
}

#[test]
fn winlogbeat() {
    check("winlogbeat.json", "winlogbeat");
}

#[test]
fn sentinel() {
    check("sentinel.json", "sentinel");
}

#[test]
fn cloudtrail() {
    check("cloudtrail.json", "cloudtrail");
}

#[test]
fn okta() {
    check("okta.json", "okta");
}

#[test]
fn entra() {
    check("entra.json", "entra");
}

#[test]
fn azure_activity() {
    check("azure_activity.json", "azure_activity");
}

#[test]
fn gcp_audit() {
    check("gcp_audit.json", "gcp_audit");
}

#[test]
fn github_audit() {
    check("github_audit.json", "github_audit");
}

#[test]
fn auditd() {
    check("auditd.log", "auditd");
}

#[test]
fn csv() {
    check("report.csv", "csv");
}

#[test]
fn syslog() {
    // RFC 3164 dates have no year: it comes from the file's modification time, pinned here.
    let bytes = std::fs::read(fixture("syslog.log")).expect("fixture");
    let path = scratch_file("syslog.log", &bytes);
    let file = std::fs::File::options().write(true).open(&path).expect("scratch file");
    file.set_modified(UNIX_EPOCH + Duration::from_secs(1_775_000_000)).expect("set mtime");
    let (summary, events, dead) = read(&path);
    assert_eq!(summary.format, Some("syslog"));
    assert!(dead.is_empty(), "{dead:?}");
    insta::assert_json_snapshot!("syslog", events);
}

#[test]
fn defender_field_names_are_cleaned_as_sigma_expects() {
    let (_, events, _) = read(&fixture("nxlog.json"));
    let defender = events.iter().find(|e| e.metadata.event_code.as_deref() == Some("1116")).expect("1116");
    assert_eq!(defender.unmapped["ThreatName"], "Trojan:Win32/Emotet.RPK!MTB");
    assert!(!defender.unmapped.contains_key("Threat Name"));
}

#[test]
fn the_same_record_gets_the_same_id_on_every_read() {
    let (_, first, _) = read(&fixture("cloudtrail.json"));
    let (_, second, _) = read(&fixture("cloudtrail.json"));
    let ids =
        |events: &[vigil_ocsf::Event]| events.iter().map(|e| e.metadata.uid.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&second));
    assert!(ids(&first).iter().all(Option::is_some));
}

fn views_of(name: &str) -> Vec<vigil_ingest::view::SourceView> {
    let options = vigil_ingest::ReadOptions { views: true, ..vigil_ingest::ReadOptions::default() };
    let mut views = Vec::new();
    vigil_ingest::read_file(&fixture(name), &options, &mut |o| {
        if let vigil_ingest::Outcome::Event(_, v) = o {
            views.extend(v);
        }
    });
    views
}

#[test]
fn windows_views_carry_sigma_names_and_logsources() {
    let views = views_of("evtx_dump.json");
    let sysmon = &views[0];
    assert_eq!(sysmon.logsource.product.as_deref(), Some("windows"));
    assert_eq!(sysmon.logsource.service.as_deref(), Some("sysmon"));
    assert_eq!(sysmon.logsource.categories, vec!["process_creation"]);
    assert_eq!(sysmon.fields["EventID"], 1);
    assert_eq!(sysmon.fields["Provider_Name"], "Microsoft-Windows-Sysmon");
    assert!(sysmon.fields["CommandLine"].as_str().is_some_and(|c| c.contains("-enc")));
    assert_eq!(views[1].logsource.service.as_deref(), Some("security"));

    // Security 4688 is a process creation too, under Sysmon's field names.
    let views = views_of("winlogbeat.json");
    let audit = views.iter().find(|v| v.fields["EventID"] == 4688).expect("4688");
    assert_eq!(audit.logsource.categories, vec!["process_creation"]);
    assert_eq!(audit.fields["Image"], "C:\\Windows\\System32\\net.exe");
    assert_eq!(audit.fields["User"], "CORP\\alice");
    let registry = views.iter().find(|v| v.fields["EventID"] == 13).expect("13");
    assert_eq!(registry.logsource.categories, vec!["registry_set", "registry_event"]);
}

#[test]
fn cloud_and_linux_views_route_to_their_sigma_services() {
    let ct = views_of("cloudtrail.json");
    assert_eq!(ct.len(), 3);
    assert_eq!(ct[0].logsource, vigil_ingest::view::LogSource::new("aws", Some("cloudtrail")));
    assert_eq!(ct[2].fields["eventName"], "StopLogging");
    let audit = views_of("auditd.log");
    assert_eq!(audit.len(), 4, "one view per audit line");
    assert_eq!(audit[1].fields["type"], "EXECVE");
    assert_eq!(views_of("entra.json")[0].logsource.service.as_deref(), Some("signinlogs"));
}
