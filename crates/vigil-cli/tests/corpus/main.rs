//! Cases over the public corpus in `../shared/data` (or `$VIGIL_TEST_DATA`), through the real
//! `vigil hunt` binary (`$VIGIL_BIN`, else the one cargo built for this test) with the whole
//! SigmaHQ rule set: each OTRF atomic dataset's ATT&CK technique appears in a case built from
//! it, and hunting two labs' recordings together never joins them in one case.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn data() -> PathBuf {
    let dir = std::env::var_os("VIGIL_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(dir.is_dir(), "corpus not found at {} (set VIGIL_TEST_DATA)", dir.display());
    dir
}

/// `vigil hunt <paths> --json` with SigmaHQ's rules; returns (alert lines, cases).
fn hunt(paths: &[&Path]) -> (Vec<Value>, Vec<Value>) {
    let bin = std::env::var_os("VIGIL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vigil")));
    let sigma = data().join("sigma");
    let mut command = Command::new(bin);
    command.arg("hunt").args(paths).arg("--json");
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        command.arg("--rules").arg(sigma.join(dir));
    }
    let run = command.output().expect("vigil runs");
    assert!(matches!(run.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let (cases, alerts): (Vec<Value>, Vec<Value>) = lines.into_iter().partition(|l| l["type"] == "case");
    (alerts, cases.into_iter().map(|c| c["case"].clone()).collect())
}

/// OTRF names each dataset file after its recording time (`…_2020-10-2202580804.json`); the
/// metadata id carries the same digits (`SDWIN-201022025808`).
fn recording_key(name: &str) -> Option<String> {
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    let at = digits.find("20")?;
    let stamp = &digits[at + 2..];
    (stamp.len() >= 12).then(|| stamp[..12].to_owned())
}

struct Dataset {
    id: String,
    file: PathBuf,
    techniques: Vec<String>,
}

fn otrf_atomic_datasets() -> Vec<Dataset> {
    let root = data().join("otrf-security-datasets/atomic");
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut all_files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dataset dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if !path.ends_with("_metadata") {
                    stack.push(path);
                }
            } else {
                if let Some(key) = path.file_name().and_then(|n| n.to_str()).and_then(recording_key) {
                    files.insert(key, path.clone());
                }
                all_files.push(path);
            }
        }
    }
    let mut datasets = Vec::new();
    for entry in std::fs::read_dir(root.join("_metadata")).expect("metadata") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("metadata text");
        let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        // The file is found by the recording time in the id, or by the name of the archive the
        // metadata links to (`…/empire_psexec_dcerpc_tcp_svcctl.zip`).
        let linked: Vec<String> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("link:"))
            .filter_map(|l| l.trim().rsplit('/').next()?.strip_suffix(".zip").map(|s| format!("{s}_")))
            .collect();
        let by_link = || {
            all_files.iter().find(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| linked.iter().any(|l| n.starts_with(l.as_str())))
            })
        };
        let Some(file) = id.rsplit('-').next().and_then(|k| files.get(k)).or_else(by_link) else { continue };
        // `technique: T1218` with `sub-technique: "005"` on the next line.
        let mut techniques = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(t) = line.trim().trim_start_matches("- ").strip_prefix("technique:") else { continue };
            let t = t.trim().trim_matches('"').to_owned();
            let sub = lines
                .get(i + 1)
                .and_then(|l| l.trim().strip_prefix("sub-technique:"))
                .map(|s| s.trim().trim_matches('"').to_owned())
                .filter(|s| !s.is_empty() && s != "null");
            techniques.push(match sub {
                Some(sub) => format!("{t}.{sub}"),
                None => t,
            });
        }
        if !techniques.is_empty() {
            datasets.push(Dataset { id, file: file.clone(), techniques });
        }
    }
    datasets.sort_by(|a, b| a.id.cmp(&b.id));
    datasets
}

/// Whether a case's technique stands for the labelled one: the same, its parent, or a
/// sub-technique of it.
fn covers(found: &str, labelled: &str) -> bool {
    let parent = |t: &str| t.split('.').next().unwrap_or(t).to_owned();
    found == labelled || parent(found) == parent(labelled)
}

#[test]
fn each_otrf_atomic_dataset_s_technique_appears_in_a_case_built_from_it() {
    let datasets = otrf_atomic_datasets();
    assert!(datasets.len() >= 20, "only {} datasets matched their files", datasets.len());
    let (mut alerted, mut hit) = (0, 0);
    let mut misses = Vec::new();
    for d in &datasets {
        let (alerts, cases) = hunt(&[&d.file]);
        if alerts.is_empty() {
            println!("{:<22} no alerts ({})", d.id, d.file.display());
            continue;
        }
        alerted += 1;
        // A v19 id counts for the v18.1 technique it continues.
        let found: BTreeSet<String> = cases
            .iter()
            .flat_map(|c| c["techniques"].as_array().cloned().unwrap_or_default())
            .flat_map(|t| [t["id"].as_str().map(str::to_owned), t["previously"].as_str().map(str::to_owned)])
            .flatten()
            .collect();
        if d.techniques.iter().any(|t| found.iter().any(|f| covers(f, t))) {
            hit += 1;
            println!("{:<22} {:?}: in a case", d.id, d.techniques);
        } else {
            misses.push(format!("{} {:?}: cases hold {:?}", d.id, d.techniques, found));
        }
    }
    println!("\n{hit} of {alerted} datasets with alerts put their technique in a case; misses:");
    for m in &misses {
        println!("  {m}");
    }
    assert!(hit * 10 >= alerted * 9, "{hit}/{alerted}: {misses:#?}");
}

#[test]
fn two_labs_hunted_together_are_never_joined_in_one_case() {
    let otrf = data().join("otrf-security-datasets");
    let evtx = data().join("evtx-to-mitre-attack");
    let (alerts, cases) = hunt(&[&otrf, &evtx]);
    let alert_count: u64 = cases
        .iter()
        .map(|c| {
            c["alerts"].as_array().map_or(0, |a| a.iter().map(|a| a["count"].as_u64().unwrap_or(1)).sum())
        })
        .sum();
    println!(
        "{} alert lines, {alert_count} alerts in {} cases: {:.1} alerts per case",
        alerts.len(),
        cases.len(),
        alert_count as f64 / cases.len().max(1) as f64
    );
    let lab = |source: &str| {
        if source.contains("otrf-security-datasets") {
            "otrf"
        } else if source.contains("evtx-to-mitre-attack") {
            "evtx-to-mitre-attack"
        } else {
            "other"
        }
    };
    let mut joined = Vec::new();
    for case in &cases {
        // Per lab: the hosts, users and accounts its alerts in this case name.
        let mut by_lab: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for alert in case["alerts"].as_array().into_iter().flatten() {
            let labs: BTreeSet<&str> = alert["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["source"].as_str())
                .map(lab)
                .collect();
            let identities: BTreeSet<String> = alert["entities"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| matches!(e["kind"].as_str(), Some("host" | "user" | "cloud_account")))
                .map(|e| format!("{} {}", e["kind"].as_str().unwrap_or(""), e["key"].as_str().unwrap_or("")))
                .collect();
            for l in labs {
                by_lab.entry(l).or_default().extend(identities.iter().cloned());
            }
        }
        if let (Some(a), Some(b)) = (by_lab.get("otrf"), by_lab.get("evtx-to-mitre-attack"))
            && a.is_disjoint(b)
        {
            joined.push(format!("{} ({})", case["id"], case["title"]));
        }
    }
    assert!(joined.is_empty(), "cases joining the two labs with nothing in common: {joined:#?}");
    assert!(cases.len() * 2 <= alerts.len(), "clustering should at least halve the alerts");
}
